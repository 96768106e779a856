#!/bin/bash
# Stand-in: phoenix feature nvidia (LXC): driver and GPU passthrough, simulated by an nvidia-smi stub.
# Runs inside the guest with bash + busybox only; idempotent (files are
# rewritten whole); see examples/standins/README.md.
set -euo pipefail
# shellcheck source=/dev/null
source "${PHOENIX_RUN_DIR:-$(dirname "$0")}/phoenix_hypervisor_common_utils.sh"
phoenix_init "$@"

gpus=$(phoenix_ctx_get gpu_assignment)
if [ -z "$gpus" ]; then
    gpus=$(phoenix_ctx_list gpus | paste -sd, -)
fi
driver=$(phoenix_ctx_get nvidia_driver_version 580.76.05)
[ -n "$gpus" ] && [ "$gpus" != none ] || log_warn "no GPU assigned to guest $PHOENIX_GUEST_ID; installing the driver anyway"
log_info "NVIDIA driver $driver for GPUs '${gpus:-none}'"
{
    echo "driver=$driver"
    echo "gpus=${gpus:-none}"
} | phoenix_write_file /etc/phoenix/nvidia.conf 0644
phoenix_write_file /usr/local/bin/nvidia-smi 0755 <<'SMI'
#!/bin/bash
# Stand-in nvidia-smi written by the nvidia feature stand-in.
. /etc/phoenix/nvidia.conf
echo "NVIDIA-SMI stand-in  Driver Version: $driver  GPUs: $gpus"
SMI
phoenix_mark nvidia
