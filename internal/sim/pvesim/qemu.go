//go:build linux

package pvesim

import (
	"context"
	"fmt"
	"path"
	"sort"
	"strings"
	"time"
)

var qemuCreateOnly = map[string]bool{"node": true, "vmid": true, "archive": true, "start": true, "pool": true,
	"storage": true, "unique": true, "live-restore": true, "force": true, "bwlimit": true, "import-working-storage": true}

func (s *Server) qemuCreate(r *request) (any, error) {
	node, vmid := r.vars["node"], r.integer("vmid")
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkVMIDUnused(vmid); err != nil {
		return nil, err
	}
	if err := s.checkPoolExist(r); err != nil {
		return nil, err
	}
	pool := r.str("pool")
	set := map[string]string{}
	for k := range r.params {
		if !qemuCreateOnly[k] {
			set[k] = r.str(k)
		}
	}
	g := &Guest{Kind: "qemu", VMID: vmid, Node: node, Config: map[string]string{"lock": "create"}}
	s.st.Guests[vmid] = g
	start := r.boolean("start")
	spec := s.guestTaskSpec(r, "create", []string{guestLockPath("qemu", vmid)}, nil, func(ctx context.Context, g *Guest, t *Task) error {
		if err := s.applyChanges(r, g, set, nil); err != nil {
			s.st.freeGuestVolumes(g.Node, g.VMID)
			delete(s.st.Guests, g.VMID)
			return err
		}
		if g.Config["smbios1"] == "" {
			g.Config["smbios1"] = "uuid=" + randomUUID()
		}
		if g.Config["vmgenid"] == "" {
			g.Config["vmgenid"] = randomUUID()
		}
		g.Config["meta"] = fmt.Sprintf("creation-qemu=9.2.0,ctime=%d", time.Now().Unix())
		if g.Config["boot"] == "" {
			g.Config["boot"] = defaultBootOrder(g.Config)
		}
		if err := s.runtime.Create(ctx, g.ref(), importedImage(set)); err != nil {
			s.st.freeGuestVolumes(g.Node, g.VMID)
			delete(s.st.Guests, g.VMID)
			return err
		}
		delete(g.Config, "lock")
		s.st.addVMToPool(g.VMID, pool)
		if start {
			g.Running, g.StartTime = true, time.Now().Unix()
		}
		return nil
	})
	spec.OnFail = s.undoCreate("qemu", vmid)
	return s.tasks.start(spec).UPID, nil
}

