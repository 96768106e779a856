//go:build linux

package pvesim

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// kindOf maps the URL segment to the guest kind.
func kindOf(r *request) string {
	if strings.HasPrefix(r.tmpl, "/nodes/{node}/lxc") {
		return "lxc"
	}
	return "qemu"
}

func taskType(kind, op string) string {
	if op == "resize" {
		// Both resize_vm handlers fork a plain 'resize' worker
		// (pve-container API2/LXC.pm, qemu-server API2/Qemu.pm).
		return "resize"
	}
	if kind == "lxc" {
		return "vz" + op
	}
	return "qm" + op
}

// lookup finds a guest the way PVE loads its config: by node, kind and id
// (caller holds s.mu).
func (s *Server) lookup(kind, node string, vmid int) (*Guest, error) {
	g := s.st.Guests[vmid]
	if g == nil || g.Kind != kind || g.Node != node {
		return nil, die("Configuration file '%s' does not exist", confPath(kind, node, vmid))
	}
	return g, nil
}

// withGuest runs fn on the request's guest under s.mu.
func (s *Server) withGuest(r *request, fn func(g *Guest) (any, error)) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, err := s.lookup(kindOf(r), r.vars["node"], r.vmid())
	if err != nil {
		return nil, err
	}
	return fn(g)
}

// withGuestFlock is withGuest holding the guest's flock, for synchronous
// writes (PVE's lock_config around a config update).
func (s *Server) withGuestFlock(r *request, fn func(g *Guest) (any, error)) (any, error) {
	release, err := s.locks.acquire(r.http.Context(), guestLockPath(kindOf(r), r.vmid()), s.opts.LockTimeout)
	if err != nil {
		return nil, err
	}
	defer release()
	out, err := s.withGuest(r, fn)
	if err == nil {
		go s.persist()
	}
	return out, err
}

// guestTask starts a worker task on the request's guest holding its flock.
// prepare (optional) runs under s.mu when the lock is held; work under s.mu
// after the task duration.
func (s *Server) guestTask(r *request, op string, prepare func(g *Guest) error, work func(ctx context.Context, g *Guest, t *Task) error) string {
	return s.guestTaskLocks(r, op, []string{guestLockPath(kindOf(r), r.vmid())}, prepare, work)
}

// guestTaskLocks is guestTask with an explicit list of flocks to hold.
func (s *Server) guestTaskLocks(r *request, op string, locks []string, prepare func(g *Guest) error, work func(ctx context.Context, g *Guest, t *Task) error) string {
	return s.tasks.start(s.guestTaskSpec(r, op, locks, prepare, work)).UPID
}

// guestTaskSpec is the task guestTaskLocks starts, for handlers that add an
// OnFail clean-up.
func (s *Server) guestTaskSpec(r *request, op string, locks []string, prepare func(g *Guest) error, work func(ctx context.Context, g *Guest, t *Task) error) taskSpec {
	kind, node, vmid := kindOf(r), r.vars["node"], r.vmid()
	spec := taskSpec{Node: node, Type: taskType(kind, op), ID: strconv.Itoa(vmid), User: r.user, Locks: locks}
	if prepare != nil {
		spec.Prepare = func(t *Task) error {
			s.mu.Lock()
			defer s.mu.Unlock()
			g, err := s.lookup(kind, node, vmid)
			if err != nil {
				return err
			}
			return prepare(g)
		}
	}
	spec.Work = func(ctx context.Context, t *Task) error {
		s.mu.Lock()
		defer s.mu.Unlock()
		g, err := s.lookup(kind, node, vmid)
		if err != nil {
			return err
		}
		return work(ctx, g, t)
	}
	return spec
}

