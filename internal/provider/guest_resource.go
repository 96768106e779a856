package provider

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

var (
	_ resource.Resource                   = &GuestResource{}
	_ resource.ResourceWithConfigure      = &GuestResource{}
	_ resource.ResourceWithModifyPlan     = &GuestResource{}
	_ resource.ResourceWithImportState    = &GuestResource{}
	_ resource.ResourceWithValidateConfig = &GuestResource{}
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
	Spec                 types.Object   `tfsdk:"spec"`
	Estate               types.Object   `tfsdk:"estate"`
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

type estateModel struct {
	ConfigDir   types.String `tfsdk:"config_dir"`
	FeaturesDir types.String `tfsdk:"features_dir"`
}

var estateType = types.ObjectType{AttrTypes: map[string]attr.Type{"config_dir": types.StringType, "features_dir": types.StringType}}

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

// Long by design: one declarative entry per attribute, read top to bottom.
func (r *GuestResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	computedStr := func(d string) schema.StringAttribute {
		return schema.StringAttribute{Computed: true, MarkdownDescription: d}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "One phoenix guest, LXC container or VM, from the same `spec`. A container is created from an OS template or cloned " +
			"from its source's template snapshot, configured, started, provisioned with feature scripts through `pct exec`, and snapshotted for its clones. " +
			"A VM is created from a cloud image (disk imported) or cloned from a template or a snapshot, configured with cloud-init, started, " +
			"provisioned through the QEMU guest agent, and snapshotted or converted into a template for its clones. " +
			"`spec` takes a `phoenix_config` guest as it is (`spec = each.value`). With `estate`, a missing clone source or dependency " +
			"is built from the phoenix files within the same apply, so no `depends_on` is needed. The guest's PVE description is managed: " +
			"it records how the guest was built (never script contents or secrets), which is how an interrupted apply resumes and " +
			"`terraform import` restores it.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Computed: true, MarkdownDescription: "The guest ID.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"spec": schema.SingleNestedAttribute{
				Required:            true,
				MarkdownDescription: "The guest's definition, shaped like a `phoenix_config` guest. Any attribute may be unknown at plan time.",
				Attributes:          specAttributes(guestFields),
			},
			"estate": schema.SingleNestedAttribute{
				Optional: true,
				MarkdownDescription: "The phoenix files this guest comes from. When set, a clone source or dependency that is missing or unfinished " +
					"(not provisioned, template snapshot not taken) is built from these files inside the same apply, exactly as its own resource " +
					"would build it without overrides; one build per guest runs at a time, at any `-parallelism`. Changing it never replaces anything.",
				Attributes: map[string]schema.Attribute{
					"config_dir": schema.StringAttribute{Required: true, MarkdownDescription: "Directory holding the phoenix files.",
						Validators: []validator.String{fileRule}},
					"features_dir": schema.StringAttribute{Optional: true, MarkdownDescription: "Phoenix's `bin/` folder with the scripts.",
						Validators: []validator.String{fileRule}},
				},
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
				Validators: []validator.Int64{atLeast("script timeout", 1)},
			},
			"current_node": schema.StringAttribute{
				Computed: true, MarkdownDescription: "Node the guest is on now.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"status": schema.StringAttribute{
				Computed: true, MarkdownDescription: "`running` or `stopped`; planned from `started`, so a guest stopped out of band shows as a change.",
				PlanModifiers: []planmodifier.String{statusFromStarted{}},
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

// statusFromStarted plans `status` from `started`: Update brings the guest
// to that run state. A template never runs.
type statusFromStarted struct{}

func (statusFromStarted) Description(context.Context) string {
	return "planned from started: running when true, stopped when false"
}
func (m statusFromStarted) MarkdownDescription(ctx context.Context) string { return m.Description(ctx) }

func (statusFromStarted) PlanModifyString(ctx context.Context, req planmodifier.StringRequest, resp *planmodifier.StringResponse) {
	if req.Plan.Raw.IsNull() {
		return
	}
	var started, template types.Bool
	resp.Diagnostics.Append(req.Plan.GetAttribute(ctx, path.Root("started"), &started)...)
	resp.Diagnostics.Append(req.Plan.GetAttribute(ctx, path.Root("spec").AtName("is_template"), &template)...)
	switch {
	case template.ValueBool():
		resp.PlanValue = types.StringValue("stopped")
	case started.IsUnknown() || template.IsUnknown():
		resp.PlanValue = types.StringUnknown()
	case started.ValueBool():
		resp.PlanValue = types.StringValue("running")
	default:
		resp.PlanValue = types.StringValue("stopped")
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

// settingsOf are a resource's arguments beside spec.
func settingsOf(ctx context.Context, m *guestResourceModel) settings {
	s := settings{Started: m.Started.ValueBool(), AllowRestart: m.AllowRestart.ValueBool(), Taint: m.TaintOnFailure.ValueBool(),
		WarnOnly: m.HealthChecksWarnOnly.ValueBool(), Node: m.Node.ValueString(), ScriptTimeout: m.ScriptTimeoutSeconds.ValueInt64Pointer()}
	if e := objAs[estateModel](ctx, m.Estate); e != nil {
		s.ConfigDir, s.FeaturesDir = e.ConfigDir.ValueString(), e.FeaturesDir.ValueString()
	}
	return s
}
