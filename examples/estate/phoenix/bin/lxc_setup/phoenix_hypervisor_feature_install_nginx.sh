#!/bin/bash
# Stand-in: phoenix feature nginx (LXC): the edge reverse proxy.
# Runs inside the guest with bash + busybox only; idempotent (files are
# rewritten whole); see examples/standins/README.md.
set -euo pipefail
# shellcheck source=/dev/null
source "${PHOENIX_RUN_DIR:-$(dirname "$0")}/phoenix_hypervisor_common_utils.sh"
phoenix_init "$@"

phoenix_require_marker base_setup "nginx needs the base system (inherited from 900)"
printf 'server {\n    listen 443;\n    server_name %s;\n}\n' "$PHOENIX_GUEST_NAME" |
    phoenix_write_file /etc/nginx/conf.d/phoenix.conf 0644
phoenix_register_service 443 "nginx edge"
phoenix_mark nginx
