#!/bin/bash
# Stand-in health check: always passes.
# Runs inside the guest with bash + busybox only; changes nothing.
set -euo pipefail

echo "dummy check passed for guest ${PHOENIX_GUEST_ID:-${1:-?}}"
