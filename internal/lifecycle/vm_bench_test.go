//go:build linux

package lifecycle

import (
	"context"
	"testing"
	"time"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/pvesim"
)

// BenchmarkVMCreateAndRead creates a VM from the cloud image (agent
// installed by cloud-init, one feature run through the agent) and reads it
// back as a no-change refresh does, reporting PVE requests per create and
// per read, and the time from the start task's end to the agent's answer.
func BenchmarkVMCreateAndRead(b *testing.B) {
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		env, srv := vmEnvB(b)
		ctx := context.Background()
		id := 8000 + i
		g := vmGuest(id, "bench")
		srv.Faults().ResetStats()
		b.StartTimer()
		if _, err := CreateVM(ctx, env, g, vmOpts(g, feature("base_setup"))); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		b.ReportMetric(float64(total(srv.Faults().Counters())), "requests/create")
		srv.Faults().ResetStats()
		if _, err := Read(ctx, env, id, vmGuest(id, "bench")); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(total(srv.Faults().Counters())), "requests/read")
		ready, err := agentReadyAfterStart(ctx, env, srv, id)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(ready.Milliseconds()), "ms-start-to-agent")
		b.StartTimer()
	}
}

func total(c map[string]int) int {
	n := 0
	for _, v := range c {
		n += v
	}
	return n
}

// agentReadyAfterStart restarts the VM and measures from the end of its
// start task to the agent's first answer (the simulator's boot delay,
// cloud-init and polling granularity included).
func agentReadyAfterStart(ctx context.Context, env Env, srv *pvesim.Server, id int) (time.Duration, error) {
	ref, _, err := env.API.Locate(ctx, id)
	if err != nil {
		return 0, err
	}
	if err := env.API.Stop(ctx, ref); err != nil {
		return 0, err
	}
	if err := env.API.Start(ctx, ref); err != nil {
		return 0, err
	}
	start := time.Now()
	if err := waitAgent(ctx, env, ref); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}
