#!/usr/bin/env bash
# Makes sure every module go.mod needs is in the module cache, downloading
# what is missing from the Go module proxy (GOPROXY) and saying so first.
# Nothing else is fetched here.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=scripts/lib.sh
. scripts/lib.sh
if GOPROXY=off GOFLAGS=-mod=readonly go mod download >/dev/null 2>&1; then
	exit 0
fi
echo "Go modules: downloading the modules of go.mod from $(go env GOPROXY | cut -d, -f1) into $(go env GOMODCACHE) (first run only, about a minute)" >&2
with_progress "downloading Go modules" "$root/.cache/logs/go-mod-download.log" go mod download
