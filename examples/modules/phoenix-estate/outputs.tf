output "guests" {
  description = "Every applied guest: status, node and what was provisioned."
  value       = { for id, g in phoenix_guest.this : id => { status = g.status, node = g.current_node, provisioned = g.provisioned, pending_restart = g.pending_restart } }

  # A failed feature script keeps its guest (untainted) and fails the apply
  # here; the next apply resumes from the failed script.
  precondition {
    condition     = alltrue([for g in values(phoenix_guest.this) : g.provisioning_error == null])
    error_message = join("\n", compact([for id, g in phoenix_guest.this : g.provisioning_error == null ? "" : "guest ${id}: ${g.provisioning_error}"]))
  }
}
