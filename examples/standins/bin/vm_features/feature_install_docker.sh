#!/bin/bash
# Stand-in: phoenix VM feature docker (runs through the QEMU guest agent).
# Runs inside the guest with bash + busybox only; idempotent (files are
# rewritten whole); see examples/standins/README.md.
set -euo pipefail
# shellcheck source=/dev/null
source "${PHOENIX_RUN_DIR:-$(dirname "$0")}/phoenix_hypervisor_common_utils.sh"
phoenix_init "$@"

phoenix_has_marker base_setup || log_warn "base_setup has not run in VM $PHOENIX_GUEST_ID (nor in its clone source)"
printf '{\n  "storage-driver": "overlay2"\n}\n' | phoenix_write_file /etc/docker/daemon.json 0644
phoenix_write_file /usr/local/bin/docker 0755 <<'DOCKER'
#!/bin/bash
# Stand-in docker written by the VM docker feature stand-in.
case ${1:-} in
info) echo "Server: stand-in engine"; echo " Storage Driver: overlay2" ;;
version) echo "Docker version stand-in" ;;
*) echo "docker stand-in: $*" ;;
esac
DOCKER
phoenix_mark docker
