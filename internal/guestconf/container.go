package guestconf

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/phoenix"
)

var mpKeyRe = regexp.MustCompile(`^mp(\d+)$`)

// Resize is a disk to grow.
type Resize struct {
	Disk string // rootfs, mp0...
	Size string // "32G"
}

// Changes bring an actual container config to the desired one.
type Changes struct {
	Set    map[string]string
	Delete []string
	Resize []Resize
	// Replace lists reasons the guest must be recreated instead (e.g. a disk
	// would shrink); empty when changes can be applied in place.
	Replace []string
}

// Keys lists every config key the changes touch, sorted.
func (c Changes) Keys() []string {
	var keys []string
	for k := range c.Set {
		keys = append(keys, k)
	}
	keys = append(keys, c.Delete...)
	for _, r := range c.Resize {
		keys = append(keys, r.Disk)
	}
	sort.Strings(keys)
	return keys
}

// ContainerCreateParams are the parameters of a container created from an
// OS template: only what PVE needs at creation; everything else converges
// through DiffContainer, the same path as for clones.
func ContainerCreateParams(g *phoenix.Guest, ostemplate string) map[string]string {
	p := map[string]string{"ostemplate": ostemplate, "hostname": g.Name}
	if g.Storage != "" {
		p["storage"] = g.Storage
		size := int64(8)
		if g.DiskSizeGB != nil {
			size = *g.DiskSizeGB
		}
		p["rootfs"] = fmt.Sprintf("%s:%d", g.Storage, size)
	}
	if g.Unprivileged != nil {
		p["unprivileged"] = boolStr(*g.Unprivileged)
	}
	if net := desiredNet(g, nil); net != "" {
		p["net0"] = net
	}
	return p
}

