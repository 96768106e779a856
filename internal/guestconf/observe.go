package guestconf

import (
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/phoenix"
)

// Observed is what PVE reports about a container beyond its config map.
type Observed struct {
	Config          map[string]string
	RawLXC          [][2]string
	FirewallEnabled *bool
	FirewallRules   []phoenix.FirewallRule
}

// ObserveContainer updates g, in place, with what PVE actually holds, for the
// fields g manages (set, non-nil). Fields g leaves unset stay unset, so
// values PVE fills in do not show as perpetual diffs; fields PVE cannot hold
// (features, scripts, clone source...) are left as they are.
func ObserveContainer(g *phoenix.Guest, o Observed) {
	c := o.Config
	if g.Name != "" {
		g.Name = c["hostname"]
	}
	observeInt(&g.Cores, c, "cores")
	observeInt(&g.MemoryMB, c, "memory")
	observeInt(&g.SwapMB, c, "swap")
	observeBoot(g, c)
	if g.PctOptions != nil {
		have := parseProps(c["features"], "")
		if !sameMap(optionsMap(g.PctOptions), have) {
			g.PctOptions = make([]string, 0, len(have))
			for _, k := range slices.Sorted(maps.Keys(have)) {
				g.PctOptions = append(g.PctOptions, k+"="+have[k])
			}
		}
	}
	if g.Unprivileged != nil {
		u := c["unprivileged"] == "1"
		g.Unprivileged = &u
	}
	observeDNS(g, c)
	observeCTNet(g, c)
	if g.DiskSizeGB != nil {
		if size, ok := sizeGiB(parseProps(c["rootfs"], "volume")["size"]); ok {
			g.DiskSizeGB = &size
		}
	}
	g.MountPoints = observeMounts(g.MountPoints, c)
	observeFirewall(g, o)
	observeRawLXC(g, o)
}

// observeRawLXC shows drift of the raw lxc.* lines as lxc_options holding
// what is there now. GPUs are either devN passthrough (root@pam) or raw
// lines: the config says which.
func observeRawLXC(g *phoenix.Guest, o Observed) {
	c := o.Config
	devs := GPUDeviceKeys(g)
	asDevices := len(devs) > 0
	for k, v := range devs {
		if c[k] != v {
			asDevices = false
		}
	}
	want := DesiredRawLXC(g, asDevices)
	if !SameRawLXC(want, o.RawLXC) {
		// Drift in raw lines shows as lxc_options holding what is there now.
		g.LXCOptions = make([]string, 0, len(o.RawLXC))
		for _, l := range o.RawLXC {
			g.LXCOptions = append(g.LXCOptions, l[0]+"="+l[1])
		}
		if g.AppArmorProfile != "" {
			g.AppArmorProfile = ""
			for _, l := range o.RawLXC {
				if l[0] == "lxc.apparmor.profile" {
					g.AppArmorProfile = l[1]
				}
			}
		}
	}
}

// observeBoot reads onboot and startup (order, up) for what g manages.
func observeBoot(g *phoenix.Guest, c map[string]string) {
	if g.StartAtBoot != nil {
		b := c["onboot"] == "1"
		g.StartAtBoot = &b
	}
	su := parseProps(c["startup"], "order")
	if g.BootOrder != nil {
		g.BootOrder = parseIntPtr(su["order"])
	}
	if g.BootDelay != nil {
		if d := parseIntPtr(su["up"]); d != nil {
			g.BootDelay = d
		} else if *g.BootDelay != 0 {
			g.BootDelay = nil
		}
	}
}

// observeDNS reads nameserver and searchdomain (both kinds use these keys).
func observeDNS(g *phoenix.Guest, c map[string]string) {
	if len(g.Network.Nameservers) > 0 {
		g.Network.Nameservers = strings.Fields(c["nameserver"])
	}
	if g.Network.SearchDomain != "" {
		g.Network.SearchDomain = c["searchdomain"]
	}
}

// observeCTNet reads a container's net0.
func observeCTNet(g *phoenix.Guest, c map[string]string) {
	net := parseProps(c["net0"], "")
	if g.Network.Name != "" {
		g.Network.Name = net["name"]
	}
	if g.Network.Bridge != "" {
		g.Network.Bridge = net["bridge"]
	}
	if g.Network.IP != "" {
		g.Network.IP = net["ip"]
	}
	if g.Network.Gateway != "" {
		g.Network.Gateway = net["gw"]
	}
	if g.Network.MAC != "" && !strings.EqualFold(g.Network.MAC, net["hwaddr"]) {
		g.Network.MAC = net["hwaddr"]
	}
}

// observeFirewall takes the firewall PVE reports, when g manages one.
func observeFirewall(g *phoenix.Guest, o Observed) {
	if g.Firewall != nil && o.FirewallEnabled != nil {
		g.Firewall.Enabled = *o.FirewallEnabled
		if o.FirewallRules != nil || len(g.Firewall.Rules) > 0 {
			g.Firewall.Rules = o.FirewallRules
		}
	}
}

// observeMounts keeps the model's mount points that PVE still has (with
// their real size) and adds the ones PVE has that the model lacks, so a
// removed or added mount point shows in the next plan.
func observeMounts(model []phoenix.MountPoint, c map[string]string) []phoenix.MountPoint {
	byPath := map[string]map[string]string{}
	var order []string
	for _, k := range slices.Sorted(maps.Keys(c)) {
		if mpKeyRe.MatchString(k) {
			p := parseProps(c[k], "volume")
			byPath[p["mp"]] = p
			order = append(order, p["mp"])
		}
	}
	var out []phoenix.MountPoint
	seen := map[string]bool{}
	for _, mp := range model {
		have, ok := byPath[mp.Path]
		if !ok {
			continue
		}
		seen[mp.Path] = true
		if mp.Type == "bind" {
			mp.HostPath = have["volume"]
		} else if size, ok := sizeGiB(have["size"]); ok {
			mp.SizeGB = size
		}
		out = append(out, mp)
	}
	for _, path := range order {
		if seen[path] {
			continue
		}
		p := byPath[path]
		mp := phoenix.MountPoint{Type: "volume", Path: path}
		if strings.HasPrefix(p["volume"], "/") {
			mp.Type, mp.HostPath = "bind", p["volume"]
		} else {
			mp.Storage, _, _ = strings.Cut(p["volume"], ":")
			mp.SizeGB, _ = sizeGiB(p["size"])
		}
		out = append(out, mp)
	}
	return out
}

func observeInt(field **int64, c map[string]string, key string) {
	if *field == nil {
		return
	}
	*field = parseIntPtr(c[key])
}

func parseIntPtr(s string) *int64 {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return nil
	}
	return &n
}
