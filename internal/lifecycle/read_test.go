//go:build linux

package lifecycle

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/luthermonson/go-proxmox"
	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/phoenix"
	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/pve"
	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/pvesim"
	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/pvesimtest"
)

// The refresh path: what Read costs in PVE requests, and that drift of every
// managed field still shows at that cost.

func simEnv(t *testing.T, opts pvesim.Options) (Env, *pvesim.Server) {
	t.Helper()
	if opts.LockTimeout == 0 {
		opts.LockTimeout = time.Second
	}
	srv, err := pvesim.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	pvesimtest.CheckSchemaAtEnd(t, srv)
	return Env{API: newClient(t, srv, time.Minute), Node: srv.Nodes()[0], Log: func(s string) { t.Log(s) }}, srv
}

// newClient is a fresh client: what a new provider process (a new plan)
// has. A long listing window makes the tests independent of time.
func newClient(t *testing.T, srv *pvesim.Server, ttl time.Duration) *pve.Client {
	t.Helper()
	api, err := pve.New(pve.Config{Endpoint: srv.Endpoint(), Username: srv.Username(), Password: srv.Password(),
		CAPEM: string(srv.CACertPEM()), ListingTTL: ttl})
	if err != nil {
		t.Fatal(err)
	}
	return api
}

// outOfBand is another program's view of PVE (the UI, another Terraform
// run): its writes do not reach this process's clients.
func outOfBand(t *testing.T, srv *pvesim.Server) *proxmox.Client {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(srv.CACertPEM())
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	return proxmox.NewClient(srv.Endpoint(), proxmox.WithHTTPClient(hc),
		proxmox.WithCredentials(&proxmox.Credentials{Username: srv.Username(), Password: srv.Password()}))
}

// runOutOfBand posts a task request with c and waits for the task.
func runOutOfBand(t *testing.T, srv *pvesim.Server, c *proxmox.Client, path string, body map[string]string) {
	t.Helper()
	var upid string
	if err := c.Post(context.Background(), path, body, &upid); err != nil {
		t.Fatal(err)
	}
	if st, err := srv.WaitTask(context.Background(), upid); err != nil || st != "OK" {
		t.Fatalf("%s: %s %v", path, st, err)
	}
}

func firewalled(g *phoenix.Guest) *phoenix.Guest {
	g.Firewall = &phoenix.Firewall{Enabled: true, Rules: []phoenix.FirewallRule{
		{Type: "in", Action: "ACCEPT", Proto: "tcp", Port: "22", Comment: "ssh"},
		{Type: "in", Action: "DROP", Source: "10.0.0.66"},
	}}
	return g
}

// readAll reads every guest as one plan does: concurrently (Terraform's
// default parallelism) with one client.
func readAll(t *testing.T, env Env, guests []*phoenix.Guest) []Observation {
	t.Helper()
	obs := make([]Observation, len(guests))
	errs := make([]error, len(guests))
	sem := make(chan struct{}, 10)
	var wg sync.WaitGroup
	for i, g := range guests {
		wg.Add(1)
		go func(i int, g *phoenix.Guest) {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			obs[i], errs[i] = Read(context.Background(), env, g.ID, g)
		}(i, g)
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("reading %d: %v", guests[i].ID, err)
		}
	}
	return obs
}

func copyGuest(g *phoenix.Guest) *phoenix.Guest {
	c := *g
	if g.Firewall != nil {
		fw := *g.Firewall
		fw.Rules = append([]phoenix.FirewallRule(nil), g.Firewall.Rules...)
		c.Firewall = &fw
	}
	c.LXCOptions = append([]string(nil), g.LXCOptions...)
	c.MountPoints = append([]phoenix.MountPoint(nil), g.MountPoints...)
	return &c
}

