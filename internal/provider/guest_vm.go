package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/lifecycle"
)

// planVM adds what only a VM's plan needs: the template-with-snapshot
// warning, the refusal to turn a template back into a VM, and, at creation,
// a check that the node can take the VM's cloud-init user-data.
func (r *GuestResource) planVM(ctx context.Context, plan, state *guestResourceModel, spec *guestModel, label string, diags *diag.Diagnostics) {
	at := path.Root("spec")
	if spec.IsTemplate.ValueBool() && spec.TemplateSnapshotName.ValueString() != "" {
		diags.AddAttributeWarning(at.AtName("template_snapshot_name"), label+" takes no template snapshot",
			"PVE cannot convert a guest with snapshots into a template, and a template cannot be snapshotted: "+
				"template_snapshot_name is ignored for a template VM, and its clones clone the template itself.")
	}
	if state != nil {
		if prior := objAs[guestModel](ctx, state.Spec); prior != nil && prior.IsTemplate.ValueBool() &&
			!spec.IsTemplate.IsUnknown() && !spec.IsTemplate.ValueBool() {
			diags.AddAttributeError(at.AtName("is_template"), "Unable to plan "+label,
				label+" is a PVE template (converted by an earlier apply or outside Terraform), and PVE cannot turn a template back into a VM: "+
					"set is_template = true, or recreate it (terraform apply -replace=<address>).")
		}
		return
	}
	if r.cfg == nil || r.cfg.Endpoint == "" || !fullyKnown(ctx, plan.Spec) || !fullyKnown(ctx, plan.Node) {
		return
	}
	env, err := r.env(ctx, plan.Node.ValueString())
	if err != nil {
		diags.AddWarning("Unable to check "+label+"'s cloud-init storage", err.Error()+"\n\nThe apply checks it again.")
		return
	}
	if err := lifecycle.CheckVMPlan(ctx, env, spec.toGuest(ctx)); err != nil {
		diags.AddAttributeError(at.AtName("cloud_init"), "Unable to plan "+label, err.Error())
	}
}
