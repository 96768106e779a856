#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian machine (the static bash
# and busybox that simulated guests are built from). Idempotent.
set -euo pipefail
exec bash "$(dirname "$0")/install-guest-deps.sh"
