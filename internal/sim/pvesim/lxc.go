//go:build linux

package pvesim

import (
	"context"
	"fmt"
	"path"
	"strconv"
	"strings"
)

// createOnlyParams are create/clone parameters that are not config keys.
var lxcCreateOnly = map[string]bool{"node": true, "vmid": true, "ostemplate": true, "storage": true, "password": true,
	"ssh-public-keys": true, "pool": true, "restore": true, "force": true, "unique": true, "start": true,
	"ignore-unpack-errors": true, "bwlimit": true, "ha-managed": true}

// checkVMIDUnused is PVE::Cluster::check_vmid_unused (caller holds s.mu).
func (s *Server) checkVMIDUnused(vmid int) error {
	if g := s.st.Guests[vmid]; g != nil {
		return die("%s %d already exists on node '%s'", g.typeName(), vmid, g.Node)
	}
	return nil
}

func (s *Server) lxcCreate(r *request) (any, error) {
	node := r.vars["node"]
	vmid := r.integer("vmid")
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkVMIDUnused(vmid); err != nil {
		return nil, err
	}
	if err := s.checkPoolExist(r); err != nil {
		return nil, err
	}
	pool := r.str("pool")
	storage := r.str("storage")
	if storage == "" {
		storage = "local"
	}
	set := map[string]string{}
	for k := range r.params {
		if !lxcCreateOnly[k] {
			set[k] = r.str(k)
		}
	}
	unpriv := "1"
	if r.has("unprivileged") && !r.boolean("unprivileged") {
		unpriv = "0"
	}
	delete(set, "unprivileged")
	if err := checkCTPerm(r, map[string]string{"unprivileged": unpriv}, set, nil); err != nil {
		return nil, err
	}
	ostemplate := r.str("ostemplate")
	if strings.HasPrefix(ostemplate, "/") {
		// check_volume_access: a path, not a volume, is root@pam's only.
		if !r.isRoot() {
			return nil, die("Only root can pass arbitrary filesystem paths.")
		}
	} else {
		sid, _, _ := splitVolID(ostemplate)
		if s.st.storage(sid) == nil {
			return nil, die("storage '%s' does not exist", sid)
		}
		if s.volumeAt(node, ostemplate) == nil {
			return nil, die("volume '%s' does not exist", ostemplate)
		}
	}
	hasMP := false
	for k, v := range set {
		if ctMountKeyRE.MatchString(k) {
			hasMP = true
			// a plain number means a new volume on the default storage
			if _, err := strconv.ParseFloat(v, 64); err == nil {
				set[k] = storage + ":" + v
			}
		}
	}
	if hasMP && set["rootfs"] == "" {
		return nil, die("mount points configured, but 'rootfs' not set - aborting")
	}
	if set["rootfs"] == "" {
		set["rootfs"] = storage + ":4"
	}
	if s.st.storage(storage) == nil {
		return nil, die("storage '%s' does not exist", storage)
	}
	g := &Guest{Kind: "lxc", VMID: vmid, Node: node, Config: map[string]string{"lock": "create"}}
	s.st.Guests[vmid] = g
	work := ctCreate{set: set, ostemplate: ostemplate, unpriv: unpriv == "1", pool: pool, start: r.boolean("start")}
	spec := s.guestTaskSpec(r, "create", []string{guestLockPath("lxc", vmid)}, nil, func(ctx context.Context, g *Guest, t *Task) error {
		return s.lxcCreateWork(ctx, r, g, t, work)
	})
	spec.OnFail = s.undoCreate("lxc", vmid)
	return s.tasks.start(spec).UPID, nil
}

// ctCreate is what the create worker needs of the request.
type ctCreate struct {
	set        map[string]string
	ostemplate string
	unpriv     bool
	pool       string
	start      bool
}

