//go:build linux

package bench

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/lifecycle"
	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/phoenix"
	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/pve"
	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/pvesim"
	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/pvesimtest"
)

// applyScale shrinks a real host's task durations for the apply benchmark
// (a 20 s clone runs 1 s).
const applyScale = 0.05

// BenchmarkApply applies the reference estate's 15 containers
// (../shared/phoenix/seed-layout: clone chains 900 > 901 > 920 > 950 and
// dependencies on 953) on a simulator whose tasks take a real host's times,
// scaled. The scheduling is a test harness standing in for Terraform and the
// provider's build registry, with the order they give the one-block estate
// module: each guest goes through lifecycle.Create (create or clone,
// configure, start, template snapshot) once what it depends on is applied,
// at most 10 at a time (Terraform's -parallelism). Feature scripts, raw lxc lines and GPU
// entries need the node shell and are left out; their tasks are not part of
// the critical path either. Also reported: the graph-order apply's requests
// and task polls per guest.
//
// Two orders: "graph", a guest waits only for its own clone source and
// dependencies; "tiers", the former tier-by-tier estate module, a guest
// waits for the whole previous tier. Reported against the critical path (the sum
// of task durations along the longest chain), against the best schedule
// PVE's locks allow (a clone holds its source's 'disk' lock for the whole
// copy, so clones of one source run one after the other) and the serial
// orchestrator's time (the sum of all tasks).
//
// Target: graph order within 1.15 times the critical path.
func BenchmarkApply(b *testing.B) {
	dir := filepath.Join(pvesimtest.SharedDir(), "phoenix", "seed-layout")
	if _, err := os.Stat(dir); err != nil {
		b.Skipf("the reference estate is not here (%v): set PHOENIX_SHARED_DIR", err)
	}
	est, err := phoenix.Load(phoenix.Sources{Dir: dir})
	if err != nil {
		b.Fatal(err)
	}
	plan := newApplyPlan(est)
	for b.Loop() {
		graph, st := plan.run(b, dir, false)
		tiers, _ := plan.run(b, dir, true)
		cp, bound, serial := plan.criticalPath(), plan.lockBound(10), plan.serial()
		b.ReportMetric(cp.Seconds(), "cp-s")
		b.ReportMetric(bound.Seconds(), "lock-bound-s")
		b.ReportMetric(graph.Seconds(), "wall-graph-s")
		b.ReportMetric(tiers.Seconds(), "wall-tiers-s")
		b.ReportMetric(graph.Seconds()/cp.Seconds(), "graph/cp")
		b.ReportMetric(graph.Seconds()/bound.Seconds(), "graph/lock-bound")
		b.ReportMetric(tiers.Seconds()/cp.Seconds(), "tiers/cp")
		b.ReportMetric(serial.Seconds()/cp.Seconds(), "serial/cp")
		n := float64(len(plan.guests))
		b.ReportMetric(float64(st.Requests)/n, "req/guest")
		b.ReportMetric(float64(st.TaskPolls)/n, "polls/guest")
	}
}

type applyPlan struct {
	guests []*phoenix.Guest // containers only, ascending ID
	byID   map[int]*phoenix.Guest
	tiers  [][]int
}

func newApplyPlan(est *phoenix.Estate) *applyPlan {
	p := &applyPlan{byID: map[int]*phoenix.Guest{}}
	for _, g := range est.Guests {
		if g.Kind != phoenix.KindLXC {
			continue
		}
		c := *g
		// What needs the node shell stays out (see the benchmark's comment).
		c.LXCOptions, c.AppArmorProfile, c.GPUs, c.Features, c.HealthChecks = nil, "", nil, nil, nil
		p.guests = append(p.guests, &c)
		p.byID[c.ID] = &c
	}
	for _, tier := range est.Tiers {
		var t []int
		for _, id := range tier {
			if p.byID[id] != nil {
				t = append(t, id)
			}
		}
		if len(t) > 0 {
			p.tiers = append(p.tiers, t)
		}
	}
	return p
}

func scaled(typ string) time.Duration {
	return time.Duration(float64(pvesim.RealisticTaskDurations[typ]) * applyScale)
}

// origin is the task that makes g (clone or create); rest what follows it.
func (p *applyPlan) origin(g *phoenix.Guest) time.Duration {
	if g.CloneFrom != nil {
		return scaled("vzclone")
	}
	return scaled("vzcreate")
}

func (p *applyPlan) rest(g *phoenix.Guest) time.Duration {
	d := scaled("vzstart")
	if g.TemplateSnapshot != "" {
		d += scaled("vzsnapshot")
	}
	return d
}