// defaultBootOrder mirrors PVE's generated "order=" from disks and net0.
func defaultBootOrder(cfg map[string]string) string {
	var order []string
	for _, prefix := range []string{"scsi", "virtio", "sata", "ide"} {
		var keys []string
		for k := range cfg {
			if strings.HasPrefix(k, prefix) && qemuDiskKeyRE.MatchString(k) && !strings.Contains(cfg[k], "cloudinit") {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		order = append(order, keys...)
	}
	if _, ok := cfg["net0"]; ok {
		order = append(order, "net0")
	}
	return "order=" + strings.Join(order, ";")
}

// qemuConfigUpdate serves PUT (sync, null) and POST (async, qmconfig UPID).
func (s *Server) qemuConfigUpdate(r *request) (any, error) {
	set := configSet(r)
	del, revert := splitList(r.str("delete")), splitList(r.str("revert"))
	if err := checkDeleteRevert("qemu", set, del, revert); err != nil {
		return nil, err
	}
	apply := func(g *Guest) error {
		if !r.boolean("skiplock") {
			if err := g.checkLock(); err != nil {
				return err
			}
		}
		if d := r.str("digest"); d != "" && d != g.digest() {
			return die("checksum mismatch (file change by other user?)")
		}
		if g.Config["protection"] == "1" {
			for _, k := range del {
				if qemuDiskKeyRE.MatchString(k) || unusedKeyRE.MatchString(k) {
					return die("can't remove drive '%s' - protection mode enabled", k)
				}
			}
		}
		for _, k := range revert {
			delete(g.Pending, k)
		}
		var present []string
		for _, k := range del {
			if _, ok := g.Config[k]; ok {
				present = append(present, k)
			} else {
				delete(g.Pending, k)
			}
		}
		return s.applyChanges(r, g, set, present)
	}
	if r.method == "PUT" {
		return s.withGuestFlock(r, func(g *Guest) (any, error) { return nil, apply(g) })
	}
	return s.withGuest(r, func(g *Guest) (any, error) {
		return s.guestTask(r, "config", nil, func(ctx context.Context, g *Guest, t *Task) error {
			return apply(g)
		}), nil
	})
}

func (s *Server) qemuClone(r *request) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, src, err := s.cloneStart(r, "qemu")
	if err != nil {
		return nil, err
	}
	if a.storage != "" {
		st := s.st.storage(a.storage)
		if st == nil {
			return nil, die("storage '%s' does not exist", a.storage)
		}
		if !storageContent(st, "images") {
			return nil, paramErr(map[string]string{"storage": fmt.Sprintf("storage '%s' does not support vm images", a.storage)})
		}
	}
	full := cloneFull(r, src)
	if a.storage != "" && !full {
		return nil, die("parameter 'storage' not allowed for linked clones")
	}
	if r.has("format") && !full {
		return nil, die("parameter 'format' not allowed for linked clones")
	}
	if a.target != "" {
		return nil, die("can't clone VM to node '%s' (VM uses local storage)", a.target)
	}
	if s.st.Guests[a.newid] != nil {
		return nil, die("unable to create VM %d: config file already exists", a.newid)
	}
	if err := src.checkLock(); err != nil {
		return nil, err
	}
	srcConf, err := cloneSource(src, a.snapname)
	if err != nil {
		return nil, err
	}
	if err := s.qemuLinkedCloneCheck(srcConf, a, full); err != nil {
		return nil, err
	}
	s.st.Guests[a.newid] = &Guest{Kind: "qemu", VMID: a.newid, Node: a.node, Config: map[string]string{"lock": "clone"}}
	frozen := copyMap(srcConf)
	name, desc := r.str("name"), r.str("description")
	// The new VM is guarded by "lock: clone"; the source's flock is held for a
	// non-template only (templates are cloned under a shared lock).
	var locks []string
	if !src.isTemplate() {
		locks = []string{guestLockPath("qemu", a.vmid)}
	}
	spec := taskSpec{Node: a.node, Type: "qmclone", ID: fmt.Sprint(a.vmid), User: r.user, Locks: locks,
		OnFail: s.undoClone("qemu", a.vmid, a.newid)}
	spec.Work = func(ctx context.Context, t *Task) error {
		s.mu.Lock()
		defer s.mu.Unlock()
		src, dst := s.st.Guests[a.vmid], s.st.Guests[a.newid]
		if src == nil || dst == nil {
			delete(s.st.Guests, a.newid)
			return fmt.Errorf("Configuration file '%s' does not exist", confPath("qemu", a.node, a.vmid))
		}
		return s.cloneInto(ctx, src, dst, frozen, a, full, func(dst *Guest) {
			dst.Config["name"] = name
			if name == "" {
				dst.Config["name"] = fmt.Sprintf("Copy-of-VM-%s", src.Config["name"])
			}
			if d, ok := vmDescription(desc); ok {
				dst.Config["description"] = d
			}
			dst.Config["smbios1"] = "uuid=" + randomUUID()
			dst.Config["vmgenid"] = randomUUID()
		})
	}
	return s.tasks.start(spec).UPID, nil
}

// importedImage is the file name of the image the VM's boot disk is
// imported from ("" when no disk is imported): the guest runs its OS.
func importedImage(set map[string]string) string {
	for _, k := range sortedKeys(set) {
		if !qemuDiskKeyRE.MatchString(k) {
			continue
		}
		if src := splitProps(set[k], "file")["import-from"]; src != "" {
			_, name, _ := strings.Cut(src, ":")
			if name == "" {
				name = src
			}
			return path.Base(name)
		}
	}
	return ""
}

// qemuLinkedCloneCheck refuses a linked clone of a disk whose storage
// cannot link it (caller holds s.mu).
func (s *Server) qemuLinkedCloneCheck(srcConf map[string]string, a cloneArgs, full bool) error {
	for _, k := range sortedKeys(srcConf) {
		if !qemuDiskKeyRE.MatchString(k) {
			continue
		}
		m, _ := parseProp("qemu", k, srcConf[k])
		vol := m["file"]
		if m["media"] == "cdrom" || strings.Contains(vol, "cloudinit") || s.st.volume(a.node, vol) == nil || full {
			continue
		}
		if _, err := s.linkedCloneCheck(a.node, vol); err != nil {
			msg := "Linked clone feature is not supported for"
			if a.snapname != "" {
				msg += " a snapshot of"
			}
			return die("%s '%s' (%s)", msg, vol, k)
		}
	}
	return nil
}
