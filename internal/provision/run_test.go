package provision

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

func mustRun(t *testing.T, tg Target, h Host, spec Spec, prev []Record, log func(string)) []Record {
	t.Helper()
	recs, err := Run(context.Background(), tg, h, spec, prev, log)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return recs
}

func names(recs []Record) []string {
	var out []string
	for _, r := range recs {
		out = append(out, r.Name+":"+r.Status)
	}
	return out
}

func TestRunOrderContextAndEnvironment(t *testing.T) {
	g := newFake()
	var logs logSink
	spec := baseSpec(feature("base_setup", "echo base"), feature("vllm", "echo vllm"), app("phoenix_hypervisor_lxc_vllm.sh", "echo app"))
	spec.Env = map[string]string{"EXTRA": "x", "PHOENIX_GUEST_ID": "overridden?"}
	recs := mustRun(t, g, nil, spec, nil, logs.log)

	wantExecs := []string{
		"/bin/mkdir -p /tmp/phoenix_run /etc/phoenix",
		"/bin/bash /tmp/phoenix_run/phoenix_hypervisor_feature_install_base_setup.sh 950",
		"/bin/bash /tmp/phoenix_run/phoenix_hypervisor_feature_install_vllm.sh 950",
		"/bin/bash /tmp/phoenix_run/phoenix_hypervisor_lxc_vllm.sh 950",
	}
	if got := g.execs(); !reflect.DeepEqual(got, wantExecs) {
		t.Fatalf("execs:\n got %q\nwant %q", got, wantExecs)
	}
	// Pushes: utils and context once, then each script right before it runs.
	var pushes []string
	for _, c := range g.calls {
		if c.Op == "push" {
			pushes = append(pushes, fmt.Sprintf("%s %o", c.Path, c.Mode))
		}
	}
	wantPushes := []string{
		"/tmp/phoenix_run/phoenix_hypervisor_common_utils.sh 644",
		"/etc/phoenix/guest.json 600",
		"/tmp/phoenix_run/phoenix_hypervisor_feature_install_base_setup.sh 755",
		"/tmp/phoenix_run/phoenix_hypervisor_feature_install_vllm.sh 755",
		"/tmp/phoenix_run/phoenix_hypervisor_lxc_vllm.sh 755",
	}
	if !reflect.DeepEqual(pushes, wantPushes) {
		t.Fatalf("pushes:\n got %q\nwant %q", pushes, wantPushes)
	}
	if string(g.files["/tmp/phoenix_run/phoenix_hypervisor_feature_install_vllm.sh"]) != "echo vllm" {
		t.Errorf("vllm script content = %q", g.files["/tmp/phoenix_run/phoenix_hypervisor_feature_install_vllm.sh"])
	}
	// The context keeps unknown keys and puts each top-level key on its own line.
	wantCtx := "{\n  \"name\": \"vllm-qwen\",\n  \"vllm_args\": [\n    \"--port\",\n    \"8000\"\n  ],\n" +
		"  \"vllm_model\": \"Qwen/Qwen2.5-7B-Instruct-AWQ\",\n  \"vmid\": 950\n}\n"
	if got := string(g.files[ContextPath]); got != wantCtx {
		t.Errorf("context file:\n%s\nwant\n%s", got, wantCtx)
	}
	env := g.lastExec(t, "phoenix_hypervisor_lxc_vllm.sh").Req.Env
	wantEnv := map[string]string{
		"EXTRA": "x", "PHOENIX_GUEST_ID": "950", "PHOENIX_GUEST_NAME": "vllm-qwen", "PHOENIX_GUEST_KIND": "lxc",
		"PHOENIX_GUEST_JSON": "/etc/phoenix/guest.json", "PHOENIX_FEATURE": "phoenix_hypervisor_lxc_vllm.sh",
		"PHOENIX_STEP_KIND": "application", "PHOENIX_RUN_DIR": "/tmp/phoenix_run",
	}
	if !reflect.DeepEqual(env, wantEnv) {
		t.Errorf("env:\n got %v\nwant %v", env, wantEnv)
	}
	if got := g.lastExec(t, "phoenix_hypervisor_feature_install_vllm.sh").Req.Env["PHOENIX_FEATURE"]; got != "vllm" {
		t.Errorf("PHOENIX_FEATURE for the vllm feature = %q", got)
	}
	if want := []string{"base_setup:ok", "vllm:ok", "phoenix_hypervisor_lxc_vllm.sh:ok"}; !reflect.DeepEqual(names(recs), want) {
		t.Fatalf("records %v, want %v", names(recs), want)
	}
	for i, r := range recs {
		if r.Digest != Digest(spec.Steps[i]) || r.Kind != string(spec.Steps[i].Kind) {
			t.Errorf("record %d = %+v, want digest %s kind %s", i, r, Digest(spec.Steps[i]), spec.Steps[i].Kind)
		}
	}
	if !strings.Contains(logs.text(), "950/vllm: ran phoenix_hypervisor_feature_install_vllm.sh") {
		t.Errorf("script output not logged with its prefix:\n%s", logs.text())
	}
}

