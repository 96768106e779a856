//go:build linux

package pve

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/pvesim"
)

// The client's behaviour under faults, against the simulator: what it
// retries, what it recovers by looking up, and how waits end.

func TestReadsAreRetriedAfterBusyAndDroppedAnswers(t *testing.T) {
	e := newSimEnv(t, pvesim.Options{}, Config{})
	ref := e.createCT("pve", 100)
	f := e.srv.Faults()
	for _, rule := range []pvesim.FaultRule{
		{Method: "GET", Path: "/nodes/{node}/lxc/{vmid}/config", Status: 503, Message: "Service Unavailable", Count: 1},
		{Method: "GET", Path: "/nodes/{node}/lxc/{vmid}/config", Drop: pvesim.DropBefore, Count: 1},
		{Method: "GET", Path: "/nodes/{node}/lxc/{vmid}/config", Drop: pvesim.DropAfter, Count: 1},
		{Method: "GET", Path: "/nodes/{node}/lxc/{vmid}/config", Status: 500, Message: "simulated failure", Count: 1},
	} {
		f.ResetStats()
		f.AddFault(rule)
		cfg, err := e.c.Config(e.ctx, ref)
		if err != nil || cfg.Values["hostname"] != "ct100" {
			t.Fatalf("%+v: want the config after one retry, got %v %v", rule, cfg, err)
		}
		if n := e.count("GET /nodes/{node}/lxc/{vmid}/config"); n != 2 {
			t.Fatalf("%+v: want 2 requests (one retry), got %d", rule, n)
		}
	}
}

// go-proxmox reads any status but 400/401/403/500/501 as success: a 503 on
// the listing must not read as an empty cluster (every guest "gone").
func TestBusyListingIsNotAnEmptyCluster(t *testing.T) {
	e := newSimEnv(t, pvesim.Options{}, Config{RetryFor: 300 * time.Millisecond})
	e.createCT("pve", 100)
	e.srv.Faults().AddFault(pvesim.FaultRule{Method: "GET", Path: "/cluster/resources", Status: 503, Message: "Service Unavailable"})
	_, found, err := e.c.GuestFresh(e.ctx, 100)
	var ae *APIError
	if found || !errors.As(err, &ae) || ae.Status != 503 || !strings.Contains(err.Error(), "gave up after") {
		t.Fatalf("want the 503 after retries, not a missing guest: found=%v err=%v", found, err)
	}
}

// A create whose answer is lost ran on PVE: the client finds the guest and
// its task instead of creating it again.
func TestLostCreateAnswerIsRecovered(t *testing.T) {
	e := newSimEnv(t, pvesim.Options{TaskDuration: 50 * time.Millisecond}, Config{})
	e.srv.Faults().AddFault(pvesim.FaultRule{Method: "POST", Path: "/nodes/{node}/lxc", Drop: pvesim.DropAfter, Count: 1})
	e.createCT("pve", 101)
	if n := e.count("POST /nodes/{node}/lxc"); n != 1 {
		t.Fatalf("the create must be sent once, was sent %d times", n)
	}
	if tasks := e.tasks("pve", "vzcreate", 101); len(tasks) != 1 {
		t.Fatalf("want one create task, got %v", tasks)
	}
	r, found, err := e.c.GuestFresh(e.ctx, 101)
	if err != nil || !found || r.Lock != "" {
		t.Fatalf("the guest must exist, created and unlocked: %+v %v %v", r, found, err)
	}
	if s := e.c.Stats(); s.Recovered != 1 {
		t.Fatalf("want one recovered request, got %+v", s)
	}
}

// A create dropped before PVE saw it left no trace: it is sent again.
func TestCreateDroppedBeforePVEIsSentAgain(t *testing.T) {
	e := newSimEnv(t, pvesim.Options{}, Config{})
	e.srv.Faults().AddFault(pvesim.FaultRule{Method: "POST", Path: "/nodes/{node}/lxc", Drop: pvesim.DropBefore, Count: 1})
	e.createCT("pve", 102)
	if n := e.count("POST /nodes/{node}/lxc"); n != 2 {
		t.Fatalf("want the create sent again once, sent %d times", n)
	}
	if tasks := e.tasks("pve", "vzcreate", 102); len(tasks) != 1 {
		t.Fatalf("want one create task, got %v", tasks)
	}
}

