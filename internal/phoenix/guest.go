package phoenix

import (
	"encoding/json"
	"sort"
	"strings"
)

// Keys the model represents. Everything else in an entry goes to Guest.Extra.
var commonKeys = setOf("name", "cores", "memory_mb", "swap_mb", "storage_pool", "start_at_boot", "boot_order",
	"boot_delay", "network_config", "mac_address", "template_snapshot_name", "firewall", "ports", "features",
	"application_script", "health_check", "dependencies", "volumes", "zfs_volumes", "os_type", "is_template")

var lxcKeys = setOf("template", "storage_size_gb", "clone_from_ctid", "unprivileged", "pct_options",
	"lxc_options", "apparmor_profile", "apparmor_manages_nesting", "gpu_assignment")

var vmKeys = setOf("vmid", "template", "template_image", "disk_size_gb", "clone_from_vmid", "network_bridge",
	"cloud_init", "user_config")

// What happens to an unknown key, for typo warnings.
const (
	fateExtra   = "kept in extra_json for the feature scripts"
	fateIgnored = "ignored"
)

// Objects whose sub-keys the model reads only partly; they go to Extra as
// well when they hold anything else, so feature scripts lose nothing.
var partialKeys = map[string]map[string]bool{
	"tests":       setOf("health_checks"),
	"cloud_init":  setOf("username", "ssh_authorized_keys", "packages", "password"),
	"user_config": setOf("username", "ssh_authorized_keys", "packages", "password"),
}

func setOf(keys ...string) map[string]bool {
	m := make(map[string]bool, len(keys))
	for _, k := range keys {
		m[k] = true
	}
	return m
}

func (b *builder) readLXCFile(s scope) {
	cfgs := s.value("lxc_configs")
	if cfgs == nil {
		s.f.report(s.obj, "lxc_configs", false, "required field is missing")
		return
	}
	if cfgs.kind != kindObject {
		s.expected(cfgs, "lxc_configs", "an object keyed by CTID")
		return
	}
	cs := newScope(s.f, "lxc_configs", cfgs)
	for _, m := range cfgs.kids() {
		id, ok := parseID(m.key)
		if !ok {
			cs.errorf(m.value, m.key, "expected a numeric CTID as key")
			continue
		}
		if m.value.kind != kindObject {
			cs.expected(m.value, m.key, "an object")
			continue
		}
		b.readLXC(id, newScope(s.f, cs.at(m.key), m.value), m.value)
	}
}

func (b *builder) readLXC(id int, s scope, keyVal *value) {
	g := &Guest{Kind: KindLXC, ID: id, Source: Location{File: s.f.name, Path: s.path()}}
	b.readCommon(g, s)
	g.Template = s.str("template")
	g.DiskSizeGB = s.integer("storage_size_gb")
	g.CloneFrom = s.id("clone_from_ctid")
	g.Unprivileged = s.boolean("unprivileged")
	g.PctOptions = s.strings("pct_options")
	g.LXCOptions = s.strings("lxc_options")
	g.AppArmorProfile = s.str("apparmor_profile")
	g.AppArmorManagesNesting = s.boolean("apparmor_manages_nesting")
	if ga := s.str("gpu_assignment"); ga != "" && ga != "none" {
		for _, part := range strings.Split(ga, ",") {
			part = strings.TrimSpace(part)
			if _, ok := parseID(part); !ok {
				s.errorf(s.value("gpu_assignment"), "gpu_assignment", `expected "none" or comma-separated GPU indices, got %q`, ga)
				g.GPUs = nil
				break
			}
			g.GPUs = append(g.GPUs, part)
		}
	}
	if d := b.lxcDefaults; d != nil {
		b.mergeLXCDefaults(g, s, *d)
	}
	s.required("name", "storage_pool", "storage_size_gb")
	if g.Cores == nil && !s.has("cores") {
		s.f.report(s.obj, s.at("cores"), false, "required field is missing (and proxmox_defaults.lxc has no cores)")
	}
	if g.MemoryMB == nil && !s.has("memory_mb") {
		s.f.report(s.obj, s.at("memory_mb"), false, "required field is missing (and proxmox_defaults.lxc has no memory_mb)")
	}
	if g.Template == "" && g.CloneFrom == nil {
		s.f.report(s.obj, s.at("template"), false, "expected template or clone_from_ctid: a container needs an OS template or a clone source")
	}
	b.checkLXC(g, s)
	g.Extra = extra(s.f.data, s.obj, lxcKeys)
	checkTypos(s, fateExtra, lxcEntryKeys)
	b.addGuest(g, s, keyVal, "")
}

