//go:build linux

package pvesim

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"time"
)

func (s *Server) snapshotList(r *request) (any, error) {
	return s.withGuest(r, func(g *Guest) (any, error) {
		out := []map[string]any{}
		for _, name := range sortedKeys(g.Snapshots) {
			sc := g.Snapshots[name].Config
			e := map[string]any{"name": name, "snaptime": cfgInt(sc, "snaptime", 0), "description": sc["description"]}
			if p := sc["parent"]; p != "" {
				e["parent"] = p
			}
			if g.Kind == "qemu" {
				e["vmstate"] = 0
				if sc["vmstate"] != "" {
					e["vmstate"] = 1
				}
			}
			out = append(out, e)
		}
		sort.SliceStable(out, func(i, j int) bool { return out[i]["snaptime"].(int64) < out[j]["snaptime"].(int64) })
		cur := map[string]any{"name": "current", "description": "You are here!", "digest": g.digest(), "running": 0}
		if g.Running {
			cur["running"] = 1
		}
		if p := g.Config["parent"]; p != "" {
			cur["parent"] = p
		}
		return append(out, cur), nil
	})
}

func (s *Server) snapshotCreate(r *request) (any, error) {
	name, desc := r.str("snapname"), r.str("description")
	kind := kindOf(r)
	if name == "current" || (kind == "lxc" && name == "vzdump") || (kind == "qemu" && name == "pending") {
		return nil, die("unable to use snapshot name '%s' (reserved name)", name)
	}
	return s.withGuest(r, func(g *Guest) (any, error) {
		prepared := false
		spec := s.guestTaskSpec(r, "snapshot", []string{guestLockPath(kind, g.VMID)}, func(g *Guest) error {
			// snapshot_prepare: lock, template and name checks, then lock: snapshot
			if err := g.checkLock(); err != nil {
				return err
			}
			if g.isTemplate() {
				return fmt.Errorf("you can't take a snapshot if it's a template")
			}
			if _, ok := g.Snapshots[name]; ok {
				return fmt.Errorf("snapshot name '%s' already used", name)
			}
			g.Config["lock"] = "snapshot"
			prepared = true
			return nil
		}, func(ctx context.Context, g *Guest, t *Task) error {
			delete(g.Config, "lock")
			if err := s.runtime.Snapshot(ctx, g.ref(), name); err != nil {
				return err
			}
			sc := copyMap(g.Config)
			delete(sc, "lock")
			sc["snaptime"] = strconv.FormatInt(time.Now().Unix(), 10)
			if desc != "" {
				sc["description"] = desc
			} else {
				delete(sc, "description")
			}
			if g.Kind == "qemu" && r.boolean("vmstate") && g.Running {
				sc["vmstate"] = "1"
			}
			if g.Snapshots == nil {
				g.Snapshots = map[string]*Snapshot{}
			}
			g.Snapshots[name] = &Snapshot{Config: sc, LXC: append([][2]string(nil), g.LXC...)}
			g.Config["parent"] = name
			return nil
		})
		spec.OnFail = func(err error) error {
			// AbstractConfig::snapshot_create: "snapshot create failed:
			// starting cleanup", a forced snapshot_delete, which drops the
			// half-made snapshot and the 'snapshot' lock.
			// The snapshot is recorded last, so only the lock is left.
			if !prepared {
				return err
			}
			s.mu.Lock()
			defer s.mu.Unlock()
			if g := s.st.Guests[g.VMID]; g != nil && g.Config["lock"] == "snapshot" {
				delete(g.Config, "lock")
			}
			return err
		}
		return s.tasks.start(spec).UPID, nil
	})
}

func (s *Server) snapshot(g *Guest, name string) (*Snapshot, error) {
	sn := g.Snapshots[name]
	if sn == nil {
		return nil, die("snapshot '%s' does not exist", name)
	}
	return sn, nil
}

func (s *Server) snapshotIndex(r *request) (any, error) {
	return s.withGuest(r, func(g *Guest) (any, error) {
		if _, err := s.snapshot(g, r.vars["snapname"]); err != nil {
			return nil, err
		}
		return []map[string]string{{"cmd": "rollback"}, {"cmd": "config"}}, nil
	})
}

func (s *Server) snapshotConfig(r *request) (any, error) {
	return s.withGuest(r, func(g *Guest) (any, error) {
		sn, err := s.snapshot(g, r.vars["snapname"])
		if err != nil {
			return nil, err
		}
		out := typedConfig(g.Kind, sn.Config)
		if g.Kind == "lxc" && len(sn.LXC) > 0 {
			out["lxc"] = sn.LXC
		}
		return out, nil
	})
}

func (s *Server) snapshotUpdate(r *request) (any, error) {
	return s.withGuestFlock(r, func(g *Guest) (any, error) {
		sn, err := s.snapshot(g, r.vars["snapname"])
		if err != nil {
			return nil, err
		}
		if r.has("description") {
			sn.Config["description"] = r.str("description")
		}
		return nil, nil
	})
}

func (s *Server) snapshotDelete(r *request) (any, error) {
	name := r.vars["snapname"]
	return s.withGuest(r, func(g *Guest) (any, error) {
		return s.guestTask(r, "delsnapshot", func(g *Guest) error {
			if !r.boolean("force") {
				if err := g.checkLock(); err != nil {
					return err
				}
			}
			if _, err := s.snapshot(g, name); err != nil {
				return err
			}
			g.Config["lock"] = "snapshot-delete"
			return nil
		}, func(ctx context.Context, g *Guest, t *Task) error {
			delete(g.Config, "lock")
			sn := g.Snapshots[name]
			if err := s.runtime.DeleteSnapshot(ctx, g.ref(), name); err != nil {
				return err
			}
			parent := sn.Config["parent"]
			for _, other := range g.Snapshots {
				if other.Config["parent"] == name {
					setOrDelete(other.Config, "parent", parent)
				}
			}
			if g.Config["parent"] == name {
				setOrDelete(g.Config, "parent", parent)
			}
			delete(g.Snapshots, name)
			return nil
		}), nil
	})
}

func setOrDelete(m map[string]string, k, v string) {
	if v == "" {
		delete(m, k)
	} else {
		m[k] = v
	}
}

func (s *Server) snapshotRollback(r *request) (any, error) {
	name := r.vars["snapname"]
	return s.withGuest(r, func(g *Guest) (any, error) {
		return s.guestTask(r, "rollback", func(g *Guest) error {
			if err := g.checkLock(); err != nil {
				return err
			}
			if g.isTemplate() {
				return fmt.Errorf("you can't rollback if vm is a template")
			}
			if _, err := s.snapshot(g, name); err != nil {
				return err
			}
			g.Config["lock"] = "rollback"
			return nil
		}, func(ctx context.Context, g *Guest, t *Task) error {
			sn := g.Snapshots[name]
			if g.Running {
				if err := s.runtime.Stop(ctx, g.ref()); err != nil {
					return err
				}
				g.Running = false
			}
			if err := s.runtime.Rollback(ctx, g.ref(), name); err != nil {
				delete(g.Config, "lock")
				return err
			}
			cfg := copyMap(sn.Config)
			delete(cfg, "snaptime")
			delete(cfg, "vmstate")
			setOrDelete(cfg, "description", sn.Config["description"])
			cfg["parent"] = name
			g.Config = cfg
			g.LXC = append([][2]string(nil), sn.LXC...)
			g.Pending, g.PendingDelete = nil, nil
			if r.boolean("start") {
				return s.bootGuest(ctx, g)
			}
			return nil
		}), nil
	})
}
