//go:build linux

package pve

import (
	"context"
	"strconv"
	"testing"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/pvesim"
	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/pvesimtest"
)

// simEnv is a simulator (without real guests) and a client logged in as
// root@pam.
type simEnv struct {
	t   *testing.T
	srv *pvesim.Server
	c   *Client
	ctx context.Context
}

func newSimEnv(t *testing.T, opts pvesim.Options, cfg Config) *simEnv {
	t.Helper()
	srv, err := pvesim.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	pvesimtest.CheckSchemaAtEnd(t, srv)
	cfg.Endpoint, cfg.CAPEM = srv.Endpoint(), string(srv.CACertPEM())
	if cfg.APIToken == "" {
		cfg.Username, cfg.Password = srv.Username(), srv.Password()
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &simEnv{t: t, srv: srv, c: c, ctx: context.Background()}
}

// client is another client of the same simulator (another process's view).
func (e *simEnv) client(cfg Config) *Client {
	e.t.Helper()
	cfg.Endpoint, cfg.CAPEM = e.srv.Endpoint(), string(e.srv.CACertPEM())
	if cfg.APIToken == "" {
		cfg.Username, cfg.Password = e.srv.Username(), e.srv.Password()
	}
	c, err := New(cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

func ctRef(node string, id int) Ref { return Ref{Node: node, Kind: LXC, ID: id} }

// createCT creates container id on node with a 4 GiB root disk.
func (e *simEnv) createCT(node string, id int) Ref {
	e.t.Helper()
	err := e.c.CreateContainer(e.ctx, node, id, map[string]string{"ostemplate": pvesim.DefaultCTTemplate,
		"hostname": "ct" + strconv.Itoa(id), "rootfs": "local-lvm:4", "memory": "256"})
	if err != nil {
		e.t.Fatal(err)
	}
	return ctRef(node, id)
}

// count is how many requests of "METHOD /template" the simulator served.
func (e *simEnv) count(key string) int { return e.srv.Faults().Counters()[key] }

// tasks are the node's tasks of type typ for guest id, finished or not.
func (e *simEnv) tasks(node, typ string, id int) []string {
	e.t.Helper()
	var list []struct {
		UPID string `json:"upid"`
	}
	path := "/nodes/" + node + "/tasks?source=all&typefilter=" + typ + "&vmid=" + strconv.Itoa(id)
	if err := e.c.get(e.ctx, path, &list); err != nil {
		e.t.Fatal(err)
	}
	out := make([]string, 0, len(list))
	for _, l := range list {
		out = append(out, l.UPID)
	}
	return out
}
