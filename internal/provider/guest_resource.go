package provider

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/lifecycle"
	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/phoenix"
	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/provision"
	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/pve"
)

var (
	_ resource.Resource                = &GuestResource{}
	_ resource.ResourceWithConfigure   = &GuestResource{}
	_ resource.ResourceWithModifyPlan  = &GuestResource{}
	_ resource.ResourceWithImportState = &GuestResource{}
)

// NewGuestResource returns the phoenix_guest resource.
func NewGuestResource() resource.Resource {
	return &GuestResource{}
}

// GuestResource is one guest, LXC or VM, identified by its ID.
type GuestResource struct {
	cfg *ProviderConfig
}

type guestResourceModel struct {
	ID                   types.String   `tfsdk:"id"`
	Spec                 *guestModel    `tfsdk:"spec"`
	Node                 types.String   `tfsdk:"node"`
	Started              types.Bool     `tfsdk:"started"`
	AllowRestart         types.Bool     `tfsdk:"allow_restart"`
	TaintOnFailure       types.Bool     `tfsdk:"taint_on_failure"`
	HealthChecksWarnOnly types.Bool     `tfsdk:"health_checks_warn_only"`
	ScriptTimeoutSeconds types.Int64    `tfsdk:"script_timeout_seconds"`
	CurrentNode          types.String   `tfsdk:"current_node"`
	Status               types.String   `tfsdk:"status"`
	PendingRestart       types.List     `tfsdk:"pending_restart"`
	Provisioned          types.Map      `tfsdk:"provisioned"`
	ProvisioningError    types.String   `tfsdk:"provisioning_error"`
	Health               types.List     `tfsdk:"health"`
	Timeouts             timeouts.Value `tfsdk:"timeouts"`
}

var healthObjectType = types.ObjectType{AttrTypes: map[string]attr.Type{
	"name": types.StringType, "ok": types.BoolType, "exit_code": types.Int64Type, "output": types.StringType,
}}

const (
	defaultCreateTimeout = 60 * time.Minute
	defaultUpdateTimeout = 60 * time.Minute
	defaultDeleteTimeout = 10 * time.Minute
)

func (r *GuestResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_guest"
}

func (r *GuestResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	computedStr := func(d string) schema.StringAttribute {
		return schema.StringAttribute{Computed: true, MarkdownDescription: d}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "One phoenix guest: an LXC container (VMs follow on the same design), created from an OS template or " +
			"cloned from its source's template snapshot, configured, started, provisioned with feature scripts through `pct exec`, " +
			"and snapshotted for its clones. `spec` takes a `phoenix_config` guest as it is (`spec = each.value`). " +
			"The guest's PVE description is managed: it records the applied definition, which is how `terraform import` restores it.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Computed: true, MarkdownDescription: "The guest ID.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"spec": schema.SingleNestedAttribute{
				Required:            true,
				MarkdownDescription: "The guest's definition, shaped like a `phoenix_config` guest.",
				Attributes:          specAttributes(guestFields, true),
			},
			"node": schema.StringAttribute{
				Optional: true, MarkdownDescription: "Node to create the guest on (default: the provider's `node`). A guest migrated later is followed (see `current_node`), not recreated.",
			},
			"started": schema.BoolAttribute{
				Optional: true, Computed: true, Default: booldefault.StaticBool(true),
				MarkdownDescription: "Keep the guest running (default true); a guest stopped out of band is started again.",
			},
			"allow_restart": schema.BoolAttribute{
				Optional: true, Computed: true, Default: booldefault.StaticBool(false),
				MarkdownDescription: "Restart a running guest when a change needs it (feature flags, raw lxc lines). Off by default: such changes wait in PVE's pending section and show in `pending_restart`.",
			},
			"taint_on_failure": schema.BoolAttribute{
				Optional: true, Computed: true, Default: booldefault.StaticBool(true),
				MarkdownDescription: "When a feature script or health check fails while the guest is created, fail the create (Terraform taints the guest and recreates it next time, as with provisioners). " +
					"Set false to keep the guest, record the failure in `provisioning_error` and resume from the failed feature on the next apply; pair it with a postcondition on `provisioning_error` to fail the apply (the estate module does).",
			},
			"health_checks_warn_only": schema.BoolAttribute{
				Optional: true, Computed: true, Default: booldefault.StaticBool(false),
				MarkdownDescription: "Report failing health checks as warnings instead of errors.",
			},
			"script_timeout_seconds": schema.Int64Attribute{
				Optional: true, MarkdownDescription: "Timeout of each feature script (default 1800); a hung script is killed and reported.",
			},
			"current_node": computedStr("Node the guest is on now."),
			"status": schema.StringAttribute{
				Computed: true, MarkdownDescription: "`running` or `stopped`.",
				Validators: []validator.String{stringvalidator.OneOf("running", "stopped")},
			},
			"pending_restart": schema.ListAttribute{
				Computed: true, ElementType: types.StringType,
				MarkdownDescription: "Config keys changed on the running guest that take effect at its next restart.",
			},
			"provisioned": schema.MapAttribute{
				Computed: true, ElementType: types.StringType,
				MarkdownDescription: "Digest of every feature and application script that ran successfully. A script whose digest changes runs again; scripts have no undo, so a removed feature is only dropped from here.",
			},
			"provisioning_error": computedStr("The last provisioning failure when `taint_on_failure = false` (guest, feature, exit code, stderr tail); null when provisioning succeeded."),
			"health": schema.ListAttribute{
				Computed: true, ElementType: healthObjectType,
				MarkdownDescription: "Results of the last health checks: `name`, `ok`, `exit_code`, `output` (tail).",
			},
		},
		Blocks: map[string]schema.Block{
			"timeouts": timeouts.Block(ctx, timeouts.Opts{Create: true, Update: true, Delete: true}),
		},
	}
}

