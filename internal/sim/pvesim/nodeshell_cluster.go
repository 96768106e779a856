//go:build linux

package pvesim

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/guestroot"
	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/nodeshell"
	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/pveschema"
)

// shellCluster is the simulator as the node shell sees it (nodeshell.Cluster):
// state reads under s.mu, config changes and power/snapshot operations
// through the API handlers themselves (callAPI, as root@pam like the CLI),
// and commands through the guest runtime.
type shellCluster struct{ s *Server }

var _ nodeshell.Cluster = shellCluster{}

// cliParamError lets the shell print a 400 as PVE's CLI does.
type cliParamError struct{ e *apiError }

func (c cliParamError) Error() string             { return c.e.Msg }
func (c cliParamError) Params() map[string]string { return c.e.Errors }

// callAPI runs one API call in-process as root@pam: same route, schema
// validation and handler as over HTTPS, but no auth, faults or request log
// (it is not an HTTP request).
func (s *Server) callAPI(ctx context.Context, method, path string, params pveschema.Values) (any, error) {
	rt, vars := s.match(method, path)
	if rt == nil {
		return nil, fmt.Errorf("Method '%s %s' not implemented", method, path)
	}
	params, err := validateParams(method, rt.tmpl, vars, params)
	if err != nil {
		return nil, err
	}
	hr, err := http.NewRequestWithContext(ctx, method, "https://localhost"+apiBase+path, nil)
	if err != nil {
		return nil, err
	}
	return rt.h(&request{s: s, http: hr, method: method, tmpl: rt.tmpl, vars: vars, params: params, user: "root@pam"})
}

// cliErr converts an API error for the shell.
func cliErr(err error) error {
	var ae *apiError
	if errors.As(err, &ae) && ae.Status == 400 && len(ae.Errors) > 0 {
		return cliParamError{ae}
	}
	return err
}

// runTask calls an API endpoint that starts a worker and waits for it, as
// the CLI runs workers in the foreground; a failed task is its error.
func (c shellCluster) runTask(id int, op string, params pveschema.Values) error {
	g, ok := c.Guest(id)
	if !ok {
		return fmt.Errorf("Configuration file 'nodes/%s/%s/%d.conf' does not exist", "localhost", "lxc", id)
	}
	return c.runWorker(fmt.Sprintf("/nodes/%s/%s/%d/%s", g.Node, g.Kind, id, op), params)
}

// runWorker POSTs to path and waits for the worker it starts.
func (c shellCluster) runWorker(path string, params pveschema.Values) error {
	ctx := context.Background()
	out, err := c.s.callAPI(ctx, "POST", path, params)
	if err != nil {
		return cliErr(err)
	}
	upid, _ := out.(string)
	status, err := c.s.WaitTask(ctx, upid)
	if err != nil {
		return err
	}
	if status != "OK" {
		return errors.New(status)
	}
	return nil
}

func (c shellCluster) CreateContainer(node string, params map[string]string) error {
	v := pveschema.Values{}
	for k, x := range params {
		v[k] = []string{x}
	}
	return c.runWorker(fmt.Sprintf("/nodes/%s/lxc", node), v)
}

func (c shellCluster) NodeRoot(node string) (string, error) {
	if c.s.guests == nil {
		return "", errors.New("the node shell needs guest roots (pvesim.Options.RealGuests)")
	}
	return c.s.guests.m.CreateNode(node)
}

func (c shellCluster) RunInNode(ctx context.Context, node string, req nodeshell.ExecRequest) (nodeshell.ExecResult, error) {
	root, err := c.NodeRoot(node)
	if err != nil {
		return nodeshell.ExecResult{}, err
	}
	ctx, done, err := c.s.guests.track(ctx, 0) // vmid 0: node commands, killed on Close
	if err != nil {
		return nodeshell.ExecResult{}, err
	}
	defer done()
	gr := toGuestReq(req)
	gr.Hostname = node
	res, err := guestroot.ExecIn(ctx, root, gr)
	return fromGuestRes(res), err
}

