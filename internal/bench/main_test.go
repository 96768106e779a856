//go:build linux

package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"testing"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/guestconf"
	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/phoenix"
	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/pve"
	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/pvesim"
)

// The scale benchmarks run the simulator in a child process (this test
// binary, re-executed), so the parent's memory and CPU are the provider's
// alone.

const childEnv = "PHOENIX_BENCH_SIM"

// simSpec is what the child simulates: nodes and a seeded estate.
type simSpec struct {
	Nodes  []string `json:"nodes"`
	Guests int      `json:"guests"`
}

// simInfo is how the parent reaches the child's simulator.
type simInfo struct {
	Endpoint string `json:"endpoint"`
	Username string `json:"username"`
	Password string `json:"password"`
	CA       string `json:"ca"`
	Error    string `json:"error,omitempty"`
}

func TestMain(m *testing.M) {
	if spec := os.Getenv(childEnv); spec != "" {
		os.Exit(runChildSim(spec))
	}
	os.Exit(m.Run())
}

// runChildSim serves a simulator seeded as spec says until stdin closes.
func runChildSim(specJSON string) int {
	var spec simSpec
	out := json.NewEncoder(os.Stdout)
	if err := json.Unmarshal([]byte(specJSON), &spec); err != nil {
		_ = out.Encode(simInfo{Error: err.Error()})
		return 1
	}
	srv, err := pvesim.Start(pvesim.Options{Nodes: spec.Nodes})
	if err != nil {
		_ = out.Encode(simInfo{Error: err.Error()})
		return 1
	}
	defer srv.Close()
	if err := seedScaleEstate(srv, spec); err != nil {
		_ = out.Encode(simInfo{Error: err.Error()})
		return 1
	}
	_ = out.Encode(simInfo{Endpoint: srv.Endpoint(), Username: srv.Username(), Password: srv.Password(), CA: string(srv.CACertPEM())})
	_, _ = io.Copy(io.Discard, os.Stdin)
	return 0
}

// startChildSim starts a simulator process seeded with spec's estate.
func startChildSim(b *testing.B, spec simSpec) simInfo {
	b.Helper()
	raw, _ := json.Marshal(spec)
	cmd := exec.Command(os.Args[0], "-test.run=^$", "-test.bench=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+string(raw))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		stdin.Close()
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadBytes('\n')
	if err != nil {
		b.Fatalf("simulator process: %v", err)
	}
	var info simInfo
	if err := json.Unmarshal(line, &info); err != nil || info.Error != "" {
		b.Fatalf("simulator process: %s %v", info.Error, err)
	}
	return info
}

// client is a new client, as a new provider process has one.
func (s simInfo) client(b testing.TB) *pve.Client {
	b.Helper()
	c, err := pve.New(pve.Config{Endpoint: s.Endpoint, Username: s.Username, Password: s.Password, CAPEM: s.CA})
	if err != nil {
		b.Fatal(err)
	}
	return c
}

func i64(n int64) *int64 { return &n }
func boolp(v bool) *bool { return &v }

// scaleGuest is guest i of a scale estate: a running container shaped like
// phoenix's (raw AppArmor line, boot order, a static address), every other
// one with a firewall, spread over the nodes.
func scaleGuest(i int) *phoenix.Guest {
	id := 1000 + i
	g := &phoenix.Guest{Kind: phoenix.KindLXC, ID: id, Name: fmt.Sprintf("ct-%d", id), Cores: i64(2), MemoryMB: i64(2048),
		SwapMB: i64(512), DiskSizeGB: i64(8), Storage: "local-lvm", OSTemplate: pvesim.DefaultCTTemplate, StartAtBoot: boolp(true),
		Unprivileged: boolp(true), LXCOptions: []string{"lxc.apparmor.profile=unconfined"},
		Network: phoenix.Network{Name: "eth0", Bridge: "vmbr0", IP: fmt.Sprintf("10.%d.%d.%d/16", i/65536%256, i/256%256, i%256), Gateway: "10.0.0.1"}}
	if i%2 == 1 {
		g.Firewall = &phoenix.Firewall{Enabled: true, Rules: []phoenix.FirewallRule{
			{Type: "in", Action: "ACCEPT", Proto: "tcp", Port: "22", Comment: "ssh"},
			{Type: "in", Action: "ACCEPT", Source: "10.0.0.153", Proto: "tcp", Port: "8000"}}}
	}
	return g
}

// seedScaleEstate creates the estate's guests through the API, as an apply
// leaves them (config converged, started, firewall, raw lines in the file).
func seedScaleEstate(srv *pvesim.Server, spec simSpec) error {
	api, err := pve.New(pve.Config{Endpoint: srv.Endpoint(), Username: srv.Username(), Password: srv.Password(), CAPEM: string(srv.CACertPEM())})
	if err != nil {
		return err
	}
	ctx := context.Background()
	errs := make(chan error, spec.Guests)
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i := 0; i < spec.Guests; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			if err := seedGuest(ctx, srv, api, scaleGuest(i), spec.Nodes[i%len(spec.Nodes)]); err != nil {
				errs <- err
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	return <-errs
}

func seedGuest(ctx context.Context, srv *pvesim.Server, api *pve.Client, g *phoenix.Guest, node string) error {
	ref := pve.Ref{Node: node, Kind: pve.LXC, ID: g.ID}
	if err := api.CreateContainer(ctx, node, g.ID, guestconf.ContainerCreateParams(g, g.OSTemplate)); err != nil {
		return err
	}
	cfg, err := api.Config(ctx, ref)
	if err != nil {
		return err
	}
	ch := guestconf.DiffContainer(g, cfg.Values)
	if err := api.UpdateConfig(ctx, ref, ch.Set, ch.Delete, cfg.Digest); err != nil {
		return err
	}
	if g.Firewall != nil {
		if err := api.SetFirewallEnabled(ctx, ref, g.Firewall.Enabled); err != nil {
			return err
		}
		if err := api.ReplaceFirewallRules(ctx, ref, guestconf.FirewallRules(g)); err != nil {
			return err
		}
	}
	raw := ""
	for _, l := range guestconf.DesiredRawLXC(g, false) {
		raw += l.Key + ": " + l.Value + "\n"
	}
	if err := srv.EditConfFile(g.ID, func(s string) string { return s + raw }); err != nil {
		return err
	}
	return api.Start(ctx, ref)
}

// parallel runs fn for 0..n-1 with at most width at once (Terraform's
// -parallelism) and returns the first error.
func parallel(n, width int, fn func(i int) error) error {
	errs := make([]error, n)
	sem := make(chan struct{}, width)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			errs[i] = fn(i)
		}(i)
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// since is a duration in seconds, for metrics.
