package pve

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// Kind is the PVE path segment of a guest type.
type Kind string

const (
	LXC  Kind = "lxc"
	QEMU Kind = "qemu"
)

// Ref locates a guest.
type Ref struct {
	Node string
	Kind Kind
	ID   int
}

func (r Ref) path(suffix string) string {
	return fmt.Sprintf("/nodes/%s/%s/%d%s", url.PathEscape(r.Node), r.Kind, r.ID, suffix)
}

func (r Ref) String() string {
	label := "CT"
	if r.Kind == QEMU {
		label = "VM"
	}
	return fmt.Sprintf("%s %d on node %s", label, r.ID, r.Node)
}

// Locate finds which node holds a guest, through /cluster/resources, so a
// guest migrated out of band is followed. ok is false when no node has it.
func (c *Client) Locate(ctx context.Context, id int) (ref Ref, ok bool, err error) {
	var res []struct {
		VMID int    `json:"vmid"`
		Node string `json:"node"`
		Type string `json:"type"`
	}
	if err := retry(ctx, func() error { return c.get(ctx, "/cluster/resources?type=vm", &res) }); err != nil {
		return Ref{}, false, err
	}
	for _, r := range res {
		if r.VMID == id {
			return Ref{Node: r.Node, Kind: Kind(r.Type), ID: id}, true, nil
		}
	}
	return Ref{}, false, nil
}

// GuestConfig is a guest's configuration as PVE stores it: keys to the
// strings <id>.conf holds, plus raw lxc.* lines (containers) and the digest.
type GuestConfig struct {
	Values map[string]string
	RawLXC [][2]string
	Digest string
}

// Config reads a guest's current configuration.
func (c *Client) Config(ctx context.Context, ref Ref) (*GuestConfig, error) {
	var raw map[string]json.RawMessage
	if err := retry(ctx, func() error { return c.get(ctx, ref.path("/config"), &raw) }); err != nil {
		return nil, err
	}
	gc := &GuestConfig{Values: map[string]string{}}
	for k, v := range raw {
		switch k {
		case "digest":
			_ = json.Unmarshal(v, &gc.Digest)
		case "lxc":
			var pairs [][]string
			if err := json.Unmarshal(v, &pairs); err == nil {
				for _, p := range pairs {
					if len(p) == 2 {
						gc.RawLXC = append(gc.RawLXC, [2]string{p[0], p[1]})
					}
				}
			}
		default:
			gc.Values[k] = scalar(v)
		}
	}
	return gc, nil
}

// scalar renders a JSON scalar as PVE's config string (numbers as written).
func scalar(v json.RawMessage) string {
	v = bytes.TrimSpace(v)
	if len(v) > 0 && v[0] == '"' {
		var s string
		if json.Unmarshal(v, &s) == nil {
			return s
		}
	}
	return string(v)
}

// UpdateConfig sets and deletes keys in one call, guarded by digest when
// given. Containers take a synchronous PUT; VMs an asynchronous POST.
func (c *Client) UpdateConfig(ctx context.Context, ref Ref, set map[string]string, del []string, digest string) error {
	if len(set) == 0 && len(del) == 0 {
		return nil
	}
	body := map[string]string{}
	for k, v := range set {
		body[k] = v
	}
	if len(del) > 0 {
		sort.Strings(del)
		body["delete"] = strings.Join(del, ",")
	}
	if digest != "" {
		body["digest"] = digest
	}
	if ref.Kind == QEMU {
		var upid string
		if err := c.post(ctx, ref.path("/config"), body, &upid); err != nil {
			return err
		}
		return c.WaitTask(ctx, upid)
	}
	return retry(ctx, func() error { return c.put(ctx, ref.path("/config"), body, nil) })
}

// Status is a guest's run state.
type Status struct {
	Status string `json:"status"` // running, stopped
	Lock   string `json:"lock"`
	Name   string `json:"name"`
}

// Status reads status/current.
func (c *Client) Status(ctx context.Context, ref Ref) (*Status, error) {
	var st Status
	if err := retry(ctx, func() error { return c.get(ctx, ref.path("/status/current"), &st) }); err != nil {
		return nil, err
	}
	return &st, nil
}

// task posts to an endpoint that returns a UPID and waits for it.
func (c *Client) task(ctx context.Context, path string, body map[string]string) error {
	var upid string
	if body == nil {
		body = map[string]string{}
	}
	// A refusal (lock held by another task, flock timeout) comes back before
	// any task starts, so retrying the request is safe.
	if err := retry(ctx, func() error { return c.post(ctx, path, body, &upid) }); err != nil {
		return err
	}
	return c.WaitTask(ctx, upid)
}

