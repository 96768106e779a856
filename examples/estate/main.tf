# The main job's estate: the phoenix configuration under ./phoenix, read by the
# phoenix_config data source. The provider is configured from PROXMOX_VE_*
# (scripts/demo.sh exports them for the simulator).
terraform {
  required_providers {
    phoenix = {
      source = "registry.terraform.io/phoenix-hypervisor/phoenix"
    }
  }
}

provider "phoenix" {}

data "phoenix_config" "estate" {
  config_dir = "${path.module}/phoenix/etc"
}

output "containers" {
  value = data.phoenix_config.estate.lxc_ids
}

output "apply_order" {
  value = data.phoenix_config.estate.tiers
}

output "clone_chain" {
  value = { for id, g in data.phoenix_config.estate.guests : id => g.clone_from if g.clone_from != null }
}
