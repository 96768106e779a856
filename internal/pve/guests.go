package pve

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
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
	if err := c.get(ctx, ref.path("/config"), &raw); err != nil {
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

func present(v json.RawMessage) bool {
	v = bytes.TrimSpace(v)
	return len(v) > 0 && string(v) != "null"
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
	var err error
	if ref.Kind == QEMU {
		// Setting values is idempotent: a lost answer is repeated.
		var upid string
		if err = c.do(ctx, http.MethodPost, ref.path("/config"), body, &upid, classIdempotent); err == nil {
			err = c.WaitTask(ctx, upid)
		}
	} else {
		err = c.put(ctx, ref.path("/config"), body, nil)
	}
	if err != nil && digest != "" && c.repeatedWrite(err) {
		// A repeat after a lost answer finds the digest changed by its
		// first copy: done if the config now holds what was asked.
		if cfg, cerr := c.Config(ctx, ref); cerr == nil && cfg.holds(set, del) {
			return nil
		}
	}
	return err
}

// repeatedWrite reports PVE's digest refusal, which an idempotent write
// repeated after a lost answer meets when its first copy went through.
func (c *Client) repeatedWrite(err error) bool {
	ae := asAPIError(err)
	return ae != nil && strings.Contains(ae.Msg, "detected modified configuration")
}

// holds reports whether the config has the values set and lacks del.
func (gc *GuestConfig) holds(set map[string]string, del []string) bool {
	for k, v := range set {
		if gc.Values[k] != v {
			return false
		}
	}
	for _, k := range del {
		if _, ok := gc.Values[k]; ok {
			return false
		}
	}
	return true
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
	if err := c.get(ctx, ref.path("/status/current"), &st); err != nil {
		return nil, err
	}
	return &st, nil
}

// CreateContainer creates a container from an OS template (params are PVE's
// create parameters: ostemplate, hostname, rootfs, net0, ...).
func (c *Client) CreateContainer(ctx context.Context, node string, id int, params map[string]string) error {
	return c.create(ctx, node, LXC, id, params)
}

// create runs a create task; a lost answer is recovered by looking the new
// guest up, never by creating it twice.
func (c *Client) create(ctx context.Context, node string, kind Kind, id int, params map[string]string) error {
	body := map[string]string{"vmid": strconv.Itoa(id)}
	for k, v := range params {
		body[k] = v
	}
	return c.runTask(ctx, taskOp{method: http.MethodPost, path: fmt.Sprintf("/nodes/%s/%s", url.PathEscape(node), kind), body: body,
		node: node, typ: taskType(kind, "create"), id: id, newGuest: id})
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
	op := c.guestTask(http.MethodPost, src, "/clone", "clone", body)
	op.newGuest = o.NewID
	return c.runTask(ctx, op)
}

// Start starts a guest and waits until it runs.
func (c *Client) Start(ctx context.Context, ref Ref) error {
	op := c.guestTask(http.MethodPost, ref, "/status/start", "start", nil)
	op.done = func(msg string) bool { return strings.Contains(msg, "already running") }
	return c.runTask(ctx, op)
}

// Stop stops a guest hard.
func (c *Client) Stop(ctx context.Context, ref Ref) error {
	op := c.guestTask(http.MethodPost, ref, "/status/stop", "stop", nil)
	op.done = notRunning
	return c.runTask(ctx, op)
}

func notRunning(msg string) bool { return strings.Contains(msg, "not running") }

// Reboot restarts a running guest so pending changes apply.
func (c *Client) Reboot(ctx context.Context, ref Ref) error {
	return c.runTask(ctx, c.guestTask(http.MethodPost, ref, "/status/reboot", "reboot", nil))
}

// Snapshots lists snapshot names (without PVE's "current" entry).
func (c *Client) Snapshots(ctx context.Context, ref Ref) ([]string, error) {
	var list []struct {
		Name string `json:"name"`
	}
	if err := c.get(ctx, ref.path("/snapshot"), &list); err != nil {
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
	op := c.guestTask(http.MethodPost, ref, "/snapshot", "snapshot", body)
	op.done = func(msg string) bool { return strings.Contains(msg, "snapshot name '"+name+"' already used") }
	return c.runTask(ctx, op)
}

// Template converts a stopped guest without snapshots into a template.
// VMs convert in a qmtemplate task; containers answer null once done.
func (c *Client) Template(ctx context.Context, ref Ref) error {
	if ref.Kind == LXC {
		// Synchronous: repeated after a lost answer, PVE says it is done.
		err := c.postOnce(ctx, ref.path("/template"), map[string]string{}, nil)
		var le *LostError
		if errors.As(err, &le) {
			if err = c.postOnce(ctx, ref.path("/template"), map[string]string{}, nil); err != nil &&
				strings.Contains(err.Error(), "you can't convert a template to a template") {
				return nil
			}
		}
		return err
	}
	op := c.guestTask(http.MethodPost, ref, "/template", "template", nil)
	op.done = func(msg string) bool { return strings.Contains(msg, "you can't convert a template to a template") }
	return c.runTask(ctx, op)
}

// Resize grows a disk to size ("+4G" or "32G").
func (c *Client) Resize(ctx context.Context, ref Ref, disk, size string) error {
	op := c.guestTask(http.MethodPut, ref, "/resize", "resize", map[string]string{"disk": disk, "size": size})
	if !strings.HasPrefix(size, "+") {
		// An absolute size repeated after a lost answer is already there.
		op.done = func(msg string) bool { return strings.Contains(msg, "disk is already at specified size") }
	}
	return c.runTask(ctx, op)
}

// Destroy removes a guest with its disks and from jobs (purge).
func (c *Client) Destroy(ctx context.Context, ref Ref) error {
	op := c.guestTask(http.MethodDelete, ref, "?purge=1&destroy-unreferenced-disks=1", "destroy", nil)
	op.body = nil
	op.done = func(msg string) bool { return strings.Contains(msg, "does not exist") }
	return c.runTask(ctx, op)
}

// Migrate moves a guest to node target: a running container restarts there
// (restart mode), a running VM moves live; local disks move with it.
func (c *Client) Migrate(ctx context.Context, ref Ref, target string, running bool) error {
	body := map[string]string{"target": target}
	if running && ref.Kind == LXC {
		body["restart"] = "1"
	}
	if running && ref.Kind == QEMU {
		body["online"], body["with-local-disks"] = "1", "1"
	}
	return c.runTask(ctx, c.guestTask(http.MethodPost, ref, "/migrate", "migrate", body))
}

// Pending lists the config keys whose change waits for the guest's next
// restart (PVE's pending section), sorted.
func (c *Client) Pending(ctx context.Context, ref Ref) ([]string, error) {
	_, keys, err := c.PendingConfig(ctx, ref)
	return keys, err
}

// PendingConfig reads a guest's configuration and its pending changes in
// one request (GET .../pending): Values as GET .../config shows them
// (pending values in place, pending deletions gone) and the keys waiting
// for a restart, sorted. PVE leaves raw lxc.* lines out of this answer
// (config_with_pending_array skips them): read them with Config.
func (c *Client) PendingConfig(ctx context.Context, ref Ref) (*GuestConfig, []string, error) {
	var entries []struct {
		Key     string          `json:"key"`
		Value   json.RawMessage `json:"value"`
		Pending json.RawMessage `json:"pending"`
		Delete  int             `json:"delete"`
	}
	if err := c.get(ctx, ref.path("/pending"), &entries); err != nil {
		return nil, nil, err
	}
	gc := &GuestConfig{Values: make(map[string]string, len(entries))}
	var keys []string
	for _, e := range entries {
		switch {
		case e.Key == "digest":
			gc.Digest = scalar(e.Value)
			continue
		case e.Delete > 0:
		case present(e.Pending):
			gc.Values[e.Key] = scalar(e.Pending)
		case present(e.Value):
			gc.Values[e.Key] = scalar(e.Value)
		}
		if present(e.Pending) || e.Delete > 0 {
			keys = append(keys, e.Key)
		}
	}
	sort.Strings(keys)
	return gc, keys, nil
}
