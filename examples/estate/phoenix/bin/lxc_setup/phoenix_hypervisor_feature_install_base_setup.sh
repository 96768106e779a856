#!/bin/bash
# Stand-in: phoenix feature base_setup (LXC): the base system every template builds on.
# Runs inside the guest with bash + busybox only; idempotent (files are
# rewritten whole); see examples/standins/README.md.
set -euo pipefail
# shellcheck source=/dev/null
source "${PHOENIX_RUN_DIR:-$(dirname "$0")}/phoenix_hypervisor_common_utils.sh"
phoenix_init "$@"

log_info "base setup of guest $PHOENIX_GUEST_ID ($PHOENIX_GUEST_NAME)"
printf 'phoenix guest %s (%s)\n' "$PHOENIX_GUEST_ID" "$PHOENIX_GUEST_NAME" | phoenix_write_file /etc/motd 0644
{
    echo "base_setup=1"
    echo "configured_by=$PHOENIX_GUEST_ID"
} | phoenix_write_file /etc/phoenix/base_setup.conf 0644
phoenix_mark base_setup
