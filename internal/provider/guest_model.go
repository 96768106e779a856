package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"sort"
	"strconv"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/phoenix"
)

// guestModel is one guest: phoenix_guest's `spec` and a phoenix_config guest.
// Every attribute is a framework value, so any of them (a list, an object,
// a list of objects) may be unknown at plan time, e.g. set from another
// resource's output.
type guestModel struct {
	VMID                   types.Int64  `tfsdk:"vmid"`
	Kind                   types.String `tfsdk:"kind"`
	Name                   types.String `tfsdk:"name"`
	Cores                  types.Int64  `tfsdk:"cores"`
	MemoryMB               types.Int64  `tfsdk:"memory_mb"`
	SwapMB                 types.Int64  `tfsdk:"swap_mb"`
	DiskSizeGB             types.Int64  `tfsdk:"disk_size_gb"`
	Storage                types.String `tfsdk:"storage"`
	Template               types.String `tfsdk:"template"`
	OSTemplate             types.String `tfsdk:"os_template"`
	TemplateImage          types.String `tfsdk:"template_image"`
	OSType                 types.String `tfsdk:"os_type"`
	CloneFrom              types.Int64  `tfsdk:"clone_from"`
	CloneSnapshot          types.String `tfsdk:"clone_snapshot"`
	TemplateSnapshotName   types.String `tfsdk:"template_snapshot_name"`
	IsTemplate             types.Bool   `tfsdk:"is_template"`
	StartAtBoot            types.Bool   `tfsdk:"start_at_boot"`
	BootOrder              types.Int64  `tfsdk:"boot_order"`
	BootDelay              types.Int64  `tfsdk:"boot_delay"`
	Network                types.Object `tfsdk:"network"`
	Unprivileged           types.Bool   `tfsdk:"unprivileged"`
	PctOptions             types.List   `tfsdk:"pct_options"`
	LXCOptions             types.List   `tfsdk:"lxc_options"`
	AppArmorProfile        types.String `tfsdk:"apparmor_profile"`
	AppArmorManagesNesting types.Bool   `tfsdk:"apparmor_manages_nesting"`
	GPUs                   types.List   `tfsdk:"gpus"`
	MountPoints            types.List   `tfsdk:"mount_points"`
	Firewall               types.Object `tfsdk:"firewall"`
	Ports                  types.List   `tfsdk:"ports"`
	Features               types.List   `tfsdk:"features"`
	CommonUtils            types.String `tfsdk:"common_utils"`
	ApplicationScript      types.String `tfsdk:"application_script"`
	HealthChecks           types.List   `tfsdk:"health_checks"`
	Dependencies           types.List   `tfsdk:"dependencies"`
	CloudInit              types.Object `tfsdk:"cloud_init"`
	ExtraJSON              types.String `tfsdk:"extra_json"`
	Source                 types.String `tfsdk:"source"`
}

type networkModel struct {
	Name         types.String `tfsdk:"name"`
	Bridge       types.String `tfsdk:"bridge"`
	IP           types.String `tfsdk:"ip"`
	Gateway      types.String `tfsdk:"gateway"`
	MAC          types.String `tfsdk:"mac"`
	Nameservers  types.List   `tfsdk:"nameservers"`
	SearchDomain types.String `tfsdk:"search_domain"`
}

type mountPointModel struct {
	Type     types.String `tfsdk:"type"`
	Name     types.String `tfsdk:"name"`
	Storage  types.String `tfsdk:"storage"`
	SizeGB   types.Int64  `tfsdk:"size_gb"`
	HostPath types.String `tfsdk:"host_path"`
	Path     types.String `tfsdk:"path"`
}

type firewallModel struct {
	Enabled types.Bool `tfsdk:"enabled"`
	Rules   types.List `tfsdk:"rules"`
}

type firewallRuleModel struct {
	Type    types.String `tfsdk:"type"`
	Action  types.String `tfsdk:"action"`
	Source  types.String `tfsdk:"source"`
	Dest    types.String `tfsdk:"dest"`
	Proto   types.String `tfsdk:"proto"`
	Port    types.String `tfsdk:"port"`
	Comment types.String `tfsdk:"comment"`
}

type featureModel struct {
	Name    types.String `tfsdk:"name"`
	Path    types.String `tfsdk:"path"`
	Content types.String `tfsdk:"content"`
	Host    types.Bool   `tfsdk:"host"`
	Trigger types.String `tfsdk:"trigger"`
}

type healthCheckModel struct {
	Name     types.String `tfsdk:"name"`
	Type     types.String `tfsdk:"type"`
	Path     types.String `tfsdk:"path"`
	Command  types.String `tfsdk:"command"`
	Retries  types.Int64  `tfsdk:"retries"`
	Interval types.Int64  `tfsdk:"interval"`
}

type cloudInitModel struct {
	Username          types.String `tfsdk:"username"`
	SSHAuthorizedKeys types.List   `tfsdk:"ssh_authorized_keys"`
	Packages          types.List   `tfsdk:"packages"`
	Password          types.String `tfsdk:"password"`
}

