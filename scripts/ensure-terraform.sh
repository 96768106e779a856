#!/usr/bin/env bash
# Prints the path of a Terraform v1.5.7 CLI ($TF_ACC_TERRAFORM_PATH when it is
# that version), building it from the Go module proxy into .cache/tfbin on
# first use. Nothing is downloaded from anywhere else: acceptance tests must
# never fetch Terraform at run time.
exec bash "$(dirname "$0")/ensure-tool.sh" terraform
