//go:build linux

package lifecycle

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/phoenix"
	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/pve"
	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/pvesim"
	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/pvesimtest"
)

func testEnv(t *testing.T) Env {
	t.Helper()
	srv, err := pvesim.Start(pvesim.Options{TaskDuration: 5 * time.Millisecond, LockTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	pvesimtest.CheckSchemaAtEnd(t, srv)
	api, err := pve.New(pve.Config{Endpoint: srv.Endpoint(), Username: srv.Username(), Password: srv.Password(), CAPEM: string(srv.CACertPEM())})
	if err != nil {
		t.Fatal(err)
	}
	return Env{API: api, Node: "pve", Log: func(s string) { t.Log(s) }}
}

func i64(n int64) *int64 { return &n }

func ct(id int) *phoenix.Guest {
	return &phoenix.Guest{Kind: phoenix.KindLXC, ID: id, Name: "ct", Cores: i64(1), MemoryMB: i64(256), DiskSizeGB: i64(4),
		Storage: "local-lvm", OSTemplate: pvesim.DefaultCTTemplate, Network: phoenix.Network{Name: "eth0", Bridge: "vmbr0", IP: "dhcp"}}
}

func TestCloneNeedsTheSourceSnapshot(t *testing.T) {
	env := testEnv(t)
	ctx := context.Background()
	if _, err := CreateContainer(ctx, env, ct(900), Options{}); err != nil {
		t.Fatal(err)
	}
	clone := ct(950)
	src := 900
	clone.CloneFrom, clone.CloneSnapshot = &src, "pre-configured"
	out, err := CreateContainer(ctx, env, clone, Options{})
	if err == nil || !strings.Contains(err.Error(), `clone source 900 has no snapshot "pre-configured" yet`) || out.Exists {
		t.Fatalf("want a clear error and no guest, got exists=%v err=%v", out.Exists, err)
	}
	missing := 901
	clone.CloneFrom = &missing
	if _, err := CreateContainer(ctx, env, clone, Options{}); err == nil || !strings.Contains(err.Error(), "clone source 901 does not exist") {
		t.Fatalf("missing source: %v", err)
	}
}

func TestCreateRefusesAnExistingGuest(t *testing.T) {
	env := testEnv(t)
	ctx := context.Background()
	if _, err := CreateContainer(ctx, env, ct(910), Options{}); err != nil {
		t.Fatal(err)
	}
	out, err := CreateContainer(ctx, env, ct(910), Options{})
	if err == nil || !strings.Contains(err.Error(), "already exists and was not created by this provider; import it") {
		t.Fatalf("want an import hint, got %v", err)
	}
	if out.Exists {
		t.Fatal("a refused create must not claim the existing guest")
	}
}

func TestRawLinesNeedSSH(t *testing.T) {
	env := testEnv(t)
	g := ct(920)
	g.LXCOptions = []string{"lxc.cgroup2.devices.allow=a"}
	out, err := CreateContainer(context.Background(), env, g, Options{})
	if !errors.Is(err, ErrNeedsSSH) {
		t.Fatalf("want ErrNeedsSSH, got %v", err)
	}
	if !out.Exists || out.Ref.ID != 920 {
		t.Fatalf("the created guest must be reported so it stays managed: %+v", out)
	}
}

func TestDestroyHonoursProtection(t *testing.T) {
	env := testEnv(t)
	ctx := context.Background()
	out, err := CreateContainer(ctx, env, ct(930), Options{Started: true})
	if err != nil {
		t.Fatal(err)
	}
	destroyProtected(t, env, out.Ref, DestroyContainer)
	if _, ok, err := env.API.Locate(ctx, 930); err != nil || ok {
		t.Fatalf("guest still there: %v %v", ok, err)
	}
}

// destroyProtected sets PVE's protection flag on ref and wants destroy
// refused, then unsets it and wants destroy to succeed.
func destroyProtected(t *testing.T, env Env, ref pve.Ref, destroy func(context.Context, Env, pve.Ref) error) {
	t.Helper()
	ctx := context.Background()
	if err := env.API.UpdateConfig(ctx, ref, map[string]string{"protection": "1"}, nil, ""); err != nil {
		t.Fatal(err)
	}
	if err := destroy(ctx, env, ref); err == nil || !strings.Contains(err.Error(), "protection") {
		t.Fatalf("protected %s: want a protection refusal, got %v", ref, err)
	}
	if err := env.API.UpdateConfig(ctx, ref, nil, []string{"protection"}, ""); err != nil {
		t.Fatal(err)
	}
	if err := destroy(ctx, env, ref); err != nil {
		t.Fatal(err)
	}
}

// A template given as an absolute path on the node (real phoenix hosts keep
// some outside every storage) goes to PVE as the path for root@pam, as the
// orchestrator's pct create did; a path the node lacks fails in the task
// with PVE's message; with a token the provider explains before asking PVE.
func TestAbsoluteTemplatePath(t *testing.T) {
	srv, err := pvesim.Start(pvesim.Options{TaskDuration: 5 * time.Millisecond, LockTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	pvesimtest.CheckSchemaAtEnd(t, srv)
	root, err := srv.NodeRoot("pve")
	if err != nil {
		t.Fatal(err)
	}
	tmpl := "/opt/phoenix/templates/ubuntu-24.04-standard_24.04-2_amd64.tar.zst"
	if err := os.MkdirAll(filepath.Join(root, filepath.Dir(tmpl)), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, tmpl), []byte("tarball"), 0o644); err != nil {
		t.Fatal(err)
	}
	api, err := pve.New(pve.Config{Endpoint: srv.Endpoint(), Username: srv.Username(), Password: srv.Password(), CAPEM: string(srv.CACertPEM())})
	if err != nil {
		t.Fatal(err)
	}
	env := Env{API: api, Node: "pve", Log: func(s string) { t.Log(s) }}
	ctx := context.Background()
	g := ct(940)
	g.OSTemplate, g.Template = "", tmpl
	if _, err := CreateContainer(ctx, env, g, Options{}); err != nil {
		t.Fatal(err)
	}
	cfg, err := api.Config(ctx, pve.Ref{Node: "pve", Kind: pve.LXC, ID: 940})
	if err != nil || cfg.Values["ostype"] != "ubuntu" {
		t.Fatalf("CT from the path: %v %v", cfg, err)
	}
	missing := ct(941)
	missing.OSTemplate, missing.Template = "", "/opt/phoenix/templates/missing.tar.zst"
	out, err := CreateContainer(ctx, env, missing, Options{})
	if err == nil || !strings.Contains(err.Error(), "can't find file '/opt/phoenix/templates/missing.tar.zst'") || out.Exists {
		t.Fatalf("missing path: exists %v, %v", out.Exists, err)
	}
	token, err := pve.New(pve.Config{Endpoint: srv.Endpoint(), APIToken: srv.TokenID() + "=" + srv.TokenSecret(), CAPEM: string(srv.CACertPEM())})
	if err != nil {
		t.Fatal(err)
	}
	env.API = token
	if _, err := CreateContainer(ctx, env, ct942(tmpl), Options{}); err == nil || !strings.Contains(err.Error(), "accepts only from root@pam") {
		t.Fatalf("token: %v", err)
	}
}

func ct942(tmpl string) *phoenix.Guest {
	g := ct(942)
	g.OSTemplate, g.Template = "", tmpl
	return g
}