func TestNoCommonUtilsNoPush(t *testing.T) {
	g := newFake()
	spec := baseSpec(feature("docker", "x"))
	spec.CommonUtils = nil
	mustRun(t, g, nil, spec, nil, nil)
	if _, ok := g.files["/tmp/phoenix_run/"+CommonUtilsName]; ok {
		t.Fatal("common utils pushed although features_dir has none")
	}
}

func TestRerunOnlyWhatChanged(t *testing.T) {
	g := newFake()
	steps := []Step{feature("base_setup", "v1"), feature("docker", "v1"), app("app.sh", "v1")}
	recs := mustRun(t, g, nil, baseSpec(steps...), nil, nil)

	// Nothing changed: nothing runs, not even the preparation.
	if p := Pending(steps, recs); len(p) != 0 {
		t.Fatalf("Pending after a clean run = %v", p)
	}
	g.reset()
	again := mustRun(t, g, nil, baseSpec(steps...), recs, nil)
	if len(g.calls) != 0 || !reflect.DeepEqual(again, recs) {
		t.Fatalf("unchanged re-apply made calls %q / changed records %v", g.execs(), again)
	}

	cases := []struct {
		name   string
		change func([]Step) []Step
		want   []string
	}{
		{"changed script", func(s []Step) []Step { s[1].Content = []byte("v2"); return s }, []string{"docker"}},
		{"trigger", func(s []Step) []Step { s[0].Trigger = "2024-06-01"; return s }, []string{"base_setup"}},
		{"host mode flipped", func(s []Step) []Step { s[2].HostMode = true; return s }, []string{"app.sh"}},
		{"added feature", func(s []Step) []Step {
			return append(s[:2:2], feature("nvidia", "v1"), s[2])
		}, []string{"nvidia"}},
		{"source moved, same content", func(s []Step) []Step { s[1].Source = "/elsewhere/docker.sh"; return s }, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			changed := c.change(append([]Step(nil), steps...))
			if got := Pending(changed, recs); !reflect.DeepEqual(got, c.want) {
				t.Fatalf("Pending = %v, want %v", got, c.want)
			}
			h, g := newFake(), newFake()
			out := mustRun(t, g, h, baseSpec(changed...), recs, nil)
			ran := append(g.scriptsRun(), h.scriptsRun()...)
			if len(ran) != len(c.want) {
				t.Fatalf("ran %v, want %v", ran, c.want)
			}
			if len(out) != len(changed) || len(Pending(changed, out)) != 0 {
				t.Fatalf("records after the run %v still leave %v pending", out, Pending(changed, out))
			}
		})
	}

	t.Run("removed feature dropped", func(t *testing.T) {
		kept := []Step{steps[0], steps[2]}
		if p := Pending(kept, recs); len(p) != 0 {
			t.Fatalf("removing a feature made %v pending", p)
		}
		if want := []string{"base_setup:ok", "app.sh:ok"}; !reflect.DeepEqual(names(Prune(kept, recs)), want) {
			t.Fatalf("Prune = %v, want %v", names(Prune(kept, recs)), want)
		}
		g := newFake()
		out := mustRun(t, g, nil, baseSpec(kept...), recs, nil)
		if len(g.calls) != 0 {
			t.Fatalf("removing a feature ran %q", g.execs())
		}
		if want := []string{"base_setup:ok", "app.sh:ok"}; !reflect.DeepEqual(names(out), want) {
			t.Fatalf("records %v, want %v", names(out), want)
		}
	})
}

