package provider

import (
	"bytes"
	"encoding/json"
	"sort"
	"strconv"

	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/phoenix"
)

// guestModel is one guest as the phoenix_config data source exposes it. Its
// attributes are the phoenix_guest resource's arguments, so a module passes
// each value through (`network = each.value.network`) without restating fields.
type guestModel struct {
	VMID                   types.Int64        `tfsdk:"vmid"`
	Kind                   types.String       `tfsdk:"kind"`
	Name                   types.String       `tfsdk:"name"`
	Cores                  types.Int64        `tfsdk:"cores"`
	MemoryMB               types.Int64        `tfsdk:"memory_mb"`
	SwapMB                 types.Int64        `tfsdk:"swap_mb"`
	DiskSizeGB             types.Int64        `tfsdk:"disk_size_gb"`
	Storage                types.String       `tfsdk:"storage"`
	Template               types.String       `tfsdk:"template"`
	OSTemplate             types.String       `tfsdk:"os_template"`
	TemplateImage          types.String       `tfsdk:"template_image"`
	OSType                 types.String       `tfsdk:"os_type"`
	CloneFrom              types.Int64        `tfsdk:"clone_from"`
	CloneSnapshot          types.String       `tfsdk:"clone_snapshot"`
	TemplateSnapshotName   types.String       `tfsdk:"template_snapshot_name"`
	IsTemplate             types.Bool         `tfsdk:"is_template"`
	StartAtBoot            types.Bool         `tfsdk:"start_at_boot"`
	BootOrder              types.Int64        `tfsdk:"boot_order"`
	BootDelay              types.Int64        `tfsdk:"boot_delay"`
	Network                *networkModel      `tfsdk:"network"`
	Unprivileged           types.Bool         `tfsdk:"unprivileged"`
	PctOptions             []types.String     `tfsdk:"pct_options"`
	LXCOptions             []types.String     `tfsdk:"lxc_options"`
	AppArmorProfile        types.String       `tfsdk:"apparmor_profile"`
	AppArmorManagesNesting types.Bool         `tfsdk:"apparmor_manages_nesting"`
	GPUs                   []types.String     `tfsdk:"gpus"`
	MountPoints            []mountPointModel  `tfsdk:"mount_points"`
	Firewall               *firewallModel     `tfsdk:"firewall"`
	Ports                  []types.String     `tfsdk:"ports"`
	Features               []featureModel     `tfsdk:"features"`
	CommonUtils            types.String       `tfsdk:"common_utils"`
	ApplicationScript      types.String       `tfsdk:"application_script"`
	HealthChecks           []healthCheckModel `tfsdk:"health_checks"`
	Dependencies           []types.Int64      `tfsdk:"dependencies"`
	CloudInit              *cloudInitModel    `tfsdk:"cloud_init"`
	ExtraJSON              types.String       `tfsdk:"extra_json"`
	Source                 types.String       `tfsdk:"source"`
}

type networkModel struct {
	Name        types.String   `tfsdk:"name"`
	Bridge      types.String   `tfsdk:"bridge"`
	IP          types.String   `tfsdk:"ip"`
	Gateway     types.String   `tfsdk:"gateway"`
	MAC         types.String   `tfsdk:"mac"`
	Nameservers []types.String `tfsdk:"nameservers"`
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
	Enabled types.Bool          `tfsdk:"enabled"`
	Rules   []firewallRuleModel `tfsdk:"rules"`
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
	Username          types.String   `tfsdk:"username"`
	SSHAuthorizedKeys []types.String `tfsdk:"ssh_authorized_keys"`
	Packages          []types.String `tfsdk:"packages"`
}

