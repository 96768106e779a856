//go:build linux

package pvesim

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Migration (POST /nodes/{node}/{lxc,qemu}/{vmid}/migrate), as
// pve-container's API2/LXC.pm migrate_vm with PVE::LXC::Migrate and
// qemu-server's API2/Qemu.pm migrate_vm with PVE::QemuMigrate do it: the
// request checks what it can at once, a vzmigrate/qmigrate worker takes
// the guest's migration lock (10 s) and config lock, checks the guest's
// mounts, devices and volumes, sets the 'migrate' config lock, moves the
// config and the local volumes to the target node and, for a container in
// restart mode, stops it here and starts it there. A failure in the worker
// ends as PVE's does: the reason in the task log, "migration aborted" as the
// exit status, the lock removed and the guest where it was.

// errMigrationAborted is AbstractMigrate::migrate's final die.
var errMigrationAborted = errors.New("migration aborted")

// localDeviceRE are the config keys check_local_resources counts as local
// devices (hostpci, usb not spice, serial/parallel on a host device).
var localDeviceRE = regexp.MustCompile(`^(hostpci\d+|usb\d+|serial\d+|parallel\d+)$`)

type migrateArgs struct {
	kind, node, target string
	vmid               int
	online, restart    bool
	force, localDisks  bool
}