// undoCreate is a create task's OnFail: the placeholder config the request
// reserved goes, with any volumes, and the error reads as PVE's
// ("unable to create CT 100 - ...").
func (s *Server) undoCreate(kind string, vmid int) func(error) error {
	return func(err error) error {
		s.mu.Lock()
		defer s.mu.Unlock()
		if g := s.st.Guests[vmid]; g != nil && g.Kind == kind && g.Config["lock"] == "create" {
			s.st.freeGuestVolumes(g.Node, vmid)
			delete(s.st.Guests, vmid)
		}
		var ae *apiError
		if errors.As(err, &ae) && ae.Status == 400 {
			return err // a parameter check PVE makes before its worker
		}
		return fmt.Errorf("unable to create %s %d - %s", map[string]string{"lxc": "CT", "qemu": "VM"}[kind], vmid, strings.TrimRight(err.Error(), "\n"))
	}
}

func cfgInt(cfg map[string]string, key string, def int64) int64 {
	if v, ok := cfg[key]; ok {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			return n
		}
	}
	return def
}

// rootDiskSize is the size of the guest's root disk (maxdisk).
func (s *Server) rootDiskSize(g *Guest) int64 {
	key := "rootfs"
	if g.Kind == "qemu" {
		key = ""
		for _, k := range []string{"scsi0", "virtio0", "sata0", "ide0"} {
			if _, ok := g.Config[k]; ok {
				key = k
				break
			}
		}
		if key == "" {
			return 0
		}
	}
	m, _ := parseProp(g.Kind, key, g.Config[key])
	n, _, _ := parseSize(m["size"])
	return n
}

// statusEntry is one guest in list and status/current responses.
func (s *Server) statusEntry(g *Guest) map[string]any {
	memDef, name := int64(512), g.Config["hostname"]
	cpus := cfgInt(g.Config, "cores", 0)
	if g.Kind == "qemu" {
		memDef, name = 2048, g.Config["name"]
		if name == "" {
			name = fmt.Sprintf("VM %d", g.VMID)
		}
		cpus = cfgInt(g.Config, "sockets", 1) * cfgInt(g.Config, "cores", 1)
	} else if cpus == 0 {
		cpus = 4 // the node's CPU count when cores is unset
	}
	maxmem := cfgInt(g.Config, "memory", memDef) * mib
	e := map[string]any{"vmid": g.VMID, "name": name, "status": "stopped", "cpus": cpus, "maxmem": maxmem,
		"maxdisk": s.rootDiskSize(g), "uptime": 0, "cpu": 0, "mem": 0, "disk": 0, "netin": 0, "netout": 0,
		"diskread": 0, "diskwrite": 0}
	if g.Running {
		e["status"] = "running"
		e["uptime"] = time.Now().Unix() - g.StartTime
		e["mem"] = maxmem / 4
	}
	if g.Kind == "lxc" {
		e["type"] = "lxc"
		e["maxswap"] = cfgInt(g.Config, "swap", 512) * mib
		e["swap"] = 0
	} else {
		if g.Running {
			e["pid"] = 10000 + g.VMID
		}
		e["serial"] = 0
	}
	if t := g.Config["tags"]; t != "" {
		e["tags"] = t
	}
	if l := g.Config["lock"]; l != "" {
		e["lock"] = l
	}
	if g.isTemplate() {
		e["template"] = 1
	}
	return e
}

func (s *Server) listGuests(r *request) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	kind, node := kindOf(r), r.vars["node"]
	out := []map[string]any{}
	ids := make([]int, 0)
	for id, g := range s.st.Guests {
		if g.Kind == kind && g.Node == node {
			ids = append(ids, id)
		}
	}
	sort.Ints(ids)
	for _, id := range ids {
		out = append(out, s.statusEntry(s.st.Guests[id]))
	}
	return out, nil
}

func (s *Server) guestIndex(r *request) (any, error) {
	return s.withGuest(r, func(g *Guest) (any, error) {
		names := []string{"config", "pending", "status", "snapshot", "firewall", "rrd", "rrddata", "clone", "template", "resize"}
		if g.Kind == "qemu" {
			names = append(names, "cloudinit", "agent")
		}
		return dirIndex("subdir", names...), nil
	})
}

func (s *Server) statusIndex(r *request) (any, error) {
	return s.withGuest(r, func(g *Guest) (any, error) {
		return dirIndex("subdir", "current", "start", "stop", "shutdown", "reboot", "suspend", "resume"), nil
	})
}

