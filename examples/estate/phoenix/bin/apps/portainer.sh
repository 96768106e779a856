#!/bin/bash
# Stand-in: application script apps/portainer.sh: Portainer in Docker, role from portainer_role.
# Runs inside the guest with bash + busybox only; idempotent (files are
# rewritten whole); see examples/standins/README.md.
set -euo pipefail
# shellcheck source=/dev/null
source "${PHOENIX_RUN_DIR:-$(dirname "$0")}/phoenix_hypervisor_common_utils.sh"
phoenix_init "$@"

phoenix_require_marker docker "Portainer runs as a Docker container (docker comes with the clone of 901)"
role=$(phoenix_ctx_get portainer_role server)
{
    echo "role=$role"
    echo "port=9443"
} | phoenix_write_file /etc/phoenix/portainer.conf 0644
phoenix_register_service 9443 "Portainer ($role)"
phoenix_mark app_portainer
