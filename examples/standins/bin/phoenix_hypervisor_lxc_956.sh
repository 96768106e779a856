#!/bin/bash
# Stand-in: phoenix application script phoenix_hypervisor_lxc_956.sh (Open WebUI).
# Runs inside the guest with bash + busybox only; idempotent (files are
# rewritten whole); see examples/standins/README.md.
set -euo pipefail
# shellcheck source=/dev/null
source "${PHOENIX_RUN_DIR:-$(dirname "$0")}/phoenix_hypervisor_common_utils.sh"
phoenix_init "$@"

phoenix_require_marker docker "Open WebUI runs as a Docker container"

printf "PORT=8080\n" | phoenix_write_file /etc/phoenix/openwebui.env 0644
phoenix_register_service 8080 "Open WebUI"
phoenix_mark app_956
