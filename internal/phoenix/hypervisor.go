package phoenix

import (
	"sort"
	"strings"
)

// builder accumulates the estate while the files are read.
type builder struct {
	estate *Estate
	byID   map[int]*Guest
	// src keeps each guest's scope so cross-guest checks can point at it.
	src map[int]scope
	// lxcDefaults is proxmox_defaults.lxc.
	lxcDefaults *scope
	// knownStorage is set when the hypervisor config defines storages.
	knownStorage map[string]bool
	// vmsSeen is the first file whose `vms` array was not empty.
	vmsSeen *scope
}

func (b *builder) readHypervisor(s scope) {
	if n, ok := s.object("network"); ok {
		if ifc, ok := n.object("interfaces"); ok {
			b.estate.Network.Bridge = ifc.str("name")
			b.estate.Network.Address = ifc.str("address")
			b.estate.Network.Gateway = ifc.str("gateway")
			if ns := ifc.str("dns_nameservers"); ns != "" {
				b.estate.Network.Nameservers = strings.FieldsFunc(ns, func(r rune) bool { return r == ' ' || r == ',' })
			}
			if a := b.estate.Network.Address; a != "" {
				checkCIDR(ifc, "address", a)
			}
			if g := b.estate.Network.Gateway; g != "" {
				checkIP(ifc, "gateway", g)
			}
		}
		b.estate.Network.DefaultSubnet = n.str("default_subnet")
		if d := b.estate.Network.DefaultSubnet; d != "" {
			checkCIDR(n, "default_subnet", d)
		}
	}
	if ids, ok := s.object("proxmox_storage_ids"); ok {
		for _, m := range ids.obj.kids() {
			if m.value.kind != kindString {
				ids.expected(m.value, m.key, "a storage ID string")
				continue
			}
			b.estate.StorageIDs[m.key] = m.value.text()
		}
	}
	if z, ok := s.object("zfs"); ok {
		z.objects("datasets", func(_ int, d scope) {
			d.required("name", "pool")
			name, pool := d.str("name"), d.str("pool")
			if name == "" || pool == "" {
				return
			}
			st := Storage{ID: pool + "-" + name, Type: d.str("proxmox_storage_type")}
			if st.Type == "" {
				st.Type = "zfspool"
			}
			for _, c := range strings.Split(d.str("proxmox_content_type"), ",") {
				if c = strings.TrimSpace(c); c != "" {
					st.Content = append(st.Content, c)
				}
			}
			if st.Type == "dir" {
				st.Path = "/" + pool + "/" + name
			}
			b.estate.Storages = append(b.estate.Storages, st)
		})
	}
	if len(b.estate.Storages) > 0 || len(b.estate.StorageIDs) > 0 {
		b.knownStorage = map[string]bool{"local": true, "local-lvm": true, "local-zfs": true}
		for _, st := range b.estate.Storages {
			b.knownStorage[st.ID] = true
		}
		for _, id := range b.estate.StorageIDs {
			b.knownStorage[id] = true
		}
	}
	if pd, ok := s.object("proxmox_defaults"); ok {
		if l, ok := pd.object("lxc"); ok {
			b.lxcDefaults = &l
		}
	}
}

// readVMs reads `vm_defaults` + `vms` from the hypervisor config (seed layout)
// or phoenix_vm_configs.json (split layout).
func (b *builder) readVMs(s scope) {
	vms := s.value("vms")
	if vms == nil {
		return
	}
	if vms.kind == kindArray && len(vms.kids()) > 0 {
		if b.vmsSeen != nil {
			s.errorf(vms, "vms", "VMs are defined both here and in %s (vms); keep them in one file", b.vmsSeen.f.name)
		} else {
			b.vmsSeen = &s
		}
	}
	var defaults *scope
	if d, ok := s.object("vm_defaults"); ok {
		defaults = &d
	}
	s.objects("vms", func(i int, o scope) {
		b.readVM(o, defaults)
	})
}

func (b *builder) addGuest(g *Guest, s scope, idValue *value, idKey string) {
	if g.ID < 100 || g.ID > 999999999 {
		s.errorf(idValue, idKey, "expected an ID from 100 to 999999999, got %d", g.ID)
	}
	if prev, ok := b.byID[g.ID]; ok {
		s.errorf(idValue, idKey, "ID %d is already used by %s %s (%s)", g.ID, kindLabel(prev.Kind), prev.Source.Path, prev.Source.File)
		return
	}
	b.byID[g.ID] = g
	if b.src == nil {
		b.src = map[int]scope{}
	}
	b.src[g.ID] = s
	b.estate.Guests = append(b.estate.Guests, g)
}

func kindLabel(k Kind) string {
	if k == KindVM {
		return "VM"
	}
	return "LXC"
}

// readSharedVolumes adds shared_volumes bind mounts to the containers they name.
func (b *builder) readSharedVolumes(s scope) {
	sv, ok := s.object("shared_volumes")
	if !ok {
		return
	}
	names := make([]string, 0, len(sv.obj.kids()))
	for _, m := range sv.obj.kids() {
		names = append(names, m.key)
	}
	sort.Strings(names)
	for _, name := range names {
		vol, ok := sv.object(name)
		if !ok {
			continue
		}
		// Entries without host_path and mounts are settings that ended up in
		// this section (phoenix keeps "firewall" here); they are not volumes.
		if !vol.has("host_path") && !vol.has("mounts") {
			continue
		}
		vol.required("host_path", "mounts")
		host := vol.str("host_path")
		if host != "" && !strings.HasPrefix(host, "/") {
			vol.errorf(vol.value("host_path"), "host_path", "expected an absolute path, got %q", host)
		}
		mounts, ok := vol.object("mounts")
		if !ok {
			continue
		}
		for _, m := range mounts.obj.kids() {
			id, okID := parseID(m.key)
			g := b.byID[id]
			switch {
			case !okID:
				mounts.errorf(m.value, m.key, "expected a CTID key")
				continue
			case g == nil || g.Kind != KindLXC:
				mounts.errorf(m.value, m.key, "container %d is not defined in lxc_configs", id)
				continue
			case m.value.kind != kindString:
				mounts.expected(m.value, m.key, "a mount path string")
				continue
			case !strings.HasPrefix(m.value.text(), "/"):
				mounts.errorf(m.value, m.key, "expected an absolute mount path, got %q", m.value.text())
				continue
			}
			g.MountPoints = addBind(g.MountPoints, MountPoint{Type: "bind", Name: name, HostPath: host, Path: m.value.text()})
		}
	}
}

// addBind adds a shared-volume bind mount. Phoenix declares a dataset both in
// zfs_volumes (so the host creates it) and in shared_volumes (so the guest
// mounts it) at the same path: that is one mount, the bind mount, and the
// volume entry is dropped so PVE does not get two mount points on one path.
func addBind(mps []MountPoint, bind MountPoint) []MountPoint {
	out := mps[:0:0]
	for _, mp := range mps {
		if mp.Path == bind.Path && mp.Type != "bind" {
			continue
		}
		out = append(out, mp)
	}
	return append(out, bind)
}
