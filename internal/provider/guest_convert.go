package provider

import (
	"encoding/json"

	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/phoenix"
)

// toGuest translates a phoenix_guest spec into the domain model. Null lists
// stay nil and empty lists stay empty, so the round trip through
// applyObserved keeps the user's null-or-empty choice.
func (m *guestModel) toGuest() *phoenix.Guest {
	g := &phoenix.Guest{
		Kind:                   phoenix.Kind(m.Kind.ValueString()),
		ID:                     int(m.VMID.ValueInt64()),
		Name:                   m.Name.ValueString(),
		Cores:                  m.Cores.ValueInt64Pointer(),
		MemoryMB:               m.MemoryMB.ValueInt64Pointer(),
		SwapMB:                 m.SwapMB.ValueInt64Pointer(),
		DiskSizeGB:             m.DiskSizeGB.ValueInt64Pointer(),
		Storage:                m.Storage.ValueString(),
		Template:               m.Template.ValueString(),
		OSTemplate:             m.OSTemplate.ValueString(),
		TemplateImage:          m.TemplateImage.ValueString(),
		OSType:                 m.OSType.ValueString(),
		CloneSnapshot:          m.CloneSnapshot.ValueString(),
		TemplateSnapshot:       m.TemplateSnapshotName.ValueString(),
		IsTemplate:             m.IsTemplate.ValueBool(),
		StartAtBoot:            m.StartAtBoot.ValueBoolPointer(),
		BootOrder:              m.BootOrder.ValueInt64Pointer(),
		BootDelay:              m.BootDelay.ValueInt64Pointer(),
		Unprivileged:           m.Unprivileged.ValueBoolPointer(),
		PctOptions:             fromStringList(m.PctOptions),
		LXCOptions:             fromStringList(m.LXCOptions),
		AppArmorProfile:        m.AppArmorProfile.ValueString(),
		AppArmorManagesNesting: m.AppArmorManagesNesting.ValueBoolPointer(),
		GPUs:                   fromStringList(m.GPUs),
		Ports:                  fromStringList(m.Ports),
		ApplicationScript:      m.ApplicationScript.ValueString(),
	}
	if !m.CloneFrom.IsNull() && !m.CloneFrom.IsUnknown() {
		id := int(m.CloneFrom.ValueInt64())
		g.CloneFrom = &id
	}
	if n := m.Network; n != nil {
		g.Network = phoenix.Network{Name: n.Name.ValueString(), Bridge: n.Bridge.ValueString(), IP: n.IP.ValueString(),
			Gateway: n.Gateway.ValueString(), MAC: n.MAC.ValueString(), Nameservers: fromStringList(n.Nameservers)}
	}
	for _, mp := range m.MountPoints {
		g.MountPoints = append(g.MountPoints, phoenix.MountPoint{Type: mp.Type.ValueString(), Name: mp.Name.ValueString(),
			Storage: mp.Storage.ValueString(), SizeGB: mp.SizeGB.ValueInt64(), HostPath: mp.HostPath.ValueString(), Path: mp.Path.ValueString()})
	}
	if fw := m.Firewall; fw != nil {
		g.Firewall = &phoenix.Firewall{Enabled: fw.Enabled.ValueBool()}
		for _, r := range fw.Rules {
			g.Firewall.Rules = append(g.Firewall.Rules, phoenix.FirewallRule{Type: r.Type.ValueString(), Action: r.Action.ValueString(),
				Source: r.Source.ValueString(), Dest: r.Dest.ValueString(), Proto: r.Proto.ValueString(), Port: r.Port.ValueString(), Comment: r.Comment.ValueString()})
		}
	}
	for _, f := range m.Features {
		g.Features = append(g.Features, f.Name.ValueString())
	}
	for _, d := range m.Dependencies {
		g.Dependencies = append(g.Dependencies, int(d.ValueInt64()))
	}
	if ci := m.CloudInit; ci != nil {
		g.CloudInit = &phoenix.CloudInit{Username: ci.Username.ValueString(), SSHAuthorizedKeys: fromStringList(ci.SSHAuthorizedKeys), Packages: fromStringList(ci.Packages)}
	}
	if x := m.ExtraJSON.ValueString(); x != "" {
		var extra map[string]json.RawMessage
		if json.Unmarshal([]byte(x), &extra) == nil {
			g.Extra = extra
		}
	}
	return g
}

