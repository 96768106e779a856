//go:build linux

package pvesim

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"
)

// newDiskRE is PVE's NEW_DISK_RE: "STORAGE:SIZE_IN_GiB" allocates a volume.
var newDiskRE = regexp.MustCompile(`^([a-zA-Z0-9][a-zA-Z0-9\-_.]*[a-zA-Z0-9]?):(\d+(?:\.\d+)?)$`)

var volOwnerRE = regexp.MustCompile(`(?:^|/)(?:vm|base|subvol|basevol)-(\d+)-(?:disk-\d+|cloudinit)`)

func splitVolID(volid string) (sid, name string, ok bool) {
	sid, name, ok = strings.Cut(volid, ":")
	return
}

func storageContent(s *Storage, c string) bool {
	for _, x := range s.Content {
		if x == c {
			return true
		}
	}
	return false
}

// diskName returns the storage-specific name of disk n of vmid.
func diskName(stype, kind string, vmid, n int, format string, base bool) (string, string) {
	prefix := "vm"
	switch {
	case stype == "zfspool" && kind == "lxc":
		prefix = "subvol"
		if base {
			prefix = "basevol"
		}
		format = "subvol"
	case base:
		prefix = "base"
	}
	name := fmt.Sprintf("%s-%d-disk-%d", prefix, vmid, n)
	if stype == "dir" {
		if format == "" {
			format = "raw"
			if kind == "qemu" {
				format = "qcow2"
			}
		}
		return fmt.Sprintf("%d/%s.%s", vmid, name, format), format
	}
	if format == "" {
		format = "raw"
	}
	return name, format
}

// allocVolume allocates a new image for vmid on storage sid (vdisk_alloc).
func (st *State) allocVolume(node, sid string, vmid int, kind string, size int64, format string) (*Volume, error) {
	stor := st.storage(sid)
	if stor == nil {
		return nil, die("storage '%s' does not exist", sid)
	}
	content := "images"
	if kind == "lxc" {
		content = "rootdir"
		if !storageContent(stor, "rootdir") {
			return nil, die("storage '%s' does not allow content type 'rootdir' (Container)", sid)
		}
	} else if !storageContent(stor, "images") {
		return nil, die("storage '%s' does not support vm images", sid)
	}
	for n := 0; ; n++ {
		used := false
		suffix := fmt.Sprintf("-%d-disk-%d", vmid, n)
		for _, v := range st.Volumes {
			if v.Node == node && strings.HasPrefix(v.VolID, sid+":") && strings.Contains(v.VolID, suffix) {
				used = true
				break
			}
		}
		if used {
			continue
		}
		name, f := diskName(stor.Type, kind, vmid, n, format, false)
		v := &Volume{VolID: sid + ":" + name, Node: node, Content: content, Format: f, Size: size, VMID: vmid, Ctime: time.Now().Unix()}
		st.addVolume(v)
		return v, nil
	}
}

// allocCloudInit creates the cloud-init drive volume of a VM.
func (st *State) allocCloudInit(node, sid string, vmid int) (*Volume, error) {
	stor := st.storage(sid)
	if stor == nil {
		return nil, die("storage '%s' does not exist", sid)
	}
	name, format := fmt.Sprintf("vm-%d-cloudinit", vmid), "raw"
	if stor.Type == "dir" {
		name, format = fmt.Sprintf("%d/vm-%d-cloudinit.qcow2", vmid, vmid), "qcow2"
	}
	v := &Volume{VolID: sid + ":" + name, Node: node, Content: "images", Format: format, Size: 4 * mib, VMID: vmid, Ctime: time.Now().Unix()}
	st.addVolume(v)
	return v, nil
}

// baseVolume renames a guest volume to its template (base) name.
func (st *State) baseVolume(node, volid string) (string, error) {
	v := st.volume(node, volid)
	if v == nil {
		return volid, nil
	}
	sid, name, _ := splitVolID(volid)
	if strings.Contains(name, "base-") || strings.Contains(name, "basevol-") {
		return volid, nil
	}
	last := name
	dir := ""
	if i := strings.LastIndex(name, "/"); i >= 0 {
		dir, last = name[:i+1], name[i+1:]
	}
	last = strings.Replace(strings.Replace(last, "subvol-", "basevol-", 1), "vm-", "base-", 1)
	nv := *v
	nv.VolID = sid + ":" + dir + last
	st.deleteVolume(node, volid)
	st.addVolume(&nv)
	return nv.VolID, nil
}

