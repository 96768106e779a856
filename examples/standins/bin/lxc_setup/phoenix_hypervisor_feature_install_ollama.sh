#!/bin/bash
# Stand-in: phoenix feature ollama (LXC): the Ollama runtime, simulated by an ollama stub.
# Runs inside the guest with bash + busybox only; idempotent (files are
# rewritten whole); see examples/standins/README.md.
set -euo pipefail
# shellcheck source=/dev/null
source "${PHOENIX_RUN_DIR:-$(dirname "$0")}/phoenix_hypervisor_common_utils.sh"
phoenix_init "$@"

phoenix_has_marker nvidia || log_warn "nvidia is not installed: ollama will run on CPU"
phoenix_write_file /usr/local/bin/ollama 0755 <<'OLLAMA'
#!/bin/bash
# Stand-in ollama written by the ollama feature stand-in.
echo "ollama stand-in: $*"
OLLAMA
phoenix_mark ollama
