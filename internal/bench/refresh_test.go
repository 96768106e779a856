//go:build linux

package bench

import (
	"context"
	"fmt"
	"reflect"
	"runtime"
	"runtime/metrics"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/lifecycle"
	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/phoenix"
)

// BenchmarkRefresh is a no-change plan's refresh of an estate of N running
// containers over 3 nodes, as the provider does it: one client per plan
// (a provider process), every guest's lifecycle.Read at Terraform's
// default parallelism (10). Terraform's own work (state, graph, diff) is
// not part of it. Reported per plan: requests per guest (the reads of each
// guest; and with the plan's own requests, the login and the cluster
// listing, spread over the guests: req/guest-total), requests per guest
// without and with a firewall, the plan's own requests, time per guest, the
// heap the refresh adds at its peak and the bytes it allocates per guest.
//
// Targets: at most 2 requests per guest; time growing linearly or better
// (ms/guest, the median plan's wall time per guest, flat or falling).
func BenchmarkRefresh(b *testing.B) {
	for _, n := range []int{100, 300, 1000} {
		b.Run(fmt.Sprintf("guests=%d", n), func(b *testing.B) {
			sim := startChildSim(b, simSpec{Nodes: []string{"pve1", "pve2", "pve3"}, Guests: n})
			guests := make([]*phoenix.Guest, n)
			for i := range guests {
				guests[i] = scaleGuest(i)
			}
			var st refreshStats
			var walls []time.Duration
			for b.Loop() {
				// Five plans per iteration: the median resists a busy machine.
				for range 5 {
					st = refresh(b, sim, guests)
					walls = append(walls, st.wall)
				}
			}
			slices.Sort(walls)
			b.ReportMetric(st.perGuest, "req/guest")
			b.ReportMetric(st.total, "req/guest-total")
			b.ReportMetric(st.plan, "plan-req")
			b.ReportMetric(walls[len(walls)/2].Seconds()*1e3/float64(n), "ms/guest")
			b.ReportMetric(st.peakHeap/(1<<20), "peak-heap-MB")
			b.ReportMetric(st.alloc/float64(n)/1024, "alloc-KB/guest")
			var plain, fw []*phoenix.Guest
			for _, g := range guests {
				if g.Firewall == nil {
					plain = append(plain, g)
				} else {
					fw = append(fw, g)
				}
			}
			b.ReportMetric(refresh(b, sim, plain).perGuest, "req/guest-plain")
			b.ReportMetric(refresh(b, sim, fw).perGuest, "req/guest-firewall")
		})
	}
}

type refreshStats struct {
	perGuest float64 // the guests' own reads
	total    float64 // all requests, per guest
	plan     float64 // the plan's own requests: login, listings
	wall     time.Duration
	peakHeap float64 // bytes above the heap before the refresh
	alloc    float64 // bytes allocated
}

// refresh reads every guest with a new client and checks the plan would be
// empty: the observed model equals the definition.
func refresh(b *testing.B, sim simInfo, guests []*phoenix.Guest) refreshStats {
	b.Helper()
	runtime.GC()
	base := heapBytes()
	var ms0 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	var peak atomic.Uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { // sample the heap while the refresh runs
		defer close(done)
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			if h := heapBytes(); h > peak.Load() {
				peak.Store(h)
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	start := time.Now()
	api := sim.client(b)
	ctx := context.Background()
	if err := api.Login(ctx); err != nil {
		b.Fatal(err)
	}
	env := lifecycle.Env{API: api, Node: "pve1"}
	observed := make([]*phoenix.Guest, len(guests))
	err := parallel(len(guests), 10, func(i int) error {
		g := *guests[i]
		observed[i] = &g
		obs, err := lifecycle.Read(ctx, env, g.ID, &g)
		if err == nil && (!obs.Found || obs.Status != "running") {
			err = fmt.Errorf("guest %d: %+v", g.ID, obs)
		}
		return err
	})
	wall := time.Since(start)
	close(stop)
	<-done
	if err != nil {
		b.Fatal(err)
	}
	for i, g := range observed {
		if !reflect.DeepEqual(g, guests[i]) {
			b.Fatalf("guest %d drifted (the plan would not be empty):\nhave %+v\nwant %+v", g.ID, g, guests[i])
		}
	}
	var ms1 runtime.MemStats
	runtime.ReadMemStats(&ms1)
	p := float64(peak.Load()) - float64(base)
	s, n := api.Stats(), float64(len(guests))
	plan := float64(s.Logins + s.Listings)
	return refreshStats{perGuest: (float64(s.Requests) - plan) / n, total: float64(s.Requests) / n, plan: plan, wall: wall,
		peakHeap: max(p, 0), alloc: float64(ms1.TotalAlloc - ms0.TotalAlloc)}
}

var heapSample = []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}

func heapBytes() uint64 {
	metrics.Read(heapSample)
	return heapSample[0].Value.Uint64()
}
