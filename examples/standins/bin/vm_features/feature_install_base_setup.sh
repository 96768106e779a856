#!/bin/bash
# Stand-in: phoenix VM feature base_setup (runs through the QEMU guest agent).
# Runs inside the guest with bash + busybox only; idempotent (files are
# rewritten whole); see examples/standins/README.md.
set -euo pipefail
# shellcheck source=/dev/null
source "${PHOENIX_RUN_DIR:-$(dirname "$0")}/phoenix_hypervisor_common_utils.sh"
phoenix_init "$@"

user=$(phoenix_ctx_get username phoenix_user)
log_info "base setup of VM $PHOENIX_GUEST_ID ($PHOENIX_GUEST_NAME)"
printf 'phoenix VM %s (%s)\n' "$PHOENIX_GUEST_ID" "$PHOENIX_GUEST_NAME" | phoenix_write_file /etc/motd 0644
{
    echo "base_setup=1"
    echo "configured_by=$PHOENIX_GUEST_ID"
    echo "admin_user=$user"
} | phoenix_write_file /etc/phoenix/base_setup.conf 0644
phoenix_mark base_setup