func (s *Server) statusCurrent(r *request) (any, error) {
	return s.withGuest(r, func(g *Guest) (any, error) {
		e := s.statusEntry(g)
		e["ha"] = map[string]any{"managed": 0}
		if g.Kind == "qemu" {
			e["qmpstatus"] = e["status"]
			if g.Config["agent"] != "" && strings.HasPrefix(g.Config["agent"], "1") || strings.Contains(g.Config["agent"], "enabled=1") {
				e["agent"] = 1
			}
		}
		return e, nil
	})
}

// start/stop/shutdown/reboot

func (s *Server) startGuest(r *request) (any, error) {
	return s.withGuest(r, func(g *Guest) (any, error) {
		if g.Kind == "lxc" && g.Running {
			return nil, die("CT %d already running", g.VMID)
		}
		if g.Kind == "lxc" && g.isTemplate() {
			return nil, die("you can't start a CT if it's a template")
		}
		return s.guestTask(r, "start", nil, func(ctx context.Context, g *Guest, t *Task) error {
			if err := g.checkLock(); err != nil {
				return err
			}
			if g.isTemplate() {
				return fmt.Errorf("you can't start a vm if it's a template")
			}
			if g.Running {
				return fmt.Errorf("VM %d already running", g.VMID)
			}
			s.applyPending(g)
			return s.bootGuest(ctx, g)
		}), nil
	})
}

func (s *Server) stopGuest(r *request) (any, error) {
	op := r.tmpl[strings.LastIndex(r.tmpl, "/")+1:]
	return s.withGuest(r, func(g *Guest) (any, error) {
		if !g.Running && (g.Kind == "lxc" || op != "stop") {
			if g.Kind == "lxc" && op == "reboot" {
				return nil, die("VM %d not running", g.VMID)
			}
			return nil, die("%s %d not running", g.typeName(), g.VMID)
		}
		return s.guestTask(r, op, nil, func(ctx context.Context, g *Guest, t *Task) error {
			if !r.boolean("skiplock") {
				if err := g.checkLock(); err != nil {
					return err
				}
			}
			if !g.Running {
				return nil
			}
			if err := s.runtime.Stop(ctx, g.ref()); err != nil {
				return err
			}
			g.Running = false
			s.applyPending(g)
			if op == "reboot" {
				return s.bootGuest(ctx, g)
			}
			return nil
		}), nil
	})
}

// destroy

func (s *Server) destroyGuest(r *request) (any, error) {
	return s.withGuest(r, func(g *Guest) (any, error) {
		if err := g.checkLock(); err != nil {
			return nil, err
		}
		if g.Config["protection"] == "1" {
			return nil, die("can't remove %s %d - protection mode enabled", g.typeName(), g.VMID)
		}
		if g.Running && !r.boolean("force") {
			return nil, die("%s %d is running - destroy failed", g.typeName(), g.VMID)
		}
		return s.guestTask(r, "destroy", nil, func(ctx context.Context, g *Guest, t *Task) error {
			if err := s.runtime.Destroy(ctx, g.ref()); err != nil {
				return err
			}
			s.st.freeGuestVolumes(g.Node, g.VMID)
			delete(s.st.Guests, g.VMID)
			s.st.removeVMFromPool(g.VMID) // remove_vm_access
			s.st.removeGuestFW(g.VMID)
			return nil
		}), nil
	})
}

// template