// newGuestModel translates an ingested guest; scripts, when resolved against
// features_dir, give the script paths.
func newGuestModel(ctx context.Context, g *phoenix.Guest, scripts *phoenix.Scripts) guestModel {
	m := guestModel{
		VMID:                   types.Int64Value(int64(g.ID)),
		Kind:                   types.StringValue(string(g.Kind)),
		Name:                   optString(g.Name),
		Cores:                  types.Int64PointerValue(g.Cores),
		MemoryMB:               types.Int64PointerValue(g.MemoryMB),
		SwapMB:                 types.Int64PointerValue(g.SwapMB),
		DiskSizeGB:             types.Int64PointerValue(g.DiskSizeGB),
		Storage:                optString(g.Storage),
		Template:               optString(g.Template),
		OSTemplate:             optString(g.OSTemplate),
		TemplateImage:          optString(g.TemplateImage),
		OSType:                 optString(g.OSType),
		CloneFrom:              types.Int64Null(),
		CloneSnapshot:          optString(g.CloneSnapshot),
		TemplateSnapshotName:   optString(g.TemplateSnapshot),
		IsTemplate:             types.BoolValue(g.IsTemplate),
		StartAtBoot:            types.BoolPointerValue(g.StartAtBoot),
		BootOrder:              types.Int64PointerValue(g.BootOrder),
		BootDelay:              types.Int64PointerValue(g.BootDelay),
		Network:                types.ObjectNull(objectType("network").AttrTypes),
		Unprivileged:           types.BoolPointerValue(g.Unprivileged),
		PctOptions:             stringList(g.PctOptions),
		LXCOptions:             stringList(g.LXCOptions),
		AppArmorProfile:        optString(g.AppArmorProfile),
		AppArmorManagesNesting: types.BoolPointerValue(g.AppArmorManagesNesting),
		GPUs:                   stringList(g.GPUs),
		MountPoints:            types.ListNull(objectType("mount_points")),
		Firewall:               types.ObjectNull(objectType("firewall").AttrTypes),
		Ports:                  stringList(g.Ports),
		Features:               types.ListNull(objectType("features")),
		CommonUtils:            types.StringNull(),
		ApplicationScript:      optString(g.ApplicationScript),
		HealthChecks:           types.ListNull(objectType("health_checks")),
		Dependencies:           types.ListNull(types.Int64Type),
		CloudInit:              types.ObjectNull(objectType("cloud_init").AttrTypes),
		ExtraJSON:              types.StringValue(extraJSON(g)),
		Source:                 types.StringValue(g.Source.File + ": " + g.Source.Path),
	}
	if g.CloneFrom != nil {
		m.CloneFrom = types.Int64Value(int64(*g.CloneFrom))
	}
	if n := g.Network; n.Name != "" || n.Bridge != "" || n.IP != "" || n.Gateway != "" || n.MAC != "" || len(n.Nameservers) > 0 || n.SearchDomain != "" {
		m.Network = objectOf(ctx, "network", networkModel{Name: optString(n.Name), Bridge: optString(n.Bridge), IP: optString(n.IP),
			Gateway: optString(n.Gateway), MAC: optString(n.MAC), Nameservers: stringList(n.Nameservers), SearchDomain: optString(n.SearchDomain)})
	}
	if g.MountPoints != nil {
		mps := make([]mountPointModel, 0, len(g.MountPoints))
		for _, mp := range g.MountPoints {
			mps = append(mps, newMountPointModel(mp))
		}
		m.MountPoints = listOf(ctx, "mount_points", mps)
	}
	if fw := g.Firewall; fw != nil {
		m.Firewall = objectOf(ctx, "firewall", firewallModel{Enabled: types.BoolValue(fw.Enabled), Rules: rulesList(ctx, fw.Rules, nil)})
	}
	m.setScripts(ctx, g, scripts)
	if g.Dependencies != nil {
		deps := make([]attr.Value, len(g.Dependencies))
		for i, d := range g.Dependencies {
			deps[i] = types.Int64Value(int64(d))
		}
		m.Dependencies = types.ListValueMust(types.Int64Type, deps)
	}
	if ci := g.CloudInit; ci != nil {
		m.CloudInit = objectOf(ctx, "cloud_init", cloudInitModel{Username: optString(ci.Username), SSHAuthorizedKeys: stringList(ci.SSHAuthorizedKeys),
			Packages: stringList(ci.Packages), Password: optString(ci.Password)})
	}
	return m
}

// estateSpec is guest g as phoenix_config exposes it, with its scripts when
// scripts (from readEstate) resolved them.
func estateSpec(ctx context.Context, g *phoenix.Guest, scripts map[int]phoenix.Scripts) guestModel {
	var s *phoenix.Scripts
	if sc, ok := scripts[g.ID]; ok {
		s = &sc
	}
	return newGuestModel(ctx, g, s)
}

