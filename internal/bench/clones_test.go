//go:build linux

package bench

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/lifecycle"
	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/phoenix"
	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/pve"
	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/pvesim"
)

// cloneScale shrinks a real host's task durations for the clone benchmark
// (a 20 s clone runs 0.4 s) and keeps their proportions.
const cloneScale = 0.02

// BenchmarkParallelClones creates N containers cloned from one template at
// once, each through lifecycle.Create (clone, configure, start) at
// Terraform's default parallelism (10) and at -parallelism=50. PVE holds
// the source's 'disk' lock for a clone's whole copy, so clones of one
// source run one after the other however many are asked for: the bound is
// N times a clone. Reported: wall time, clones per minute of scaled time,
// wall time over that serial bound, lock retries.
//
// Target: all succeed; lock waits counted.
func BenchmarkParallelClones(b *testing.B) {
	for _, c := range []struct{ clones, parallelism int }{{10, 10}, {50, 10}, {50, 50}} {
		b.Run(fmt.Sprintf("clones=%d/parallelism=%d", c.clones, c.parallelism), func(b *testing.B) {
			for b.Loop() {
				benchClones(b, c.clones, c.parallelism)
			}
		})
	}
}

func benchClones(b *testing.B, n, width int) {
	srv, err := pvesim.Start(pvesim.Options{TaskDurations: pvesim.RealisticTaskDurations, TaskScale: cloneScale})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	api, err := pve.New(pve.Config{Endpoint: srv.Endpoint(), Username: srv.Username(), Password: srv.Password(), CAPEM: string(srv.CACertPEM())})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	env := lifecycle.Env{API: api, Node: "pve"}
	tmpl := cloneGuest(900, nil)
	out, err := lifecycle.Create(ctx, env, tmpl, lifecycle.Options{})
	if err != nil {
		b.Fatal(err)
	}
	if err := api.Template(ctx, out.Ref); err != nil {
		b.Fatal(err)
	}
	before := api.Stats()
	start := time.Now()
	src := 900
	err = parallel(n, width, func(i int) error {
		_, err := lifecycle.Create(ctx, env, cloneGuest(1000+i, &src), lifecycle.Options{Started: true})
		return err
	})
	wall := time.Since(start)
	if err != nil {
		b.Fatalf("%d clones at parallelism %d: %v", n, width, err)
	}
	clone := time.Duration(float64(pvesim.RealisticTaskDurations["vzclone"]) * cloneScale)
	after := api.Stats()
	b.ReportMetric(wall.Seconds(), "wall-s")
	b.ReportMetric(float64(n)/wall.Minutes(), "clones/min")
	b.ReportMetric(wall.Seconds()/(float64(n)*clone.Seconds()), "x-serial-bound")
	b.ReportMetric(float64(after.LockRetries-before.LockRetries), "lock-retries")
	b.ReportMetric(float64(after.Requests-before.Requests)/float64(n), "req/clone")
}

// cloneGuest is a small container, cloned from src when given.
func cloneGuest(id int, src *int) *phoenix.Guest {
	g := &phoenix.Guest{Kind: phoenix.KindLXC, ID: id, Name: fmt.Sprintf("ct-%d", id), Cores: i64(1), MemoryMB: i64(512),
		DiskSizeGB: i64(4), Storage: "local-lvm", OSTemplate: pvesim.DefaultCTTemplate,
		Network: phoenix.Network{Name: "eth0", Bridge: "vmbr0", IP: "dhcp"}}
	if src != nil {
		g.CloneFrom, g.OSTemplate = src, ""
	}
	return g
}
