#!/usr/bin/env bash
# Prints the path of a Terraform v1.5.7 CLI, building it from the Go module
# proxy into .cache/tfbin on first use (about 2 minutes). Nothing is downloaded
# from anywhere else: acceptance tests must never fetch Terraform at run time.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
want=1.5.7
bin="$root/.cache/tfbin/terraform"

version_of() { "$1" version -json 2>/dev/null | sed -n 's/.*"terraform_version": *"\([^"]*\)".*/\1/p'; }

if [ -n "${TF_ACC_TERRAFORM_PATH:-}" ] && [ -x "$TF_ACC_TERRAFORM_PATH" ] && [ "$(version_of "$TF_ACC_TERRAFORM_PATH")" = "$want" ]; then
  echo "$TF_ACC_TERRAFORM_PATH"; exit 0
fi
if [ -x "$bin" ] && [ "$(version_of "$bin")" = "$want" ]; then
  echo "$bin"; exit 0
fi
echo "building Terraform v$want into $root/.cache/tfbin (go install, module proxy)..." >&2
mkdir -p "$root/.cache/tfbin"
( cd "$root/.cache" && GOBIN="$root/.cache/tfbin" GOFLAGS=-mod=mod go install "github.com/hashicorp/terraform@v$want" ) >&2
echo "$bin"