// mergeLXCDefaults fills what an entry omits from proxmox_defaults.lxc, as the
// orchestrator did: cores, memory, the network string "ip/cidr,gw,dns" and the
// features string as pct options.
func (b *builder) mergeLXCDefaults(g *Guest, s scope, d scope) {
	if g.Cores == nil {
		g.Cores = d.integer("cores")
	}
	if g.MemoryMB == nil {
		g.MemoryMB = d.integer("memory_mb")
	}
	if g.SwapMB == nil {
		g.SwapMB = d.integer("swap_mb")
	}
	if !s.has("network_config") {
		if nc := d.str("network_config"); nc != "" {
			parts := strings.Split(nc, ",")
			g.Network.IP = strings.TrimSpace(parts[0])
			if len(parts) > 1 {
				g.Network.Gateway = strings.TrimSpace(parts[1])
			}
			for _, ns := range parts[min(2, len(parts)):] {
				if ns = strings.TrimSpace(ns); ns != "" {
					g.Network.Nameservers = append(g.Network.Nameservers, ns)
				}
			}
			checkIPConfig(d, "network_config", g.Network.IP, g.Network.Gateway)
		}
		if g.Network.Name == "" {
			g.Network.Name = "eth0"
		}
		if g.Network.Bridge == "" {
			g.Network.Bridge = b.estate.Network.Bridge
		}
	}
	if !s.has("pct_options") {
		if f := d.str("features"); f != "" {
			for _, o := range strings.Split(f, ",") {
				if o = strings.TrimSpace(o); o != "" {
					g.PctOptions = append(g.PctOptions, o)
				}
			}
		}
	}
}

func (b *builder) readVM(s scope, defaults *scope) {
	s.required("vmid", "name")
	idv := s.value("vmid")
	if idv == nil {
		return
	}
	id, ok := asID(idv)
	if !ok {
		s.expected(idv, "vmid", "an integer VM ID")
		return
	}
	g := &Guest{Kind: KindVM, ID: id, Source: Location{File: s.f.name, Path: s.path()}}
	// vm_defaults apply key by key where the entry omits a value.
	pick := func(key string) scope {
		if !s.has(key) && defaults != nil && defaults.has(key) {
			return *defaults
		}
		return s
	}
	b.readCommon(g, s)
	if g.Cores == nil {
		g.Cores = pick("cores").integer("cores")
	}
	if g.MemoryMB == nil {
		g.MemoryMB = pick("memory_mb").integer("memory_mb")
	}
	if g.Storage == "" {
		g.Storage = pick("storage_pool").str("storage_pool")
	}
	g.DiskSizeGB = pick("disk_size_gb").integer("disk_size_gb")
	g.Template = pick("template").str("template")
	g.TemplateImage = s.str("template_image")
	g.CloneFrom = s.id("clone_from_vmid")
	if g.Network.Bridge == "" {
		g.Network.Bridge = pick("network_bridge").str("network_bridge")
	}
	if g.Network.Name == "" {
		g.Network.Name = "net0"
	}
	for _, key := range []string{"cloud_init", "user_config"} {
		ci, ok := s.object(key)
		if !ok {
			continue
		}
		if g.CloudInit != nil {
			s.errorf(ci.obj, key, "cloud_init and user_config both set; use one")
			continue
		}
		g.CloudInit = &CloudInit{Username: ci.str("username"), SSHAuthorizedKeys: ci.strings("ssh_authorized_keys"),
			Packages: ci.strings("packages"), Password: ci.str("password")}
	}
	if g.TemplateImage == "" && g.CloneFrom == nil && g.Template == "" {
		s.f.report(s.obj, s.at("template_image"), false, "expected template_image or clone_from_vmid: a VM needs a disk image or a clone source")
	}
	if g.IsTemplate && g.TemplateSnapshot != "" {
		// PVE refuses to convert a guest with snapshots into a template, and
		// templates cannot be snapshotted; the existing phoenix configs carry
		// this combination, so it is reported without stopping ingestion.
		s.warnf(s.value("template_snapshot_name"), "template_snapshot_name",
			"a VM with is_template=true cannot carry a snapshot: PVE refuses to template a guest with snapshots; clones of this VM use the template itself")
	}
	b.checkCommon(g, s)
	g.Extra = extra(s.f.data, s.obj, vmKeys)
	checkTypos(s, fateExtra, vmEntryKeys)
	b.addGuest(g, s, idv, "vmid")
}

