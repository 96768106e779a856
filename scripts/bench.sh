#!/usr/bin/env bash
# The performance benchmarks behind docs/performance.md, then their summary
# table (figure, target, measured, ratio). About 4 minutes on 2 cores.
# Usage: scripts/bench.sh [file]   (also keeps the raw go test output in file)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
out=${1:-$(mktemp)}
[ $# -ge 1 ] || trap 'rm -f "$out"' EXIT
# Each scale benchmark runs once (-benchtime=1x): they repeat internally
# where a median is needed, and their simulated tasks take real time.
go test -run '^$' -bench . -benchtime=1x -timeout 20m ./internal/bench/ | tee "$out"
go test -run '^$' -bench 'Ingest5000' -benchmem ./internal/phoenix/ | tee -a "$out"
echo
go run ./internal/bench/summary < "$out"