func (s *Server) migrateGuest(r *request) (any, error) {
	a := migrateArgs{kind: kindOf(r), node: r.vars["node"], target: r.str("target"), vmid: r.vmid(),
		online: r.boolean("online"), restart: r.boolean("restart"), force: r.boolean("force"), localDisks: r.boolean("with-local-disks")}
	if a.target == a.node {
		return nil, paramErr(map[string]string{"target": "target is local node."})
	}
	if a.kind == "qemu" {
		for _, p := range []string{"force", "migration_type", "migration_network"} {
			if r.has(p) && r.user != "root@pam" {
				return nil, paramErr(map[string]string{p: "Only root may use this option."})
			}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.st.hasNode(a.target) {
		return nil, die("no such cluster node '%s'", a.target) // PVE::Cluster::check_node_exists
	}
	g, err := s.lookup(a.kind, a.node, a.vmid)
	if err != nil {
		return nil, err
	}
	if a.kind == "qemu" {
		if err := g.checkLock(); err != nil {
			return nil, err
		}
		if g.Running && !a.online {
			return nil, die("can't migrate running VM without --online")
		}
		if !g.Running {
			a.online = false // "VM isn't running. Doing offline migration instead."
		}
	} else if g.Running && !a.online && !a.restart {
		return nil, die("can't migrate running container without --online or --restart")
	}
	typ := "vzmigrate"
	if a.kind == "qemu" {
		typ = "qmigrate"
	}
	started := time.Now()
	spec := taskSpec{Node: a.node, Type: typ, ID: strconv.Itoa(a.vmid), User: r.user,
		// guest_migration_lock, then lock_vm (the config flock) for the whole run.
		Locks: []string{"/var/lock/pve-manager/pve-migrate-" + strconv.Itoa(a.vmid), guestLockPath(a.kind, a.vmid)}}
	spec.Prepare = func(t *Task) error {
		s.mu.Lock()
		defer s.mu.Unlock()
		g, err := s.lookup(a.kind, a.node, a.vmid)
		if err == nil {
			err = s.migrateCheck(g, a, t)
		}
		if err != nil {
			return aborted(t, started, err)
		}
		g.Config["lock"] = "migrate"
		t.Logf("starting migration of %s %d to node '%s'", g.typeName(), a.vmid, a.target)
		return nil
	}
	spec.Work = func(ctx context.Context, t *Task) error {
		s.mu.Lock()
		defer s.mu.Unlock()
		g, err := s.lookup(a.kind, a.node, a.vmid)
		if err != nil {
			return aborted(t, started, err)
		}
		if err := s.moveGuest(ctx, g, a, t); err != nil {
			return aborted(t, started, err)
		}
		t.Logf("migration finished successfully (duration %s)", taskDurationText(time.Since(started)))
		return nil
	}
	spec.OnFail = func(err error) error {
		s.mu.Lock()
		defer s.mu.Unlock()
		if g := s.st.Guests[a.vmid]; g != nil && g.Config["lock"] == "migrate" {
			delete(g.Config, "lock")
		}
		return err
	}
	return s.tasks.start(spec).UPID, nil
}

// aborted logs err as AbstractMigrate::migrate does and returns its exit
// status.
func aborted(t *Task, started time.Time, err error) error {
	t.Logf("ERROR: migration aborted (duration %s): %s", taskDurationText(time.Since(started)), strings.TrimRight(err.Error(), "\n"))
	return errMigrationAborted
}

func taskDurationText(d time.Duration) string {
	sec := int(d.Seconds())
	return fmt.Sprintf("%02d:%02d:%02d", sec/3600, sec/60%60, sec%60)
}

// migrateCheck is the worker's prepare and volume scan (caller holds s.mu).
func (s *Server) migrateCheck(g *Guest, a migrateArgs, t *Task) error {
	if err := g.checkLock(); err != nil {
		return err
	}
	if g.Kind == "lxc" {
		if g.Running && a.online {
			return fmt.Errorf("lxc live migration is currently not implemented")
		}
		if g.Running && !a.restart {
			return fmt.Errorf("running container can only be migrated in restart mode")
		}
		for _, k := range sortedKeys(g.Config) {
			if !ctMountKeyRE.MatchString(k) {
				continue
			}
			m, _ := parseProp("lxc", k, g.Config[k])
			if typ := ctMountType(m["volume"]); typ != "volume" && m["shared"] != "1" {
				return fmt.Errorf("cannot migrate local %s mount point '%s'", typ, k)
			}
		}
	} else {
		if g.Running && !a.online {
			return fmt.Errorf("can't migrate running VM without --online")
		}
		var devs []string
		for _, k := range sortedKeys(g.Config) {
			if localDeviceRE.MatchString(k) && !strings.HasPrefix(g.Config[k], "spice") && !strings.HasPrefix(g.Config[k], "socket") {
				devs = append(devs, k)
			}
		}
		if len(devs) > 0 && (g.Running || !a.force) {
			return fmt.Errorf("can't migrate VM which uses local devices: %s", strings.Join(devs, ", "))
		}
	}
	return s.migrateVolumesCheck(g, a, t)
}

// migrateVolumesCheck logs why each local volume cannot move and fails with
// "check log" when one cannot, as both migrations' scans do.
func (s *Server) migrateVolumesCheck(g *Guest, a migrateArgs, t *Task) error {
	problems := map[string]string{}
	snapshotted := map[string]bool{}
	for _, sn := range g.Snapshots {
		for _, vol := range s.guestVolumeIDs(g.Kind, sn.Config) {
			snapshotted[vol] = true
		}
	}
	for _, vol := range s.guestVolumeIDs(g.Kind, g.Config) {
		sid, name, _ := splitVolID(vol)
		st := s.st.storage(sid)
		if st == nil || st.Shared {
			continue
		}
		switch {
		case g.Kind == "qemu" && g.Running && !a.localDisks && !strings.Contains(vol, "cloudinit"):
			problems[vol] = "can't live migrate attached local disks without with-local-disks option"
		case snapshotted[vol] && g.Kind == "qemu" && g.Running:
			problems[vol] = "online storage migration not possible if non-replicated snapshot exists"
		case snapshotted[vol] && st.Type != "zfspool" && st.Type != "btrfs" && !(g.Kind == "qemu" && strings.HasSuffix(name, ".qcow2")):
			problems[vol] = "non-migratable snapshot exists"
		}
	}
	if len(problems) == 0 {
		return nil
	}
	vols := sortedKeys(problems)
	what := map[string]string{"lxc": "volume", "qemu": "disk"}[g.Kind]
	for _, v := range vols {
		t.Logf("WARN: can't migrate local %s '%s': %s", what, v, problems[v])
	}
	return fmt.Errorf("can't migrate %s - check log", g.typeName())
}

// guestVolumeIDs are the storage volumes a config's disks use.
func (s *Server) guestVolumeIDs(kind string, cfg map[string]string) []string {
	var out []string
	for _, k := range sortedKeys(cfg) {
		if (kind == "lxc" && ctMountKeyRE.MatchString(k)) || (kind == "qemu" && qemuDiskKeyRE.MatchString(k)) || unusedKeyRE.MatchString(k) {
			if v := diskVolume(kind, k, cfg[k]); v != "" && ctMountType(v) == "volume" && strings.Contains(v, ":") {
				out = append(out, v)
			}
		}
	}
	return out
}

// moveGuest moves g's config and volumes to the target node (caller holds
// s.mu); a container in restart mode stops here and starts there.
func (s *Server) moveGuest(ctx context.Context, g *Guest, a migrateArgs, t *Task) error {
	restart := g.Kind == "lxc" && g.Running
	if restart {
		t.Logf("shutdown CT %d", g.VMID)
		if err := s.runtime.Stop(ctx, g.ref()); err != nil {
			return err
		}
		g.Running = false
	}
	for k, v := range s.st.Volumes {
		if v.Node == a.node && volumeOwner(v.VolID) == g.VMID {
			delete(s.st.Volumes, k)
			v.Node = a.target
			s.st.addVolume(v)
		}
	}
	g.Node = a.target
	delete(g.Config, "lock")
	if restart {
		t.Logf("start container on target node")
		return s.bootGuest(ctx, g) // a CT: its bootRef is its ref
	}
	return nil
}
