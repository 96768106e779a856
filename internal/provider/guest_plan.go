package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
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

const shrinkDesc = "PVE only grows disks: a smaller size recreates the guest."

// shrinks makes a smaller disk a replacement: PVE only grows disks.
func shrinks(_ context.Context, req planmodifier.Int64Request, resp *int64planmodifier.RequiresReplaceIfFuncResponse) {
	if req.StateValue.IsNull() || req.PlanValue.IsNull() || req.PlanValue.IsUnknown() {
		return
	}
	resp.RequiresReplace = req.PlanValue.ValueInt64() < req.StateValue.ValueInt64()
}

// specSteps reads every script the spec names, so a missing file is a
// plan-time error naming the feature and the path looked at.
func specSteps(ctx context.Context, spec *guestModel, timeout time.Duration) ([]provision.Step, diag.Diagnostics) {
	var diags diag.Diagnostics
	var steps []provision.Step
	for i, f := range listAs[featureModel](ctx, spec.Features) {
		name := f.Name.ValueString()
		at := path.Root("spec").AtName("features").AtListIndex(i)
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

func specChecks(ctx context.Context, spec *guestModel, warnOnly bool) ([]provision.Check, diag.Diagnostics) {
	var diags diag.Diagnostics
	var out []provision.Check
	for i, h := range listAs[healthCheckModel](ctx, spec.HealthChecks) {
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

// options builds the lifecycle options of an operation on g, in's spec as
// the domain model.
func (c *ProviderConfig) options(ctx context.Context, in buildInput, g *phoenix.Guest) (lifecycle.Options, error) {
	timeout := provision.DefaultStepTimeout
	if in.set.ScriptTimeout != nil {
		timeout = time.Duration(*in.set.ScriptTimeout) * time.Second
	}
	steps, diags := specSteps(ctx, &in.spec, timeout)
	checks, d := specChecks(ctx, &in.spec, in.set.WarnOnly)
	diags.Append(d...)
	ctxJSON, err := guestContext(g)
	if err != nil {
		diags.AddError("Unable to build the feature scripts' context", err.Error())
	}
	var common []byte
	if p := in.spec.CommonUtils.ValueString(); p != "" {
		if common, err = os.ReadFile(p); err != nil {
			diags.AddError("Unable to read common utils", err.Error())
		}
	}
	desc, err := metadata(ctx, in.spec, in.set, false, in.prev)
	if err != nil {
		diags.AddError("Unable to describe the guest", err.Error())
	}
	if diags.HasError() {
		return lifecycle.Options{}, diagError(diags)
	}
	secrets := c.secrets()
	if g.CloudInit != nil && g.CloudInit.Password != "" {
		secrets = append(secrets, g.CloudInit.Password)
	}
	return lifecycle.Options{
		Started:      in.set.Started,
		AllowRestart: in.set.AllowRestart,
		Provision: provision.Spec{GuestID: g.ID, GuestName: g.Name, GuestKind: string(g.Kind), Context: ctxJSON,
			CommonUtils: common, Steps: steps, Secrets: secrets},
		Checks:          checks,
		Previous:        in.prev,
		Description:     desc,
		PasswordChanged: in.passwordChanged,
	}, nil
}

// diagError joins error diagnostics into one error.
func diagError(diags diag.Diagnostics) error {
	var parts []string
	for _, d := range diags.Errors() {
		parts = append(parts, d.Summary()+": "+d.Detail())
	}
	return fmt.Errorf("%s", strings.Join(parts, "\n"))
}

func (c *ProviderConfig) secrets() []string {
	var out []string
	_, tokenSecret, _ := strings.Cut(c.APIToken, "=")
	for _, s := range []string{c.Password, c.SSH.Password, c.APIToken, tokenSecret, c.SSH.PrivateKey} {
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
	put("template", g.Template, g.Template != "")
	if g.Kind == phoenix.KindVM {
		put("disk_size_gb", g.DiskSizeGB, g.DiskSizeGB != nil)
		put("template_image", g.TemplateImage, g.TemplateImage != "")
		put("os_type", g.OSType, g.OSType != "")
		put("is_template", g.IsTemplate, g.IsTemplate)
		put("clone_from_vmid", g.CloneFrom, g.CloneFrom != nil)
		if ci := g.CloudInit; ci != nil {
			// The password stays out: scripts get it only through the context
			// when the phoenix files put it in extra keys themselves.
			put("cloud_init", map[string]any{"username": ci.Username, "ssh_authorized_keys": ci.SSHAuthorizedKeys, "packages": ci.Packages}, true)
		}
	} else {
		put("storage_size_gb", g.DiskSizeGB, g.DiskSizeGB != nil)
	}
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

// stringListValue is stringList with nil as an empty list: a computed list
// is known once applied.
func stringListValue(xs []string) types.List {
	if xs == nil {
		xs = []string{}
	}
	return stringList(xs)
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

// label names the spec's guest in messages: "CT 950", "VM 8000".
func (m *guestModel) label() string {
	if m.Kind.ValueString() == string(phoenix.KindVM) {
		return "VM " + m.VMID.String()
	}
	return "CT " + m.VMID.String()
}

// ModifyPlan does what schema plan modifiers cannot: it refuses what cannot
// work (container templates, a VM template turned back, a VM without a
// snippets storage for its cloud-init, root-only settings without a
// root@pam ticket, missing scripts), plans `provisioned` from the scripts'
// digests, and, when Update will run, marks the values it recomputes as
// unknown and warns about changes that wait for a restart.
func (r *GuestResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return
	}
	var plan guestResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	var state *guestResourceModel
	if !req.State.Raw.IsNull() {
		state = &guestResourceModel{}
		resp.Diagnostics.Append(req.State.Get(ctx, state)...)
	}
	spec := objAs[guestModel](ctx, plan.Spec)
	if spec == nil {
		return // unknown as a whole: checked once known
	}
	label := spec.label()
	if spec.Kind.ValueString() == string(phoenix.KindVM) {
		r.planVM(ctx, &plan, state, spec, label, &resp.Diagnostics)
	}
	if spec.IsTemplate.ValueBool() && spec.Kind.ValueString() == string(phoenix.KindLXC) {
		resp.Diagnostics.AddAttributeError(path.Root("spec").AtName("is_template"), "Unable to plan "+label,
			"phoenix_guest does not convert containers into PVE templates: phoenix's container templates are snapshots, "+
				"so set template_snapshot_name and clone with clone_from/clone_snapshot instead.")
		return
	}
	r.checkRootOnly(ctx, spec, &resp.Diagnostics)
	scriptsKnown := fullyKnown(ctx, spec.Features) && fullyKnown(ctx, spec.ApplicationScript) && fullyKnown(ctx, spec.HealthChecks)
	var steps []provision.Step
	if scriptsKnown {
		var diags diag.Diagnostics
		steps, diags = specSteps(ctx, spec, provision.DefaultStepTimeout)
		resp.Diagnostics.Append(diags...)
		_, diags = specChecks(ctx, spec, false)
		resp.Diagnostics.Append(diags...)
	}
	if resp.Diagnostics.HasError() || state == nil {
		return // at creation every computed value is known after apply
	}
	if m, _ := readMarker(ctx, req.Private); m != nil && m.Foreign && scriptsKnown && len(recordsFromMap(state.Provisioned)) == 0 {
		plan.Provisioned = desiredDigests(steps)
		if len(steps) > 0 {
			resp.Diagnostics.AddWarning("Feature scripts of "+label+" are recorded, not run",
				label+" was imported from a guest this provider did not create (e.g. built by phoenix_orchestrator.sh, which ran its feature scripts): "+
					"this apply records "+joinNames(stepNames(steps))+" in `provisioned` without running them. Change a feature's `trigger` to run it.")
		}
	} else {
		r.planProvisioned(ctx, &plan, state, steps, scriptsKnown, label, &resp.Diagnostics)
	}
	resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
	// Whether Update runs is whether the plan differs from the state, which
	// covers every attribute without a list kept by hand.
	if !resp.Plan.Raw.Equal(req.State.Raw) {
		plan.PendingRestart = types.ListUnknown(types.StringType)
		plan.Health = types.ListUnknown(healthObjectType)
		plan.ProvisioningError = types.StringNull()
		r.warnRestart(plan.Spec, phoenix.Kind(spec.Kind.ValueString()), state, plan.AllowRestart.ValueBool(), label, &resp.Diagnostics)
		resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
	}
}

// planProvisioned plans `provisioned`: a changed digest, trigger or new
// feature shows as a change of exactly that entry.
func (r *GuestResource) planProvisioned(ctx context.Context, plan, state *guestResourceModel, steps []provision.Step, known bool, label string, diags *diag.Diagnostics) {
	if !known {
		plan.Provisioned = types.MapUnknown(types.StringType)
		return
	}
	want := desiredDigests(steps)
	toRun := provision.Pending(steps, recordsFromMap(state.Provisioned))
	plan.Provisioned = state.Provisioned
	switch {
	case len(toRun) == 0 && want.Equal(state.Provisioned):
	case !plan.Started.ValueBool():
		diags.AddWarning("Feature scripts of "+label+" wait",
			"started = false: scripts run inside a running guest, so "+joinNames(toRun)+" will run once the guest is started.")
	default:
		plan.Provisioned = want
		if len(toRun) > 0 {
			diags.AddWarning("Feature scripts will run on "+label,
				"This apply runs: "+joinNames(toRun)+". Scripts have no undo; a removed feature is only dropped from `provisioned`.")
		}
	}
}

// warnRestart warns about fields of the planned spec that changed and that
// the field table marks as waiting for a restart of a running guest of kind.
func (r *GuestResource) warnRestart(spec types.Object, kind phoenix.Kind, state *guestResourceModel, allow bool, label string, diags *diag.Diagnostics) {
	if allow || state.Status.ValueString() != "running" || state.Spec.IsNull() {
		return
	}
	have, want := state.Spec.Attributes(), spec.Attributes()
	var needs []string
	for _, x := range guestFields {
		if slices.Contains(x.restart, kind) && !want[x.name].Equal(have[x.name]) {
			needs = append(needs, x.name)
		}
	}
	if len(needs) > 0 {
		diags.AddWarning("Changes to "+label+" need a restart",
			"Changing "+joinNames(needs)+" on a running guest takes effect at its next restart; allow_restart = false, so the guest is not restarted "+
				"and the change shows in pending_restart.")
	}
}

func stepNames(steps []provision.Step) []string {
	out := make([]string, len(steps))
	for i, s := range steps {
		out[i] = s.Name
	}
	return out
}

func joinNames(xs []string) string {
	b, _ := json.Marshal(xs)
	return string(b)
}

// checkRootOnly detects up front what PVE reserves for root@pam with a
// ticket: bind mounts, feature flags other than nesting, device passthrough.
func (r *GuestResource) checkRootOnly(ctx context.Context, spec *guestModel, diags *diag.Diagnostics) {
	if r.cfg == nil || r.cfg.Endpoint == "" {
		return
	}
	if r.cfg.APIToken == "" && r.cfg.Username == "root@pam" {
		return
	}
	how := "PVE allows this only for root@pam with a password (ticket); API tokens are never root. Set username = \"root@pam\" and password (PROXMOX_VE_USERNAME/PROXMOX_VE_PASSWORD) instead of api_token."
	for i, mp := range listAs[mountPointModel](ctx, spec.MountPoints) {
		if mp.Type.ValueString() == "bind" || filepath.IsAbs(mp.HostPath.ValueString()) {
			diags.AddAttributeError(path.Root("spec").AtName("mount_points").AtListIndex(i), "Bind mount needs root@pam",
				fmt.Sprintf("mount point %s is a bind mount of %s. %s", mp.Path.ValueString(), mp.HostPath.ValueString(), how))
		}
	}
	for i, k := range strs(spec.PctOptions) {
		if n, _, _ := strings.Cut(k, "="); n != "nesting" {
			diags.AddAttributeError(path.Root("spec").AtName("pct_options").AtListIndex(i), "Feature flag needs root@pam",
				fmt.Sprintf("changing feature flags (except nesting) is only allowed for root@pam: %q. %s", k, how))
		}
	}
}
