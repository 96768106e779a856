package provider

import (
	"context"
	"encoding/json"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/phoenix"
)

// fullyKnown reports whether v holds no unknown value at any depth: only
// then can the spec be turned into a guest (at apply time it always is).
func fullyKnown(ctx context.Context, v attr.Value) bool {
	tv, err := v.ToTerraformValue(ctx)
	return err == nil && tv.IsFullyKnown()
}

// strs reads a list of strings; null stays nil and empty stays empty.
func strs(l types.List) []string {
	if l.IsNull() || l.IsUnknown() {
		return nil
	}
	out := make([]string, 0, len(l.Elements()))
	for _, e := range l.Elements() {
		if s, ok := e.(types.String); ok {
			out = append(out, s.ValueString())
		}
	}
	return out
}

// objAs reads a nested object into its model; nil when null or unknown.
func objAs[T any](ctx context.Context, o types.Object) *T {
	if o.IsNull() || o.IsUnknown() {
		return nil
	}
	var m T
	if d := o.As(ctx, &m, basetypes.ObjectAsOptions{UnhandledNullAsEmpty: true, UnhandledUnknownAsEmpty: true}); d.HasError() {
		return nil
	}
	return &m
}

// listAs reads a list of nested objects into their models.
func listAs[T any](ctx context.Context, l types.List) []T {
	if l.IsNull() || l.IsUnknown() {
		return nil
	}
	out := make([]T, 0, len(l.Elements()))
	for _, e := range l.Elements() {
		if o, ok := e.(types.Object); ok {
			if m := objAs[T](ctx, o); m != nil {
				out = append(out, *m)
			}
		}
	}
	return out
}

// toGuest translates a spec into the domain model. Null lists stay nil and
// empty lists stay empty, so the round trip through applyObserved keeps the
// user's null-or-empty choice. Unknown values read as unset: callers check
// fullyKnown first where it matters.
func (m *guestModel) toGuest(ctx context.Context) *phoenix.Guest {
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
		PctOptions:             strs(m.PctOptions),
		LXCOptions:             strs(m.LXCOptions),
		AppArmorProfile:        m.AppArmorProfile.ValueString(),
		AppArmorManagesNesting: m.AppArmorManagesNesting.ValueBoolPointer(),
		GPUs:                   strs(m.GPUs),
		Ports:                  strs(m.Ports),
		ApplicationScript:      m.ApplicationScript.ValueString(),
	}
	if !m.CloneFrom.IsNull() && !m.CloneFrom.IsUnknown() {
		id := int(m.CloneFrom.ValueInt64())
		g.CloneFrom = &id
	}
	if n := objAs[networkModel](ctx, m.Network); n != nil {
		g.Network = phoenix.Network{Name: n.Name.ValueString(), Bridge: n.Bridge.ValueString(), IP: n.IP.ValueString(),
			Gateway: n.Gateway.ValueString(), MAC: n.MAC.ValueString(), Nameservers: strs(n.Nameservers), SearchDomain: n.SearchDomain.ValueString()}
	}
	for _, mp := range listAs[mountPointModel](ctx, m.MountPoints) {
		g.MountPoints = append(g.MountPoints, phoenix.MountPoint{Type: mp.Type.ValueString(), Name: mp.Name.ValueString(),
			Storage: mp.Storage.ValueString(), SizeGB: mp.SizeGB.ValueInt64(), HostPath: mp.HostPath.ValueString(), Path: mp.Path.ValueString()})
	}
	if fw := objAs[firewallModel](ctx, m.Firewall); fw != nil {
		g.Firewall = &phoenix.Firewall{Enabled: fw.Enabled.ValueBool()}
		for _, r := range listAs[firewallRuleModel](ctx, fw.Rules) {
			g.Firewall.Rules = append(g.Firewall.Rules, phoenix.FirewallRule{Type: r.Type.ValueString(), Action: r.Action.ValueString(),
				Source: r.Source.ValueString(), Dest: r.Dest.ValueString(), Proto: r.Proto.ValueString(), Port: r.Port.ValueString(), Comment: r.Comment.ValueString()})
		}
	}
	for _, f := range listAs[featureModel](ctx, m.Features) {
		g.Features = append(g.Features, f.Name.ValueString())
	}
	if !m.Dependencies.IsNull() && !m.Dependencies.IsUnknown() {
		for _, e := range m.Dependencies.Elements() {
			if d, ok := e.(types.Int64); ok {
				g.Dependencies = append(g.Dependencies, int(d.ValueInt64()))
			}
		}
	}
	if ci := objAs[cloudInitModel](ctx, m.CloudInit); ci != nil {
		g.CloudInit = &phoenix.CloudInit{Username: ci.Username.ValueString(), SSHAuthorizedKeys: strs(ci.SSHAuthorizedKeys),
			Packages: strs(ci.Packages), Password: ci.Password.ValueString()}
	}
	if x := m.ExtraJSON.ValueString(); x != "" {
		var extra map[string]json.RawMessage
		if json.Unmarshal([]byte(x), &extra) == nil && len(extra) > 0 {
			g.Extra = extra
		}
	}
	return g
}