// desiredNet renders net0 from the model, keeping from the actual value
// what the model does not set (a generated MAC, VLAN tag, MTU...).
func desiredNet(g *phoenix.Guest, actual map[string]string) string {
	n := g.Network
	if n.Name == "" && n.Bridge == "" && n.IP == "" && n.MAC == "" {
		return ""
	}
	m := map[string]string{}
	for k, v := range actual {
		m[k] = v
	}
	set := func(k, v string) {
		if v == "" {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	name := n.Name
	if name == "" {
		name = "eth0"
	}
	set("name", name)
	if n.Bridge != "" {
		m["bridge"] = n.Bridge
	}
	set("ip", n.IP)
	set("gw", n.Gateway)
	if n.MAC != "" {
		m["hwaddr"] = strings.ToUpper(n.MAC)
	}
	if g.Firewall != nil && g.Firewall.Enabled {
		m["firewall"] = "1"
	} else {
		delete(m, "firewall")
	}
	return formatProps(m, "", "name", "bridge")
}

// DiffContainer computes the config changes that make actual match g.
// Keys the model leaves unset are not managed.
func DiffContainer(g *phoenix.Guest, actual map[string]string) Changes {
	ch := diffCommon(g, actual, "hostname")
	want := func(k, v string) {
		if actual[k] != v {
			ch.Set[k] = v
		}
	}
	if g.MemoryMB != nil {
		want("memory", strconv.FormatInt(*g.MemoryMB, 10))
	}
	if g.SwapMB != nil {
		want("swap", strconv.FormatInt(*g.SwapMB, 10))
	}
	if g.PctOptions != nil {
		want := optionsMap(g.PctOptions)
		if !sameMap(want, parseProps(actual["features"], "")) {
			if len(want) == 0 {
				ch.Delete = append(ch.Delete, "features")
			} else {
				ch.Set["features"] = formatProps(want, "")
			}
		}
	}
	if len(g.Network.Nameservers) > 0 {
		want("nameserver", strings.Join(g.Network.Nameservers, " "))
	}
	if g.Network.SearchDomain != "" {
		want("searchdomain", g.Network.SearchDomain)
	}
	if net := desiredNet(g, parseProps(actual["net0"], "")); net != "" {
		if !sameMap(parseProps(net, ""), parseProps(actual["net0"], "")) {
			ch.Set["net0"] = net
		}
	}
	if g.Unprivileged != nil && *g.Unprivileged != (actual["unprivileged"] == "1") {
		ch.Replace = append(ch.Replace, "unprivileged cannot change on an existing container")
	}
	diffDiskSize(g, "rootfs", parseProps(actual["rootfs"], "volume")["size"], &ch)
	diffMounts(g, actual, &ch)
	if len(ch.Set) == 0 {
		ch.Set = nil
	}
	return ch
}

// diffCommon starts the changes with the keys both kinds manage alike: the
// name (under nameKey: hostname or name), cores, onboot and startup.
func diffCommon(g *phoenix.Guest, actual map[string]string, nameKey string) Changes {
	ch := Changes{Set: map[string]string{}}
	if g.Name != "" && actual[nameKey] != g.Name {
		ch.Set[nameKey] = g.Name
	}
	if g.Cores != nil {
		if cores := strconv.FormatInt(*g.Cores, 10); actual["cores"] != cores {
			ch.Set["cores"] = cores
		}
	}
	if g.StartAtBoot != nil && *g.StartAtBoot != (actual["onboot"] == "1") {
		ch.Set["onboot"] = boolStr(*g.StartAtBoot)
	}
	if su := desiredStartup(g); su != nil && !sameMap(su, parseProps(actual["startup"], "order")) {
		ch.Set["startup"] = formatProps(su, "", "order", "up")
	}
	return ch
}

// diffDiskSize grows disk (whose size PVE reports as size) to the model's
// size, or names the shrink PVE cannot do.
func diffDiskSize(g *phoenix.Guest, disk, size string, ch *Changes) {
	have, ok := sizeGiB(size)
	if g.DiskSizeGB == nil || !ok {
		return
	}
	switch want := *g.DiskSizeGB; {
	case want > have:
		ch.Resize = append(ch.Resize, Resize{Disk: disk, Size: fmt.Sprintf("%dG", want)})
	case want < have:
		ch.Replace = append(ch.Replace, fmt.Sprintf("%s would shrink from %dG to %dG; PVE only grows disks", disk, have, want))
	}
}

func desiredStartup(g *phoenix.Guest) map[string]string {
	if g.BootOrder == nil && g.BootDelay == nil {
		return nil
	}
	m := map[string]string{}
	if g.BootOrder != nil {
		m["order"] = strconv.FormatInt(*g.BootOrder, 10)
	}
	if g.BootDelay != nil && *g.BootDelay > 0 {
		m["up"] = strconv.FormatInt(*g.BootDelay, 10)
	}
	return m
}

// diffMounts matches mount points by their path inside the guest: new ones
// take a free mpN, grown volumes are resized, and mpN the model lacks are
// removed (PVE keeps the volume as unusedN).
func diffMounts(g *phoenix.Guest, actual map[string]string, ch *Changes) {
	byPath := map[string]string{} // mp path -> key
	used := map[int]bool{}
	for k, v := range actual {
		if m := mpKeyRe.FindStringSubmatch(k); m != nil {
			n, _ := strconv.Atoi(m[1])
			used[n] = true
			byPath[parseProps(v, "volume")["mp"]] = k
		}
	}
	wanted := map[string]bool{}
	next := 0
	for _, mp := range g.MountPoints {
		wanted[mp.Path] = true
		if key, ok := byPath[mp.Path]; ok {
			have := parseProps(actual[key], "volume")
			if mp.Type != "bind" {
				if size, ok := sizeGiB(have["size"]); ok && mp.SizeGB > size {
					ch.Resize = append(ch.Resize, Resize{Disk: key, Size: fmt.Sprintf("%dG", mp.SizeGB)})
				}
			} else if have["volume"] != mp.HostPath {
				ch.Set[key] = bindVolume(mp.HostPath) + ",mp=" + mp.Path
			}
			continue
		}
		for used[next] {
			next++
		}
		used[next] = true
		key := "mp" + strconv.Itoa(next)
		if mp.Type == "bind" {
			ch.Set[key] = bindVolume(mp.HostPath) + ",mp=" + mp.Path
		} else {
			ch.Set[key] = fmt.Sprintf("%s:%d,mp=%s", mp.Storage, mp.SizeGB, mp.Path)
		}
	}
	for path, key := range byPath {
		if !wanted[path] {
			ch.Delete = append(ch.Delete, key)
		}
	}
	sort.Strings(ch.Delete)
}

// bindVolume is a bind mount's host path as the first part of an mpN
// value: with the key spelled out when the path holds '=', which PVE's
// property parser would otherwise read as a key of its own.
func bindVolume(hostPath string) string {
	if strings.Contains(hostPath, "=") {
		return "volume=" + hostPath
	}
	return hostPath
}

// RawLXCLine is one raw lxc.* line of /etc/pve/lxc/ID.conf.
type RawLXCLine struct{ Key, Value string }

// DesiredRawLXC lists the raw lines the model asks for: lxc_options
// ("lxc.key=value"), the AppArmor profile, and GPU device access as
// phoenix's nvidia feature wrote it (cgroup2 device rules and bind mounts of
// /dev/nvidia*). With devices (root@pam), GPUs use devN passthrough instead.
func DesiredRawLXC(g *phoenix.Guest, gpuAsDevices bool) []RawLXCLine {
	var out []RawLXCLine
	seen := map[string]bool{}
	add := func(k, v string) {
		id := k + "\x00" + v
		if !seen[id] {
			seen[id] = true
			out = append(out, RawLXCLine{k, v})
		}
	}
	hasProfile := false
	for _, o := range g.LXCOptions {
		k, v, _ := strings.Cut(o, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if k == "lxc.apparmor.profile" {
			hasProfile = true
		}
		add(k, v)
	}
	if g.AppArmorProfile != "" && !hasProfile {
		add("lxc.apparmor.profile", g.AppArmorProfile)
	}
	if len(g.GPUs) > 0 && !gpuAsDevices {
		add("lxc.cgroup2.devices.allow", "c 195:* rwm")
		add("lxc.cgroup2.devices.allow", "c 509:* rwm")
		for _, dev := range gpuDevices(g.GPUs) {
			add("lxc.mount.entry", fmt.Sprintf("%s %s none bind,optional,create=file", dev, strings.TrimPrefix(dev, "/")))
		}
	}
	return out
}

// GPUDeviceKeys are the devN entries for GPU passthrough as root@pam.
func GPUDeviceKeys(g *phoenix.Guest) map[string]string {
	out := map[string]string{}
	for i, dev := range gpuDevices(g.GPUs) {
		out["dev"+strconv.Itoa(i)] = dev
	}
	return out
}

func gpuDevices(gpus []string) []string {
	if len(gpus) == 0 {
		return nil
	}
	var devs []string
	for _, i := range gpus {
		devs = append(devs, "/dev/nvidia"+i)
	}
	return append(devs, "/dev/nvidiactl", "/dev/nvidia-uvm", "/dev/nvidia-uvm-tools")
}

// SameRawLXC compares raw lines as multisets: order does not matter to LXC
// for the keys phoenix uses.
func SameRawLXC(a []RawLXCLine, b [][2]string) bool {
	if len(a) != len(b) {
		return false
	}
	count := map[RawLXCLine]int{}
	for _, l := range a {
		count[l]++
	}
	for _, p := range b {
		l := RawLXCLine{p[0], p[1]}
		if count[l] == 0 {
			return false
		}
		count[l]--
	}
	return true
}
