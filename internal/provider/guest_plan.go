package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/lifecycle"
	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/phoenix"
	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/provision"
)

// shrinks makes a smaller disk a replacement: PVE only grows disks.
func shrinks(_ context.Context, req planmodifier.Int64Request, resp *int64planmodifier.RequiresReplaceIfFuncResponse) {
	if req.StateValue.IsNull() || req.PlanValue.IsNull() || req.PlanValue.IsUnknown() {
		return
	}
	resp.RequiresReplace = req.PlanValue.ValueInt64() < req.StateValue.ValueInt64()
}

// steps reads every script the spec names, so a missing file is a
// plan-time error naming the feature and the path looked at.
func specSteps(spec *guestModel, timeout time.Duration) ([]provision.Step, diag.Diagnostics) {
	var diags diag.Diagnostics
	var steps []provision.Step
	for i, f := range spec.Features {
		name := f.Name.ValueString()
		at := path.Root("spec").AtName("features").AtListIndex(i)
		if !phoenix.ValidFeatureName(name) {
			diags.AddAttributeError(at.AtName("name"), "Invalid feature name",
				fmt.Sprintf("feature %q is not a plain name (letters, digits, '.', '_', '-'); it becomes a file name", name))
			continue
		}
		content, src, err := scriptContent(f.Path, f.Content)
		if err != nil {
			diags.AddAttributeError(at, "Unable to read feature script", fmt.Sprintf("feature %q: %v", name, err))
			continue
		}
		steps = append(steps, provision.Step{Name: name, Kind: provision.KindFeature, Content: content, Source: src,
			HostMode: f.Host.ValueBool(), Trigger: f.Trigger.ValueString(), Timeout: timeout})
	}
	if app := spec.ApplicationScript.ValueString(); app != "" {
		content, err := os.ReadFile(app)
		if err != nil {
			diags.AddAttributeError(path.Root("spec").AtName("application_script"), "Unable to read the application script",
				fmt.Sprintf("application script: script not found at %s (%v)", app, err))
		} else {
			steps = append(steps, provision.Step{Name: filepath.Base(app), Kind: provision.KindApplication, Content: content, Source: app, Timeout: timeout})
		}
	}
	return steps, diags
}

func scriptContent(p, content types.String) ([]byte, string, error) {
	switch {
	case !content.IsNull() && content.ValueString() != "":
		return []byte(content.ValueString()), "", nil
	case !p.IsNull() && p.ValueString() != "":
		b, err := os.ReadFile(p.ValueString())
		if err != nil {
			return nil, "", fmt.Errorf("script not found at %s (%v)", p.ValueString(), err)
		}
		return b, p.ValueString(), nil
	}
	return nil, "", fmt.Errorf("neither path nor content is set; give a script path (or features_dir in phoenix_config) or inline content")
}

func specChecks(spec *guestModel, warnOnly bool) ([]provision.Check, diag.Diagnostics) {
	var diags diag.Diagnostics
	var out []provision.Check
	for i, h := range spec.HealthChecks {
		c := provision.Check{Name: h.Name.ValueString(), Type: provision.CheckScript, Path: h.Path.ValueString(), WarnOnly: warnOnly,
			Retries: int(h.Retries.ValueInt64()), Interval: time.Duration(h.Interval.ValueInt64()) * time.Second}
		if h.Type.ValueString() == "command" || (!h.Command.IsNull() && h.Path.IsNull()) {
			c.Type, c.Command = provision.CheckCommand, h.Command.ValueString()
		} else {
			b, err := os.ReadFile(h.Path.ValueString())
			if err != nil {
				diags.AddAttributeError(path.Root("spec").AtName("health_checks").AtListIndex(i), "Unable to read health check",
					fmt.Sprintf("health check %q: script not found at %s (%v)", c.Name, h.Path.ValueString(), err))
				continue
			}
			c.Content, c.Path = b, filepath.Base(h.Path.ValueString())
		}
		out = append(out, c)
	}
	return out, diags
}

