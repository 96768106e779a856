//go:build linux

package pvesim

import (
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// permHooks are the permission checks PVE's handlers make themselves beyond
// the schema's `permissions` (their descriptions say "check inside"), run by
// authorize before the handler. Root-only rules (bind mounts, devices,
// feature flags other than nesting) stay with the handlers (checkCTPerm),
// which PVE runs in the same place; these hooks check privileges.
var permHooks = map[string]func(s *Server, r *request) error{
	"POST /nodes/{node}/lxc":                ctCreatePerms,
	"PUT /nodes/{node}/lxc/{vmid}/config":   ctConfigPerms,
	"POST /nodes/{node}/lxc/{vmid}/clone":   clonePerms,
	"PUT /nodes/{node}/lxc/{vmid}/resize":   resizePerms,
	"POST /nodes/{node}/qemu":               vmCreatePerms,
	"POST /nodes/{node}/qemu/{vmid}/config": vmConfigPerms,
	"PUT /nodes/{node}/qemu/{vmid}/config":  vmConfigPerms,
	"POST /nodes/{node}/qemu/{vmid}/clone":  clonePerms,
	"PUT /nodes/{node}/qemu/{vmid}/resize":  resizePerms,
	// pve-manager API2/Tasks.pm: a task's owner, or Sys.Audit (reading) /
	// Sys.Modify (stopping) on the node.
	"GET /nodes/{node}/tasks/{upid}/status": taskPerms("Sys.Audit"),
	"GET /nodes/{node}/tasks/{upid}/log":    taskPerms("Sys.Audit"),
	"DELETE /nodes/{node}/tasks/{upid}":     taskPerms("Sys.Modify"),
}

// guestSnapshot copies what the hooks read of guest vmid (nil when absent).
func (s *Server) guestSnapshot(vmid int) map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.st.Guests[vmid]
	if g == nil {
		return nil
	}
	return copyMap(g.Config)
}

