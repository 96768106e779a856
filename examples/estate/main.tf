# The main job's estate: the phoenix configuration under ./phoenix applied
# through the phoenix-estate module. The provider is configured from
# PROXMOX_VE_* (scripts/demo.sh exports them for the simulator).
terraform {
  required_providers {
    phoenix = {
      source = "registry.terraform.io/phoenix-hypervisor/phoenix"
    }
  }
}

provider "phoenix" {}

module "estate" {
  source       = "../modules/phoenix-estate"
  config_dir   = "${path.module}/phoenix/etc"
  features_dir = "${path.module}/phoenix/bin"
}

output "guests" {
  value = module.estate.guests
}
