#!/bin/bash
# Stand-in: phoenix application script phoenix_hypervisor_lxc_954.sh (n8n).
# Runs inside the guest with bash + busybox only; idempotent (files are
# rewritten whole); see examples/standins/README.md.
set -euo pipefail
# shellcheck source=/dev/null
source "${PHOENIX_RUN_DIR:-$(dirname "$0")}/phoenix_hypervisor_common_utils.sh"
phoenix_init "$@"

phoenix_require_marker docker "n8n runs as a Docker container (docker comes with the clone of 902)"

printf "N8N_PORT=5678\n" | phoenix_write_file /etc/phoenix/n8n.env 0644
phoenix_register_service 5678 "n8n"
phoenix_mark app_954
