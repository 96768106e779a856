#!/bin/bash
# Stand-in: phoenix feature vllm (LXC): the vLLM runtime, simulated by a vllm stub.
# Runs inside the guest with bash + busybox only; idempotent (files are
# rewritten whole); see examples/standins/README.md.
set -euo pipefail
# shellcheck source=/dev/null
source "${PHOENIX_RUN_DIR:-$(dirname "$0")}/phoenix_hypervisor_common_utils.sh"
phoenix_init "$@"

model=$(phoenix_ctx_get vllm_model)
log_info "installing the vLLM runtime stand-in${model:+ (model $model configured later by the application script)}"
phoenix_write_file /usr/local/bin/vllm 0755 <<'VLLM'
#!/bin/bash
# Stand-in vllm written by the vllm feature stand-in.
echo "vllm stand-in: $*"
VLLM
phoenix_mark vllm
