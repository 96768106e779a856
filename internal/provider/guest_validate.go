package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/phoenix"
)

// ValidateConfig checks the rules that involve more than one attribute
// (attribute validators check each value alone). Unknown values are checked
// once known.
func (r *GuestResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var m guestResourceModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	spec := objAs[guestModel](ctx, m.Spec)
	if spec == nil {
		return
	}
	at := path.Root("spec")
	bad := func(p path.Path, what, why string) {
		resp.Diagnostics.AddAttributeError(p, "Unable to accept the "+what, p.String()+": "+why)
	}
	kind := phoenix.Kind(spec.Kind.ValueString())
	known := !spec.Kind.IsUnknown()
	if n := objAs[networkModel](ctx, spec.Network); n != nil && known && kind == phoenix.KindVM && n.IP.ValueString() == "manual" {
		bad(at.AtName("network").AtName("ip"), "address", `"manual" is for containers only; a VM's cloud-init address is an IPv4 CIDR or "dhcp"`)
	}
	if !spec.CloneSnapshot.IsNull() && spec.CloneFrom.IsNull() {
		bad(at.AtName("clone_snapshot"), "clone snapshot", "clone_snapshot names a snapshot of the clone source: set clone_from too")
	}
	if known && kind == phoenix.KindLXC && isNull(spec.CloneFrom) && isNull(spec.OSTemplate) && isNull(spec.Template) {
		bad(at.AtName("os_template"), "container origin", "a container needs os_template (or template) or clone_from")
	}
	if known && kind == phoenix.KindVM {
		validateVM(spec, at, bad)
	}
	validateMounts(ctx, spec, at.AtName("mount_points"), &resp.Diagnostics)
	if fw := objAs[firewallModel](ctx, spec.Firewall); fw != nil {
		for i, rule := range listAs[firewallRuleModel](ctx, fw.Rules) {
			p := at.AtName("firewall").AtName("rules").AtListIndex(i)
			a, typ := rule.Action.ValueString(), rule.Type.ValueString()
			if !rule.Action.IsUnknown() && !rule.Type.IsUnknown() && typ != "group" && a != "ACCEPT" && a != "DROP" && a != "REJECT" {
				bad(p.AtName("action"), "firewall action", fmt.Sprintf("expected ACCEPT, DROP or REJECT for a %q rule (a security group name needs type = \"group\"), got %q", typeOrIn(typ), a))
			}
		}
	}
	for i, h := range listAs[healthCheckModel](ctx, spec.HealthChecks) {
		p := at.AtName("health_checks").AtListIndex(i)
		switch {
		case h.Type.ValueString() == "command" && isNull(h.Command):
			bad(p.AtName("command"), "health check", "a command check needs command")
		case h.Type.ValueString() != "command" && isNull(h.Path) && isNull(h.Command):
			bad(p.AtName("path"), "health check", "a script check needs path (or set type = \"command\" and command)")
		}
	}
	for i, f := range listAs[featureModel](ctx, spec.Features) {
		if isNull(f.Path) && isNull(f.Content) {
			bad(at.AtName("features").AtListIndex(i), "feature", fmt.Sprintf("feature %q has neither path nor content; give a script path (or features_dir in phoenix_config) or inline content", f.Name.ValueString()))
		}
	}
}

func validateMounts(ctx context.Context, spec *guestModel, at path.Path, diags *diag.Diagnostics) {
	for i, mp := range listAs[mountPointModel](ctx, spec.MountPoints) {
		p := at.AtListIndex(i)
		if mp.Type.IsUnknown() {
			continue
		}
		if isNull(mp.Path) {
			diags.AddAttributeError(p.AtName("path"), "Unable to accept the mount point", p.AtName("path").String()+": a mount point needs path (inside the guest)")
		}
		switch mp.Type.ValueString() {
		case "bind":
			if isNull(mp.HostPath) {
				diags.AddAttributeError(p.AtName("host_path"), "Unable to accept the mount point", p.AtName("host_path").String()+": a bind mount needs host_path")
			}
		default:
			if isNull(mp.Storage) || isNull(mp.SizeGB) {
				diags.AddAttributeError(p, "Unable to accept the mount point", p.String()+": a volume needs storage and size_gb")
			}
		}
	}
}

// isNull is true for a null value only: an unknown one may still be set.
func isNull(v interface{ IsNull() bool }) bool { return v.IsNull() }

func typeOrIn(t string) string {
	if t == "" {
		return "in"
	}
	return t
}

// validateVM checks a VM's origin and refuses the container-only settings,
// which would otherwise be silently ignored.
func validateVM(spec *guestModel, at path.Path, bad func(p path.Path, what, why string)) {
	if isNull(spec.CloneFrom) && isNull(spec.TemplateImage) {
		bad(at.AtName("template_image"), "VM origin", "a VM needs template_image (a cloud image) or clone_from")
	}
	if !isNull(spec.TemplateImage) && isNull(spec.CloneFrom) && isNull(spec.Storage) {
		bad(at.AtName("storage"), "VM disk storage", "a VM created from a cloud image needs storage (phoenix storage_pool) for its imported disk")
	}
	for name, v := range map[string]interface{ IsNull() bool }{"unprivileged": spec.Unprivileged, "pct_options": spec.PctOptions,
		"lxc_options": spec.LXCOptions, "apparmor_profile": spec.AppArmorProfile, "gpus": spec.GPUs, "mount_points": spec.MountPoints,
		"swap_mb": spec.SwapMB} {
		if !v.IsNull() {
			bad(at.AtName(name), "VM setting", name+" is a container setting; a VM has none (remove it)")
		}
	}
}
