#!/bin/bash
# Stand-in health check: the model server answers with the configured model.
# Runs inside the guest with bash + busybox only; changes nothing.
set -euo pipefail
conf=/etc/phoenix/model_server.conf
[ -f "$conf" ] || { echo "model server is not configured ($conf missing)" >&2; exit 1; }
port=$(sed -n 's/^port=//p' "$conf")
model=$(sed -n 's/^model=//p' "$conf")
curl -s --fail "http://localhost:$port/v1/models" || { echo "model server on port $port does not answer" >&2; exit 1; }
echo "model server serves $model on port $port"
