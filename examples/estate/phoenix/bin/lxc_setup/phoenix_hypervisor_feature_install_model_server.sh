#!/bin/bash
# Stand-in: phoenix feature model_server (LXC): serves the guest's model_name on model_port.
# Runs inside the guest with bash + busybox only; idempotent (files are
# rewritten whole); see examples/standins/README.md.
set -euo pipefail
# shellcheck source=/dev/null
source "${PHOENIX_RUN_DIR:-$(dirname "$0")}/phoenix_hypervisor_common_utils.sh"
phoenix_init "$@"

phoenix_require_marker docker "the model server runs in Docker (inherited from 901)"
model=$(phoenix_ctx_get model_name)
[ -n "$model" ] || log_fatal "guest $PHOENIX_GUEST_ID has no model_name in its configuration"
port=$(phoenix_ctx_get model_port 8000)
log_info "serving $model on port $port"
{
    echo "model=$model"
    echo "port=$port"
} | phoenix_write_file /etc/phoenix/model_server.conf 0644
phoenix_register_service "$port" "model server $model"
phoenix_mark model_server
