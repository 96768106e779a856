# phoenix-estate: applies a whole phoenix estate (phoenix_config + phoenix_guest)
# from one resource block keyed by guest ID, at any -parallelism. There are no
# tiers and no depends_on: each guest names the phoenix files (`estate`), and
# the provider builds a missing or unfinished clone source or dependency from
# them inside the same apply. A guest's address never depends on its place in
# the dependency graph, so a new dependency is an in-place change, never a
# replacement. The caller configures the provider (or PROXMOX_VE_* does).
terraform {
  required_providers {
    phoenix = { source = "registry.terraform.io/phoenix-hypervisor/phoenix" }
  }
}

data "phoenix_config" "this" {
  config_dir   = var.config_dir
  features_dir = var.features_dir
}

locals {
  guests = { for id, g in data.phoenix_config.this.guests : id => merge(g, lookup(var.overrides, id, {})) }
}

resource "phoenix_guest" "this" {
  for_each = local.guests
  spec     = each.value
  estate = {
    config_dir   = var.config_dir
    features_dir = var.features_dir
  }
  # A failed feature keeps its guest untainted and fails the apply through
  # the output's precondition; the next apply resumes from the failed script.
  taint_on_failure        = false
  allow_restart           = var.allow_restart
  health_checks_warn_only = var.health_checks_warn_only
}
