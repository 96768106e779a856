#!/bin/bash
# Stand-in health check: the Docker engine (stand-in) answers.
# Runs inside the guest with bash + busybox only; changes nothing.
set -euo pipefail

if ! command -v docker >/dev/null 2>&1; then
    echo "docker is not installed" >&2
    exit 1
fi
docker info
[ -f /var/lib/phoenix/markers/docker ] || { echo "docker marker missing" >&2; exit 1; }
echo "Docker service OK"
