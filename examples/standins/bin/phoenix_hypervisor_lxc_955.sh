#!/bin/bash
# Stand-in: phoenix application script phoenix_hypervisor_lxc_955.sh (ollama API).
# Runs inside the guest with bash + busybox only; idempotent (files are
# rewritten whole); see examples/standins/README.md.
set -euo pipefail
# shellcheck source=/dev/null
source "${PHOENIX_RUN_DIR:-$(dirname "$0")}/phoenix_hypervisor_common_utils.sh"
phoenix_init "$@"

phoenix_require_marker ollama "Open WebUI talks to the ollama feature"

printf "OLLAMA_HOST=0.0.0.0:11434\n" | phoenix_write_file /etc/phoenix/ollama.env 0644
phoenix_register_service 11434 "ollama API"
phoenix_mark app_955
