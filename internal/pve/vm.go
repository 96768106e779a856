package pve

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// VM operations beyond the kind-neutral ones in guests.go: create, graceful
// shutdown, template conversion, cloud-init drive and storage lookups.

// CreateVM creates a VM (params are qm create's: name, scsi0, net0, ...).
func (c *Client) CreateVM(ctx context.Context, node string, id int, params map[string]string) error {
	return c.create(ctx, node, QEMU, id, params)
}

// Shutdown asks a running guest to shut down cleanly and, once timeout has
// passed, stops it hard (forceStop), as one PVE task.
func (c *Client) Shutdown(ctx context.Context, ref Ref, timeout time.Duration) error {
	body := map[string]string{"timeout": strconv.Itoa(int(timeout.Seconds())), "forceStop": "1"}
	op := c.guestTask(http.MethodPost, ref, "/status/shutdown", "shutdown", body)
	op.done = notRunning
	return c.runTask(ctx, op)
}

// RegenerateCloudInit rebuilds a VM's cloud-init drive from its config.
func (c *Client) RegenerateCloudInit(ctx context.Context, ref Ref) error {
	return c.put(ctx, ref.path("/cloudinit"), map[string]string{}, nil)
}

// StorageInfo is a storage as /storage/{storage} describes it.
type StorageInfo struct {
	ID      string
	Type    string
	Path    string
	Content []string
	Shared  bool
}

// HasContent reports whether the storage takes content type ct.
func (s StorageInfo) HasContent(ct string) bool {
	for _, c := range s.Content {
		if c == ct {
			return true
		}
	}
	return false
}