// CreateContainer creates a container from an OS template (params are PVE's
// create parameters: ostemplate, hostname, rootfs, net0, ...).
func (c *Client) CreateContainer(ctx context.Context, node string, id int, params map[string]string) error {
	body := map[string]string{"vmid": strconv.Itoa(id)}
	for k, v := range params {
		body[k] = v
	}
	return c.task(ctx, fmt.Sprintf("/nodes/%s/lxc", url.PathEscape(node)), body)
}

// CloneOptions are a clone's parameters.
type CloneOptions struct {
	NewID    int
	Name     string // hostname (CT) or name (VM)
	Snapshot string
	Storage  string
	Full     bool
	Target   string
	// Description is the new guest's PVE description.
	Description string
}

// Clone clones src into a new guest, from Snapshot when set.
func (c *Client) Clone(ctx context.Context, src Ref, o CloneOptions) error {
	body := map[string]string{"newid": strconv.Itoa(o.NewID)}
	if o.Name != "" {
		if src.Kind == LXC {
			body["hostname"] = o.Name
		} else {
			body["name"] = o.Name
		}
	}
	if o.Snapshot != "" {
		body["snapname"] = o.Snapshot
	}
	if o.Full {
		body["full"] = "1"
		if o.Storage != "" {
			body["storage"] = o.Storage
		}
	}
	if o.Description != "" {
		body["description"] = o.Description
	}
	if o.Target != "" && o.Target != src.Node {
		body["target"] = o.Target
	}
	return c.task(ctx, src.path("/clone"), body)
}

// Start starts a guest and waits until it runs.
func (c *Client) Start(ctx context.Context, ref Ref) error {
	return c.task(ctx, ref.path("/status/start"), nil)
}

// Stop stops a guest hard.
func (c *Client) Stop(ctx context.Context, ref Ref) error {
	return c.task(ctx, ref.path("/status/stop"), nil)
}

// Reboot restarts a running guest so pending changes apply.
func (c *Client) Reboot(ctx context.Context, ref Ref) error {
	return c.task(ctx, ref.path("/status/reboot"), nil)
}

// Snapshots lists snapshot names (without PVE's "current" entry).
func (c *Client) Snapshots(ctx context.Context, ref Ref) ([]string, error) {
	var list []struct {
		Name string `json:"name"`
	}
	if err := retry(ctx, func() error { return c.get(ctx, ref.path("/snapshot"), &list) }); err != nil {
		return nil, err
	}
	var out []string
	for _, s := range list {
		if s.Name != "current" {
			out = append(out, s.Name)
		}
	}
	return out, nil
}

// Snapshot takes a snapshot.
func (c *Client) Snapshot(ctx context.Context, ref Ref, name, description string) error {
	body := map[string]string{"snapname": name}
	if description != "" {
		body["description"] = description
	}
	return c.task(ctx, ref.path("/snapshot"), body)
}

// Template converts a stopped guest without snapshots into a template.
// VMs convert in a qmtemplate task; containers answer null once done.
func (c *Client) Template(ctx context.Context, ref Ref) error {
	var upid string
	if err := c.post(ctx, ref.path("/template"), map[string]string{}, &upid); err != nil {
		return err
	}
	return c.WaitTask(ctx, upid)
}

// Resize grows a disk to size ("+4G" or "32G").
func (c *Client) Resize(ctx context.Context, ref Ref, disk, size string) error {
	var upid string
	if err := c.put(ctx, ref.path("/resize"), map[string]string{"disk": disk, "size": size}, &upid); err != nil {
		return err
	}
	return c.WaitTask(ctx, upid)
}

// Destroy removes a guest with its disks and from jobs (purge).
func (c *Client) Destroy(ctx context.Context, ref Ref) error {
	var upid string
	if err := c.del(ctx, ref.path("?purge=1&destroy-unreferenced-disks=1"), &upid); err != nil {
		return err
	}
	return c.WaitTask(ctx, upid)
}

// Pending lists the config keys whose change waits for the guest's next
// restart (PVE's pending section), sorted.
func (c *Client) Pending(ctx context.Context, ref Ref) ([]string, error) {
	var entries []struct {
		Key     string          `json:"key"`
		Pending json.RawMessage `json:"pending"`
		Delete  int             `json:"delete"`
	}
	if err := retry(ctx, func() error { return c.get(ctx, ref.path("/pending"), &entries) }); err != nil {
		return nil, err
	}
	var keys []string
	for _, e := range entries {
		if len(e.Pending) > 0 || e.Delete > 0 {
			keys = append(keys, e.Key)
		}
	}
	sort.Strings(keys)
	return keys, nil
}

// Nodes lists the cluster's node names.
func (c *Client) Nodes(ctx context.Context) ([]string, error) {
	var nodes []struct {
		Node string `json:"node"`
	}
	if err := retry(ctx, func() error { return c.get(ctx, "/nodes", &nodes) }); err != nil {
		return nil, err
	}
	out := make([]string, 0, len(nodes))
	for _, n := range nodes {
		out = append(out, n.Node)
	}
	sort.Strings(out)
	return out, nil
}