// newGuestModel translates an ingested guest; scripts, when resolved against
// features_dir, give the script paths.
func newGuestModel(g *phoenix.Guest, scripts *phoenix.Scripts) guestModel {
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
		CloneSnapshot:          optString(g.CloneSnapshot),
		TemplateSnapshotName:   optString(g.TemplateSnapshot),
		IsTemplate:             types.BoolValue(g.IsTemplate),
		StartAtBoot:            types.BoolPointerValue(g.StartAtBoot),
		BootOrder:              types.Int64PointerValue(g.BootOrder),
		BootDelay:              types.Int64PointerValue(g.BootDelay),
		Unprivileged:           types.BoolPointerValue(g.Unprivileged),
		PctOptions:             stringList(g.PctOptions),
		LXCOptions:             stringList(g.LXCOptions),
		AppArmorProfile:        optString(g.AppArmorProfile),
		AppArmorManagesNesting: types.BoolPointerValue(g.AppArmorManagesNesting),
		GPUs:                   stringList(g.GPUs),
		Ports:                  stringList(g.Ports),
		ApplicationScript:      optString(g.ApplicationScript),
		Source:                 types.StringValue(g.Source.File + ": " + g.Source.Path),
	}
	if g.CloneFrom != nil {
		m.CloneFrom = types.Int64Value(int64(*g.CloneFrom))
	} else {
		m.CloneFrom = types.Int64Null()
	}
	n := g.Network
	if n.Name != "" || n.Bridge != "" || n.IP != "" || n.Gateway != "" || n.MAC != "" || len(n.Nameservers) > 0 {
		m.Network = &networkModel{Name: optString(n.Name), Bridge: optString(n.Bridge), IP: optString(n.IP),
			Gateway: optString(n.Gateway), MAC: optString(n.MAC), Nameservers: stringList(n.Nameservers)}
	}
	for _, mp := range g.MountPoints {
		sz := types.Int64Null()
		if mp.Type != "bind" {
			sz = types.Int64Value(mp.SizeGB)
		}
		m.MountPoints = append(m.MountPoints, mountPointModel{Type: types.StringValue(mp.Type), Name: optString(mp.Name),
			Storage: optString(mp.Storage), SizeGB: sz, HostPath: optString(mp.HostPath), Path: optString(mp.Path)})
	}
	if fw := g.Firewall; fw != nil {
		m.Firewall = &firewallModel{Enabled: types.BoolValue(fw.Enabled), Rules: []firewallRuleModel{}}
		for _, r := range fw.Rules {
			m.Firewall.Rules = append(m.Firewall.Rules, firewallRuleModel{Type: optString(r.Type), Action: optString(r.Action),
				Source: optString(r.Source), Dest: optString(r.Dest), Proto: optString(r.Proto), Port: optString(r.Port), Comment: optString(r.Comment)})
		}
	}
	for i, f := range g.Features {
		fm := featureModel{Name: types.StringValue(f), Path: types.StringNull(), Content: types.StringNull(), Host: types.BoolNull(), Trigger: types.StringNull()}
		if scripts != nil && i < len(scripts.Features) {
			fm.Path = types.StringValue(scripts.Features[i].Path)
		}
		m.Features = append(m.Features, fm)
	}
	m.CommonUtils = types.StringNull()
	if scripts != nil && scripts.CommonUtils != "" {
		m.CommonUtils = types.StringValue(scripts.CommonUtils)
	}
	if scripts != nil && scripts.Application != nil {
		m.ApplicationScript = types.StringValue(scripts.Application.Path)
	}
	for i, hc := range g.HealthChecks {
		hm := healthCheckModel{Name: optString(hc.Name), Type: optString(hc.Type), Path: optString(hc.Path),
			Command: optString(hc.Command), Retries: types.Int64PointerValue(hc.Retries), Interval: types.Int64PointerValue(hc.Interval)}
		if scripts != nil && i < len(scripts.HealthChecks) && scripts.HealthChecks[i].Path != "" {
			hm.Path = types.StringValue(scripts.HealthChecks[i].Path)
		}
		m.HealthChecks = append(m.HealthChecks, hm)
	}
	for _, d := range g.Dependencies {
		m.Dependencies = append(m.Dependencies, types.Int64Value(int64(d)))
	}
	if ci := g.CloudInit; ci != nil {
		m.CloudInit = &cloudInitModel{Username: optString(ci.Username), SSHAuthorizedKeys: stringList(ci.SSHAuthorizedKeys), Packages: stringList(ci.Packages)}
	}
	m.ExtraJSON = types.StringValue(extraJSON(g))
	return m
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
func stringList(xs []string) []types.String {
	if xs == nil {
		return nil
	}
	out := make([]types.String, len(xs))
	for i, x := range xs {
		out[i] = types.StringValue(x)
	}
	return out
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