func (s *Server) templateGuest(r *request) (any, error) {
	convert := func(g *Guest) error {
		if len(g.Snapshots) > 0 {
			return die("unable to create template, because %s contains snapshots", g.typeName())
		}
		if g.isTemplate() {
			return die("you can't convert a template to a template")
		}
		if g.Running {
			return die("you can't convert a %s to template if %s is running", g.typeName(), map[string]string{"lxc": "the CT", "qemu": "VM"}[g.Kind])
		}
		for _, k := range sortedKeys(g.Config) {
			if !(ctMountKeyRE.MatchString(k) && g.Kind == "lxc") && !(qemuDiskKeyRE.MatchString(k) && g.Kind == "qemu") {
				continue
			}
			m, _ := parseProp(g.Kind, k, g.Config[k])
			field := "volume"
			if g.Kind == "qemu" {
				field = "file"
			}
			if strings.Contains(m[field], "cloudinit") || m["media"] == "cdrom" {
				continue
			}
			nv, _ := s.st.baseVolume(g.Node, m[field])
			m[field] = nv
			g.Config[k] = printProp(g.Kind, k, m)
		}
		g.Config["template"] = "1"
		return nil
	}
	if kindOf(r) == "lxc" {
		return s.withGuestFlock(r, func(g *Guest) (any, error) {
			if err := g.checkLock(); err != nil {
				return nil, err
			}
			return nil, convert(g)
		})
	}
	return s.withGuest(r, func(g *Guest) (any, error) {
		if err := g.checkLock(); err != nil {
			return nil, err
		}
		return s.guestTask(r, "template", nil, func(ctx context.Context, g *Guest, t *Task) error {
			if err := g.checkLock(); err != nil {
				return err
			}
			return convert(g)
		}), nil
	})
}

// resize

func (s *Server) resizeGuest(r *request) (any, error) {
	disk, sizeStr := r.str("disk"), r.str("size")
	return s.withGuest(r, func(g *Guest) (any, error) {
		if err := g.checkLock(); err != nil {
			return nil, err
		}
		return s.guestTask(r, "resize", nil, func(ctx context.Context, g *Guest, t *Task) error {
			val, ok := g.Config[disk]
			if !ok {
				if g.Kind == "lxc" {
					return fmt.Errorf("unable to parse config for '%s'", disk)
				}
				return fmt.Errorf("disk '%s' does not exist", disk)
			}
			m, err := parseProp(g.Kind, disk, val)
			if err != nil {
				return err
			}
			cur, _, _ := parseSize(m["size"])
			req, plus, ok := parseSize(sizeStr)
			if !ok {
				return fmt.Errorf("invalid size string")
			}
			newSize := req
			if plus {
				newSize = cur + req
			}
			if newSize < cur {
				if g.Kind == "lxc" {
					return fmt.Errorf("unable to shrink disk size")
				}
				return fmt.Errorf("shrinking disks is not supported")
			}
			if newSize == cur {
				if g.Kind == "lxc" {
					return fmt.Errorf("disk is already at specified size")
				}
				return nil
			}
			field := "volume"
			if g.Kind == "qemu" {
				field = "file"
			}
			if v := s.st.volume(g.Node, m[field]); v != nil {
				v.Size = newSize
			}
			m["size"] = formatSize(newSize)
			g.Config[disk] = printProp(g.Kind, disk, m)
			return nil
		}), nil
	})
}

// pending

func (s *Server) pendingGuest(r *request) (any, error) {
	return s.withGuest(r, func(g *Guest) (any, error) {
		out := []map[string]any{}
		keys := map[string]bool{}
		for k := range g.Config {
			keys[k] = true
		}
		for k := range g.Pending {
			keys[k] = true
		}
		for _, k := range sortedKeys(keys) {
			if k == "lock" && g.Config[k] == "" {
				continue
			}
			e := map[string]any{"key": k}
			if v, ok := g.Config[k]; ok {
				e["value"] = s.displayValue(g, k, v)
			}
			if v, ok := g.Pending[k]; ok {
				e["pending"] = s.displayValue(g, k, v)
			}
			if containsStr(g.PendingDelete, k) {
				e["delete"] = 1
			}
			out = append(out, e)
		}
		for _, k := range g.PendingDelete {
			if !keys[k] {
				out = append(out, map[string]any{"key": k, "delete": 1})
			}
		}
		// The parsed config carries its digest as a plain key, and
		// config_with_pending_array lists every plain key.
		out = append(out, map[string]any{"key": "digest", "value": g.digest()})
		return out, nil
	})
}

// displayValue is a config value as the API shows it (masked password).
func (s *Server) displayValue(g *Guest, k, v string) any {
	if k == "cipassword" {
		return "**********"
	}
	return typedValue(g.Kind, k, v)
}