// applyObserved copies what PVE reports (observed into g by the lifecycle
// package) into the spec, for the fields PVE holds; the rest of the spec is
// configuration only PVE cannot tell.
func (m *guestModel) applyObserved(g *phoenix.Guest) {
	m.Name = keepNull(m.Name, g.Name)
	m.Cores = types.Int64PointerValue(g.Cores)
	m.MemoryMB = types.Int64PointerValue(g.MemoryMB)
	m.SwapMB = types.Int64PointerValue(g.SwapMB)
	m.DiskSizeGB = types.Int64PointerValue(g.DiskSizeGB)
	m.StartAtBoot = types.BoolPointerValue(g.StartAtBoot)
	m.BootOrder = types.Int64PointerValue(g.BootOrder)
	m.BootDelay = types.Int64PointerValue(g.BootDelay)
	m.Unprivileged = types.BoolPointerValue(g.Unprivileged)
	m.PctOptions = stringList(g.PctOptions)
	m.LXCOptions = stringList(g.LXCOptions)
	m.AppArmorProfile = keepNull(m.AppArmorProfile, g.AppArmorProfile)
	if n := m.Network; n != nil {
		n.Name = keepNull(n.Name, g.Network.Name)
		n.Bridge = keepNull(n.Bridge, g.Network.Bridge)
		n.IP = keepNull(n.IP, g.Network.IP)
		n.Gateway = keepNull(n.Gateway, g.Network.Gateway)
		n.MAC = keepNull(n.MAC, g.Network.MAC)
		n.Nameservers = stringList(g.Network.Nameservers)
	}
	byPath := map[string]mountPointModel{}
	for _, mp := range m.MountPoints {
		byPath[mp.Path.ValueString()] = mp
	}
	var mps []mountPointModel
	for _, mp := range g.MountPoints {
		prev, ok := byPath[mp.Path]
		if !ok {
			prev = mountPointModel{Type: types.StringValue(mp.Type), Name: types.StringNull(), Storage: optString(mp.Storage),
				SizeGB: types.Int64Null(), HostPath: optString(mp.HostPath), Path: types.StringValue(mp.Path)}
		}
		if mp.Type == "bind" {
			prev.HostPath = types.StringValue(mp.HostPath)
		} else {
			prev.SizeGB = types.Int64Value(mp.SizeGB)
		}
		mps = append(mps, prev)
	}
	if mps == nil && m.MountPoints != nil {
		mps = []mountPointModel{}
	}
	m.MountPoints = mps
	if fw := m.Firewall; fw != nil && g.Firewall != nil {
		fw.Enabled = types.BoolValue(g.Firewall.Enabled)
		if fw.Rules != nil || len(g.Firewall.Rules) > 0 {
			rules := make([]firewallRuleModel, 0, len(g.Firewall.Rules))
			for i, r := range g.Firewall.Rules {
				rm := firewallRuleModel{Type: optString(r.Type), Action: optString(r.Action), Source: optString(r.Source),
					Dest: optString(r.Dest), Proto: optString(r.Proto), Port: optString(r.Port), Comment: optString(r.Comment)}
				// PVE stores a rule without type as "in": keep the user's null.
				if i < len(fw.Rules) && fw.Rules[i].Type.IsNull() && r.Type == "in" {
					rm.Type = types.StringNull()
				}
				rules = append(rules, rm)
			}
			fw.Rules = rules
		}
	}
}

// keepNull returns null when the user left a value null, else the observed value.
func keepNull(prev types.String, observed string) types.String {
	if prev.IsNull() {
		return prev
	}
	return types.StringValue(observed)
}

func fromStringList(xs []types.String) []string {
	if xs == nil {
		return nil
	}
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = x.ValueString()
	}
	return out
}