func TestDigest(t *testing.T) {
	base := feature("docker", "echo hi")
	same := base
	same.Name, same.Source, same.Timeout = "renamed", "/other/path.sh", time.Hour
	if Digest(base) != Digest(same) {
		t.Error("name, source or timeout changed the digest")
	}
	if !strings.HasPrefix(Digest(base), "sha256:") || len(Digest(base)) != 7+64 {
		t.Errorf("digest %q is not sha256:<hex>", Digest(base))
	}
	variants := map[string]Step{}
	v := base
	v.Content = []byte("echo hi ")
	variants["content"] = v
	v = base
	v.Trigger = "1"
	variants["trigger"] = v
	v = base
	v.HostMode = true
	variants["host mode"] = v
	v = base
	v.Kind = KindApplication
	variants["kind"] = v
	// Length prefixes: moving bytes between trigger and content is a change.
	a, b := base, base
	a.Trigger, a.Content = "ab", []byte("c")
	b.Trigger, b.Content = "a", []byte("bc")
	if Digest(a) == Digest(b) {
		t.Error("trigger/content boundary is ambiguous")
	}
	for what, s := range variants {
		if Digest(s) == Digest(base) {
			t.Errorf("changing the %s left the digest unchanged", what)
		}
	}
}

func TestFailureStopsAndResumes(t *testing.T) {
	g := newFake()
	var stderr []string
	for i := 1; i <= 30; i++ {
		stderr = append(stderr, fmt.Sprintf("error line %02d", i))
	}
	g.scripts["phoenix_hypervisor_feature_install_docker.sh"] = exitWith(3, stderr...)
	steps := []Step{feature("base_setup", "a"), feature("docker", "b"), feature("vllm", "c"), app("app.sh", "d")}
	prev := []Record{{Name: "app.sh", Kind: "application", Digest: Digest(steps[3]), Status: StatusOK}}

	recs, err := Run(context.Background(), g, nil, baseSpec(steps...), prev, nil)
	var se *StepError
	if !errors.As(err, &se) {
		t.Fatalf("error %v (%T) is not a *StepError", err, err)
	}
	if se.GuestID != 950 || se.GuestName != "vllm-qwen" || se.Step != "docker" || se.Kind != KindFeature || se.ExitCode != 3 || se.TimedOut || se.Err != nil {
		t.Fatalf("StepError = %+v", se)
	}
	tail := strings.Split(se.StderrTail, "\n")
	if len(tail) != TailLines || tail[0] != "error line 11" || tail[19] != "error line 30" {
		t.Fatalf("stderr tail = %q, want lines 11..30", tail)
	}
	msg := err.Error()
	for _, want := range []string{"guest 950 (vllm-qwen)", `feature "docker"`, "exit code 3", "error line 30"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	if strings.Contains(msg, "error line 10") {
		t.Errorf("error holds more than the tail: %q", msg)
	}
	if got := g.scriptsRun(); !reflect.DeepEqual(got, []string{"phoenix_hypervisor_feature_install_base_setup.sh", "phoenix_hypervisor_feature_install_docker.sh"}) {
		t.Fatalf("ran %v: the run must stop at the failing feature", got)
	}
	// Succeeded, failed, and the untouched later record; vllm never ran.
	if want := []string{"base_setup:ok", "docker:failed", "app.sh:ok"}; !reflect.DeepEqual(names(recs), want) {
		t.Fatalf("records %v, want %v", names(recs), want)
	}
	if recs[1].ExitCode != 3 {
		t.Errorf("failed record exit code %d", recs[1].ExitCode)
	}

	// Next apply, script fixed: resume at docker, base_setup stays done.
	if p := Pending(steps, recs); !reflect.DeepEqual(p, []string{"docker", "vllm"}) {
		t.Fatalf("Pending after failure = %v", p)
	}
	delete(g.scripts, "phoenix_hypervisor_feature_install_docker.sh")
	g.reset()
	recs = mustRun(t, g, nil, baseSpec(steps...), recs, nil)
	if got := g.scriptsRun(); !reflect.DeepEqual(got, []string{"phoenix_hypervisor_feature_install_docker.sh", "phoenix_hypervisor_feature_install_vllm.sh"}) {
		t.Fatalf("resume ran %v", got)
	}
	if want := []string{"base_setup:ok", "docker:ok", "vllm:ok", "app.sh:ok"}; !reflect.DeepEqual(names(recs), want) {
		t.Fatalf("records %v, want %v", names(recs), want)
	}
}

func TestTailBoundedInBytesAndFallsBackToStdout(t *testing.T) {
	g := newFake()
	long := strings.Repeat("é", 3000) // 6000 bytes: one line alone is over TailBytes
	g.scripts["phoenix_hypervisor_feature_install_a.sh"] = exitWith(1, "first", long, long)
	g.scripts["phoenix_hypervisor_feature_install_b.sh"] = func(ctx context.Context, req ExecRequest, out LineSink) (ExecResult, error) {
		out(Stdout, "E: Unable to locate package foo")
		return ExecResult{ExitCode: 100}, nil
	}
	_, err := Run(context.Background(), g, nil, baseSpec(feature("a", "1")), nil, nil)
	var se *StepError
	if !errors.As(err, &se) || len(se.StderrTail) > TailBytes || !strings.HasSuffix(se.StderrTail, "éé") || strings.Contains(se.StderrTail, "first") {
		t.Fatalf("tail %d bytes (max %d), suffix ok=%v: %v", len(se.StderrTail), TailBytes, strings.HasSuffix(se.StderrTail, "é"), err)
	}
	if !strings.HasPrefix(se.StderrTail, "é") {
		t.Errorf("tail does not start on a rune boundary: % x", se.StderrTail[:4])
	}
	_, err = Run(context.Background(), g, nil, baseSpec(feature("b", "1")), nil, nil)
	if !errors.As(err, &se) || se.StderrTail != "E: Unable to locate package foo" || se.ExitCode != 100 {
		t.Fatalf("stdout fallback: %+v", se)
	}
}

func TestHungScriptTimesOut(t *testing.T) {
	g := newFake()
	hung := func(ctx context.Context, req ExecRequest, out LineSink) (ExecResult, error) {
		out(Stdout, "waiting forever")
		<-ctx.Done() // a transport kills the command when its context ends
		return ExecResult{ExitCode: -1}, ctx.Err()
	}
	g.scripts["phoenix_hypervisor_feature_install_hang.sh"] = hung
	s := feature("hang", "sleep infinity")
	s.Timeout = 20 * time.Millisecond
	var logs logSink
	recs, err := Run(context.Background(), g, nil, baseSpec(feature("ok", "1"), s), nil, logs.log)
	var se *StepError
	if !errors.As(err, &se) || !se.TimedOut || se.Timeout != s.Timeout || se.Err != nil || se.ExitCode != -1 {
		t.Fatalf("want a timed-out StepError, got %+v (%v)", se, err)
	}
	if !strings.Contains(err.Error(), "timed out after 20ms") || !strings.Contains(logs.text(), "950/hang: timed out") {
		t.Errorf("timeout not reported: %v\n%s", err, logs.text())
	}
	if c := g.lastExec(t, "phoenix_hypervisor_feature_install_hang.sh"); !c.HasDeadline || c.Req.Timeout != s.Timeout {
		t.Errorf("executor got deadline=%v timeout=%v", c.HasDeadline, c.Req.Timeout)
	}
	if want := []string{"ok:ok", "hang:failed"}; !reflect.DeepEqual(names(recs), want) {
		t.Errorf("records %v, want %v", names(recs), want)
	}

	// A transport that reports the kill itself.
	g.scripts["phoenix_hypervisor_feature_install_hang.sh"] = func(ctx context.Context, req ExecRequest, out LineSink) (ExecResult, error) {
		return ExecResult{ExitCode: -1, TimedOut: true}, nil
	}
	if _, err := Run(context.Background(), g, nil, baseSpec(s), nil, nil); !errors.As(err, &se) || !se.TimedOut {
		t.Fatalf("ExecResult.TimedOut not honoured: %v", err)
	}
}

func TestDefaultStepTimeoutReachesExecutor(t *testing.T) {
	g := newFake()
	before := time.Now()
	mustRun(t, g, nil, baseSpec(feature("docker", "x")), nil, nil)
	c := g.lastExec(t, "phoenix_hypervisor_feature_install_docker.sh")
	if c.Req.Timeout != DefaultStepTimeout || !c.HasDeadline || c.Deadline.Before(before.Add(DefaultStepTimeout)) {
		t.Fatalf("timeout %v deadline %v (has %v), want %v from now", c.Req.Timeout, c.Deadline, c.HasDeadline, DefaultStepTimeout)
	}
}

func TestCancelledRunIsNotATimeout(t *testing.T) {
	g := newFake()
	ctx, cancel := context.WithCancel(context.Background())
	g.scripts["phoenix_hypervisor_feature_install_a.sh"] = func(c context.Context, req ExecRequest, out LineSink) (ExecResult, error) {
		cancel()
		<-c.Done()
		return ExecResult{ExitCode: -1}, c.Err()
	}
	recs, err := Run(ctx, g, nil, baseSpec(feature("a", "1"), feature("b", "2")), nil, nil)
	var se *StepError
	if !errors.As(err, &se) || se.TimedOut || !errors.Is(err, context.Canceled) || se.Step != "a" {
		t.Fatalf("want a cancelled StepError for a, got %+v (%v)", se, err)
	}
	if len(g.scriptsRun()) != 1 || len(recs) != 1 || recs[0].Status != StatusFailed {
		t.Fatalf("ran %v, records %v", g.scriptsRun(), recs)
	}
}

func TestHostModeRunsOnTheNodeWithCTID(t *testing.T) {
	g, h := newFake(), newFake()
	host := feature("nvidia", "pct exec $1 -- nvidia-smi")
	host.HostMode = true
	spec := baseSpec(feature("base_setup", "a"), host)
	recs := mustRun(t, g, h, spec, nil, nil)

	if got, want := h.execs(), []string{
		"/bin/mkdir -p /tmp/phoenix_run/950 /tmp/phoenix_run/950",
		"/bin/bash /tmp/phoenix_run/950/phoenix_hypervisor_feature_install_nvidia.sh 950",
	}; !reflect.DeepEqual(got, want) {
		t.Fatalf("host execs %q, want %q", got, want)
	}
	for _, p := range []string{"/tmp/phoenix_run/950/" + CommonUtilsName, "/tmp/phoenix_run/950/guest.json"} {
		if _, ok := h.files[p]; !ok {
			t.Errorf("%s not pushed to the node", p)
		}
	}
	env := h.lastExec(t, "phoenix_hypervisor_feature_install_nvidia.sh").Req.Env
	if env["PHOENIX_RUN_DIR"] != "/tmp/phoenix_run/950" || env["PHOENIX_GUEST_JSON"] != "/tmp/phoenix_run/950/guest.json" || env["PHOENIX_GUEST_ID"] != "950" {
		t.Errorf("host env %v", env)
	}
	if got := g.scriptsRun(); !reflect.DeepEqual(got, []string{"phoenix_hypervisor_feature_install_base_setup.sh"}) {
		t.Errorf("guest ran %v; the host script must not run in the guest", got)
	}
	if len(recs) != 2 || recs[1].Status != StatusOK {
		t.Errorf("records %v", recs)
	}

	// Host-mode failures say so.
	h.scripts["phoenix_hypervisor_feature_install_nvidia.sh"] = exitWith(2, "pct: CT 950 not running")
	_, err := Run(context.Background(), g, h, spec, nil, nil)
	if err == nil || !strings.Contains(err.Error(), `host feature "nvidia" failed with exit code 2`) {
		t.Fatalf("host failure: %v", err)
	}
	// No host, host step pending: refused before anything runs.
	g2 := newFake()
	if _, err := Run(context.Background(), g2, nil, spec, nil, nil); err == nil || len(g2.calls) != 0 {
		t.Fatalf("host step without a Host: err %v, calls %q", err, g2.execs())
	}
}

func TestBufferedOutputTransport(t *testing.T) {
	g := newFake()
	// The guest agent returns output only when the command has exited.
	g.scripts["phoenix_hypervisor_feature_install_a.sh"] = func(ctx context.Context, req ExecRequest, out LineSink) (ExecResult, error) {
		return ExecResult{ExitCode: 1, Stdout: []byte("one\ntwo\n"), Stderr: []byte("bad thing\n")}, nil
	}
	var logs logSink
	_, err := Run(context.Background(), g, nil, baseSpec(feature("a", "1")), nil, logs.log)
	var se *StepError
	if !errors.As(err, &se) || se.StderrTail != "bad thing" {
		t.Fatalf("tail from buffered stderr: %+v", se)
	}
	for _, want := range []string{"950/a: one", "950/a: two", "950/a stderr: bad thing"} {
		if !strings.Contains(logs.text(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs.text())
		}
	}
}

func TestPrepareAndPushFailures(t *testing.T) {
	g := newFake()
	g.pushErr = errors.New("pct push: can only push files to a running CT")
	recs, err := Run(context.Background(), g, nil, baseSpec(feature("a", "1")), nil, nil)
	var se *StepError
	if !errors.As(err, &se) || se.Err == nil || !strings.Contains(err.Error(), "can only push files to a running CT") || se.ExitCode != -1 {
		t.Fatalf("push failure: %v", err)
	}
	if len(recs) != 1 || recs[0].Status != StatusFailed {
		t.Fatalf("records %v", recs)
	}
	mk := newFake()
	mkdirFails := &mkdirFailer{fake: mk}
	_, err = Run(context.Background(), mkdirFails, nil, baseSpec(feature("a", "1")), nil, nil)
	if !errors.As(err, &se) || !strings.Contains(err.Error(), "creating /tmp/phoenix_run in the guest: exit code 1: mkdir: read-only file system") {
		t.Fatalf("mkdir failure: %v", err)
	}
	if len(mk.scriptsRun()) != 0 {
		t.Fatalf("scripts ran after a failed preparation: %v", mk.scriptsRun())
	}
}

type mkdirFailer struct{ *fake }

func (m *mkdirFailer) Exec(ctx context.Context, req ExecRequest, out LineSink) (ExecResult, error) {
	if req.Argv[0] == Mkdir {
		out(Stderr, "mkdir: read-only file system")
		return ExecResult{ExitCode: 1}, nil
	}
	return m.fake.Exec(ctx, req, out)
}

func TestInvalidSpecs(t *testing.T) {
	prev := []Record{{Name: "a", Status: StatusOK}}
	for name, spec := range map[string]Spec{
		"duplicate": baseSpec(feature("a", "1"), feature("a", "2")),
		"no name":   baseSpec(Step{Kind: KindFeature}),
		"bad kind":  baseSpec(Step{Name: "x", Kind: "check"}),
		"context":   func() Spec { s := baseSpec(feature("a", "1")); s.Context = []byte(`["not","an","object"]`); return s }(),
	} {
		g := newFake()
		recs, err := Run(context.Background(), g, nil, spec, prev, nil)
		var se *StepError
		if err == nil || errors.As(err, &se) || len(g.calls) != 0 {
			t.Errorf("%s: err %v, calls %q", name, err, g.execs())
		}
		if name == "context" && !reflect.DeepEqual(recs, prev) {
			t.Errorf("%s: records %v, want the previous ones kept", name, recs)
		}
	}
}