func (r *GuestResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	if req.ProviderData == nil {
		return
	}
	cfg, ok := req.ProviderData.(*ProviderConfig)
	if !ok {
		resp.Diagnostics.AddError("Unable to configure phoenix_guest", fmt.Sprintf("unexpected provider data %T; this is a provider bug", req.ProviderData))
		return
	}
	r.cfg = cfg
}

// env builds the lifecycle environment, logging to the Terraform log.
func (r *GuestResource) env(ctx context.Context, node string) (lifecycle.Env, error) {
	if r.cfg == nil {
		return lifecycle.Env{}, errors.New("the provider is not configured")
	}
	api, shell, err := r.cfg.Clients()
	if err != nil {
		return lifecycle.Env{}, err
	}
	if node == "" {
		node = r.cfg.Node
	}
	if node == "" {
		// A single-node cluster needs no setting; a larger one must say where.
		nodes, err := api.Nodes(ctx)
		if err != nil {
			return lifecycle.Env{}, err
		}
		if len(nodes) != 1 {
			return lifecycle.Env{}, fmt.Errorf("the cluster has nodes %v: set the provider's node (PROXMOX_VE_NODE) or the resource's node", nodes)
		}
		node = nodes[0]
	}
	return lifecycle.Env{API: api, Shell: shell, Node: node, Log: func(s string) { tflog.Info(ctx, s) }}, nil
}

