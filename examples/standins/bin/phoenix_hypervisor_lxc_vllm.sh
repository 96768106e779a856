#!/bin/bash
# Stand-in: phoenix application script phoenix_hypervisor_lxc_vllm.sh: serves the guest's vllm_model.
# Runs inside the guest with bash + busybox only; idempotent (files are
# rewritten whole); see examples/standins/README.md.
set -euo pipefail
# shellcheck source=/dev/null
source "${PHOENIX_RUN_DIR:-$(dirname "$0")}/phoenix_hypervisor_common_utils.sh"
phoenix_init "$@"

phoenix_require_marker vllm "the vllm feature installs the runtime"
model=$(phoenix_ctx_get vllm_model)
[ -n "$model" ] || log_fatal "guest $PHOENIX_GUEST_ID has no vllm_model in its configuration"
served=$(phoenix_ctx_get vllm_served_model_name "$model")
port=$(phoenix_ctx_get vllm_port 8000)
args=$(phoenix_ctx_list vllm_args | paste -sd' ' -)
log_info "serving $model as $served on port $port"
{
    echo "model=$model"
    echo "served_model_name=$served"
    echo "port=$port"
    echo "command=vllm serve $model --port $port $args"
} | phoenix_write_file /etc/phoenix/vllm-serve.conf 0644
phoenix_register_service "$port" "vLLM $served"
phoenix_mark app_vllm
