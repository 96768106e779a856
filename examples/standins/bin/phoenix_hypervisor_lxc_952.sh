#!/bin/bash
# Stand-in: phoenix application script phoenix_hypervisor_lxc_952.sh (qdrant).
# Runs inside the guest with bash + busybox only; idempotent (files are
# rewritten whole); see examples/standins/README.md.
set -euo pipefail
# shellcheck source=/dev/null
source "${PHOENIX_RUN_DIR:-$(dirname "$0")}/phoenix_hypervisor_common_utils.sh"
phoenix_init "$@"

phoenix_require_marker docker "qdrant runs as a Docker container (docker comes with the clone of 902)"

printf "storage_path=/qdrant/storage\nhttp_port=6333\ngrpc_port=6334\n" | phoenix_write_file /etc/phoenix/qdrant.conf 0644
phoenix_register_service 6334 "qdrant gRPC"
phoenix_register_service 6333 "qdrant"
phoenix_mark app_952
