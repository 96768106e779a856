locals {
  applied = merge(phoenix_guest.t0, phoenix_guest.t1, phoenix_guest.t2, phoenix_guest.t3, phoenix_guest.t4, phoenix_guest.t5)
}

output "guests" {
  description = "Every applied guest: status, node and what was provisioned."
  value       = { for id, g in local.applied : id => { status = g.status, node = g.current_node, provisioned = g.provisioned, pending_restart = g.pending_restart } }

  # A failed feature script keeps its guest (untainted) and fails the apply
  # here; the next apply resumes from the failed script.
  precondition {
    condition     = alltrue([for g in values(local.applied) : g.provisioning_error == null])
    error_message = join("\n", compact([for id, g in local.applied : g.provisioning_error == null ? "" : "guest ${id}: ${g.provisioning_error}"]))
  }
  precondition {
    condition     = length(data.phoenix_config.this.tiers) <= 6
    error_message = "The estate has ${length(data.phoenix_config.this.tiers)} dependency tiers; this module applies up to 6. Add tier blocks to main.tf."
  }
  precondition {
    condition     = length(data.phoenix_config.this.vm_ids) == 0
    error_message = "The estate defines VMs (${join(", ", data.phoenix_config.this.vm_ids)}); phoenix_guest manages containers for now. Move VMs out of the config directory until VM support lands."
  }
}