// lxcCreateWork is the vzcreate worker (caller holds s.mu): config, volumes,
// the root from the template; a failure leaves nothing behind.
func (s *Server) lxcCreateWork(ctx context.Context, r *request, g *Guest, t *Task, c ctCreate) error {
	fail := func(err error) error {
		s.st.freeGuestVolumes(g.Node, g.VMID)
		delete(s.st.Guests, g.VMID)
		s.st.removeGuestFW(g.VMID)
		return err
	}
	if err := s.applyChanges(r, g, c.set, nil); err != nil {
		return fail(err)
	}
	// mount_all activates every volume before the archive is unpacked:
	// "local-lvm:8G" was no allocation (only a bare GiB number is) and
	// names a volume that does not exist.
	for _, vol := range ctVolumes(g.Config) {
		if err := s.activateVolume(g.Node, vol); err != nil {
			return fail(fmt.Errorf("%s", asAPIError(err).Msg)) // OnFail adds "unable to create CT N - "
		}
	}
	for k, def := range map[string]string{"arch": "amd64", "ostype": guessOSType(c.ostemplate), "memory": "512", "swap": "512"} {
		if g.Config[k] == "" {
			g.Config[k] = def
		}
	}
	if c.unpriv {
		g.Config["unprivileged"] = "1"
	}
	if strings.HasPrefix(c.ostemplate, "/") && !s.nodeFileExists(g.Node, c.ostemplate) {
		return fail(fmt.Errorf("can't find file '%s'", c.ostemplate)) // abs_filesystem_path
	}
	t.Logf("extracting archive '%s'", c.ostemplate)
	if err := s.runtime.Create(ctx, g.ref(), c.ostemplate); err != nil {
		return fail(err)
	}
	delete(g.Config, "lock")
	s.st.addVMToPool(g.VMID, c.pool)
	if c.start {
		g.Running = true
	}
	return nil
}

// guessOSType stands in for PVE's detection from the unpacked template.
func guessOSType(tmpl string) string {
	_, name, _ := splitVolID(tmpl)
	name = path.Base(strings.TrimPrefix(name, "vztmpl/"))
	if strings.HasPrefix(tmpl, "/") {
		name = path.Base(tmpl)
	}
	for _, os := range []string{"ubuntu", "debian", "alpine", "centos", "fedora", "archlinux", "opensuse", "gentoo", "nixos", "devuan"} {
		if strings.HasPrefix(name, os) {
			return os
		}
	}
	return "unmanaged"
}

func (s *Server) guestConfigGet(r *request) (any, error) {
	return s.withGuest(r, func(g *Guest) (any, error) {
		cfg := copyMap(g.Config)
		if !parseBool(r.str("current")) {
			for k, v := range g.Pending {
				cfg[k] = v
			}
			for _, k := range g.PendingDelete {
				delete(cfg, k)
			}
		}
		if snap := r.str("snapshot"); snap != "" {
			sn, err := s.snapshot(g, snap)
			if err != nil {
				return nil, err
			}
			cfg = copyMap(sn.Config)
		}
		out := map[string]any{}
		for k, v := range cfg {
			out[k] = s.displayValue(g, k, v)
		}
		out["digest"] = g.digest()
		if g.Kind == "lxc" && len(g.LXC) > 0 {
			out["lxc"] = g.LXC
		}
		return out, nil
	})
}

// configSet extracts config keys from a PUT/POST config request.
func configSet(r *request) map[string]string {
	set := map[string]string{}
	for k := range r.params {
		switch k {
		case "delete", "digest", "revert", "skiplock", "force", "background_delay", "node", "vmid":
			continue
		}
		set[k] = r.str(k)
	}
	return set
}

// checkDeleteRevert is the shared delete/revert validation of both kinds.
func checkDeleteRevert(kind string, set map[string]string, del, revert []string) error {
	for _, k := range revert {
		if !optionExists(kind, k) {
			return paramErr(map[string]string{"revert": fmt.Sprintf("unknown option '%s'", k)})
		}
		if _, ok := set[k]; ok {
			return paramErr(map[string]string{"revert": fmt.Sprintf("you can't use '-%s' and '-revert %s' at the same time", k, k)})
		}
	}
	for _, k := range del {
		if !optionExists(kind, k) {
			return paramErr(map[string]string{"delete": fmt.Sprintf("unknown option '%s'", k)})
		}
		if _, ok := set[k]; ok {
			return paramErr(map[string]string{"delete": fmt.Sprintf("you can't use '-%s' and -delete %s' at the same time", k, k)})
		}
		if containsStr(revert, k) {
			return paramErr(map[string]string{"delete": fmt.Sprintf("you can't use '-delete %s' and '-revert %s' at the same time", k, k)})
		}
	}
	return nil
}

