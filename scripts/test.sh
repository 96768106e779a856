#!/usr/bin/env bash
# The whole test suite: go vet, go-proxmox's own integration tests against
# pvesim, then unit, simulator and acceptance tests (TF_ACC=1 against the real
# Terraform CLI), with the schema checks that read ../shared when it is there.
# The report names every skipped test with its reason.
# Usage: scripts/test.sh [go test flags...]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=scripts/lib.sh
. scripts/lib.sh
bash scripts/install-deps.sh
bash scripts/ensure-modules.sh
TF_ACC_TERRAFORM_PATH=$(bash scripts/ensure-terraform.sh)
export TF_ACC_TERRAFORM_PATH TF_ACC=1 TF_IN_AUTOMATION=1 CHECKPOINT_DISABLE=1
# An empty CLI config: no plugin cache, no network, no warning about ~/.terraformrc.
export TF_CLI_CONFIG_FILE="$root/.cache/terraformrc.test"
mkdir -p "$root/.cache/bin" && : >"$TF_CLI_CONFIG_FILE"
go build -o "$root/.cache/bin/testreport" ./scripts/testreport
step "go vet"
go vet ./...
step "go-proxmox's own integration tests against pvesim"
bash scripts/goproxmox-integration.sh
step "go test ./... (TF_ACC=1, $("$TF_ACC_TERRAFORM_PATH" version 2>/dev/null | head -1)): one line per package, skipped tests with their reason"
go test -json -count=1 -timeout 45m "$@" ./... 2>&1 | "$root/.cache/bin/testreport"
