# Read an existing phoenix configuration unchanged.
data "phoenix_config" "estate" {
  config_dir   = "/usr/local/phoenix_hypervisor/etc"
  features_dir = "/usr/local/phoenix_hypervisor/bin"
}

output "containers" {
  value = data.phoenix_config.estate.lxc_ids
}

# Apply order: each tier only depends on earlier ones.
output "tiers" {
  value = data.phoenix_config.estate.tiers
}
