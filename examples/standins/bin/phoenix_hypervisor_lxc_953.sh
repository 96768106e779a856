#!/bin/bash
# Stand-in: phoenix application script phoenix_hypervisor_lxc_953.sh (nginx gateway).
# Runs inside the guest with bash + busybox only; idempotent (files are
# rewritten whole); see examples/standins/README.md.
set -euo pipefail
# shellcheck source=/dev/null
source "${PHOENIX_RUN_DIR:-$(dirname "$0")}/phoenix_hypervisor_common_utils.sh"
phoenix_init "$@"

phoenix_require_marker base_setup "the gateway needs the base system"

printf "server {\n    listen 80;\n    server_name %s;\n    location / { proxy_pass http://10.0.0.150:8000; }\n}\n" "$PHOENIX_GUEST_NAME" |
    phoenix_write_file /etc/nginx/sites-available/vllm_gateway 0644
mkdir -p /etc/nginx/sites-enabled
ln -sf ../sites-available/vllm_gateway /etc/nginx/sites-enabled/vllm_gateway
phoenix_register_service 80 "nginx gateway"
phoenix_mark app_953
