#!/usr/bin/env bash
# Generates docs/ with tfplugindocs, offline: the schema comes from
# `terraform providers schema -json` run against the freshly built provider
# through a dev_overrides CLI config, so tfplugindocs never downloads Terraform.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
tf=$(bash scripts/ensure-terraform.sh)
go build -o bin/terraform-provider-phoenix .
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat > "$work/terraformrc" <<RC
provider_installation {
  dev_overrides {
    "registry.terraform.io/phoenix-hypervisor/phoenix" = "$root/bin"
  }
  direct {}
}
RC
cat > "$work/main.tf" <<'TF'
terraform {
  required_providers {
    phoenix = { source = "registry.terraform.io/phoenix-hypervisor/phoenix" }
  }
}
TF
( cd "$work" && TF_CLI_CONFIG_FILE="$work/terraformrc" CHECKPOINT_DISABLE=1 "$tf" providers schema -json > "$work/schema.json" )
# tfplugindocs finds a provider's schema by its short name.
sed -i 's#"registry.terraform.io/phoenix-hypervisor/phoenix":#"phoenix":#' "$work/schema.json"
go tool tfplugindocs generate --provider-name phoenix --providers-schema "$work/schema.json" \
  --rendered-provider-name "Phoenix (Proxmox VE)"