// applyObserved copies what PVE reports (observed into g by the lifecycle
// package) into the spec, for the fields PVE holds; the rest of the spec is
// configuration PVE cannot tell.
func (m *guestModel) applyObserved(ctx context.Context, g *phoenix.Guest) {
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
	if g.Kind == phoenix.KindVM {
		if g.IsTemplate || !m.IsTemplate.IsNull() {
			m.IsTemplate = types.BoolValue(g.IsTemplate)
		}
		m.OSType = keepNull(m.OSType, g.OSType)
		if ci := objAs[cloudInitModel](ctx, m.CloudInit); ci != nil && g.CloudInit != nil {
			ci.Username = keepNull(ci.Username, g.CloudInit.Username)
			if !ci.SSHAuthorizedKeys.IsNull() {
				ci.SSHAuthorizedKeys = stringList(g.CloudInit.SSHAuthorizedKeys)
			}
			m.CloudInit = objectOf(ctx, "cloud_init", *ci)
		}
	}
	if n := objAs[networkModel](ctx, m.Network); n != nil {
		n.Name = keepNull(n.Name, g.Network.Name)
		n.Bridge = keepNull(n.Bridge, g.Network.Bridge)
		n.IP = keepNull(n.IP, g.Network.IP)
		n.Gateway = keepNull(n.Gateway, g.Network.Gateway)
		n.MAC = keepNull(n.MAC, g.Network.MAC)
		n.Nameservers = stringList(g.Network.Nameservers)
		n.SearchDomain = keepNull(n.SearchDomain, g.Network.SearchDomain)
		m.Network = objectOf(ctx, "network", *n)
	}
	m.MountPoints = observedMounts(ctx, listAs[mountPointModel](ctx, m.MountPoints), !m.MountPoints.IsNull(), g.MountPoints)
	if fw := objAs[firewallModel](ctx, m.Firewall); fw != nil && g.Firewall != nil {
		fw.Enabled = types.BoolValue(g.Firewall.Enabled)
		if !fw.Rules.IsNull() || len(g.Firewall.Rules) > 0 {
			fw.Rules = rulesList(ctx, g.Firewall.Rules, listAs[firewallRuleModel](ctx, fw.Rules))
		}
		m.Firewall = objectOf(ctx, "firewall", *fw)
	}
}

// observedMounts keeps the user's entries (by path) with PVE's sizes and
// host paths, and adds the ones PVE has that the spec lacks.
func observedMounts(ctx context.Context, prev []mountPointModel, wasSet bool, observed []phoenix.MountPoint) types.List {
	byPath := map[string]mountPointModel{}
	for _, mp := range prev {
		byPath[mp.Path.ValueString()] = mp
	}
	mps := make([]mountPointModel, 0, len(observed))
	for _, mp := range observed {
		p, ok := byPath[mp.Path]
		if !ok {
			p = newMountPointModel(mp)
			p.Name = types.StringNull()
			p.SizeGB = types.Int64Null()
		}
		if mp.Type == "bind" {
			p.HostPath = types.StringValue(mp.HostPath)
		} else {
			p.SizeGB = types.Int64Value(mp.SizeGB)
		}
		mps = append(mps, p)
	}
	if len(mps) == 0 && !wasSet {
		return types.ListNull(objectType("mount_points"))
	}
	return listOf(ctx, "mount_points", mps)
}

// keepNull returns null when the user left a value null, else the observed value.
func keepNull(prev types.String, observed string) types.String {
	if prev.IsNull() {
		return prev
	}
	return types.StringValue(observed)
}