// A busy answer (503) means PVE did not run the request: sent again.
func TestBusyCreateIsSentAgain(t *testing.T) {
	e := newSimEnv(t, pvesim.Options{}, Config{})
	e.srv.Faults().AddFault(pvesim.FaultRule{Method: "POST", Path: "/nodes/{node}/lxc", Status: 503, Message: "Service Unavailable", Count: 2})
	e.createCT("pve", 103)
	if tasks := e.tasks("pve", "vzcreate", 103); len(tasks) != 1 {
		t.Fatalf("want one create task, got %v", tasks)
	}
}

// A refusal from the handler (500) is final for a write: never repeated.
func TestFailedWriteIsNotRepeated(t *testing.T) {
	e := newSimEnv(t, pvesim.Options{}, Config{})
	e.srv.Faults().AddFault(pvesim.FaultRule{Method: "POST", Path: "/nodes/{node}/lxc", Status: 500, Message: "simulated failure", Count: 1})
	err := e.c.CreateContainer(e.ctx, "pve", 104, map[string]string{"ostemplate": pvesim.DefaultCTTemplate, "rootfs": "local-lvm:4"})
	if err == nil || !strings.Contains(err.Error(), "simulated failure") || e.count("POST /nodes/{node}/lxc") != 1 {
		t.Fatalf("want the 500 once: %v (sent %d)", err, e.count("POST /nodes/{node}/lxc"))
	}
}

// A clone's lost answer: its task carries the source's ID, and other clones
// of the same source run beside it; the client finds its own.
func TestLostCloneAnswerIsRecovered(t *testing.T) {
	e := newSimEnv(t, pvesim.Options{TaskDuration: 30 * time.Millisecond}, Config{})
	src := e.createCT("pve", 110)
	e.srv.Faults().AddFault(pvesim.FaultRule{Method: "POST", Path: "/nodes/{node}/lxc/{vmid}/clone", Drop: pvesim.DropAfter, Count: 1})
	if err := e.c.Clone(e.ctx, src, CloneOptions{NewID: 111, Name: "c111", Full: true}); err != nil {
		t.Fatal(err)
	}
	if n := e.count("POST /nodes/{node}/lxc/{vmid}/clone"); n != 1 {
		t.Fatalf("the clone must be sent once, was sent %d times", n)
	}
	if _, found, err := e.c.GuestFresh(e.ctx, 111); err != nil || !found {
		t.Fatalf("clone missing: %v %v", found, err)
	}
	if e.c.Stats().Recovered != 1 {
		t.Fatalf("want one recovered request: %+v", e.c.Stats())
	}
}

// A start whose answer is lost: the task is found and waited on.
func TestLostStartAnswerIsRecovered(t *testing.T) {
	e := newSimEnv(t, pvesim.Options{TaskDuration: 30 * time.Millisecond}, Config{})
	ref := e.createCT("pve", 120)
	e.srv.Faults().AddFault(pvesim.FaultRule{Method: "POST", Path: "/nodes/{node}/lxc/{vmid}/status/start", Drop: pvesim.DropAfter, Count: 1})
	if err := e.c.Start(e.ctx, ref); err != nil {
		t.Fatal(err)
	}
	st, err := e.c.Status(e.ctx, ref)
	if err != nil || st.Status != "running" || len(e.tasks("pve", "vzstart", 120)) != 1 {
		t.Fatalf("want it running after one start task: %+v %v %v", st, err, e.tasks("pve", "vzstart", 120))
	}
}