func (s *Server) lxcConfigPut(r *request) (any, error) {
	set := configSet(r)
	del, revert := splitList(r.str("delete")), splitList(r.str("revert"))
	if len(set) == 0 && len(del) == 0 && len(revert) == 0 && !r.has("digest") {
		return nil, die("no options specified")
	}
	return s.withGuestFlock(r, func(g *Guest) (any, error) {
		if err := g.checkLock(); err != nil {
			return nil, err
		}
		if err := assertUnmodified(r, g.digest()); err != nil {
			return nil, err
		}
		if err := checkCTPerm(r, g.Config, nil, del); err != nil {
			return nil, err
		}
		if err := checkDeleteRevert("lxc", set, del, revert); err != nil {
			return nil, err
		}
		if err := checkCTPerm(r, g.Config, set, nil); err != nil {
			return nil, err
		}
		for _, k := range del {
			switch k {
			case "memory", "rootfs", "ostype":
				return nil, die("unable to delete required option '%s'", k)
			case "unprivileged":
				return nil, die("unable to delete read-only option: '%s'", k)
			}
		}
		if _, ok := set["unprivileged"]; ok {
			return nil, die("unable to modify read-only option: '%s'", "unprivileged")
		}
		for _, k := range revert {
			delete(g.Pending, k)
		}
		var present []string
		for _, k := range del {
			if _, ok := g.Config[k]; ok {
				present = append(present, k)
			}
		}
		return nil, s.applyChanges(r, g, set, present)
	})
}

func (s *Server) lxcClone(r *request) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, src, err := s.cloneStart(r, "lxc")
	if err != nil {
		return nil, err
	}
	if a.storage != "" && s.st.storage(a.storage) == nil {
		return nil, die("storage '%s' does not exist", a.storage)
	}
	if err := src.checkLock(); err != nil {
		return nil, err
	}
	if err := s.checkVMIDUnused(a.newid); err != nil {
		return nil, err
	}
	full := cloneFull(r, src)
	if a.storage != "" && !full {
		return nil, die("parameter 'storage' not allowed for linked clones")
	}
	srcConf, err := cloneSource(src, a.snapname)
	if err != nil {
		return nil, err
	}
	for _, k := range sortedKeys(srcConf) {
		if !ctMountKeyRE.MatchString(k) {
			continue
		}
		m, _ := parseProp("lxc", k, srcConf[k])
		if t := ctMountType(m["volume"]); t != "volume" {
			return nil, die("unable to clone mountpoint '%s' (type %s)", k, t)
		}
		if full && src.Running && a.snapname == "" {
			return nil, die("Full clone of a running container is only possible from a snapshot")
		}
		if !full {
			if _, err := s.linkedCloneCheck(a.node, m["volume"]); err != nil {
				return nil, err
			}
		}
	}
	if a.target != "" {
		return nil, die("can't clone CT to node '%s' (CT uses local storage)", a.target)
	}
	src.Config["lock"] = "disk"
	s.st.Guests[a.newid] = &Guest{Kind: "lxc", VMID: a.newid, Node: a.node, Config: map[string]string{"lock": "create"}}
	frozen := copyMap(srcConf)
	lxcRaw := append([][2]string(nil), src.LXC...)
	hostname, desc := r.str("hostname"), r.str("description")
	// Source and target are protected by their 'disk'/'create' config locks,
	// not by flocks held for the whole clone.
	spec := s.guestTaskSpec(r, "clone", nil, nil, func(ctx context.Context, src *Guest, t *Task) error {
		delete(src.Config, "lock")
		return s.cloneInto(ctx, src, s.st.Guests[a.newid], frozen, a, full, func(dst *Guest) {
			dst.LXC = lxcRaw
			if hostname != "" {
				dst.Config["hostname"] = hostname
			}
			if desc != "" {
				dst.Config["description"] = desc
			}
		})
	})
	spec.OnFail = s.undoClone("lxc", a.vmid, a.newid)
	return s.tasks.start(spec).UPID, nil
}

func (s *Server) linkedCloneCheck(node, volid string) (bool, error) {
	_, name, _ := splitVolID(volid)
	sid, _, _ := splitVolID(volid)
	stor := s.st.storage(sid)
	v := s.st.volume(node, volid)
	if stor == nil || v == nil || !(strings.Contains(name, "base-") || strings.Contains(name, "basevol-")) ||
		(stor.Type == "dir" && v.Format != "qcow2") {
		return false, die("Linked clone feature for '%s' is not available", volid)
	}
	return true, nil
}
