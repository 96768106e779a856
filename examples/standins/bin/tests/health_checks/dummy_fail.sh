#!/bin/bash
# Stand-in health check: always FAILS, as its name says (tests the failure path).
# Runs inside the guest with bash + busybox only; changes nothing.
set -euo pipefail

echo "dummy check for guest ${PHOENIX_GUEST_ID:-${1:-?}}"
echo "dummy failure: this check always fails" >&2
exit 1