// setScripts sets the features, health checks and scripts, with the paths
// resolved against features_dir when scripts is set.
func (m *guestModel) setScripts(ctx context.Context, g *phoenix.Guest, scripts *phoenix.Scripts) {
	if scripts == nil {
		scripts = &phoenix.Scripts{}
	}
	if g.Features != nil {
		fs := make([]featureModel, 0, len(g.Features))
		for i, name := range g.Features {
			fm := featureModel{Name: types.StringValue(name), Path: types.StringNull(), Content: types.StringNull(), Host: types.BoolNull(), Trigger: types.StringNull()}
			if i < len(scripts.Features) {
				fm.Path = types.StringValue(scripts.Features[i].Path)
			}
			fs = append(fs, fm)
		}
		m.Features = listOf(ctx, "features", fs)
	}
	if scripts.CommonUtils != "" {
		m.CommonUtils = types.StringValue(scripts.CommonUtils)
	}
	if scripts.Application != nil {
		m.ApplicationScript = types.StringValue(scripts.Application.Path)
	}
	if g.HealthChecks != nil {
		hcs := make([]healthCheckModel, 0, len(g.HealthChecks))
		for i, hc := range g.HealthChecks {
			hm := healthCheckModel{Name: optString(hc.Name), Type: optString(hc.Type), Path: optString(hc.Path),
				Command: optString(hc.Command), Retries: types.Int64PointerValue(hc.Retries), Interval: types.Int64PointerValue(hc.Interval)}
			if i < len(scripts.HealthChecks) && scripts.HealthChecks[i].Path != "" {
				hm.Path = types.StringValue(scripts.HealthChecks[i].Path)
			}
			hcs = append(hcs, hm)
		}
		m.HealthChecks = listOf(ctx, "health_checks", hcs)
	}
}

func newMountPointModel(mp phoenix.MountPoint) mountPointModel {
	sz := types.Int64Null()
	if mp.Type != "bind" {
		sz = types.Int64Value(mp.SizeGB)
	}
	return mountPointModel{Type: types.StringValue(mp.Type), Name: optString(mp.Name), Storage: optString(mp.Storage),
		SizeGB: sz, HostPath: optString(mp.HostPath), Path: optString(mp.Path)}
}

// rulesList renders firewall rules; prev (the user's rules) keeps a null
// type where PVE reports the default "in".
func rulesList(ctx context.Context, rules []phoenix.FirewallRule, prev []firewallRuleModel) types.List {
	out := make([]firewallRuleModel, 0, len(rules))
	for i, r := range rules {
		rm := firewallRuleModel{Type: optString(r.Type), Action: optString(r.Action), Source: optString(r.Source),
			Dest: optString(r.Dest), Proto: optString(r.Proto), Port: optString(r.Port), Comment: optString(r.Comment)}
		if i < len(prev) && prev[i].Type.IsNull() && r.Type == "in" {
			rm.Type = types.StringNull()
		}
		out = append(out, rm)
	}
	return listOf(ctx, "firewall", out, "rules")
}

// objectOf builds the object value of a nested attribute from its model.
func objectOf(ctx context.Context, name string, model any) types.Object {
	v, d := types.ObjectValueFrom(ctx, objectType(name).AttrTypes, model)
	if d.HasError() {
		panic("provider bug: " + name + " model does not match its schema")
	}
	return v
}

// listOf builds a list of objects of a nested attribute (names: its path).
func listOf[T any](ctx context.Context, name string, items []T, more ...string) types.List {
	elem := objectType(append([]string{name}, more...)...)
	v, d := types.ListValueFrom(ctx, elem, items)
	if d.HasError() {
		panic("provider bug: " + name + " model does not match its schema")
	}
	return v
}

// extraJSON renders the keys the model does not represent as one JSON object
// with sorted keys, so the attribute is stable across runs.
func extraJSON(g *phoenix.Guest) string {
	if len(g.Extra) == 0 {
		return "{}"
	}
	buf := []byte{'{'}
	for i, k := range g.ExtraKeys() {
		if i > 0 {
			buf = append(buf, ',')
		}
		kb, _ := json.Marshal(k)
		buf = append(buf, kb...)
		buf = append(buf, ':')
		buf = append(buf, compactJSON(g.Extra[k])...)
	}
	return string(append(buf, '}'))
}

func compactJSON(raw json.RawMessage) []byte {
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return raw
	}
	return buf.Bytes()
}

func optString(s string) types.String {
	if s == "" {
		return types.StringNull()
	}
	return types.StringValue(s)
}

// stringList keeps nil as null and an empty list as empty.
func stringList(xs []string) types.List {
	if xs == nil {
		return types.ListNull(types.StringType)
	}
	elems := make([]attr.Value, len(xs))
	for i, x := range xs {
		elems[i] = types.StringValue(x)
	}
	return types.ListValueMust(types.StringType, elems)
}

func sortedIDs(ids []int) []types.Int64 {
	s := append([]int(nil), ids...)
	sort.Ints(s)
	out := make([]types.Int64, len(s))
	for i, id := range s {
		out[i] = types.Int64Value(int64(id))
	}
	return out
}

func idKey(id int) string { return strconv.Itoa(id) }
