//go:build linux

package pvesim

import (
	"context"
	"fmt"
	"strings"
)

// The steps container and VM clones share (pve-container's API2/LXC.pm
// clone_vm and qemu-server's API2/Qemu.pm clone_vm follow the same plan:
// check the target, pick the source config, reserve the new ID under a
// config lock, copy config and disks in a worker).

// cloneArgs are the parameters both clone endpoints take.
type cloneArgs struct {
	node              string
	vmid, newid       int
	snapname, storage string
	target            string // "" for this node
	pool              string
}

func parseCloneArgs(r *request) cloneArgs {
	a := cloneArgs{node: r.vars["node"], vmid: r.vmid(), newid: r.integer("newid"),
		snapname: r.str("snapname"), storage: r.str("storage"), target: r.str("target"), pool: r.str("pool")}
	if a.target == a.node || a.target == "localhost" {
		a.target = ""
	}
	return a
}

// cloneStart is both clones' first checks (caller holds s.mu): the pool,
// the source guest, then check_node_exists for the target.
func (s *Server) cloneStart(r *request, kind string) (cloneArgs, *Guest, error) {
	a := parseCloneArgs(r)
	if err := s.checkPoolExist(r); err != nil {
		return a, nil, err
	}
	src, err := s.lookup(kind, a.node, a.vmid)
	if err != nil {
		return a, nil, err
	}
	if a.target != "" && !s.st.hasNode(a.target) {
		return a, nil, die("no such cluster node '%s'", a.target)
	}
	return a, src, nil
}

// cloneFull is the full parameter's default: a full copy unless the source
// is a template.
func cloneFull(r *request, src *Guest) bool {
	if r.has("full") {
		return r.boolean("full")
	}
	return !src.isTemplate()
}

// cloneSource is the config the clone copies: the current one or a
// snapshot's.
func cloneSource(src *Guest, snapname string) (map[string]string, error) {
	if snapname == "" {
		return src.Config, nil
	}
	sn, ok := src.Snapshots[snapname]
	if !ok {
		return nil, die("snapshot '%s' does not exist", snapname)
	}
	return sn.Config, nil
}

// cloneInto is the worker's shared part (caller holds s.mu): frozen, the
// source config taken when the clone started, is copied into dst with new
// volumes and MACs, customize sets what the kind's clone sets itself, then
// the root is copied, dst's config lock removed, the firewall file copied
// and dst added to the pool. On failure dst and the
// volumes allocated for it are gone.
func (s *Server) cloneInto(ctx context.Context, src, dst *Guest, frozen map[string]string, a cloneArgs, full bool, customize func(dst *Guest)) error {
	fail := func(err error) error {
		s.st.freeGuestVolumes(dst.Node, dst.VMID)
		delete(s.st.Guests, dst.VMID)
		return err
	}
	if err := s.cloneConfig(src, frozen, dst, full, a.storage); err != nil {
		return fail(err)
	}
	customize(dst)
	if err := s.runtime.Clone(ctx, src.ref(), a.snapname, dst.ref(), full); err != nil {
		return fail(err)
	}
	delete(dst.Config, "lock")
	s.st.cloneGuestFW(src.VMID, dst.VMID)
	s.st.addVMToPool(dst.VMID, a.pool)
	return nil
}

// cloneConfig copies a (frozen) source config into dst: volumes are copied
// (full) or linked, MACs regenerated, snapshot keys dropped.
func (s *Server) cloneConfig(src *Guest, conf map[string]string, dst *Guest, full bool, storage string) error {
	for _, k := range sortedKeys(conf) {
		v := conf[k]
		switch {
		case k == "lock" || k == "parent" || k == "snaptime" || k == "vmstate" || k == "snapstate" || k == "template" || unusedKeyRE.MatchString(k):
			continue
		case (src.Kind == "lxc" && ctMountKeyRE.MatchString(k)) || (src.Kind == "qemu" && qemuDiskKeyRE.MatchString(k)):
			val, err := s.cloneDisk(src, dst, k, v, full, storage)
			if err != nil {
				return err
			}
			dst.Config[k] = val
		case netKeyRE.MatchString(k):
			dst.Config[k] = cloneNet(src.Kind, k, v)
		default:
			dst.Config[k] = v
		}
	}
	return nil
}

// cloneDisk copies (full), links or re-creates (cloud-init) one disk of the
// source for dst and returns the new config value.
func (s *Server) cloneDisk(src, dst *Guest, k, v string, full bool, storage string) (string, error) {
	m, _ := parseProp(src.Kind, k, v)
	field := "volume"
	if src.Kind == "qemu" {
		field = "file"
	}
	vol := m[field]
	sv := s.st.volume(src.Node, vol)
	targetSID := func() string {
		sid, _, _ := splitVolID(vol)
		if storage != "" {
			sid = storage
		}
		return sid
	}
	switch {
	case sv == nil || m["media"] == "cdrom" && !strings.Contains(vol, "cloudinit"):
		// not a guest image (ISO, none): keep the reference
	case strings.Contains(vol, "cloudinit"):
		nv, err := s.st.allocCloudInit(dst.Node, targetSID(), dst.VMID)
		if err != nil {
			return "", err
		}
		m[field] = nv.VolID
	case full:
		nv, err := s.st.allocVolume(dst.Node, targetSID(), dst.VMID, src.Kind, sv.Size, "")
		if err != nil {
			return "", err
		}
		m[field] = nv.VolID
	default:
		nv, err := s.st.linkedCloneVolume(src.Node, vol, dst.VMID, src.Kind)
		if err != nil {
			return "", err
		}
		m[field] = nv
	}
	return printProp(src.Kind, k, m), nil
}

// cloneNet gives a copied NIC a new MAC.
func cloneNet(kind, k, v string) string {
	m, _ := parseProp(kind, k, v)
	if kind == "lxc" {
		m["hwaddr"] = randomMAC()
		return printProp("lxc", k, m)
	}
	delete(m, "macaddr")
	model := m["model"]
	delete(m, "model")
	out := model + "=" + randomMAC()
	if rest := printProp("qemu", k, m); rest != "" {
		out += "," + rest
	}
	return out
}

// undoClone is a clone task's OnFail (clone_vm's error path): the source's
// 'disk' lock is removed in any case, the new guest's config and volumes
// go, and the error reads "clone failed: ...".
func (s *Server) undoClone(kind string, vmid, newid int) func(error) error {
	return func(err error) error {
		s.mu.Lock()
		defer s.mu.Unlock()
		if src := s.st.Guests[vmid]; src != nil && kind == "lxc" && src.Config["lock"] == "disk" {
			delete(src.Config, "lock")
		}
		if dst := s.st.Guests[newid]; dst != nil && dst.Kind == kind && (dst.Config["lock"] == "create" || dst.Config["lock"] == "clone") {
			s.st.freeGuestVolumes(dst.Node, newid)
			delete(s.st.Guests, newid)
		}
		return fmt.Errorf("clone failed: %s", strings.TrimRight(err.Error(), "\n"))
	}
}
