//go:build linux

package pve

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/pvesim"
)

// Faults beyond robust_test.go's: the operation's deadline striking while
// PVE holds a request at a lock, and answers slower than the client's
// per-request timeout.

// A deadline that ends a lock wait in the middle of an attempt (PVE was
// still waiting for the flock) reports the lock, not a bare timeout.
func TestDeadlineDuringALockWaitNamesTheLock(t *testing.T) {
	e := newSimEnv(t, pvesim.Options{LockTimeout: 400 * time.Millisecond}, Config{})
	ref := e.createCT("pve", 910)
	release, err := e.srv.Faults().HoldLockUntil(pvesim.GuestLockPath("lxc", 910))
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	for _, d := range []time.Duration{200 * time.Millisecond, 1000 * time.Millisecond} {
		ctx, cancel := context.WithTimeout(e.ctx, d)
		err := e.c.UpdateConfig(ctx, ref, map[string]string{"cores": "2"}, nil, "")
		cancel()
		var le *LockError
		if d > 400*time.Millisecond && (!errors.As(err, &le) || !strings.Contains(err.Error(), "CT 910 on node pve: can't lock file '/run/lock/lxc/pve-config-910.lock' - got timeout") ||
			!errors.Is(err, context.DeadlineExceeded)) {
			t.Fatalf("deadline %s: want a lock error naming the guest and the file, ended by the deadline, got %v", d, err)
		}
		if d < 400*time.Millisecond && (err == nil || !errors.Is(err, context.DeadlineExceeded)) {
			t.Fatalf("deadline %s before PVE's first answer: want the deadline, got %v", d, err)
		}
	}
}

// An answer slower than the client's request timeout: a read is asked
// again; a create PVE carried out although its answer came too late is
// found, not created twice.
func TestAnswersSlowerThanTheRequestTimeout(t *testing.T) {
	e := newSimEnv(t, pvesim.Options{}, Config{HTTPTimeout: 300 * time.Millisecond})
	ref := e.createCT("pve", 920)
	f := e.srv.Faults()
	f.AddFault(pvesim.FaultRule{Method: "GET", Path: "/nodes/{node}/lxc/{vmid}/config", Latency: 800 * time.Millisecond, Count: 1})
	f.ResetStats()
	cfg, err := e.c.Config(e.ctx, ref)
	if err != nil || cfg.Values["hostname"] != "ct920" {
		t.Fatalf("a slow read must be asked again: %v %v", cfg, err)
	}
	if n := e.count("GET /nodes/{node}/lxc/{vmid}/config"); n != 2 {
		t.Fatalf("want the read sent twice, got %d", n)
	}
	f.AddFault(pvesim.FaultRule{Method: "POST", Path: "/nodes/{node}/lxc", Latency: 800 * time.Millisecond, Count: 1})
	f.ResetStats()
	e.createCT("pve", 921)
	if n := e.count("POST /nodes/{node}/lxc"); n != 1 {
		t.Fatalf("the slow create must be sent once, was sent %d times", n)
	}
	if tasks := e.tasks("pve", "vzcreate", 921); len(tasks) != 1 {
		t.Fatalf("want one create task, got %v", tasks)
	}
}
