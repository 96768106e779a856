//go:build linux

package bench

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/pve"
	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/pvesim"
)

// BenchmarkTaskPolling waits for tasks of a real host's durations (clone
// 20 s, create 10 s, start 3 s, snapshot 2 s; not scaled, so the fixed
// backoff's constants meet the durations they were made for) with the
// client's adaptive polling and, on twin guests at the same time, with the
// fixed backoff the client used before (50 ms growing by half to 2 s). Each
// adaptive wait is a new client, as the first wait of a new provider
// process. Two rounds: in the first, PVE's task history knows create (from
// the setup) but not start, snapshot and clone (cold: never run on this
// node); in the second it knows them all. Reported: requests per task
// (status polls, plus the adaptive client's one task-history look-up) and
// the worst gap between a task's end and the client noticing, in percent of
// the task's duration.
//
// Target: gap under 10% with fewer polls than the fixed backoff.
func BenchmarkTaskPolling(b *testing.B) {
	for b.Loop() {
		srv, err := pvesim.Start(pvesim.Options{TaskDurations: pvesim.RealisticTaskDurations})
		if err != nil {
			b.Fatal(err)
		}
		p := &pollBench{b: b, srv: srv, ctx: context.Background()}
		p.setup()
		cold := p.round(1)
		p.stopStarted()
		warm := p.round(2)
		srv.Close()
		b.ReportMetric(cold.adaptive.polls(), "polls/task-cold")
		b.ReportMetric(warm.adaptive.polls(), "polls/task-warm")
		b.ReportMetric((cold.fixed.polls()+warm.fixed.polls())/2, "polls/task-fixed")
		b.ReportMetric(cold.adaptive.maxGap, "max-gap-%-cold")
		b.ReportMetric(warm.adaptive.maxGap, "max-gap-%-warm")
		b.ReportMetric(max(cold.fixed.maxGap, warm.fixed.maxGap), "max-gap-%-fixed")
	}
}

type pollBench struct {
	b   *testing.B
	srv *pvesim.Server
	ctx context.Context
	raw *pve.Client // sends the requests; its waits are not measured
}

type strategyStats struct {
	tasks, totalPolls int
	maxGap            float64 // percent of the task's duration
}

func (s *strategyStats) polls() float64 { return float64(s.totalPolls) / float64(s.tasks) }

func (s *strategyStats) add(polls int, gapPct float64) {
	s.tasks++
	s.totalPolls += polls
	s.maxGap = max(s.maxGap, gapPct)
}

type roundStats struct{ adaptive, fixed strategyStats }

func (p *pollBench) client() *pve.Client {
	c, err := pve.New(pve.Config{Endpoint: p.srv.Endpoint(), Username: p.srv.Username(), Password: p.srv.Password(), CAPEM: string(p.srv.CACertPEM())})
	if err != nil {
		p.b.Fatal(err)
	}
	return c
}

// post sends a task request and returns its task ID.
func (p *pollBench) post(path string, body map[string]string) string {
	var upid string
	if err := p.raw.API().Post(p.ctx, path, body, &upid); err != nil {
		p.b.Fatalf("%s: %v", path, err)
	}
	return upid
}

func (p *pollBench) await(upid string) {
	if st, err := p.srv.WaitTask(p.ctx, upid); err != nil || st != "OK" {
		p.b.Fatalf("%s: %s %v", upid, st, err)
	}
}

// Guests per strategy s (0 adaptive, 1 fixed): 11x clone source, 12x start
// target, 13x snapshot target; creates and clones get new IDs per round.
func guestID(base, s int) int { return base + s }

func (p *pollBench) setup() {
	p.raw = p.client()
	var upids []string
	for s := 0; s < 2; s++ {
		for _, base := range []int{110, 120, 130} {
			upids = append(upids, p.post("/nodes/pve/lxc", map[string]string{"vmid": strconv.Itoa(guestID(base, s)),
				"ostemplate": pvesim.DefaultCTTemplate, "rootfs": "local-lvm:4"}))
		}
	}
	for _, u := range upids {
		p.await(u)
	}
}

func (p *pollBench) stopStarted() {
	for s := 0; s < 2; s++ {
		p.await(p.post(fmt.Sprintf("/nodes/pve/lxc/%d/status/stop", guestID(120, s)), nil))
	}
}

// round starts one task of each type per strategy at once and measures
// how each strategy notices its end.
func (p *pollBench) round(n int) roundStats {
	type job struct {
		path string
		body map[string]string
	}
	jobs := func(s int) []job {
		return []job{
			{fmt.Sprintf("/nodes/pve/lxc/%d/clone", guestID(110, s)), map[string]string{"newid": strconv.Itoa(100*n + 40 + s), "full": "1"}},
			{"/nodes/pve/lxc", map[string]string{"vmid": strconv.Itoa(100*n + 50 + s), "ostemplate": pvesim.DefaultCTTemplate, "rootfs": "local-lvm:4"}},
			{fmt.Sprintf("/nodes/pve/lxc/%d/status/start", guestID(120, s)), nil},
			{fmt.Sprintf("/nodes/pve/lxc/%d/snapshot", guestID(130, s)), map[string]string{"snapname": "s" + strconv.Itoa(n)}},
		}
	}
	var rs roundStats
	var mu sync.Mutex
	var wg sync.WaitGroup
	for s := 0; s < 2; s++ {
		for _, j := range jobs(s) {
			wg.Add(1)
			go func(s int, j job) {
				defer wg.Done()
				upid := p.post(j.path, j.body)
				var polls int
				if s == 0 {
					c := p.client() // its own counters; what it learns is the process's
					if err := c.WaitTask(p.ctx, upid); err != nil {
						p.b.Error(err)
					}
					st := c.Stats()
					polls = int(st.Requests - st.Logins) // status polls and the task-history look-up
				} else {
					polls = p.fixedWait(upid)
				}
				noticed := time.Now()
				start, end, _ := p.srv.TaskTimes(upid)
				gap := 100 * noticed.Sub(end).Seconds() / end.Sub(start).Seconds()
				mu.Lock()
				defer mu.Unlock()
				if s == 0 {
					rs.adaptive.add(polls, gap)
				} else {
					rs.fixed.add(polls, gap)
				}
				u, _ := pve.ParseUPID(upid)
				p.b.Logf("round %d %-10s %-8s %3d polls, noticed %5.1f%% of %s late", n, u.Type, map[int]string{0: "adaptive", 1: "fixed"}[s],
					polls, gap, end.Sub(start).Round(time.Millisecond))
			}(s, j)
		}
	}
	wg.Wait()
	return rs
}

// fixedWait is the client's former WaitTask loop: look at once, then after
// 50 ms, each delay half again as long, at most 2 s.
func (p *pollBench) fixedWait(upid string) int {
	u, _ := pve.ParseUPID(upid)
	path := fmt.Sprintf("/nodes/%s/tasks/%s/status", u.Node, url.PathEscape(upid))
	var delay time.Duration
	for polls := 1; ; polls++ {
		var st struct {
			Status string `json:"status"`
		}
		if err := p.raw.API().Get(p.ctx, path, &st); err != nil {
			p.b.Fatal(err)
		}
		if st.Status == "stopped" {
			return polls
		}
		delay = pve.Backoff{Initial: 50 * time.Millisecond, Max: 2 * time.Second}.Next(delay)
		time.Sleep(delay)
	}
}
