#!/usr/bin/env bash
# The estate and guest lifecycle acceptance tests (internal/provider
# TestAccEstate*, TestAccGuest*) against OpenTofu instead of Terraform:
# terraform-plugin-testing drives the CLI at TF_ACC_TERRAFORM_PATH, and
# TF_ACC_PROVIDER_HOST names the provider as OpenTofu resolves it.
# Usage: scripts/testacc-tofu.sh [go test flags...]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=scripts/lib.sh
. scripts/lib.sh
bash scripts/install-deps.sh
bash scripts/ensure-modules.sh
tofu=$(bash scripts/ensure-tool.sh tofu)
export TF_ACC=1 TF_ACC_TERRAFORM_PATH="$tofu" TF_ACC_PROVIDER_HOST=registry.opentofu.org TF_IN_AUTOMATION=1 CHECKPOINT_DISABLE=1
export TF_CLI_CONFIG_FILE="$root/.cache/terraformrc.test"
mkdir -p "$root/.cache/bin" && : >"$TF_CLI_CONFIG_FILE"
go build -o "$root/.cache/bin/testreport" ./scripts/testreport
step "go test ./internal/provider -run 'TestAccEstate|TestAccGuest' against $("$tofu" version 2>/dev/null | head -1)"
go test -json -count=1 -timeout 45m -run '^(TestAccEstate|TestAccGuest)' "$@" ./internal/provider/ 2>&1 | "$root/.cache/bin/testreport"
