#!/bin/bash
# Stand-in: phoenix application script phoenix_hypervisor_lxc_957.sh (llama.cpp server).
# Runs inside the guest with bash + busybox only; idempotent (files are
# rewritten whole); see examples/standins/README.md.
set -euo pipefail
# shellcheck source=/dev/null
source "${PHOENIX_RUN_DIR:-$(dirname "$0")}/phoenix_hypervisor_common_utils.sh"
phoenix_init "$@"

phoenix_require_marker nvidia "llama.cpp is built against the NVIDIA driver (inherited from 901)"

printf "LLAMA_PORT=8081\n" | phoenix_write_file /etc/phoenix/llamacpp.env 0644
phoenix_register_service 8081 "llama.cpp server"
phoenix_mark app_957
