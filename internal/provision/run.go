package provision

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"time"
)

// executor is what Target and Host have in common.
type executor interface {
	Push(ctx context.Context, path string, data []byte, mode os.FileMode) error
	Exec(ctx context.Context, req ExecRequest, out LineSink) (ExecResult, error)
}

// place is where scripts run: inside the guest or on the node.
type place struct {
	where   string // "in the guest" / "on the node", for logs
	ex      executor
	runDir  string
	ctxPath string
	ready   bool
}

type runner struct {
	spec    Spec
	red     *redactor
	log     func(string)
	context []byte
	guest   place
	node    place
}

func newRunner(t Target, h Host, spec Spec, log func(string)) (*runner, error) {
	if log == nil {
		log = func(string) {}
	}
	ctxJSON, err := normalContext(spec.Context)
	if err != nil {
		return nil, err
	}
	r := &runner{spec: spec, red: newRedactor(spec.Secrets), log: log, context: ctxJSON}
	r.guest = place{where: "in the guest", runDir: RunDir, ctxPath: ContextPath}
	if t != nil {
		r.guest.ex = t
	}
	nodeDir := path.Join(RunDir, strconv.Itoa(spec.GuestID))
	r.node = place{where: "on the node", runDir: nodeDir, ctxPath: path.Join(nodeDir, "guest.json")}
	if h != nil {
		r.node.ex = h
	}
	return r, nil
}

// Run runs the pending steps of spec in order (see Pending) and returns the
// records of every step still in spec: fresh ones for steps that ran, the
// previous ones for the others. On failure it stops there and returns the
// records so far with a *StepError (records of later steps stay as they
// were), so the next Run resumes at the failed step. Other errors (invalid
// spec) come back with Prune(spec.Steps, prev). Host may be nil when no step
// is in host mode.
func Run(ctx context.Context, t Target, h Host, spec Spec, prev []Record, log func(string)) ([]Record, error) {
	kept := Prune(spec.Steps, prev)
	if err := validateSteps(spec.Steps); err != nil {
		return kept, err
	}
	r, err := newRunner(t, h, spec, log)
	if err != nil {
		return kept, err
	}
	byName := indexRecords(prev)
	for _, s := range spec.Steps {
		if !needsRun(s, byName) {
			continue
		}
		if s.HostMode && h == nil {
			return kept, fmt.Errorf("provision: %s %q runs on the node, but no host is available", s.Kind, s.Name)
		}
		if !s.HostMode && t == nil {
			return kept, fmt.Errorf("provision: %s %q runs in the guest, but no guest target is available", s.Kind, s.Name)
		}
	}
	var out []Record
	for i, s := range spec.Steps {
		if !needsRun(s, byName) {
			r.log(r.label(s.Name) + ": unchanged, not run")
			out = append(out, byName[s.Name])
			continue
		}
		rec, err := r.runStep(ctx, s)
		out = append(out, rec)
		if err != nil {
			for _, later := range spec.Steps[i+1:] {
				if old, ok := byName[later.Name]; ok {
					out = append(out, old)
				}
			}
			return out, err
		}
	}
	return out, nil
}

func (r *runner) label(step string) string {
	return strconv.Itoa(r.spec.GuestID) + "/" + step
}

func (r *runner) stepError(s Step, exit int, err error) *StepError {
	return &StepError{GuestID: r.spec.GuestID, GuestName: r.spec.GuestName, Step: s.Name, Kind: s.Kind,
		HostMode: s.HostMode, ExitCode: exit, Err: err, redact: r.red.apply}
}

func (r *runner) runStep(ctx context.Context, s Step) (Record, error) {
	rec := Record{Name: s.Name, Kind: string(s.Kind), Digest: Digest(s), Status: StatusFailed, ExitCode: -1}
	p := &r.guest
	if s.HostMode {
		p = &r.node
	}
	if err := ctx.Err(); err != nil {
		return rec, r.stepError(s, -1, err)
	}
	r.log(fmt.Sprintf("%s: running %s %s", r.label(s.Name), s.Kind, p.where))
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = DefaultStepTimeout
	}
	if err := r.setUp(ctx, s, p, timeout); err != nil {
		return rec, err
	}
	script := path.Join(p.runDir, scriptFile(s))
	req := ExecRequest{Argv: []string{Bash, script, strconv.Itoa(r.spec.GuestID)},
		Env: r.env(s.Name, s.Kind, p), Timeout: timeout}
	o := r.exec(ctx, p.ex, r.label(s.Name), req)
	if o.ok() {
		rec.Status, rec.ExitCode = StatusOK, 0
		r.log(r.label(s.Name) + ": ok")
		return rec, nil
	}
	rec.ExitCode = o.res.ExitCode
	e := r.stepError(s, o.res.ExitCode, nil)
	e.StderrTail = o.cap.errTail()
	switch {
	case o.timedOut:
		e.TimedOut, e.Timeout = true, timeout
		r.log(fmt.Sprintf("%s: timed out after %s", r.label(s.Name), timeout))
	case o.err != nil:
		e.ExitCode, rec.ExitCode, e.Err = -1, -1, o.err
		r.log(r.label(s.Name) + ": could not run: " + r.red.apply(o.err.Error()))
	default:
		r.log(fmt.Sprintf("%s: failed with exit code %d", r.label(s.Name), o.res.ExitCode))
	}
	return rec, e
}

