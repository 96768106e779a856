package provider

import (
	"context"
	"encoding/json"
	"slices"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/boolplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/int64planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/lifecycle"
	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/phoenix"
)

// Import. A guest this provider created is restored from its metadata; any
// other guest from what PVE can tell (storage from the root disk, sizes,
// cores, network, mount points, firewall...). What import cannot restore
// (creation-only inputs PVE cannot tell, inline contents stored only as
// digests) is null in the imported state and recorded in private state, so
// the creation-only ones never force replacement of the imported guest: the
// next plan is empty or in place only. The record lasts until the next
// successful Create or Update writes the configuration into state.

// privateImported is the private state key of an imported guest.
const privateImported = "imported"

// importMarker is the private state of an imported guest.
type importMarker struct {
	V int `json:"v"`
	// Unrestored lists spec attributes import could not restore, by path
	// ("spec.template", "spec.features[0].content").
	Unrestored []string `json:"unrestored,omitempty"`
	// Foreign marks a guest another tool built (no metadata at all): the
	// scripts its spec lists are taken as run (the orchestrator ran them)
	// and recorded in `provisioned` by the next apply, not run again.
	Foreign bool `json:"foreign,omitempty"`
}

type privateGetter interface {
	GetKey(ctx context.Context, key string) ([]byte, diag.Diagnostics)
}

func readMarker(ctx context.Context, p privateGetter) (*importMarker, diag.Diagnostics) {
	raw, diags := p.GetKey(ctx, privateImported)
	if len(raw) == 0 {
		return nil, diags
	}
	var m importMarker
	if err := json.Unmarshal(raw, &m); err != nil {
		return &importMarker{V: 1}, diags
	}
	return &m, diags
}

const replaceDesc = "Creation-only input: changing it recreates the guest (never for a value import could not read back)."

// replaces decides a creation-only input's replacement. An imported guest
// is not replaced for a value the spec does not set, nor for one PVE could
// not tell at import: the guest is what the user imported.
func replaces(ctx context.Context, private privateGetter, p path.Path, stateNull, planNull bool) (bool, diag.Diagnostics) {
	m, diags := readMarker(ctx, private)
	if m == nil {
		return true, diags
	}
	if planNull || (stateNull && slices.Contains(m.Unrestored, p.String())) {
		return false, diags
	}
	return true, diags
}

func replaceString(ctx context.Context, req planmodifier.StringRequest, resp *stringplanmodifier.RequiresReplaceIfFuncResponse) {
	resp.RequiresReplace, resp.Diagnostics = replaces(ctx, req.Private, req.Path, req.StateValue.IsNull(), req.PlanValue.IsNull())
}

func replaceInt64(ctx context.Context, req planmodifier.Int64Request, resp *int64planmodifier.RequiresReplaceIfFuncResponse) {
	resp.RequiresReplace, resp.Diagnostics = replaces(ctx, req.Private, req.Path, req.StateValue.IsNull(), req.PlanValue.IsNull())
}

func replaceBool(ctx context.Context, req planmodifier.BoolRequest, resp *boolplanmodifier.RequiresReplaceIfFuncResponse) {
	resp.RequiresReplace, resp.Diagnostics = replaces(ctx, req.Private, req.Path, req.StateValue.IsNull(), req.PlanValue.IsNull())
}

// restored is what import found of a guest.
type restored struct {
	found      lifecycle.Found
	guest      *phoenix.Guest // what lifecycle.Read observes into
	spec       *guestModel    // nil: no usable metadata, see foreignSpec
	set        *settings
	prov       map[string]string
	unrestored []string
	warnings   []string
}

// restore builds the imported state's configuration from what the guest
// tells: its metadata, or, for a guest this provider did not create, PVE's
// configuration (observed by lifecycle.Read afterwards).
func restore(ctx context.Context, f lifecycle.Found, id int) restored {
	label := f.Ref.String()
	if f.MetaErr != nil {
		return foreign(label + " carries phoenix metadata that cannot be read (" + f.MetaErr.Error() + "); it is imported from PVE's configuration only.")
	}
	if f.Meta == nil || f.Meta.ID != id {
		return foreign(label + " was not created by this provider, so it is imported from PVE's configuration: " +
			"its template and clone source are unknown to PVE and stay unset in state (they never force its replacement), " +
			"and its feature scripts run once on the next apply unless `provisioned` matches.")
	}
	spec, rec, err := decodeRecord(ctx, f.Meta.Record)
	if err != nil || spec == nil {
		why := "holds no spec (it did not fit PVE's description limit)"
		if err != nil {
			why = "cannot be read (" + err.Error() + ")"
		}
		out := foreign(label + "'s recorded definition " + why + "; it is imported from PVE's configuration.")
		out.prov = f.Meta.Provisioned
		return out
	}
	out := restored{spec: spec, set: &rec.Settings, prov: f.Meta.Provisioned}
	for _, p := range rec.unrestored() {
		out.unrestored = append(out.unrestored, "spec."+p)
	}
	if len(out.unrestored) > 0 {
		out.warnings = append(out.warnings, label+" is imported from its metadata, which stores only digests of "+strings.Join(rec.unrestored(), ", ")+
			" (descriptions are readable by anyone with audit rights). These are null in state: the next plan shows them as in-place changes, "+
			"and scripts whose digest matches `provisioned` do not run again.")
	}
	return out
}