// linkedCloneVolume creates a linked clone of a base volume for newid.
func (st *State) linkedCloneVolume(node, volid string, newid int, kind string) (string, error) {
	v := st.volume(node, volid)
	sid, name, _ := splitVolID(volid)
	stor := st.storage(sid)
	if v == nil || stor == nil || !(strings.Contains(name, "base-") || strings.Contains(name, "basevol-")) ||
		(stor.Type == "dir" && v.Format != "qcow2") {
		return "", die("Linked clone feature for '%s' is not available", volid)
	}
	nv, err := st.allocVolume(node, sid, newid, kind, v.Size, v.Format)
	if err != nil {
		return "", err
	}
	_, newName, _ := splitVolID(nv.VolID)
	st.deleteVolume(node, nv.VolID)
	if stor.Type == "dir" {
		nv.VolID = fmt.Sprintf("%s:%s/%s", sid, name, newName)
	} else {
		nv.VolID = fmt.Sprintf("%s:%s/%s", sid, name, newName)
	}
	st.addVolume(nv)
	return nv.VolID, nil
}

// volumeOwner is the vmid encoded in a guest volume name (0 if none).
func volumeOwner(volid string) int {
	_, name, _ := splitVolID(volid)
	parts := strings.Split(name, "/")
	m := volOwnerRE.FindStringSubmatch(parts[len(parts)-1])
	if m == nil {
		return 0
	}
	var n int
	_, _ = fmt.Sscanf(m[1], "%d", &n)
	return n
}

// freeGuestVolumes deletes every volume owned by vmid on node.
func (st *State) freeGuestVolumes(node string, vmid int) {
	for k, v := range st.Volumes {
		if v.Node == node && volumeOwner(v.VolID) == vmid {
			delete(st.Volumes, k)
		}
	}
}

// ctVolumes are a container's storage volumes, rootfs first then mpN in
// index order (get_vm_volumes); bind and device mounts are not volumes.
func ctVolumes(cfg map[string]string) []string {
	var keys []string
	for k := range cfg {
		if ctMountKeyRE.MatchString(k) && k != "rootfs" {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool {
		return len(keys[i]) < len(keys[j]) || len(keys[i]) == len(keys[j]) && keys[i] < keys[j]
	})
	if _, ok := cfg["rootfs"]; ok {
		keys = append([]string{"rootfs"}, keys...)
	}
	var out []string
	for _, k := range keys {
		if vol := diskVolume("lxc", k, cfg[k]); ctMountType(vol) == "volume" {
			out = append(out, vol)
		}
	}
	return out
}

// activateVolume is PVE::Storage::activate_volumes for one volume on node:
// the storage's plugin must find it (caller holds s.mu).
func (s *Server) activateVolume(node, volid string) error {
	m := volumeIDRE.FindStringSubmatch(volid)
	if m == nil {
		return die("unable to parse volume ID '%s'", volid)
	}
	stor := s.st.storage(m[1])
	if stor == nil {
		return die("storage '%s' does not exist", m[1])
	}
	switch stor.Type {
	case "lvmthin": // LvmThinPlugin $activate_lv: the name is not parsed
		if s.st.volume(node, volid) == nil {
			return die("no such logical volume pve/%s", m[2])
		}
	case "zfspool":
		pv, err := parseVolname(stor, m[2])
		if err != nil {
			return err
		}
		if s.st.volume(node, volid) == nil {
			return die("zfs error: cannot open '%s/%s': dataset does not exist", stor.Pool, pv.name)
		}
	default: // Plugin activate_volume: filesystem_path, then the file must exist
		if _, err := parseVolname(stor, m[2]); err != nil {
			return err
		}
		if s.volumeAt(node, volid) == nil {
			return die("volume '%s' does not exist", volid)
		}
	}
	return nil
}