func (r *GuestResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan guestResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, d := plan.Timeouts.Create(ctx, defaultCreateTimeout)
	resp.Diagnostics.Append(d...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	g := plan.Spec.toGuest()
	env, err := r.env(ctx, plan.Node.ValueString())
	if err != nil {
		resp.Diagnostics.AddError("Unable to create guest "+strconv.Itoa(g.ID), err.Error())
		return
	}
	opts, diags := r.options(plan, nil)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	out, err := lifecycle.Create(ctx, env, g, opts)
	if !out.Exists {
		if err != nil {
			resp.Diagnostics.AddError(fmt.Sprintf("Unable to create CT %d", g.ID), err.Error())
		}
		return
	}
	r.finish(ctx, &plan, out, err, plan.TaintOnFailure.ValueBool(), &resp.Diagnostics)
	r.writeMeta(ctx, env, out.Ref, &plan, out.Records, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

// finish records an apply's outcome in the model and turns its failure into
// diagnostics. A guest that exists is always kept in state.
func (r *GuestResource) finish(ctx context.Context, m *guestResourceModel, out lifecycle.Outcome, err error, failHard bool, diags *diag.Diagnostics) {
	m.ID = types.StringValue(strconv.Itoa(out.Ref.ID))
	m.CurrentNode = types.StringValue(out.Ref.Node)
	m.Status = types.StringValue(map[bool]string{true: "running", false: "stopped"}[m.Started.ValueBool()])
	m.PendingRestart = stringListValue(out.PendingRestart)
	m.Provisioned = recordsMap(out.Records)
	m.Health = healthList(out.Checks)
	m.ProvisioningError = types.StringNull()
	for _, w := range out.Warnings {
		diags.AddWarning("Guest "+m.ID.ValueString()+" needs attention", w)
	}
	var stepErr *provision.StepError
	if err != nil {
		if errors.As(err, &stepErr) && !failHard {
			m.ProvisioningError = types.StringValue(err.Error())
			diags.AddWarning(fmt.Sprintf("Unable to provision CT %d", out.Ref.ID),
				err.Error()+"\n\nThe guest is kept; the next apply resumes from the failed script.")
			return
		}
		if st, e := r.readStatus(ctx, out.Ref); e == nil {
			m.Status = types.StringValue(st)
		}
		diags.AddError(fmt.Sprintf("Unable to apply CT %d", out.Ref.ID),
			err.Error()+"\n\nThe guest is kept in state; fix the cause and apply again.")
		return
	}
	warnOnly := m.HealthChecksWarnOnly.ValueBool()
	for _, c := range out.Checks {
		if c.OK {
			continue
		}
		msg := fmt.Sprintf("health check %q on CT %d failed (exit %d):\n%s", c.Name, out.Ref.ID, c.ExitCode, c.Output)
		switch {
		case warnOnly:
			diags.AddWarning("Health check failed", msg)
		case !failHard:
			m.ProvisioningError = types.StringValue(msg)
			diags.AddWarning("Health check failed", msg)
		default:
			diags.AddError("Health check failed", msg+"\n\nSet health_checks_warn_only = true to report failures as warnings.")
		}
	}
}

func (r *GuestResource) readStatus(ctx context.Context, ref pve.Ref) (string, error) {
	api, _, err := r.cfg.Clients()
	if err != nil {
		return "", err
	}
	st, err := api.Status(ctx, ref)
	if err != nil {
		return "", err
	}
	return st.Status, nil
}

func (r *GuestResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state guestResourceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	id, err := strconv.Atoi(state.ID.ValueString())
	if err != nil {
		resp.Diagnostics.AddError("Unable to read guest", fmt.Sprintf("state id %q is not a guest ID", state.ID.ValueString()))
		return
	}
	env, err := r.env(ctx, state.Node.ValueString())
	if err != nil {
		resp.Diagnostics.AddError("Unable to read guest "+state.ID.ValueString(), err.Error())
		return
	}
	imported, d := req.Private.GetKey(ctx, privateImported)
	resp.Diagnostics.Append(d...)
	withMeta := false
	if len(imported) > 0 {
		importDefaults(&state)
		withMeta = r.loadImported(ctx, env, id, &state, &resp.Diagnostics)
	}
	var g *phoenix.Guest
	switch {
	case state.Spec != nil:
		g = state.Spec.toGuest()
	default:
		g = importableGuest(id)
	}
	obs, err := lifecycle.Read(ctx, env, id, g)
	ref, status, pending, found := obs.Ref, obs.Status, obs.Pending, obs.Found
	if err != nil {
		resp.Diagnostics.AddError("Unable to read guest "+state.ID.ValueString(),
			err.Error()+"\n\nThe state is kept unchanged; retry when PVE answers.")
		return
	}
	if !found {
		resp.Diagnostics.AddWarning("Guest "+state.ID.ValueString()+" disappeared",
			"No node has this guest any more (deleted outside Terraform); it is removed from state and will be created again.")
		resp.State.RemoveResource(ctx)
		return
	}
	if len(imported) > 0 {
		if !withMeta {
			state.Spec = specFromObserved(g)
			resp.Diagnostics.AddWarning("Guest "+state.ID.ValueString()+" imported from PVE's configuration only",
				"It carries no phoenix metadata (it was not created by this provider), so its scripts, clone source and template "+
					"are unknown: the next plan shows them, and its feature scripts run once on the next apply.")
		}
		resp.Diagnostics.Append(resp.Private.SetKey(ctx, privateImported, nil)...)
	}
	if ref.Kind != pve.LXC {
		resp.Diagnostics.AddError("Unable to read guest "+state.ID.ValueString(), "it is a VM; phoenix_guest manages containers for now")
		return
	}
	state.Spec.applyObserved(g)
	state.CurrentNode = types.StringValue(ref.Node)
	state.Status = types.StringValue(status)
	state.PendingRestart = stringListValue(pending)
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

func (r *GuestResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state guestResourceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, d := plan.Timeouts.Update(ctx, defaultUpdateTimeout)
	resp.Diagnostics.Append(d...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	env, err := r.env(ctx, state.CurrentNode.ValueString())
	if err != nil {
		resp.Diagnostics.AddError("Unable to update guest "+state.ID.ValueString(), err.Error())
		return
	}
	opts, diags := r.options(plan, &state)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	g := plan.Spec.toGuest()
	ref := pve.Ref{Node: state.CurrentNode.ValueString(), Kind: pve.LXC, ID: g.ID}
	if loc, ok, err := env.API.Locate(ctx, g.ID); err == nil && ok {
		ref = loc
	}
	out, err := lifecycle.Update(ctx, env, ref, g, opts)
	r.finish(ctx, &plan, out, err, true, &resp.Diagnostics)
	r.writeMeta(ctx, env, out.Ref, &plan, out.Records, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *GuestResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state guestResourceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, d := state.Timeouts.Delete(ctx, defaultDeleteTimeout)
	resp.Diagnostics.Append(d...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	env, err := r.env(ctx, state.CurrentNode.ValueString())
	if err != nil {
		resp.Diagnostics.AddError("Unable to delete guest "+state.ID.ValueString(), err.Error())
		return
	}
	id, _ := strconv.Atoi(state.ID.ValueString())
	ref, found, err := env.API.Locate(ctx, id)
	if err != nil {
		resp.Diagnostics.AddError("Unable to delete guest "+state.ID.ValueString(), err.Error())
		return
	}
	if !found {
		return
	}
	if err := lifecycle.Destroy(ctx, env, ref); err != nil {
		resp.Diagnostics.AddError("Unable to delete guest "+state.ID.ValueString(), err.Error())
	}
}

const privateImported = "imported"

func (r *GuestResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	id := req.ID
	node := ""
	if n, rest, ok := strings.Cut(req.ID, "/"); ok {
		node, id = n, rest
	}
	if _, err := strconv.Atoi(id); err != nil {
		resp.Diagnostics.AddError("Unable to import guest", fmt.Sprintf("expected a guest ID such as 950 (or node/950), got %q", req.ID))
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), id)...)
	if node != "" {
		resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("current_node"), node)...)
	}
	resp.Diagnostics.Append(resp.Private.SetKey(ctx, privateImported, []byte(`{"v":1}`))...)
}

// importableGuest is a model with every PVE-held field marked as managed, so
// lifecycle.Read observes all of them for an imported guest.
func importableGuest(id int) *phoenix.Guest {
	zero, f := int64(0), false
	return &phoenix.Guest{Kind: phoenix.KindLXC, ID: id, Name: "?", Cores: &zero, MemoryMB: &zero, SwapMB: &zero, DiskSizeGB: &zero,
		StartAtBoot: &f, BootOrder: &zero, BootDelay: &zero, Unprivileged: &f, PctOptions: []string{},
		Network: phoenix.Network{Name: "?", Bridge: "?", IP: "?", Gateway: "?", MAC: "?"}, Firewall: &phoenix.Firewall{}}
}
