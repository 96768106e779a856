# Guests of a phoenix estate written by hand (the phoenix-estate module does
# this for every guest). With `estate`, a missing or unfinished clone source
# or dependency is built from the phoenix files within the same apply: no
# depends_on, and adding a dependency never moves or replaces a guest.
data "phoenix_config" "estate" {
  config_dir   = "/usr/local/phoenix_hypervisor/etc"
  features_dir = "/usr/local/phoenix_hypervisor/bin"
}

resource "phoenix_guest" "estate" {
  for_each = { for id in ["900", "950"] : id => data.phoenix_config.estate.guests[id] }
  spec     = each.value
  estate = {
    config_dir   = "/usr/local/phoenix_hypervisor/etc"
    features_dir = "/usr/local/phoenix_hypervisor/bin"
  }
}