// setUp prepares the place and pushes the step's script, within the
// step's timeout: a guest whose commands hang (an agent that never reports
// an exit) fails the step at its timeout, not at the apply's.
func (r *runner) setUp(ctx context.Context, s Step, p *place, timeout time.Duration) error {
	sctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	script := path.Join(p.runDir, scriptFile(s))
	err := r.prepare(sctx, p, min(timeout, DefaultCheckTimeout))
	if err == nil {
		if err = p.ex.Push(sctx, script, s.Content, 0o755); err != nil {
			err = fmt.Errorf("pushing %s: %w", script, err)
		}
	}
	if err == nil {
		return nil
	}
	e := r.stepError(s, -1, err)
	if ctx.Err() == nil && errors.Is(sctx.Err(), context.DeadlineExceeded) {
		e.Err = fmt.Errorf("setting it up %s timed out after %s (%w)", p.where, timeout, err)
	}
	return e
}

// prepare creates the run directory and pushes the common utils and the
// context, once per place and Run.
func (r *runner) prepare(ctx context.Context, p *place, timeout time.Duration) error {
	if p.ready {
		return nil
	}
	req := ExecRequest{Argv: []string{Mkdir, "-p", p.runDir, path.Dir(p.ctxPath)}, Timeout: timeout}
	o := r.exec(ctx, p.ex, r.label("prepare"), req)
	if !o.ok() {
		why := o.describe()
		if t := o.cap.errTail(); t != "" {
			why += ": " + t
		}
		return fmt.Errorf("creating %s %s: %s", p.runDir, p.where, why)
	}
	if len(r.spec.CommonUtils) > 0 {
		dst := path.Join(p.runDir, CommonUtilsName)
		if err := p.ex.Push(ctx, dst, r.spec.CommonUtils, 0o644); err != nil {
			return fmt.Errorf("pushing %s: %w", dst, err)
		}
	}
	// 0600: the context may hold what the user considers private.
	if err := p.ex.Push(ctx, p.ctxPath, r.context, 0o600); err != nil {
		return fmt.Errorf("pushing %s: %w", p.ctxPath, err)
	}
	p.ready = true
	return nil
}

func (r *runner) env(step string, kind StepKind, p *place) map[string]string {
	env := make(map[string]string, len(r.spec.Env)+7)
	for k, v := range r.spec.Env {
		env[k] = v
	}
	env["PHOENIX_GUEST_ID"] = strconv.Itoa(r.spec.GuestID)
	env["PHOENIX_GUEST_NAME"] = r.spec.GuestName
	env["PHOENIX_GUEST_KIND"] = r.spec.GuestKind
	env["PHOENIX_GUEST_JSON"] = p.ctxPath
	env["PHOENIX_FEATURE"] = step
	env["PHOENIX_STEP_KIND"] = string(kind)
	env["PHOENIX_RUN_DIR"] = p.runDir
	return env
}

// outcome is one finished command.
type outcome struct {
	res      ExecResult
	err      error
	timedOut bool
	cap      *capture
}

func (o outcome) ok() bool { return o.err == nil && !o.timedOut && o.res.ExitCode == 0 }

func (o outcome) describe() string {
	switch {
	case o.timedOut:
		return "timed out"
	case o.err != nil:
		return o.err.Error()
	}
	return fmt.Sprintf("exit code %d", o.res.ExitCode)
}

// exec runs req under a deadline of req.Timeout. Running into that deadline
// is a timeout, whatever form the transport reports it in; the caller's own
// cancellation is an error.
func (r *runner) exec(ctx context.Context, ex executor, label string, req ExecRequest) outcome {
	c := &capture{red: r.red, log: r.log, prefix: label}
	cctx, cancel := context.WithTimeout(ctx, req.Timeout)
	defer cancel()
	res, err := ex.Exec(cctx, req, c.sink)
	c.finish(res)
	o := outcome{res: res, err: err, cap: c}
	if err == nil && !res.TimedOut && res.ExitCode == 0 {
		return o
	}
	if ctx.Err() != nil {
		o.err = ctx.Err()
		if err != nil && !errors.Is(err, ctx.Err()) {
			o.err = fmt.Errorf("%w (%v)", ctx.Err(), err)
		}
		return o
	}
	if res.TimedOut || errors.Is(cctx.Err(), context.DeadlineExceeded) {
		o.timedOut, o.err = true, nil
	}
	return o
}

// scriptFile is a step's file name in the run directory.
func scriptFile(s Step) string {
	name := s.Name + ".sh"
	if s.Source != "" {
		name = filepath.Base(s.Source)
	}
	return safeFileName(name)
}

// safeFileName keeps [A-Za-z0-9._-], turns the rest into _, and never starts
// with a dot (no hidden files, no "..").
func safeFileName(name string) string {
	b := []byte(name)
	for i, c := range b {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
		if !ok || (i == 0 && c == '.') {
			b[i] = '_'
		}
	}
	if len(b) == 0 {
		return "script.sh"
	}
	return string(b)
}