// deps are the guests g waits for: its clone source and dependencies.
func (p *applyPlan) deps(g *phoenix.Guest) []int {
	var out []int
	if g.CloneFrom != nil {
		out = append(out, *g.CloneFrom)
	}
	for _, d := range g.Dependencies {
		if p.byID[d] != nil && !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	return out
}

// criticalPath is the longest chain of task durations.
func (p *applyPlan) criticalPath() time.Duration {
	finish := map[int]time.Duration{}
	var longest time.Duration
	for _, tier := range p.tiers {
		for _, id := range tier {
			g := p.byID[id]
			var start time.Duration
			for _, d := range p.deps(g) {
				start = max(start, finish[d])
			}
			finish[id] = start + p.origin(g) + p.rest(g)
			longest = max(longest, finish[id])
		}
	}
	return longest
}

func (p *applyPlan) serial() time.Duration {
	var sum time.Duration
	for _, g := range p.guests {
		sum += p.origin(g) + p.rest(g)
	}
	return sum
}

// tail is the longest chain from g's start to the end (its priority).
func (p *applyPlan) tail(id int, memo map[int]time.Duration) time.Duration {
	if d, ok := memo[id]; ok {
		return d
	}
	g := p.byID[id]
	var after time.Duration
	for _, o := range p.guests {
		if slices.Contains(p.deps(o), id) {
			after = max(after, p.tail(o.ID, memo))
		}
	}
	memo[id] = p.origin(g) + p.rest(g) + after
	return memo[id]
}

// lockBound is the makespan of a schedule that starts, at every moment,
// the ready guests with the longest remaining chain first, at most width at
// once, a clone only while its source's lock is free (held for the clone's
// copy): what the best order achieves under PVE's locks.
func (p *applyPlan) lockBound(width int) time.Duration {
	memo := map[int]time.Duration{}
	type running struct {
		id             int
		unlock, finish time.Duration
	}
	done := map[int]time.Duration{}
	started := map[int]bool{}
	var now time.Duration
	var run []running
	for len(done) < len(p.guests) {
		var ready []*phoenix.Guest
		for _, g := range p.guests {
			ok := !started[g.ID]
			for _, d := range p.deps(g) {
				if _, fin := done[d]; !fin {
					ok = false
				}
			}
			if ok {
				ready = append(ready, g)
			}
		}
		sort.SliceStable(ready, func(i, j int) bool { return p.tail(ready[i].ID, memo) > p.tail(ready[j].ID, memo) })
		for _, g := range ready {
			locked := false
			for _, r := range run {
				if g.CloneFrom != nil && p.byID[r.id].CloneFrom != nil && *p.byID[r.id].CloneFrom == *g.CloneFrom && r.unlock > now {
					locked = true
				}
			}
			if locked || len(run) >= width {
				continue
			}
			started[g.ID] = true
			run = append(run, running{id: g.ID, unlock: now + p.origin(g), finish: now + p.origin(g) + p.rest(g)})
		}
		// advance to the next event: a lock released or a guest finished
		next := time.Duration(1 << 62)
		for _, r := range run {
			if r.unlock > now {
				next = min(next, r.unlock)
			}
			next = min(next, r.finish)
		}
		now = next
		kept := run[:0]
		for _, r := range run {
			if r.finish <= now {
				done[r.id] = r.finish
			} else {
				kept = append(kept, r)
			}
		}
		run = kept
	}
	return now
}

// run applies the estate on a new simulator and returns the wall time and
// the client's counters.
func (p *applyPlan) run(b *testing.B, dir string, byTiers bool) (time.Duration, pve.Stats) {
	srv, err := pvesim.Start(pvesim.Options{PhoenixConfigDir: dir, TaskDurations: pvesim.RealisticTaskDurations, TaskScale: applyScale})
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
	apply := func(g *phoenix.Guest) error {
		_, err := lifecycle.Create(ctx, env, g, lifecycle.Options{Started: true})
		return err
	}
	start := time.Now()
	if byTiers {
		for _, tier := range p.tiers {
			if err := parallel(len(tier), 10, func(i int) error { return apply(p.byID[tier[i]]) }); err != nil {
				b.Fatal(err)
			}
		}
		return time.Since(start), api.Stats()
	}
	done := map[int]chan struct{}{}
	for _, g := range p.guests {
		done[g.ID] = make(chan struct{})
	}
	sem := make(chan struct{}, 10)
	var wg sync.WaitGroup
	errs := make(chan error, len(p.guests))
	for _, g := range p.guests {
		wg.Add(1)
		go func(g *phoenix.Guest) {
			defer wg.Done()
			defer close(done[g.ID])
			for _, d := range p.deps(g) {
				<-done[d]
			}
			sem <- struct{}{}
			defer func() { <-sem }()
			if err := apply(g); err != nil {
				errs <- err
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
	return time.Since(start), api.Stats()
}
