//go:build linux

package pvesim

import (
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Guest is what PVE keeps for one container or VM: the <vmid>.conf key/value
// map exactly as the file holds it (lock, template and parent included),
// snapshot sections, and run state. There is deliberately no typed model.
type Guest struct {
	Kind   string            `json:"kind"` // "lxc" or "qemu"
	VMID   int               `json:"vmid"`
	Node   string            `json:"node"`
	Config map[string]string `json:"config"`
	// LXC holds raw lxc.* lines of a container config, in file order.
	LXC [][2]string `json:"lxc,omitempty"`
	// Pending holds QEMU changes that apply on the next start; PendingDelete
	// the keys to remove then.
	Pending       map[string]string    `json:"pending,omitempty"`
	PendingDelete []string             `json:"pending_delete,omitempty"`
	Snapshots     map[string]*Snapshot `json:"snapshots,omitempty"`
	Running       bool                 `json:"running"`
	StartTime     int64                `json:"start_time,omitempty"`
	// Firewall is read from state files written before the firewall
	// files moved to State.Firewall (loadState moves it there).
	Firewall *Firewall `json:"firewall,omitempty"`
}

// Snapshot is a snapshot section of the config file: the frozen keys plus
// PVE's own snaptime/description/parent keys.
type Snapshot struct {
	Config map[string]string `json:"config"`
	LXC    [][2]string       `json:"lxc,omitempty"`
}

// Firewall is one .fw file: /etc/pve/firewall/cluster.fw (security groups
// only there), /etc/pve/nodes/N/host.fw or /etc/pve/firewall/<vmid>.fw.
// Rules are kept as parse_fw_rule returns them.
type Firewall struct {
	Options map[string]string   `json:"options,omitempty"`
	Rules   []map[string]any    `json:"rules,omitempty"`
	Aliases map[string]*FWAlias `json:"aliases,omitempty"` // key: lower-case name
	IPSets  map[string]*FWIPSet `json:"ipsets,omitempty"`
	Groups  map[string]*FWGroup `json:"groups,omitempty"`
}

// FWAlias is an [ALIASES] entry.
type FWAlias struct {
	Name, CIDR, Comment string
	IPVersion           int
}

// FWIPSet is an [IPSET name] section.
type FWIPSet struct {
	Comment string
	Entries []FWIPEntry
}

// FWIPEntry is one address of an IPSet.
type FWIPEntry struct {
	CIDR, Comment string
	NoMatch       bool
}

// FWGroup is a [group name] section of cluster.fw.
type FWGroup struct {
	Comment string
	Rules   []map[string]any
}

// FirewallFiles are the cluster's .fw files.
type FirewallFiles struct {
	Cluster *Firewall            `json:"cluster,omitempty"`
	Hosts   map[string]*Firewall `json:"hosts,omitempty"`
	Guests  map[int]*Firewall    `json:"guests,omitempty"`
}

// Storage is one entry of storage.cfg: the options every simulated type
// has as fields, any other option as PVE writes it in Props.
type Storage struct {
	ID      string            `json:"id"`
	Type    string            `json:"type"` // dir, zfspool, lvmthin
	Path    string            `json:"path,omitempty"`
	Pool    string            `json:"pool,omitempty"`
	Content []string          `json:"content"`
	Shared  bool              `json:"shared,omitempty"`
	Props   map[string]string `json:"props,omitempty"`
	Total   int64             `json:"total"`
}

// Volume is one volume on one node's storage. State.Volumes holds guest
// images; file volumes of storages with a path are files (nodefs.go).
type Volume struct {
	VolID   string `json:"volid"`
	Node    string `json:"node"`
	Content string `json:"content"` // images, rootdir, iso, vztmpl, import, backup
	Format  string `json:"format"`
	Size    int64  `json:"size"`
	VMID    int    `json:"vmid,omitempty"`
	Ctime   int64  `json:"ctime"`
}

// State is the whole simulated cluster; it is what --state-dir persists.
type State struct {
	Nodes    []string           `json:"nodes"`
	Bridges  []string           `json:"bridges"`
	Guests   map[int]*Guest     `json:"guests"`
	Storages []*Storage         `json:"storages"`
	Volumes  map[string]*Volume `json:"volumes"` // key: node + "|" + volid
	// Network is each node's /etc/network/interfaces (network.go).
	Network map[string]*NodeNetwork `json:"network,omitempty"`
	// Mappings are /etc/pve/mapping/*.cfg by kind (dir, pci, usb) and ID.
	Mappings map[string]map[string]*Mapping `json:"mappings,omitempty"`
	// Pools is user.cfg's pool section.
	Pools map[string]*Pool `json:"pools,omitempty"`
	// Access is user.cfg's users, roles and ACLs with token.cfg's token
	// secrets (access.go).
	Access *UserCfg `json:"access,omitempty"`
	// Firewall holds the .fw files. A guest's file is keyed by VMID, not
	// part of the guest: PVE reads an absent one as empty, for any VMID.
	Firewall FirewallFiles `json:"firewall"`
	Password string        `json:"password"`
	Token    string        `json:"token_secret"`
}

func newState(nodes []string) *State {
	return &State{Nodes: nodes, Guests: map[int]*Guest{}, Volumes: map[string]*Volume{}}
}

func volKey(node, volid string) string { return node + "|" + volid }

func (st *State) storage(id string) *Storage {
	for _, s := range st.Storages {
		if s.ID == id {
			return s
		}
	}
	return nil
}

func (st *State) hasNode(n string) bool {
	for _, x := range st.Nodes {
		if x == n {
			return true
		}
	}
	return false
}

func (st *State) volume(node, volid string) *Volume { return st.Volumes[volKey(node, volid)] }

func (st *State) addVolume(v *Volume) { st.Volumes[volKey(v.Node, v.VolID)] = v }

func (st *State) deleteVolume(node, volid string) { delete(st.Volumes, volKey(node, volid)) }

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// copyMap is a shallow copy of m, never nil.
func copyMap[V any](m map[string]V) map[string]V {
	out := make(map[string]V, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// digest is the SHA1 of the config file text, like PVE's digest.
func (g *Guest) digest() string {
	var b strings.Builder
	for _, k := range sortedKeys(g.Config) {
		fmt.Fprintf(&b, "%s: %s\n", k, g.Config[k])
	}
	for _, kv := range g.LXC {
		fmt.Fprintf(&b, "%s: %s\n", kv[0], kv[1])
	}
	for _, k := range sortedKeys(g.Pending) {
		fmt.Fprintf(&b, "[PENDING] %s: %s\n", k, g.Pending[k])
	}
	for _, name := range sortedKeys(g.Snapshots) {
		fmt.Fprintf(&b, "[%s]\n", name)
		for _, k := range sortedKeys(g.Snapshots[name].Config) {
			fmt.Fprintf(&b, "%s: %s\n", k, g.Snapshots[name].Config[k])
		}
	}
	sum := sha1.Sum([]byte(b.String()))
	return hex.EncodeToString(sum[:])
}

// typeName is PVE's guest_type(): "CT" or "VM".
func (g *Guest) typeName() string {
	if g.Kind == "lxc" {
		return "CT"
	}
	return "VM"
}

func (g *Guest) isTemplate() bool { return g.Config["template"] == "1" }

// confPath is the pmxcfs-relative config path PVE names in errors.
func confPath(kind, node string, vmid any) string {
	dir := "qemu-server"
	if kind == "lxc" {
		dir = "lxc"
	}
	return fmt.Sprintf("nodes/%s/%s/%v.conf", node, dir, vmid)
}

// checkLock is AbstractConfig::check_lock.
func (g *Guest) checkLock() error {
	if l := g.Config["lock"]; l != "" {
		return die("%s is locked (%s)", g.typeName(), l)
	}
	return nil
}

func (st *State) save(dir string) error {
	if dir == "" {
		return nil
	}
	data, err := json.MarshalIndent(st, "", " ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	// Write-then-rename so a crash never leaves a half-written state file.
	tmp, err := os.CreateTemp(dir, ".state-*.json")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), filepath.Join(dir, "state.json"))
}

func loadState(dir string) (*State, error) {
	data, err := os.ReadFile(filepath.Join(dir, "state.json"))
	if err != nil {
		return nil, err
	}
	st := &State{}
	if err := json.Unmarshal(data, st); err != nil {
		return nil, fmt.Errorf("state file %s: %w", filepath.Join(dir, "state.json"), err)
	}
	if st.Guests == nil {
		st.Guests = map[int]*Guest{}
	}
	if st.Volumes == nil {
		st.Volumes = map[string]*Volume{}
	}
	for id, g := range st.Guests {
		if g.Firewall != nil {
			if st.Firewall.Guests == nil {
				st.Firewall.Guests = map[int]*Firewall{}
			}
			if st.Firewall.Guests[id] == nil {
				st.Firewall.Guests[id] = g.Firewall
			}
			g.Firewall = nil
		}
	}
	return st, nil
}