func toGuestReq(req nodeshell.ExecRequest) guestroot.ExecRequest {
	gr := guestroot.ExecRequest{Argv: req.Argv, Stdin: req.Stdin, Stdout: req.Stdout, Stderr: req.Stderr,
		Env: req.Env, Dir: req.Dir, Timeout: req.Timeout, MaxOutput: req.MaxOutput}
	if gr.MaxOutput == 0 {
		gr.MaxOutput = -1 // pct exec and a login shell have no output cap
	}
	for _, b := range req.Binds {
		gr.Binds = append(gr.Binds, guestroot.Bind{Source: b.Source, Target: b.Target, ReadOnly: b.ReadOnly})
	}
	return gr
}

func fromGuestRes(r guestroot.ExecResult) nodeshell.ExecResult {
	return nodeshell.ExecResult{ExitCode: r.ExitCode, Signal: r.Signal, Stdout: r.Stdout, Stderr: r.Stderr,
		StdoutTruncated: r.StdoutTruncated, StderrTruncated: r.StderrTruncated, TimedOut: r.TimedOut}
}

func guestInfo(g *Guest) nodeshell.GuestInfo {
	info := nodeshell.GuestInfo{ID: g.VMID, Node: g.Node, Kind: g.Kind, Status: "stopped", Name: g.Config["name"], Lock: g.Config["lock"]}
	if g.Kind == "lxc" {
		info.Name = g.Config["hostname"]
	}
	if g.Running {
		info.Status = "running"
	}
	return info
}

func (c shellCluster) Guest(id int) (nodeshell.GuestInfo, bool) {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	g := c.s.st.Guests[id]
	if g == nil {
		return nodeshell.GuestInfo{}, false
	}
	return guestInfo(g), true
}

func (c shellCluster) Guests() []nodeshell.GuestInfo {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	out := make([]nodeshell.GuestInfo, 0, len(c.s.st.Guests))
	for _, g := range c.s.st.Guests {
		out = append(out, guestInfo(g))
	}
	return out
}

// runningCT returns a running container's ref (pct's own checks ran first;
// this closes the race with a concurrent stop).
func (c shellCluster) runningCT(id int) (GuestRef, error) {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	g := c.s.st.Guests[id]
	if g == nil || g.Kind != "lxc" {
		return GuestRef{}, fmt.Errorf("CT %d does not exist", id)
	}
	if !g.Running {
		return GuestRef{}, fmt.Errorf("container '%d' not running!", id)
	}
	if c.s.guests == nil {
		return GuestRef{}, errors.New("the simulator runs without guest roots (pvesim.Options.RealGuests)")
	}
	return g.ref(), nil
}

func (c shellCluster) ExecInGuest(ctx context.Context, id int, req nodeshell.ExecRequest) (nodeshell.ExecResult, error) {
	g, err := c.runningCT(id)
	if err != nil {
		return nodeshell.ExecResult{}, err
	}
	gr := toGuestReq(req)
	gr.Binds = nil // lxc-attach brings nothing of the node along
	if err := c.s.guests.boot(g); err != nil {
		return nodeshell.ExecResult{}, err
	}
	if !c.s.guests.dirInGuest(id, gr.Dir) {
		gr.Dir = "/"
	}
	res, err := c.s.guests.exec(ctx, g, gr)
	var se *guestroot.StartError
	if errors.As(err, &se) {
		// lxc_attach_run_command: execvp failed; 127 for ENOENT, 126 for EACCES.
		code, text := 127, "No such file or directory"
		if strings.Contains(strings.ToLower(se.Msg), "permission denied") {
			code, text = 126, "Permission denied"
		}
		fmt.Fprintf(stderrOf(req), "lxc-attach: %d: ../src/lxc/attach.c: lxc_attach_run_command: 1841 %s - Failed to exec \"%s\"\n", id, text, req.Argv[0])
		return nodeshell.ExecResult{ExitCode: code}, nil
	}
	return fromGuestRes(res), err
}

