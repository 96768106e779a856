#!/bin/bash
# Stand-in: phoenix application script phoenix_hypervisor_lxc_960.sh (Grafana).
# Runs inside the guest with bash + busybox only; idempotent (files are
# rewritten whole); see examples/standins/README.md.
set -euo pipefail
# shellcheck source=/dev/null
source "${PHOENIX_RUN_DIR:-$(dirname "$0")}/phoenix_hypervisor_common_utils.sh"
phoenix_init "$@"

phoenix_require_marker docker "the monitoring stack runs in Docker (inherited from 903)"

printf "grafana_port=3000\nprometheus_port=9090\n" | phoenix_write_file /etc/phoenix/monitoring.conf 0644
phoenix_register_service 9090 "Prometheus"
phoenix_register_service 3000 "Grafana"
phoenix_mark app_960