// options builds the lifecycle options of an apply from the plan (and the
// prior state's records).
func (r *GuestResource) options(plan guestResourceModel, state *guestResourceModel) (lifecycle.Options, diag.Diagnostics) {
	timeout := provision.DefaultStepTimeout
	if !plan.ScriptTimeoutSeconds.IsNull() {
		timeout = time.Duration(plan.ScriptTimeoutSeconds.ValueInt64()) * time.Second
	}
	steps, diags := specSteps(plan.Spec, timeout)
	checks, d := specChecks(plan.Spec, plan.HealthChecksWarnOnly.ValueBool())
	diags.Append(d...)
	g := plan.Spec.toGuest()
	ctxJSON, err := guestContext(g)
	if err != nil {
		diags.AddError("Unable to build the feature scripts' context", err.Error())
	}
	var common []byte
	if p := plan.Spec.CommonUtils.ValueString(); p != "" {
		if common, err = os.ReadFile(p); err != nil {
			diags.AddAttributeError(path.Root("spec").AtName("common_utils"), "Unable to read common utils", err.Error())
		}
	}
	opts := lifecycle.Options{
		Started:      plan.Started.ValueBool(),
		AllowRestart: plan.AllowRestart.ValueBool(),
		Provision: provision.Spec{GuestID: g.ID, GuestName: g.Name, GuestKind: string(g.Kind), Context: ctxJSON,
			CommonUtils: common, Steps: steps, Secrets: r.secrets()},
		Checks: checks,
	}
	if state != nil {
		opts.Previous = recordsFromMap(state.Provisioned)
	}
	return opts, diags
}