// readCommon reads the keys LXC entries and VM entries share.
func (b *builder) readCommon(g *Guest, s scope) {
	g.Name = s.str("name")
	g.Cores = s.integer("cores")
	g.MemoryMB = s.integer("memory_mb")
	g.SwapMB = s.integer("swap_mb")
	g.Storage = s.str("storage_pool")
	g.OSType = s.str("os_type")
	if t := s.boolean("is_template"); t != nil {
		g.IsTemplate = *t
	}
	g.TemplateSnapshot = s.str("template_snapshot_name")
	g.StartAtBoot = s.boolean("start_at_boot")
	g.BootOrder = s.integer("boot_order")
	g.BootDelay = s.integer("boot_delay")
	if n, ok := s.object("network_config"); ok {
		g.Network = Network{Name: n.str("name"), Bridge: n.str("bridge"), IP: n.str("ip"), Gateway: n.str("gw"),
			Nameservers: n.strings("nameservers"), SearchDomain: n.str("search_domain")}
		checkIPConfig(n, "ip", g.Network.IP, g.Network.Gateway)
		checkTypos(n, fateIgnored, networkSet)
	}
	g.Network.MAC = s.str("mac_address")
	g.Ports = s.strings("ports")
	g.Features = s.strings("features")
	g.ApplicationScript = s.str("application_script")
	for _, key := range []string{"volumes", "zfs_volumes"} {
		typ := strings.TrimSuffix(key, "s")
		s.objects(key, func(_ int, v scope) {
			v.required("name", "pool", "size_gb", "mount_point")
			checkTypos(v, fateIgnored, volumeSet)
			mp := MountPoint{Type: typ, Name: v.str("name"), Storage: v.str("pool"), Path: v.str("mount_point")}
			if sz := v.integer("size_gb"); sz != nil {
				mp.SizeGB = *sz
			}
			g.MountPoints = append(g.MountPoints, mp)
		})
	}
	if fw, ok := s.object("firewall"); ok {
		g.Firewall = &Firewall{}
		checkTypos(fw, fateIgnored, firewallSet)
		if e := fw.boolean("enabled"); e != nil {
			g.Firewall.Enabled = *e
		}
		fw.objects("rules", func(_ int, r scope) {
			r.required("type", "action")
			checkTypos(r, fateIgnored, ruleSet)
			g.Firewall.Rules = append(g.Firewall.Rules, FirewallRule{Type: r.str("type"), Action: r.str("action"),
				Source: r.str("source"), Dest: r.str("dest"), Proto: r.str("proto"), Port: r.str("port"), Comment: r.str("comment")})
		})
	}
	if t, ok := s.object("tests"); ok {
		t.objects("health_checks", func(_ int, h scope) {
			h.required("name", "path")
			g.HealthChecks = append(g.HealthChecks, HealthCheck{Name: h.str("name"), Type: h.str("type"), Path: h.str("path")})
		})
	}
	if hc, ok := s.object("health_check"); ok {
		hc.required("command")
		checkTypos(hc, fateIgnored, healthSet)
		g.HealthChecks = append(g.HealthChecks, HealthCheck{Name: "health_check", Type: "command", Command: hc.str("command"),
			Retries: hc.integer("retries"), Interval: hc.integer("interval")})
	}
	if deps := s.value("dependencies"); deps != nil {
		if deps.kind != kindArray {
			s.expected(deps, "dependencies", "an array of guest IDs")
		} else {
			for i, k := range deps.kids() {
				d := k.value
				id, ok := asID(d)
				if !ok {
					s.f.report(d, indexPath(s.at("dependencies"), i), false, "expected a guest ID (an integer or a string of digits), got "+d.describe())
					continue
				}
				g.Dependencies = append(g.Dependencies, id)
			}
		}
	}
}

// extra returns the members the model does not fully represent, verbatim.
func extra(data []byte, obj *value, kindKeys map[string]bool) map[string]json.RawMessage {
	var out map[string]json.RawMessage
	for _, m := range obj.kids() {
		if known, ok := partialKeys[m.key]; ok {
			if !hasOtherKeys(m.value, known) {
				continue
			}
		} else if commonKeys[m.key] || kindKeys[m.key] {
			continue
		}
		if out == nil {
			out = map[string]json.RawMessage{}
		}
		out[m.key] = json.RawMessage(m.value.raw(data))
	}
	return out
}

func hasOtherKeys(v *value, known map[string]bool) bool {
	if v.kind != kindObject {
		return true
	}
	for _, m := range v.kids() {
		if !known[m.key] {
			return true
		}
	}
	return false
}

// ExtraKeys returns the sorted keys of g.Extra.
func (g *Guest) ExtraKeys() []string {
	keys := make([]string, 0, len(g.Extra))
	for k := range g.Extra {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