// A plan's refresh: the cluster listing once for every guest, then a
// stopped container's config, a running one's config and pending section,
// a managed firewall's options and rules. Nothing else, however many guests.
func TestReadCostsOneOrTwoRequestsPerGuest(t *testing.T) {
	env, srv := simEnv(t, pvesim.Options{Nodes: []string{"pve1", "pve2", "pve3"}})
	ctx := context.Background()
	var guests []*phoenix.Guest
	for i := 0; i < 12; i++ {
		g := ct(300 + i)
		if i%4 == 3 {
			firewalled(g)
		}
		env.Node = srv.Nodes()[i%3]
		if _, err := CreateContainer(ctx, env, g, Options{Started: i%2 == 0}); err != nil {
			t.Fatal(err)
		}
		guests = append(guests, g)
	}
	plan := Env{API: newClient(t, srv, time.Minute), Node: "pve1"}
	if err := plan.API.Login(ctx); err != nil {
		t.Fatal(err)
	}
	srv.Faults().ResetStats()
	for i, o := range readAll(t, plan, guests) {
		want := map[bool]string{true: "running", false: "stopped"}[i%2 == 0]
		if !o.Found || o.Status != want || o.Ref.Node != srv.Nodes()[i%3] {
			t.Fatalf("guest %d: %+v, want %s on %s", guests[i].ID, o, want, srv.Nodes()[i%3])
		}
	}
	c := srv.Faults().Counters()
	running, firewalls := 6, 3
	want := map[string]int{
		"GET /nodes/{node}/lxc/{vmid}/config":           12,
		"GET /nodes/{node}/lxc/{vmid}/pending":          running,
		"GET /nodes/{node}/lxc/{vmid}/firewall/options": firewalls,
		"GET /nodes/{node}/lxc/{vmid}/firewall/rules":   firewalls,
		"GET /cluster/resources":                        0, // the login's listing serves the plan
	}
	total := 0
	for k, n := range c {
		total += n
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected request %s (%d)", k, n)
		}
	}
	for k, n := range want {
		if c[k] != n {
			t.Errorf("%s: %d requests, want %d", k, c[k], n)
		}
	}
	if max := 12 + running + 2*firewalls; total != max {
		t.Errorf("refresh of 12 guests made %d requests, want %d", total, max)
	}
}

// Drift of each managed field shows in the observed model.
func TestReadShowsDrift(t *testing.T) {
	env, srv := simEnv(t, pvesim.Options{})
	ctx := context.Background()
	g := firewalled(ct(400))
	g.MountPoints = []phoenix.MountPoint{{Type: "volume", Name: "data", Storage: "local-lvm", SizeGB: 2, Path: "/data"}}
	out, err := CreateContainer(ctx, env, g, Options{Started: true})
	if err != nil {
		t.Fatal(err)
	}
	raw := "lxc.apparmor.profile: unconfined\n"
	if err := srv.EditConfFile(400, func(s string) string { return s + raw }); err != nil {
		t.Fatal(err)
	}
	g.LXCOptions = []string{"lxc.apparmor.profile=unconfined"}
	read := func() (*phoenix.Guest, Observation) {
		t.Helper()
		m := copyGuest(g)
		obs, err := Read(ctx, env, 400, m)
		if err != nil || !obs.Found {
			t.Fatalf("read: %+v %v", obs, err)
		}
		return m, obs
	}
	if m, obs := read(); !reflect.DeepEqual(m, g) || obs.Status != "running" {
		t.Fatalf("no drift yet, got %+v (status %s)", m, obs.Status)
	}
	api := env.API
	if err := api.UpdateConfig(ctx, out.Ref, map[string]string{"cores": "3"}, []string{"mp0"}, ""); err != nil {
		t.Fatal(err)
	}
	rules, err := api.FirewallRules(ctx, out.Ref)
	if err != nil || len(rules) != 2 {
		t.Fatalf("rules %v %v", rules, err)
	}
	if err := api.ReplaceFirewallRules(ctx, out.Ref, rules[:1]); err != nil {
		t.Fatal(err)
	}
	if err := srv.EditConfFile(400, func(s string) string {
		return strings.Replace(s, raw, "lxc.apparmor.profile: lxc-container-default\n", 1)
	}); err != nil {
		t.Fatal(err)
	}
	if err := api.Stop(ctx, out.Ref); err != nil {
		t.Fatal(err)
	}
	m, obs := read()
	switch {
	case *m.Cores != 3:
		t.Errorf("cores drift not seen: %d", *m.Cores)
	case len(m.MountPoints) != 0:
		t.Errorf("removed mount point not seen: %+v", m.MountPoints)
	case len(m.Firewall.Rules) != 1:
		t.Errorf("removed firewall rule not seen: %+v", m.Firewall.Rules)
	case fmt.Sprint(m.LXCOptions) != "[lxc.apparmor.profile=lxc-container-default]":
		t.Errorf("raw line drift not seen: %v", m.LXCOptions)
	case obs.Status != "stopped":
		t.Errorf("stopped guest not seen: %s", obs.Status)
	}
}

