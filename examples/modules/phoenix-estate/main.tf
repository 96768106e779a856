# phoenix-estate: applies a whole phoenix estate (phoenix_config + phoenix_guest)
# in dependency order at any -parallelism. Each tier only depends on earlier
# ones; guests of a tier are created in parallel. The caller configures the
# provider (or PROXMOX_VE_* does).
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
  tier   = [for i in range(6) : { for id in try(data.phoenix_config.this.tiers[i], []) : tostring(id) => local.guests[tostring(id)] }]
  common = { taint_on_failure = false, allow_restart = var.allow_restart, health_checks_warn_only = var.health_checks_warn_only }
}

resource "phoenix_guest" "t0" {
  for_each                = local.tier[0]
  spec                    = each.value
  taint_on_failure        = local.common.taint_on_failure
  allow_restart           = local.common.allow_restart
  health_checks_warn_only = local.common.health_checks_warn_only
}

resource "phoenix_guest" "t1" {
  for_each                = local.tier[1]
  spec                    = each.value
  taint_on_failure        = local.common.taint_on_failure
  allow_restart           = local.common.allow_restart
  health_checks_warn_only = local.common.health_checks_warn_only
  depends_on              = [phoenix_guest.t0]
}

resource "phoenix_guest" "t2" {
  for_each                = local.tier[2]
  spec                    = each.value
  taint_on_failure        = local.common.taint_on_failure
  allow_restart           = local.common.allow_restart
  health_checks_warn_only = local.common.health_checks_warn_only
  depends_on              = [phoenix_guest.t1]
}

resource "phoenix_guest" "t3" {
  for_each                = local.tier[3]
  spec                    = each.value
  taint_on_failure        = local.common.taint_on_failure
  allow_restart           = local.common.allow_restart
  health_checks_warn_only = local.common.health_checks_warn_only
  depends_on              = [phoenix_guest.t2]
}

resource "phoenix_guest" "t4" {
  for_each                = local.tier[4]
  spec                    = each.value
  taint_on_failure        = local.common.taint_on_failure
  allow_restart           = local.common.allow_restart
  health_checks_warn_only = local.common.health_checks_warn_only
  depends_on              = [phoenix_guest.t3]
}

resource "phoenix_guest" "t5" {
  for_each                = local.tier[5]
  spec                    = each.value
  taint_on_failure        = local.common.taint_on_failure
  allow_restart           = local.common.allow_restart
  health_checks_warn_only = local.common.health_checks_warn_only
  depends_on              = [phoenix_guest.t4]
}
