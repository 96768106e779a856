package provision

import (
	"context"
	"os"
	"path"
	"strings"
	"sync"
	"testing"
	"time"
)

// call is one recorded Push or Exec.
type call struct {
	Op          string // push, exec
	Path        string
	Data        []byte
	Mode        os.FileMode
	Req         ExecRequest
	Deadline    time.Time
	HasDeadline bool
}

// script decides what running a pushed script does.
type script func(ctx context.Context, req ExecRequest, out LineSink) (ExecResult, error)

// fake is a Target/Host that records calls, keeps pushed files and runs
// scripts by their base name (default: print one line, exit 0).
type fake struct {
	mu      sync.Mutex
	calls   []call
	files   map[string][]byte
	scripts map[string]script
	pushErr error
}

func newFake() *fake { return &fake{files: map[string][]byte{}, scripts: map[string]script{}} }

func (f *fake) Push(ctx context.Context, p string, data []byte, mode os.FileMode) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call{Op: "push", Path: p, Data: append([]byte(nil), data...), Mode: mode})
	if f.pushErr != nil {
		return f.pushErr
	}
	f.files[p] = append([]byte(nil), data...)
	return nil
}

func (f *fake) Exec(ctx context.Context, req ExecRequest, out LineSink) (ExecResult, error) {
	dl, has := ctx.Deadline()
	f.mu.Lock()
	f.calls = append(f.calls, call{Op: "exec", Req: req, Deadline: dl, HasDeadline: has})
	var fn script
	if len(req.Argv) > 1 && req.Argv[0] == Bash && req.Argv[1] != "-c" {
		fn = f.scripts[path.Base(req.Argv[1])]
	} else if len(req.Argv) > 2 && req.Argv[1] == "-c" {
		fn = f.scripts["-c"]
	}
	f.mu.Unlock()
	if fn != nil {
		return fn(ctx, req, out)
	}
	if req.Argv[0] == Bash {
		out(Stdout, "ran "+path.Base(req.Argv[1]))
	}
	return ExecResult{}, nil
}

// execs returns the argv of every exec, joined by spaces.
func (f *fake) execs() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, c := range f.calls {
		if c.Op == "exec" {
			out = append(out, strings.Join(c.Req.Argv, " "))
		}
	}
	return out
}

// scriptsRun returns the base names of the scripts run with bash, in order.
func (f *fake) scriptsRun() []string {
	var out []string
	for _, e := range f.execs() {
		w := strings.Fields(e)
		if len(w) > 1 && w[0] == Bash && w[1] != "-c" {
			out = append(out, path.Base(w[1]))
		}
	}
	return out
}

func (f *fake) lastExec(t *testing.T, scriptBase string) call {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := len(f.calls) - 1; i >= 0; i-- {
		c := f.calls[i]
		if c.Op == "exec" && len(c.Req.Argv) > 1 && path.Base(c.Req.Argv[1]) == scriptBase {
			return c
		}
	}
	t.Fatalf("%s was never run; execs: %q", scriptBase, f.execs())
	return call{}
}

func (f *fake) reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = nil
}

// exitWith prints stderr lines and exits with code.
func exitWith(code int, stderr ...string) script {
	return func(ctx context.Context, req ExecRequest, out LineSink) (ExecResult, error) {
		for _, l := range stderr {
			out(Stderr, l)
		}
		return ExecResult{ExitCode: code}, nil
	}
}

// logSink collects log lines.
type logSink struct {
	mu    sync.Mutex
	lines []string
}

func (l *logSink) log(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, s)
}

func (l *logSink) text() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

func feature(name, content string) Step {
	return Step{Name: name, Kind: KindFeature, Content: []byte(content),
		Source: "/features/lxc_setup/phoenix_hypervisor_feature_install_" + name + ".sh"}
}

func app(file, content string) Step {
	return Step{Name: file, Kind: KindApplication, Content: []byte(content), Source: "/features/" + file}
}

func baseSpec(steps ...Step) Spec {
	return Spec{GuestID: 950, GuestName: "vllm-qwen", GuestKind: "lxc",
		Context:     []byte(`{"name":"vllm-qwen","vmid":950,"vllm_model":"Qwen/Qwen2.5-7B-Instruct-AWQ","vllm_args":["--port","8000"]}`),
		CommonUtils: []byte("# utils\n"), Steps: steps}
}