// foreign is the import of a guest without usable metadata: every field
// PVE holds is observed (see foreignSpec), and the creation-only inputs PVE
// cannot tell are recorded as unrestored.
func foreign(warning string) restored {
	out := restored{warnings: []string{warning}}
	for _, x := range guestFields {
		if x.untold {
			out.unrestored = append(out.unrestored, "spec."+x.name)
		}
	}
	return out
}

// foreignSpec is the spec of a guest without metadata, from g as
// lifecycle.Read observed it (an importableGuest). Values PVE reports for
// settings it defaults (no mount points, no feature flags, no boot delay)
// stay null, as a spec that omits them.
func foreignSpec(ctx context.Context, g *phoenix.Guest, f lifecycle.Found) *guestModel {
	if len(g.PctOptions) == 0 {
		g.PctOptions = nil
	}
	if len(g.LXCOptions) == 0 {
		g.LXCOptions = nil
	}
	if g.BootDelay != nil && *g.BootDelay == 0 {
		g.BootDelay = nil
	}
	spec := newGuestModel(ctx, g, nil)
	spec.Source, spec.ExtraJSON, spec.IsTemplate = types.StringNull(), types.StringNull(), types.BoolValue(f.Template)
	spec.Storage = optString(f.Storage)
	return &spec
}

// importableGuest is a model with every PVE-held field marked as managed, so
// lifecycle.Read observes all of them for an imported guest.
func importableGuest(id int, kind phoenix.Kind) *phoenix.Guest {
	zero, f := int64(0), false
	g := &phoenix.Guest{Kind: kind, ID: id, Name: "?", Cores: &zero, MemoryMB: &zero, SwapMB: &zero, DiskSizeGB: &zero,
		StartAtBoot: &f, BootOrder: &zero, BootDelay: &zero, Unprivileged: &f, PctOptions: []string{}, LXCOptions: []string{},
		Network:  phoenix.Network{Name: "?", Bridge: "?", IP: "?", Gateway: "?", MAC: "?", Nameservers: []string{"?"}, SearchDomain: "?"},
		Firewall: &phoenix.Firewall{Rules: []phoenix.FirewallRule{}}, MountPoints: []phoenix.MountPoint{}}
	if kind == phoenix.KindVM {
		// What PVE holds for VMs instead of the container settings.
		g.SwapMB, g.Unprivileged, g.PctOptions, g.LXCOptions, g.MountPoints = nil, nil, nil, nil, nil
		g.Network.Name = ""
		g.OSType, g.Storage = "?", "?"
		g.CloudInit = &phoenix.CloudInit{Username: "?", SSHAuthorizedKeys: []string{}}
	}
	return g
}

// importDefaults gives an imported state the schema defaults and empty
// computed values, as a create would, then what the record restores.
func importDefaults(state *guestResourceModel, r restored) {
	s := settings{Started: true, Taint: true} // the schema's defaults
	if r.set != nil {
		s = *r.set
	}
	state.Started, state.AllowRestart = types.BoolValue(s.Started), types.BoolValue(s.AllowRestart)
	state.TaintOnFailure, state.HealthChecksWarnOnly = types.BoolValue(s.Taint), types.BoolValue(s.WarnOnly)
	state.Node = optString(s.Node)
	state.ScriptTimeoutSeconds = types.Int64PointerValue(s.ScriptTimeout)
	if s.ConfigDir != "" {
		state.Estate = types.ObjectValueMust(estateType.AttrTypes, map[string]attr.Value{
			"config_dir": types.StringValue(s.ConfigDir), "features_dir": optString(s.FeaturesDir)})
	}
	elems := map[string]attr.Value{}
	for k, v := range r.prov {
		elems[k] = types.StringValue(v)
	}
	state.Provisioned = types.MapValueMust(types.StringType, elems)
	state.PendingRestart = stringListValue(nil)
	state.Health = healthList(nil)
	state.ProvisioningError = types.StringNull()
}

func specObjectMust(spec *guestModel) types.Object {
	v, d := types.ObjectValueFrom(context.Background(), specType.AttrTypes, spec)
	if d.HasError() {
		panic("provider bug: the spec model does not match its schema")
	}
	return v
}
