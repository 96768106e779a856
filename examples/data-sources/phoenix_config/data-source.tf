# Read an existing phoenix configuration unchanged.
data "phoenix_config" "estate" {
  config_dir   = "/usr/local/phoenix_hypervisor/etc"
  features_dir = "/usr/local/phoenix_hypervisor/bin"
}

output "containers" {
  value = data.phoenix_config.estate.lxc_ids
}

# Dependency tiers, for information: each guest's clone source and
# dependencies sit in an earlier tier (phoenix_guest orders itself).
output "tiers" {
  value = data.phoenix_config.estate.tiers
}