// Raw lines added to a guest that defines none show too, running or not.
func TestReadShowsUnmanagedRawLines(t *testing.T) {
	env, srv := simEnv(t, pvesim.Options{})
	ctx := context.Background()
	for i, started := range []bool{true, false} {
		g := ct(410 + i)
		if _, err := CreateContainer(ctx, env, g, Options{Started: started}); err != nil {
			t.Fatal(err)
		}
		if err := srv.EditConfFile(g.ID, func(s string) string { return s + "lxc.cap.drop: \n" }); err != nil {
			t.Fatal(err)
		}
		m := copyGuest(g)
		if _, err := Read(ctx, env, g.ID, m); err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(m.LXCOptions) != "[lxc.cap.drop=]" {
			t.Errorf("started=%v: raw line added out of band not seen: %v", started, m.LXCOptions)
		}
	}
}

// A VM converted into a template outside Terraform reads as a template,
// although the plan's listing predates the conversion.
func TestReadSeesAVMTurnedTemplate(t *testing.T) {
	env, srv := simEnv(t, pvesim.Options{})
	ctx := context.Background()
	err := env.API.CreateVM(ctx, "pve", 500, map[string]string{"name": "vm500", "memory": "1024", "scsi0": "local-lvm:4"})
	if err != nil {
		t.Fatal(err)
	}
	g := &phoenix.Guest{Kind: phoenix.KindVM, ID: 500, Name: "vm500", MemoryMB: i64(1024)}
	if obs, err := Read(ctx, env, 500, g); err != nil || obs.Template || obs.Status != "stopped" {
		t.Fatalf("before: %+v %v", obs, err)
	}
	runOutOfBand(t, srv, outOfBand(t, srv), "/nodes/pve/qemu/500/template", map[string]string{})
	if obs, err := Read(ctx, env, 500, g); err != nil || !obs.Template {
		t.Fatalf("after: want a template, got %+v %v", obs, err)
	}
}

// A guest migrated to another node outside Terraform is followed, not lost,
// although the plan's listing still puts it on the old node.
func TestReadFollowsAMigratedGuest(t *testing.T) {
	env, srv := simEnv(t, pvesim.Options{Nodes: []string{"pve1", "pve2", "pve3"}})
	ctx := context.Background()
	g := ct(600)
	if _, err := CreateContainer(ctx, env, g, Options{Started: true}); err != nil {
		t.Fatal(err)
	}
	if obs, err := Read(ctx, env, 600, copyGuest(g)); err != nil || obs.Ref.Node != "pve1" {
		t.Fatalf("before: %+v %v", obs, err)
	}
	runOutOfBand(t, srv, outOfBand(t, srv), "/nodes/pve1/lxc/600/migrate", map[string]string{"target": "pve2", "restart": "1"})
	m := copyGuest(g)
	obs, err := Read(ctx, env, 600, m)
	if err != nil || !obs.Found || obs.Ref.Node != "pve2" || obs.Status != "running" {
		t.Fatalf("want it found running on pve2, got %+v %v", obs, err)
	}
	if !reflect.DeepEqual(m, g) {
		t.Fatalf("a migration is no drift: %+v", m)
	}
}