func (r *GuestResource) secrets() []string {
	if r.cfg == nil {
		return nil
	}
	var out []string
	for _, s := range []string{r.cfg.Password, r.cfg.SSH.Password, r.cfg.APIToken} {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// guestContext is the JSON every script gets: the typed definition merged
// with the keys the model does not know (vllm_*, user config...).
func guestContext(g *phoenix.Guest) ([]byte, error) {
	var extra []byte
	if len(g.Extra) > 0 {
		b, err := json.Marshal(g.Extra)
		if err != nil {
			return nil, err
		}
		extra = b
	}
	typed := *g
	typed.Extra = nil
	return provision.MergeContext(contextFields(&typed), extra)
}

// contextFields names the typed definition with phoenix's own JSON keys.
func contextFields(g *phoenix.Guest) map[string]any {
	m := map[string]any{"vmid": g.ID, "kind": g.Kind, "name": g.Name, "features": g.Features}
	put := func(k string, v any, ok bool) {
		if ok {
			m[k] = v
		}
	}
	put("cores", g.Cores, g.Cores != nil)
	put("memory_mb", g.MemoryMB, g.MemoryMB != nil)
	put("swap_mb", g.SwapMB, g.SwapMB != nil)
	put("storage_pool", g.Storage, g.Storage != "")
	put("storage_size_gb", g.DiskSizeGB, g.DiskSizeGB != nil)
	put("template", g.Template, g.Template != "")
	put("clone_from", g.CloneFrom, g.CloneFrom != nil)
	put("template_snapshot_name", g.TemplateSnapshot, g.TemplateSnapshot != "")
	put("network_config", map[string]any{"name": g.Network.Name, "bridge": g.Network.Bridge, "ip": g.Network.IP, "gw": g.Network.Gateway}, g.Network.IP != "")
	put("mac_address", g.Network.MAC, g.Network.MAC != "")
	put("gpu_assignment", g.GPUs, len(g.GPUs) > 0)
	put("ports", g.Ports, len(g.Ports) > 0)
	put("dependencies", g.Dependencies, len(g.Dependencies) > 0)
	put("application_script", g.ApplicationScript, g.ApplicationScript != "")
	return m
}

func recordsMap(recs []provision.Record) types.Map {
	elems := map[string]attr.Value{}
	for _, r := range recs {
		if r.Status == provision.StatusOK {
			elems[r.Name] = types.StringValue(r.Digest)
		}
	}
	return types.MapValueMust(types.StringType, elems)
}

func recordsFromMap(m types.Map) []provision.Record {
	if m.IsNull() || m.IsUnknown() {
		return nil
	}
	var out []provision.Record
	for name, v := range m.Elements() {
		if s, ok := v.(types.String); ok {
			out = append(out, provision.Record{Name: name, Digest: s.ValueString(), Status: provision.StatusOK})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// desiredDigests is what `provisioned` will hold after a successful apply.
func desiredDigests(steps []provision.Step) types.Map {
	elems := map[string]attr.Value{}
	for _, s := range steps {
		elems[s.Name] = types.StringValue(provision.Digest(s))
	}
	return types.MapValueMust(types.StringType, elems)
}

func stringListValue(xs []string) types.List {
	elems := make([]attr.Value, len(xs))
	for i, x := range xs {
		elems[i] = types.StringValue(x)
	}
	return types.ListValueMust(types.StringType, elems)
}

func healthList(results []provision.CheckResult) types.List {
	elems := make([]attr.Value, 0, len(results))
	for _, c := range results {
		elems = append(elems, types.ObjectValueMust(healthObjectType.AttrTypes, map[string]attr.Value{
			"name": types.StringValue(c.Name), "ok": types.BoolValue(c.OK), "exit_code": types.Int64Value(int64(c.ExitCode)), "output": types.StringValue(c.Output),
		}))
	}
	return types.ListValueMust(healthObjectType, elems)
}

// ModifyPlan validates what only the provider can (VM support, root-only
// settings, scripts on disk), and plans the computed attributes: which
// scripts will run, the run state, and whether a restart will be pending.
func (r *GuestResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return
	}
	var plan guestResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() || plan.Spec == nil {
		return
	}
	var state *guestResourceModel
	if !req.State.Raw.IsNull() {
		state = &guestResourceModel{}
		resp.Diagnostics.Append(req.State.Get(ctx, state)...)
	}
	if k := plan.Spec.Kind.ValueString(); k == "vm" {
		resp.Diagnostics.AddAttributeError(path.Root("spec").AtName("kind"), "Unable to plan VM "+plan.Spec.VMID.String(),
			"phoenix_guest manages LXC containers for now; VM support (cloud images, templates, cloud-init, the guest agent) is the next issue. "+
				"Remove VMs from the estate (or filter them out of for_each) until then.")
		return
	} else if k != "lxc" && !plan.Spec.Kind.IsUnknown() {
		resp.Diagnostics.AddAttributeError(path.Root("spec").AtName("kind"), "Invalid guest kind", fmt.Sprintf("expected \"lxc\" or \"vm\", got %q", k))
		return
	}
	if plan.Spec.IsTemplate.ValueBool() {
		resp.Diagnostics.AddAttributeError(path.Root("spec").AtName("is_template"), "Unable to plan CT "+plan.Spec.VMID.String(),
			"converting a container into a PVE template is not supported yet: phoenix's container templates are snapshots, "+
				"so set template_snapshot_name and clone with clone_from/clone_snapshot instead.")
		return
	}
	r.checkRootOnly(plan.Spec, &resp.Diagnostics)
	timeout := provision.DefaultStepTimeout
	steps, diags := specSteps(plan.Spec, timeout)
	resp.Diagnostics.Append(diags...)
	_, diags = specChecks(plan.Spec, false)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	status := map[bool]string{true: "running", false: "stopped"}[plan.Started.ValueBool()]
	plan.Status = types.StringValue(status)
	if state == nil {
		// Everything runs at creation; the outcome is known after apply.
		plan.Provisioned = types.MapUnknown(types.StringType)
		plan.ProvisioningError = types.StringUnknown()
		plan.PendingRestart = types.ListUnknown(types.StringType)
		plan.Health = types.ListUnknown(healthObjectType)
		plan.CurrentNode = types.StringUnknown()
		resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
		return
	}
	// Computed values stay as they are unless this apply changes them.
	plan.CurrentNode = state.CurrentNode
	plan.Provisioned = state.Provisioned
	plan.PendingRestart = state.PendingRestart
	plan.Health = state.Health
	plan.ProvisioningError = state.ProvisioningError
	want := desiredDigests(steps)
	toRun := provision.Pending(steps, recordsFromMap(state.Provisioned))
	switch {
	case !plan.Started.ValueBool() && (len(toRun) > 0 || !want.Equal(state.Provisioned)):
		resp.Diagnostics.AddWarning("Feature scripts of CT "+plan.Spec.VMID.String()+" wait",
			"started = false: scripts run inside a running guest, so "+joinNames(toRun)+" will run once the guest is started.")
	case len(toRun) > 0 || !want.Equal(state.Provisioned):
		plan.Provisioned = want
		plan.Health = types.ListUnknown(healthObjectType)
		plan.ProvisioningError = types.StringNull()
		if len(toRun) > 0 {
			resp.Diagnostics.AddWarning("Feature scripts will run on CT "+plan.Spec.VMID.String(),
				"This apply runs: "+joinNames(toRun)+". Scripts have no undo; a removed feature is only dropped from `provisioned`.")
		}
	}
	if updates(ctx, &plan, state) {
		// Any update re-runs the health checks and re-evaluates pending keys.
		plan.PendingRestart = types.ListUnknown(types.StringType)
		plan.Health = types.ListUnknown(healthObjectType)
		if needs := restartFields(plan.Spec, state.Spec); len(needs) > 0 && state.Status.ValueString() == "running" && !plan.AllowRestart.ValueBool() {
			resp.Diagnostics.AddWarning("Changes to CT "+plan.Spec.VMID.String()+" need a restart",
				"Changing "+joinNames(needs)+" on a running container takes effect at its next restart; allow_restart = false, so the guest is not restarted "+
					"and the change shows in pending_restart.")
		}
	}
	resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
}

// updates reports whether the plan differs from the state, i.e. whether
// Terraform will call Update.
func updates(ctx context.Context, plan, state *guestResourceModel) bool {
	return !specEqual(ctx, plan.Spec, state.Spec) || !plan.Started.Equal(state.Started) || !plan.Status.Equal(state.Status) ||
		!plan.Node.Equal(state.Node) || !plan.AllowRestart.Equal(state.AllowRestart) || !plan.TaintOnFailure.Equal(state.TaintOnFailure) ||
		!plan.HealthChecksWarnOnly.Equal(state.HealthChecksWarnOnly) || !plan.ScriptTimeoutSeconds.Equal(state.ScriptTimeoutSeconds) ||
		!plan.Provisioned.Equal(state.Provisioned) || !plan.Timeouts.Object.Equal(state.Timeouts.Object)
}

func joinNames(xs []string) string {
	b, _ := json.Marshal(xs)
	return string(b)
}

// restartFields lists changed spec fields whose change needs a restart.
func restartFields(plan, state *guestModel) []string {
	var out []string
	if state == nil {
		return nil
	}
	if !listEqual(plan.PctOptions, state.PctOptions) {
		out = append(out, "pct_options")
	}
	if !listEqual(plan.LXCOptions, state.LXCOptions) || !plan.AppArmorProfile.Equal(state.AppArmorProfile) {
		out = append(out, "lxc_options")
	}
	if !listEqual(plan.GPUs, state.GPUs) {
		out = append(out, "gpus")
	}
	return out
}

func listEqual(a, b []types.String) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !a[i].Equal(b[i]) {
			return false
		}
	}
	return true
}

func specEqual(ctx context.Context, a, b *guestModel) bool {
	if a == nil || b == nil {
		return a == b
	}
	va, d1 := types.ObjectValueFrom(ctx, specType().AttrTypes, a)
	vb, d2 := types.ObjectValueFrom(ctx, specType().AttrTypes, b)
	return !d1.HasError() && !d2.HasError() && va.Equal(vb)
}

// checkRootOnly detects up front what PVE reserves for root@pam with a
// ticket: bind mounts, feature flags other than nesting, device passthrough.
func (r *GuestResource) checkRootOnly(spec *guestModel, diags *diag.Diagnostics) {
	if r.cfg == nil || r.cfg.Endpoint == "" {
		return
	}
	root := r.cfg.APIToken == "" && r.cfg.Username == "root@pam"
	if root {
		return
	}
	how := "PVE allows this only for root@pam with a password (ticket); API tokens are never root. Set username = \"root@pam\" and password (PROXMOX_VE_USERNAME/PROXMOX_VE_PASSWORD) instead of api_token."
	for i, mp := range spec.MountPoints {
		if mp.Type.ValueString() == "bind" || filepath.IsAbs(mp.HostPath.ValueString()) {
			diags.AddAttributeError(path.Root("spec").AtName("mount_points").AtListIndex(i), "Bind mount needs root@pam",
				fmt.Sprintf("mount point %s is a bind mount of %s. %s", mp.Path.ValueString(), mp.HostPath.ValueString(), how))
		}
	}
	for i, o := range spec.PctOptions {
		k := o.ValueString()
		if n, _, _ := strings.Cut(k, "="); n != "nesting" {
			diags.AddAttributeError(path.Root("spec").AtName("pct_options").AtListIndex(i), "Feature flag needs root@pam",
				fmt.Sprintf("changing feature flags (except nesting) is only allowed for root@pam: %q. %s", k, how))
		}
	}
}