// A config write guarded by a digest, repeated after a lost answer, meets
// the digest its first copy changed: done, since the values are there.
func TestLostDigestWriteIsConfirmed(t *testing.T) {
	e := newSimEnv(t, pvesim.Options{}, Config{})
	ref := e.createCT("pve", 130)
	cfg, err := e.c.Config(e.ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	e.srv.Faults().AddFault(pvesim.FaultRule{Method: "PUT", Path: "/nodes/{node}/lxc/{vmid}/config", Drop: pvesim.DropAfter, Count: 1})
	if err := e.c.UpdateConfig(e.ctx, ref, map[string]string{"cores": "3"}, nil, cfg.Digest); err != nil {
		t.Fatal(err)
	}
	if n := e.count("PUT /nodes/{node}/lxc/{vmid}/config"); n != 2 {
		t.Fatalf("want the write repeated once, sent %d times", n)
	}
	if c, _ := e.srv.GuestConfig(130); c["cores"] != "3" {
		t.Fatalf("cores = %q", c["cores"])
	}
}

// An expired ticket (PVE's live 2 hours) is renewed by logging in again.
func TestExpiredTicketLogsInAgain(t *testing.T) {
	e := newSimEnv(t, pvesim.Options{TicketLifetime: 50 * time.Millisecond}, Config{})
	ref := e.createCT("pve", 140)
	logins := e.c.Stats().Logins
	// Wait for the simulator to refuse the ticket (its lifetime is short).
	deadline := time.Now().Add(5 * time.Second)
	for e.srv.TicketValid(e.c.auth.ticket) {
		if time.Now().After(deadline) {
			t.Fatal("the ticket never expired")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := e.c.UpdateConfig(e.ctx, ref, map[string]string{"cores": "2"}, nil, ""); err != nil {
		t.Fatal(err)
	}
	if got := e.c.Stats().Logins; got != logins+1 {
		t.Fatalf("want one more login, got %d -> %d", logins, got)
	}
}

// A revoked token gets an error naming the token and what to check, never
// its secret.
func TestRevokedTokenIsExplained(t *testing.T) {
	e := newSimEnv(t, pvesim.Options{}, Config{})
	tok := e.client(Config{APIToken: e.srv.APIToken()})
	if err := tok.Login(e.ctx); err != nil {
		t.Fatal(err)
	}
	secret := e.srv.TokenSecret()
	e.srv.RevokeToken()
	_, err := tok.Config(e.ctx, ctRef("pve", 1))
	if err == nil || !strings.Contains(err.Error(), "PVE refused the API token root@pam!phoenix") ||
		!strings.Contains(err.Error(), "revoked") || !strings.Contains(err.Error(), "API Tokens") {
		t.Fatalf("want a clear token error, got %v", err)
	}
	if strings.Contains(err.Error(), secret) {
		t.Fatalf("the error must not carry the secret: %v", err)
	}
}

// A config lock left behind ends the wait with an error naming the guest
// and the lock, after LockWait.
func TestLeftLockEndsTheWaitClearly(t *testing.T) {
	e := newSimEnv(t, pvesim.Options{}, Config{LockWait: 300 * time.Millisecond})
	ref := e.createCT("pve", 900)
	if err := e.srv.EditConfFile(900, func(s string) string { return s + "lock: disk\n" }); err != nil {
		t.Fatal(err)
	}
	err := e.c.UpdateConfig(e.ctx, ref, map[string]string{"cores": "2"}, nil, "")
	var le *LockError
	if !errors.As(err, &le) || !strings.Contains(err.Error(), "CT 900 on node pve is locked (disk)") ||
		!strings.Contains(err.Error(), "pct unlock") || le.Waited < 300*time.Millisecond {
		t.Fatalf("want a lock error naming CT 900 and its lock, got %v", err)
	}
	if IsTransient(err) {
		t.Fatal("an ended lock wait must not be retried again by callers")
	}
	if e.c.Stats().LockRetries == 0 {
		t.Fatal("lock retries must be counted")
	}
}

// A file lock held elsewhere: PVE answers "can't lock file ... got timeout"
// after its own wait, synchronously or from the worker; both end the same.
func TestFileLockTimeoutEndsTheWaitClearly(t *testing.T) {
	e := newSimEnv(t, pvesim.Options{LockTimeout: 50 * time.Millisecond}, Config{LockWait: 200 * time.Millisecond})
	ref := e.createCT("pve", 901)
	if err := e.srv.Faults().HoldLock(pvesim.GuestLockPath("lxc", 901), 3*time.Second); err != nil {
		t.Fatal(err)
	}
	for name, op := range map[string]func() error{
		"config write": func() error { return e.c.UpdateConfig(e.ctx, ref, map[string]string{"cores": "2"}, nil, "") },
		"start task":   func() error { return e.c.Start(e.ctx, ref) },
	} {
		err := op()
		var le *LockError
		if !errors.As(err, &le) || !strings.Contains(err.Error(), "CT 901 on node pve: can't lock file '/run/lock/lxc/pve-config-901.lock' - got timeout") {
			t.Fatalf("%s: want a lock error naming the file and the guest, got %v", name, err)
		}
	}
}

// A worker that could not take its lock did nothing: the task is started
// again once the lock is free.
func TestTaskRefusedByALockIsStartedAgain(t *testing.T) {
	e := newSimEnv(t, pvesim.Options{LockTimeout: 50 * time.Millisecond}, Config{LockWait: 10 * time.Second})
	ref := e.createCT("pve", 902)
	if err := e.srv.Faults().HoldLock(pvesim.GuestLockPath("lxc", 902), 200*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if err := e.c.Start(e.ctx, ref); err != nil {
		t.Fatal(err)
	}
	if e.c.Stats().LockRetries == 0 || len(e.tasks("pve", "vzstart", 902)) < 2 {
		t.Fatalf("want the start task repeated after the lock timeout: %+v", e.c.Stats())
	}
}

// Clones of one source take its 'disk' lock in turn: a wait longer than
// LockWait goes on while our own clones keep getting the lock.
func TestParallelClonesWaitWhileTheyProgress(t *testing.T) {
	e := newSimEnv(t, pvesim.Options{TaskDurations: map[string]time.Duration{"vzclone": 100 * time.Millisecond}},
		Config{LockWait: 250 * time.Millisecond})
	src := e.createCT("pve", 200)
	var wg sync.WaitGroup
	errs := make([]error, 6)
	for i := range errs {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			errs[i] = e.c.Clone(e.ctx, src, CloneOptions{NewID: 201 + i, Full: true})
		}(i)
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("clone %d: %v", 201+i, err)
		}
	}
	if e.c.Stats().LockRetries == 0 {
		t.Fatal("clones of one source must have waited for its lock")
	}
}

// Migrate moves a running container in restart mode; a lost answer finds
// its vzmigrate task.
func TestMigrateFollowsTheGuest(t *testing.T) {
	e := newSimEnv(t, pvesim.Options{Nodes: []string{"pve", "pve2"}, TaskDuration: 20 * time.Millisecond}, Config{})
	ref := e.createCT("pve", 150)
	if err := e.c.Start(e.ctx, ref); err != nil {
		t.Fatal(err)
	}
	e.srv.Faults().AddFault(pvesim.FaultRule{Method: "POST", Path: "/nodes/{node}/lxc/{vmid}/migrate", Drop: pvesim.DropAfter, Count: 1})
	if err := e.c.Migrate(e.ctx, ref, "pve2", true); err != nil {
		t.Fatal(err)
	}
	r, found, err := e.c.Guest(e.ctx, 150)
	if err != nil || !found || r.Node != "pve2" || r.Status != "running" {
		t.Fatalf("want it running on pve2: %+v %v %v", r, found, err)
	}
	if n := e.count("POST /nodes/{node}/lxc/{vmid}/migrate"); n != 1 || e.c.Stats().Recovered != 1 {
		t.Fatalf("the migration must be sent once and recovered: sent %d, %+v", n, e.c.Stats())
	}
}
