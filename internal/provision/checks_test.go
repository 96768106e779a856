package provision

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"
)

// fakeWait records the waits it was asked for and returns at once.
type fakeWait struct {
	waits []time.Duration
	err   error
}

func (w *fakeWait) wait(ctx context.Context, d time.Duration) error {
	w.waits = append(w.waits, d)
	return w.err
}

func TestCommandCheckRetriesWithInjectedWait(t *testing.T) {
	g := newFake()
	calls := 0
	g.scripts["-c"] = func(ctx context.Context, req ExecRequest, out LineSink) (ExecResult, error) {
		calls++
		if calls < 3 {
			out(Stderr, "curl: (7) Failed to connect to localhost port 6333")
			return ExecResult{ExitCode: 7}, nil
		}
		out(Stdout, "qdrant is up")
		return ExecResult{}, nil
	}
	w := &fakeWait{}
	var logs logSink
	res := RunChecks(context.Background(), g, baseSpec(), []Check{{
		Name: "qdrant", Type: CheckCommand, Command: "curl -s --fail http://localhost:6333", Retries: 5, Interval: 5 * time.Second,
	}}, w.wait, logs.log)

	want := CheckResult{Name: "qdrant", OK: true, ExitCode: 0, Output: "qdrant is up", Attempts: 3}
	if !reflect.DeepEqual(res, []CheckResult{want}) {
		t.Fatalf("results %+v, want %+v", res, want)
	}
	if !reflect.DeepEqual(w.waits, []time.Duration{5 * time.Second, 5 * time.Second}) {
		t.Fatalf("waits %v, want two of 5s", w.waits)
	}
	c := g.lastExec(t, "-c")
	if !reflect.DeepEqual(c.Req.Argv, []string{Bash, "-c", "curl -s --fail http://localhost:6333"}) || c.Req.Timeout != DefaultCheckTimeout || !c.HasDeadline {
		t.Fatalf("check exec %+v", c)
	}
	if c.Req.Env["PHOENIX_STEP_KIND"] != "check" || c.Req.Env["PHOENIX_FEATURE"] != "qdrant" {
		t.Errorf("check env %v", c.Req.Env)
	}
	if !strings.Contains(logs.text(), "950/check qdrant: failed (exit code 7), attempt 1 of 6") {
		t.Errorf("log:\n%s", logs.text())
	}
}

func TestFailingChecksReportEveryCheck(t *testing.T) {
	g := newFake()
	g.scripts["check_health_checks_dummy_fail.sh"] = exitWith(1, "dummy failure")
	w := &fakeWait{}
	checks := []Check{
		{Name: "Dummy Fail", Type: CheckScript, Path: "health_checks/dummy_fail.sh", Content: []byte("exit 1"), Retries: 2, Interval: time.Second, WarnOnly: true},
		{Name: "Dummy Pass", Type: CheckScript, Path: "health_checks/dummy_pass.sh", Content: []byte("exit 0")},
		{Name: "Odd", Type: "http"},
	}
	res := RunChecks(context.Background(), g, baseSpec(), checks, w.wait, nil)
	if len(res) != 3 {
		t.Fatalf("results %+v", res)
	}
	if r := res[0]; r.OK || r.ExitCode != 1 || r.Attempts != 3 || !r.WarnOnly || r.Output != "dummy failure" {
		t.Errorf("failing check %+v", r)
	}
	if len(w.waits) != 2 {
		t.Errorf("waits %v: Retries 2 means two waits between three attempts", w.waits)
	}
	if r := res[1]; !r.OK || r.Attempts != 1 || r.WarnOnly {
		t.Errorf("passing check after a failing one %+v", r)
	}
	if r := res[2]; r.OK || !strings.Contains(r.Output, `unknown health check type "http"`) {
		t.Errorf("bad type %+v", r)
	}
	if got := g.files["/tmp/phoenix_run/check_health_checks_dummy_pass.sh"]; string(got) != "exit 0" {
		t.Errorf("check script pushed as %q", got)
	}
	c := g.lastExec(t, "check_health_checks_dummy_pass.sh")
	if !reflect.DeepEqual(c.Req.Argv, []string{Bash, "/tmp/phoenix_run/check_health_checks_dummy_pass.sh", "950"}) {
		t.Errorf("argv %q", c.Req.Argv)
	}
	if g.files[ContextPath] == nil {
		t.Error("checks run without the guest context")
	}
}

func TestCheckWaitCancelledStopsRetrying(t *testing.T) {
	g := newFake()
	g.scripts["-c"] = exitWith(1, "down")
	w := &fakeWait{err: context.Canceled}
	res := RunChecks(context.Background(), g, baseSpec(), []Check{{Name: "c", Type: CheckCommand, Command: "false", Retries: 10}}, w.wait, nil)
	if res[0].OK || res[0].Attempts != 1 || len(w.waits) != 1 || w.waits[0] != DefaultCheckInterval {
		t.Fatalf("result %+v waits %v", res[0], w.waits)
	}
	if !strings.Contains(res[0].Output, "stopped waiting to retry: context canceled") {
		t.Errorf("output %q", res[0].Output)
	}
}

func TestCheckTimeoutAndSecrets(t *testing.T) {
	g := newFake()
	g.scripts["-c"] = func(ctx context.Context, req ExecRequest, out LineSink) (ExecResult, error) {
		out(Stdout, "token=tok-123")
		<-ctx.Done()
		return ExecResult{ExitCode: -1}, ctx.Err()
	}
	spec := baseSpec()
	spec.Secrets = []string{"tok-123"}
	var logs logSink
	res := RunChecks(context.Background(), g, spec, []Check{{Name: "slow", Type: CheckCommand, Command: "x", Timeout: 10 * time.Millisecond}}, (&fakeWait{}).wait, logs.log)
	if r := res[0]; r.OK || !r.TimedOut || r.ExitCode != -1 || r.Output != "token="+Redacted {
		t.Fatalf("result %+v", r)
	}
	if strings.Contains(logs.text(), "tok-123") {
		t.Fatalf("secret in log:\n%s", logs.text())
	}
}

func TestWaitIsContextAware(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	// An hour-long wait returns at once when the context is already done.
	if err := Wait(ctx, time.Hour); err != context.Canceled {
		t.Fatalf("Wait = %v", err)
	}
	if err := Wait(context.Background(), 0); err != nil {
		t.Fatalf("Wait(0) = %v", err)
	}
}
