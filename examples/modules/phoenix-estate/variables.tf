variable "config_dir" {
  description = "Directory holding phoenix_hypervisor_config.json, phoenix_lxc_configs.json (and phoenix_vm_configs.json)."
  type        = string
}

variable "features_dir" {
  description = "Phoenix's bin/ folder with the feature, application and health-check scripts."
  type        = string
  default     = null
}

variable "overrides" {
  description = "Per-guest attribute overrides keyed by guest ID, merged over the config (e.g. { \"950\" = { cores = 8 } }). Creation-only inputs (storage, template, clone source, unprivileged) belong in the phoenix files: a guest built on demand for its clones is built from the files alone."
  type        = any
  default     = {}
}

variable "allow_restart" {
  description = "Restart running guests when a change needs it."
  type        = bool
  default     = false
}

variable "health_checks_warn_only" {
  description = "Report failing health checks as warnings."
  type        = bool
  default     = false
}