// sortedParams lists the request's parameters except skip, sorted (Perl's
// hash order is random; sorted keys make the first failure stable).
func sortedParams(r *request, skip map[string]bool) []string {
	var keys []string
	for k := range r.params {
		if !skip[k] && r.params.Has(k) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

// ctCreatePerms is pve-container's create_vm: Sys.Modify on / for a
// privileged container, VM.Allocate on the guest, the settings' privileges,
// read access to the template and space on every storage used.
func ctCreatePerms(s *Server, r *request) error {
	vmid := r.integer("vmid")
	if s.guestSnapshot(vmid) != nil {
		return nil // check_vmid_unused fails first, in the handler
	}
	u := r.user
	unpriv := !r.has("unprivileged") || r.boolean("unprivileged")
	if !unpriv {
		if err := s.check(u, "/", "Sys.Modify"); err != nil {
			return err
		}
	}
	if !s.has(u, "/vms/"+strconv.Itoa(vmid), "VM.Allocate") {
		return permErr("")
	}
	set := map[string]string{}
	for _, k := range sortedParams(r, lxcCreateOnly) {
		if k != "unprivileged" {
			set[k] = r.str(k)
		}
	}
	if err := s.ctKeyPerms(u, vmid, nil, set, nil, unpriv); err != nil {
		return err
	}
	if t := r.str("ostemplate"); !strings.HasPrefix(t, "/") {
		if err := s.volumeAccess(u, vmid, t); err != nil {
			return err
		}
	}
	storage := r.str("storage")
	if storage == "" {
		storage = "local"
	}
	if _, ok := set["rootfs"]; !ok {
		return s.check(u, "/storage/"+storage, "Datastore.AllocateSpace")
	}
	for _, k := range sortedKeys(set) {
		if !ctMountKeyRE.MatchString(k) {
			continue
		}
		vol := propVolume("lxc", k, set[k])
		if _, err := strconv.ParseFloat(vol, 64); err == nil {
			vol = storage + ":" + vol
		}
		if sid, _, ok := splitVolID(vol); ok && !strings.HasPrefix(vol, "/") {
			if err := s.check(u, "/storage/"+sid, "Datastore.AllocateSpace"); err != nil {
				return err
			}
		}
	}
	return nil
}

// ctUpdateOnly are update_vm's parameters that are not settings.
var ctUpdateOnly = setOf("node", "vmid", "delete", "revert", "digest")

// ctConfigPerms is update_vm's check_ct_modify_config_perm.
func ctConfigPerms(s *Server, r *request) error {
	vmid := r.vmid()
	old := s.guestSnapshot(vmid)
	if old == nil {
		return nil
	}
	set := map[string]string{}
	for _, k := range sortedParams(r, ctUpdateOnly) {
		set[k] = r.str(k)
	}
	return s.ctKeyPerms(r.user, vmid, old, set, splitList(r.str("delete")), old["unprivileged"] == "1")
}

// ctKeyPerms is LXC.pm's check_ct_modify_config_perm for the privileges.
func (s *Server) ctKeyPerms(u string, vmid int, old, set map[string]string, del []string, unpriv bool) error {
	vm := "/vms/" + strconv.Itoa(vmid)
	keys := append(sortedKeys(set), del...)
	for i, k := range keys {
		deleting := i >= len(set)
		var err error
		switch {
		case k == "cores" || k == "cpuunits" || k == "cpulimit":
			err = s.check(u, vm, "VM.Config.CPU")
		case ctMountKeyRE.MatchString(k):
			if err = s.check(u, vm, "VM.Config.Disk"); err == nil && !deleting {
				err = s.mountAccess(u, vmid, propVolume("lxc", k, set[k]))
			}
		case k == "memory" || k == "swap":
			err = s.check(u, vm, "VM.Config.Memory")
		case netKeyRE.MatchString(k):
			if err = s.check(u, vm, "VM.Config.Network"); err == nil {
				err = s.bridgeAccess(u, old[k], set[k])
			}
		case k == "nameserver" || k == "searchdomain" || k == "hostname":
			err = s.check(u, vm, "VM.Config.Network")
		case k == "features":
			if unpriv && nestingChanged(old["features"], set["features"], deleting) {
				err = s.check(u, vm, "VM.Allocate")
			}
		case strings.HasPrefix(k, "dev") && indexedKeyRE.MatchString(k), k == "hookscript":
			// root@pam only: the handler says so
		default:
			err = s.check(u, vm, "VM.Config.Options")
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// nestingChanged is the nesting part of check_ct_modify_config_perm's
// feature comparison (other flags are root@pam's, refused by the handler).
func nestingChanged(oldV, newV string, deleting bool) bool {
	oldF, newF := splitProps(oldV, ""), splitProps(newV, "")
	if deleting {
		_, n := oldF["nesting"]
		return n
	}
	return oldF["nesting"] != newF["nesting"]
}

// mountAccess is the volume part of check_ct_modify_config_perm: space on
// the storage of a new volume, access to an existing one.
func (s *Server) mountAccess(u string, vmid int, vol string) error {
	if strings.HasPrefix(vol, "/") {
		return nil // bind or device mount: root@pam's, refused by the handler
	}
	if m := newDiskRE.FindStringSubmatch(vol); m != nil {
		return s.check(u, "/storage/"+m[1], "Datastore.AllocateSpace")
	}
	return s.volumeAccess(u, vmid, vol)
}

// volumeAccess is PVE::Storage::check_volume_access for a volume ID.
func (s *Server) volumeAccess(u string, vmid int, volid string) error {
	sid, name, ok := splitVolID(volid)
	if !ok {
		return nil
	}
	if s.has(u, "/storage/"+sid, "Datastore.Allocate") {
		return nil
	}
	vtype, _, _ := strings.Cut(name, "/")
	owner := 0
	if m := volOwnerRE.FindStringSubmatch(name); m != nil {
		owner, _ = strconv.Atoi(m[1])
	}
	switch {
	case vtype == "iso" || vtype == "vztmpl" || vtype == "import":
		return s.checkAny(u, "/storage/"+sid, "Datastore.AllocateSpace", "Datastore.Audit")
	case owner != 0 && owner == vmid:
		return nil
	case vtype == "backup" && owner != 0:
		if err := s.check(u, "/storage/"+sid, "Datastore.AllocateSpace"); err != nil {
			return err
		}
		return s.check(u, "/vms/"+strconv.Itoa(owner), "VM.Backup")
	case owner != 0:
		if err := s.check(u, "/storage/"+sid, "Datastore.Audit"); err != nil {
			return err
		}
		return s.check(u, "/vms/"+strconv.Itoa(owner), "VM.Config.Disk")
	}
	return die("missing privileges to access %s", volid)
}

var bridgeRE = regexp.MustCompile(`(?:^|,)bridge=([^,]+)`)
var tagRE = regexp.MustCompile(`(?:^|,)tag=(\d+)`)

// bridgeAccess is check_vnet_access for the bridges of network values:
// SDN.Use on /sdn/zones/localnetwork/BRIDGE (or its VLAN's path).
func (s *Server) bridgeAccess(u string, values ...string) error {
	for _, v := range values {
		m := bridgeRE.FindStringSubmatch(v)
		if m == nil {
			continue
		}
		p := "/sdn/zones/localnetwork/" + m[1]
		if t := tagRE.FindStringSubmatch(v); t != nil {
			p += "/" + t[1]
		}
		if err := s.check(u, p, "SDN.Use"); err != nil {
			return err
		}
	}
	return nil
}

// clonePerms is the storage and bridge part of both clone_vm handlers:
// space on the target storage for every disk, SDN.Use on every bridge.
func clonePerms(s *Server, r *request) error {
	src := s.guestSnapshot(r.vmid())
	if src == nil {
		return nil
	}
	kind := kindOf(r)
	for _, k := range sortedKeys(src) {
		v := src[k]
		switch {
		case netKeyRE.MatchString(k):
			if err := s.bridgeAccess(r.user, v); err != nil {
				return err
			}
		case (kind == "lxc" && ctMountKeyRE.MatchString(k)) || (kind == "qemu" && qemuDiskKeyRE.MatchString(k) && !isCDROM(v)):
			sid, _, _ := splitVolID(propVolume(kind, k, v))
			if st := r.str("storage"); st != "" {
				sid = st
			}
			if err := s.check(r.user, "/storage/"+sid, "Datastore.AllocateSpace"); err != nil {
				return err
			}
		}
	}
	return nil
}

// resizePerms is resize_vm's space check on the disk's storage (and, for a
// container, check_ct_modify_config_perm of the disk key).
func resizePerms(s *Server, r *request) error {
	conf := s.guestSnapshot(r.vmid())
	disk := r.str("disk")
	if conf == nil || conf[disk] == "" {
		return nil
	}
	sid, _, _ := splitVolID(propVolume(kindOf(r), disk, conf[disk]))
	return s.check(r.user, "/storage/"+sid, "Datastore.AllocateSpace")
}

// taskPerms lets a task's owner through, others with priv on the node.
func taskPerms(priv string) func(s *Server, r *request) error {
	return func(s *Server, r *request) error {
		f := strings.Split(r.vars["upid"], ":")
		if len(f) > 7 && taskOwner(r.user, f[7], "") {
			return nil
		}
		return s.check(r.user, "/nodes/"+r.vars["node"], priv)
	}
}

// propVolume is the volume of a rootfs/mpN or disk value.
func propVolume(kind, key, value string) string {
	m, err := parseProp(kind, key, value)
	if err != nil {
		return ""
	}
	if v := m["volume"]; v != "" {
		return v
	}
	return m["file"]
}

func isCDROM(v string) bool {
	m := splitProps(v, "file")
	return m["media"] == "cdrom" || m["file"] == "cdrom" || isCloudInitFile(m["file"])
}

// isCloudInitFile tells a cloud-init drive's file: a new one
// (STORAGE:cloudinit) or an allocated vm-N-cloudinit volume.
func isCloudInitFile(file string) bool {
	return strings.HasSuffix(file, ":cloudinit") || strings.Contains(file, "-cloudinit")
}
