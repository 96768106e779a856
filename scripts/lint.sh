#!/usr/bin/env bash
# go vet for Linux and macOS (the provider must build there; the simulator is
# Linux-only by build tags), then golangci-lint with .golangci.yml, built on
# first use from the Go module proxy (scripts/ensure-tool.sh).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=scripts/lib.sh
. scripts/lib.sh
lint=$(bash scripts/ensure-tool.sh golangci-lint)
step "go vet ./... (linux, darwin)"
go vet ./...
GOOS=darwin go vet ./...
step "golangci-lint run ($(basename "$(dirname "$lint")"), .golangci.yml)"
"$lint" run ./...