func stderrOf(req nodeshell.ExecRequest) interface{ Write([]byte) (int, error) } {
	if req.Stderr != nil {
		return req.Stderr
	}
	return discard{}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// PushFile writes as pct push does: ids are the container's, so through
// its id map a new file belongs to the container's root, not the host's.
func (c shellCluster) PushFile(id int, dst string, data []byte, perm os.FileMode, uid, gid int) error {
	g, err := c.runningCT(id)
	if err != nil {
		return err
	}
	if maps := ctIDMap(g); len(maps) > 0 {
		if _, _, err := c.s.guests.m.ReadFile(id, dst, 1); err != nil {
			uid, gid = max(uid, 0), max(gid, 0) // a new file: the container's root by default
		}
		if uid >= 0 {
			uid, _ = guestroot.HostID(maps, 'u', uid)
		}
		if gid >= 0 {
			gid, _ = guestroot.HostID(maps, 'g', gid)
		}
	}
	return c.s.guests.writeFile(id, dst, data, perm, uid, gid)
}

func (c shellCluster) PullFile(id int, src string) ([]byte, error) {
	if _, err := c.runningCT(id); err != nil {
		return nil, err
	}
	data, _, err := c.s.guests.m.ReadFile(id, src, 1<<30)
	return data, err
}

func (c shellCluster) ConfigText(id int) (string, error) {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	g := c.s.st.Guests[id]
	if g == nil {
		return "", fmt.Errorf("guest %d does not exist", id)
	}
	return confText(g), nil
}

func (c shellCluster) SetConfigText(id int, text string) error {
	c.s.mu.Lock()
	g := c.s.st.Guests[id]
	if g == nil {
		c.s.mu.Unlock()
		return fmt.Errorf("guest %d does not exist", id)
	}
	err := setConfText(g, text)
	c.s.mu.Unlock()
	go c.s.persist()
	return err
}

func (c shellCluster) SetOptions(id int, opts map[string]string, del []string) error {
	g, ok := c.Guest(id)
	if !ok {
		return fmt.Errorf("guest %d does not exist", id)
	}
	params := pveschema.Values{}
	for k, v := range opts {
		params[k] = []string{v}
	}
	if len(del) > 0 {
		params["delete"] = []string{strings.Join(del, ",")}
	}
	_, err := c.s.callAPI(context.Background(), "PUT", fmt.Sprintf("/nodes/%s/%s/%d/config", g.Node, g.Kind, id), params)
	return cliErr(err)
}

func (c shellCluster) Snapshot(id int, name, description string) error {
	p := pveschema.Values{"snapname": {name}}
	if description != "" {
		p["description"] = []string{description}
	}
	return c.runTask(id, "snapshot", p)
}

func (c shellCluster) ListSnapshots(id int) ([]nodeshell.SnapshotInfo, error) {
	g, ok := c.Guest(id)
	if !ok {
		return nil, fmt.Errorf("guest %d does not exist", id)
	}
	out, err := c.s.callAPI(context.Background(), "GET", fmt.Sprintf("/nodes/%s/%s/%d/snapshot", g.Node, g.Kind, id), pveschema.Values{})
	if err != nil {
		return nil, cliErr(err)
	}
	list, _ := out.([]map[string]any)
	res := make([]nodeshell.SnapshotInfo, 0, len(list))
	for _, e := range list {
		si := nodeshell.SnapshotInfo{}
		si.Name, _ = e["name"].(string)
		si.Description, _ = e["description"].(string)
		si.Parent, _ = e["parent"].(string)
		switch t := e["snaptime"].(type) {
		case int64:
			si.SnapTime = t
		case int:
			si.SnapTime = int64(t)
		}
		res = append(res, si)
	}
	return res, nil
}

func (c shellCluster) Start(id int) error { return c.runTask(id, "status/start", pveschema.Values{}) }
func (c shellCluster) Stop(id int) error  { return c.runTask(id, "status/stop", pveschema.Values{}) }

func (c shellCluster) AgentExec(ctx context.Context, id int, argv []string, stdin []byte) (nodeshell.AgentExecResult, error) {
	g, ok := c.Guest(id)
	if !ok {
		return nodeshell.AgentExecResult{}, fmt.Errorf("Configuration file 'nodes/localhost/qemu-server/%d.conf' does not exist", id)
	}
	st, pid, err := c.s.agentExecWait(ctx, g.Node, id, argv, stdin)
	if err != nil {
		return nodeshell.AgentExecResult{}, err
	}
	res := nodeshell.AgentExecResult{Pid: pid}
	if st == nil {
		return res, nil
	}
	res.Exited = st["exited"] == 1
	num := func(k string) int { n, _ := st[k].(int); return n }
	res.ExitCode, res.Signal = num("exitcode"), num("signal")
	res.OutData, _ = st["out-data"].(string)
	res.ErrData, _ = st["err-data"].(string)
	res.OutTruncated, res.ErrTruncated = num("out-truncated") == 1, num("err-truncated") == 1
	return res, nil
}
