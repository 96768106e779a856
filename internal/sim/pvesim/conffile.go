//go:build linux

package pvesim

import (
	"errors"
	"strings"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/pveconf"
)

// The guest config file as pmxcfs holds it (/etc/pve/nodes/N/lxc/ID.conf,
// .../qemu-server/ID.conf), rendered for the node shell and read back when
// a session edited it, with package pveconf.

// confFile is g's config as the file's sections (caller holds s.mu).
func confFile(g *Guest) *pveconf.File {
	f := &pveconf.File{Main: &pveconf.Section{Keys: g.Config, LXC: g.LXC}, Snapshots: map[string]*pveconf.Section{}}
	if len(g.Pending) > 0 || len(g.PendingDelete) > 0 {
		pend := copyMap(g.Pending)
		if len(g.PendingDelete) > 0 {
			pend["delete"] = strings.Join(g.PendingDelete, ",")
		}
		f.Pending = &pveconf.Section{Keys: pend}
	}
	for name, sn := range g.Snapshots {
		f.Snapshots[name] = &pveconf.Section{Keys: sn.Config, LXC: sn.LXC}
	}
	return f
}

// confText renders g's config file (caller holds s.mu).
func confText(g *Guest) string { return pveconf.Render(g.Kind, confFile(g)) }

// setConfText replaces g's config with an edited file's content, as editing
// /etc/pve/.../ID.conf does on PVE (no API checks, only the parser's
// warnings, returned as the error). Caller holds s.mu.
func setConfText(g *Guest, text string) error {
	f, warnings := pveconf.Parse(g.Kind, g.VMID, text)
	g.Config, g.LXC = f.Main.Keys, f.Main.LXC
	g.Pending, g.PendingDelete = nil, nil
	if f.Pending != nil {
		if d, ok := f.Pending.Keys["delete"]; ok {
			g.PendingDelete = splitList(d)
			delete(f.Pending.Keys, "delete")
		}
		if len(f.Pending.Keys) > 0 {
			g.Pending = f.Pending.Keys
		}
	}
	g.Snapshots = nil
	for _, name := range sortedKeys(f.Snapshots) {
		if g.Snapshots == nil {
			g.Snapshots = map[string]*Snapshot{}
		}
		g.Snapshots[name] = &Snapshot{Config: f.Snapshots[name].Keys, LXC: f.Snapshots[name].LXC}
	}
	if len(warnings) == 0 {
		return nil
	}
	return errors.New(strings.Join(warnings, "\n"))
}
