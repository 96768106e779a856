#!/usr/bin/env bash
# The whole test suite: unit, simulator and acceptance tests (TF_ACC=1 against
# the real Terraform CLI), with the schema checks that read ../shared when it
# is there. Usage: scripts/test.sh [go test flags...]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/install-deps.sh
TF_ACC_TERRAFORM_PATH=$(bash scripts/ensure-terraform.sh)
export TF_ACC_TERRAFORM_PATH TF_ACC=1 TF_IN_AUTOMATION=1 CHECKPOINT_DISABLE=1
# An empty CLI config: no plugin cache, no network, no warning about ~/.terraformrc.
export TF_CLI_CONFIG_FILE="$root/.cache/terraformrc.test"
mkdir -p "$root/.cache" && : > "$TF_CLI_CONFIG_FILE"
echo "== go vet"
go vet ./...
echo "== go-proxmox's own integration tests against pvesim"
bash scripts/goproxmox-integration.sh | tail -8
echo "== go test (TF_ACC=1, terraform $("$TF_ACC_TERRAFORM_PATH" version | head -1))"
go test -count=1 -timeout 45m "$@" ./...