// Storages lists the storages active on node that take content ct (all when
// ct is empty), sorted by ID, with their configuration.
func (c *Client) Storages(ctx context.Context, node, ct string) ([]StorageInfo, error) {
	var list []struct {
		Storage string `json:"storage"`
		Type    string `json:"type"`
		Content string `json:"content"`
		Shared  int    `json:"shared"`
		Active  int    `json:"active"`
		Enabled int    `json:"enabled"`
	}
	path := fmt.Sprintf("/nodes/%s/storage", url.PathEscape(node))
	if ct != "" {
		path += "?content=" + url.QueryEscape(ct)
	}
	if err := c.get(ctx, path, &list); err != nil {
		return nil, err
	}
	var out []StorageInfo
	for _, s := range list {
		if s.Active == 0 {
			continue
		}
		out = append(out, StorageInfo{ID: s.Storage, Type: s.Type, Content: splitComma(s.Content), Shared: s.Shared == 1})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// Storage reads one storage's configuration (its path for dir storages).
func (c *Client) Storage(ctx context.Context, id string) (StorageInfo, error) {
	var s struct {
		Storage string `json:"storage"`
		Type    string `json:"type"`
		Path    string `json:"path"`
		Content string `json:"content"`
		Shared  int    `json:"shared"`
	}
	if err := c.get(ctx, "/storage/"+url.PathEscape(id), &s); err != nil {
		return StorageInfo{}, err
	}
	return StorageInfo{ID: s.Storage, Type: s.Type, Path: s.Path, Content: splitComma(s.Content), Shared: s.Shared == 1}, nil
}

// Volume is one entry of a storage's content.
type Volume struct {
	VolID   string `json:"volid"`
	Content string `json:"content"`
	Format  string `json:"format"`
	Size    int64  `json:"size"`
}

// StorageContent lists a storage's volumes of content type ct on node.
func (c *Client) StorageContent(ctx context.Context, node, storage, ct string) ([]Volume, error) {
	var list []Volume
	path := fmt.Sprintf("/nodes/%s/storage/%s/content", url.PathEscape(node), url.PathEscape(storage))
	if ct != "" {
		path += "?content=" + url.QueryEscape(ct)
	}
	if err := c.get(ctx, path, &list); err != nil {
		return nil, err
	}
	return list, nil
}

func splitComma(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// AgentWriteMax is the largest content agent/file-write takes in one call
// (qemu-server's API2/Qemu/Agent.pm: 60 KiB, below its 64 KiB POST limit).
const AgentWriteMax = 60 * 1024

// AgentPing reports whether the VM's guest agent answers.
func (c *Client) AgentPing(ctx context.Context, ref Ref) error {
	return c.postOnce(ctx, ref.path("/agent/ping"), map[string]string{}, nil)
}

// AgentFileWrite writes data to path in the guest, replacing it. data must
// fit one call once base64-encoded (AgentWriteMax).
func (c *Client) AgentFileWrite(ctx context.Context, ref Ref, path string, data []byte) error {
	enc := base64.StdEncoding.EncodeToString(data)
	if len(enc) > AgentWriteMax {
		return fmt.Errorf("agent file-write of %s: %d bytes encoded exceed PVE's %d", path, len(enc), AgentWriteMax)
	}
	body := map[string]any{"file": path, "content": enc, "encode": false}
	return c.do(ctx, http.MethodPost, ref.path("/agent/file-write"), body, nil, classIdempotent)
}

// AgentExec starts argv in the guest (stdin from input) and returns the
// guest agent's pid of it.
func (c *Client) AgentExec(ctx context.Context, ref Ref, argv []string, input []byte) (int, error) {
	body := map[string]any{"command": argv}
	if len(input) > 0 {
		body["input-data"] = string(input)
	}
	var out struct {
		PID int `json:"pid"`
	}
	if err := c.postOnce(ctx, ref.path("/agent/exec"), body, &out); err != nil {
		return 0, err
	}
	return out.PID, nil
}

// AgentExecStatus is a command's state as exec-status reports it.
type AgentExecStatus struct {
	Exited       bool
	ExitCode     int
	Signal       int
	Stdout       []byte
	Stderr       []byte
	OutTruncated bool
	ErrTruncated bool
}

// ErrAgentExecForgotten is exec-status of a pid the agent does not know. QGA
// forgets a command once it has reported its exit, so for a pid just started
// it means that report was made and its answer lost: the result is gone.
var ErrAgentExecForgotten = errors.New("the guest agent no longer knows the command (its exit was reported in an answer that was lost)")

// AgentExecStatus polls a command started with AgentExec once.
func (c *Client) AgentExecStatus(ctx context.Context, ref Ref, pid int) (AgentExecStatus, error) {
	var raw struct {
		Exited       flexInt `json:"exited"`
		ExitCode     flexInt `json:"exitcode"`
		Signal       flexInt `json:"signal"`
		OutData      string  `json:"out-data"`
		ErrData      string  `json:"err-data"`
		OutTruncated flexInt `json:"out-truncated"`
		ErrTruncated flexInt `json:"err-truncated"`
	}
	path := ref.path("/agent/exec-status?pid=" + strconv.Itoa(pid))
	if err := c.get(ctx, path, &raw); err != nil {
		if ae := asAPIError(err); ae != nil && strings.Contains(ae.Msg, "guest-exec-status' failed - Invalid parameter 'pid'") {
			return AgentExecStatus{}, fmt.Errorf("%w: %w", ErrAgentExecForgotten, err)
		}
		return AgentExecStatus{}, err
	}
	return AgentExecStatus{Exited: raw.Exited != 0, ExitCode: int(raw.ExitCode), Signal: int(raw.Signal),
		Stdout: []byte(raw.OutData), Stderr: []byte(raw.ErrData), OutTruncated: raw.OutTruncated != 0, ErrTruncated: raw.ErrTruncated != 0}, nil
}

// flexInt takes PVE's booleans and integers whether sent as numbers or strings.
type flexInt int64

func (f *flexInt) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	switch s {
	case "", "null", "false":
		*f = 0
		return nil
	case "true":
		*f = 1
		return nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("not an integer: %s", b)
	}
	*f = flexInt(n)
	return nil
}
