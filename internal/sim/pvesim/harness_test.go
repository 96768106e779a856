//go:build linux

package pvesim_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	proxmox "github.com/luthermonson/go-proxmox"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/pvesim"
	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/pvesimtest"
)

// env is one simulator plus a go-proxmox client authenticated by API token.
type env struct {
	t   *testing.T
	srv *pvesim.Server
	c   *proxmox.Client
	ctx context.Context
}

func newEnv(t *testing.T, opts pvesim.Options) *env {
	t.Helper()
	if opts.TaskDuration == 0 {
		opts.TaskDuration = 10 * time.Millisecond
	}
	if opts.LockTimeout == 0 {
		opts.LockTimeout = 2 * time.Second
	}
	srv, err := pvesim.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		checkSchema(t, srv.Faults().Requests())
		if err := srv.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	c := proxmox.NewClient(srv.Endpoint(), proxmox.WithAPIToken(srv.TokenID(), srv.TokenSecret()),
		proxmox.WithHTTPClient(&http.Client{Transport: &http.Transport{TLSClientConfig: srv.TLSConfig()}}))
	return &env{t: t, srv: srv, c: c, ctx: context.Background()}
}

// wait waits for a task through the client's own polling and asserts its exit status.
func (e *env) wait(task *proxmox.Task, err error) { e.t.Helper(); e.waitStatus(task, err, "OK") }

func (e *env) waitStatus(task *proxmox.Task, err error, want string) {
	e.t.Helper()
	if err != nil {
		e.t.Fatalf("starting task: %v", err)
	}
	if err := task.Wait(e.ctx, 5*time.Millisecond, 10*time.Second); err != nil {
		e.t.Fatalf("wait %s: %v", task.UPID, err)
	}
	if task.ExitStatus != want {
		e.t.Fatalf("task %s exit status %q, want %q", task.UPID, task.ExitStatus, want)
	}
}

type rawResp struct {
	status int
	reason string
	body   map[string]any
}

// raw sends a form-encoded request with the API token and returns status,
// reason phrase and decoded body, for asserting PVE's exact error texts.
func (e *env) raw(method, path string, params url.Values) rawResp {
	e.t.Helper()
	return e.rawAuth(method, path, params, "PVEAPIToken="+e.srv.APIToken())
}

func (e *env) rawAuth(method, path string, params url.Values, authz string) rawResp {
	e.t.Helper()
	u := e.srv.Endpoint() + path
	var body io.Reader
	if method == "GET" || method == "DELETE" {
		if len(params) > 0 {
			u += "?" + params.Encode()
		}
	} else {
		body = strings.NewReader(params.Encode())
	}
	req, _ := http.NewRequest(method, u, body)
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: e.srv.TLSConfig()}}
	res, err := hc.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	out := rawResp{status: res.StatusCode, reason: strings.TrimPrefix(res.Status, res.Status[:4])}
	if len(data) > 0 {
		if err := json.Unmarshal(data, &out.body); err != nil {
			e.t.Fatalf("%s %s: body %q: %v", method, path, data, err)
		}
	}
	return out
}

// expectErr asserts an error response's status and message (reason phrase
// and body "message").
func (e *env) expectErr(r rawResp, status int, msg string) {
	e.t.Helper()
	if r.status != status || r.reason != msg {
		e.t.Fatalf("got %d %q (body %v), want %d %q", r.status, r.reason, r.body, status, msg)
	}
	if status != 401 && r.body["message"] != msg+"\n" {
		e.t.Fatalf("body message %q, want %q", r.body["message"], msg+"\n")
	}
}

// upidTask waits for a raw-request task and returns its exit status.
func (e *env) waitUPID(upid string) string {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(e.ctx, 10*time.Second)
	defer cancel()
	st, err := e.srv.WaitTask(ctx, upid)
	if err != nil {
		e.t.Fatal(err)
	}
	return st
}

func (e *env) node() *proxmox.Node {
	e.t.Helper()
	n, err := e.c.Node(e.ctx, "pve")
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

// sharedDir is ../shared from the repository root, or $PHOENIX_SHARED_DIR.
func sharedDir() string { return pvesimtest.SharedDir() }

func checkSchema(t *testing.T, reqs []pvesim.RequestRecord) { pvesimtest.CheckSchema(t, reqs) }

func (e *env) c2http() *http.Client {
	return &http.Client{Transport: &http.Transport{TLSClientConfig: e.srv.TLSConfig()}}
}
