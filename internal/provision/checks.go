package provision

import (
	"context"
	"fmt"
	"path"
	"strconv"
	"strings"
	"time"
)

// Check types.
const (
	CheckScript  = "script"
	CheckCommand = "command"
)

// Check is a health check run inside the guest after apply: a script from
// features_dir/tests, or a command line (health_check.command, run by
// `/bin/bash -c`: it is written by the config's author as shell).
type Check struct {
	Name string
	Type string // CheckScript or CheckCommand
	// Path is the script's path under features_dir/tests (docker/check_x.sh);
	// it names the file in the guest.
	Path    string
	Content []byte // the script, for CheckScript
	Command string // for CheckCommand
	// Retries is how many times a failed check is tried again: 1 + Retries
	// attempts in all, Interval apart (DefaultCheckInterval when zero).
	Retries  int
	Interval time.Duration
	Timeout  time.Duration // per attempt; 0: DefaultCheckTimeout
	// WarnOnly marks a failure as a warning rather than an error (the
	// provider turns results into diagnostics).
	WarnOnly bool
}

// CheckResult is the outcome of one check, for a Terraform attribute.
type CheckResult struct {
	Name     string `json:"name"`
	OK       bool   `json:"ok"`
	ExitCode int    `json:"exit_code"` // of the last attempt; -1 when it did not exit normally
	Output   string `json:"output"`    // last TailLines lines / TailBytes of the last attempt's output, redacted
	Attempts int    `json:"attempts"`
	TimedOut bool   `json:"timed_out"`
	WarnOnly bool   `json:"warn_only"`
}

// Wait sleeps d or until ctx ends, on a timer that is stopped either way.
func Wait(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// RunChecks runs checks in order inside the guest and returns one result per
// check (a failing check does not stop the others). wait is called between
// attempts (nil: Wait); tests pass a fake that returns at once. The guest is
// prepared as for Run (run directory, common utils, context) first.
func RunChecks(ctx context.Context, t Target, spec Spec, checks []Check, wait func(context.Context, time.Duration) error, log func(string)) []CheckResult {
	if wait == nil {
		wait = Wait
	}
	results := make([]CheckResult, len(checks))
	for i, c := range checks {
		results[i] = CheckResult{Name: c.Name, ExitCode: -1, WarnOnly: c.WarnOnly}
	}
	if len(checks) == 0 {
		return results
	}
	r, err := newRunner(t, nil, spec, log)
	if err == nil && t == nil {
		err = fmt.Errorf("provision: no guest target to run health checks in")
	}
	if err == nil {
		err = r.prepare(ctx, &r.guest, DefaultCheckTimeout)
	}
	if err != nil {
		red := newRedactor(spec.Secrets)
		for i := range results {
			results[i].Output = red.apply("could not prepare the guest: " + err.Error())
		}
		return results
	}
	for i, c := range checks {
		r.check(ctx, c, &results[i], wait)
	}
	return results
}

func (r *runner) check(ctx context.Context, c Check, res *CheckResult, wait func(context.Context, time.Duration) error) {
	label := r.label("check " + c.Name)
	var argv []string
	switch c.Type {
	case CheckScript:
		name := c.Path
		if name == "" {
			name = c.Name + ".sh"
		}
		file := path.Join(r.guest.runDir, "check_"+safeFileName(strings.ReplaceAll(name, "/", "_")))
		if err := r.guest.ex.Push(ctx, file, c.Content, 0o755); err != nil {
			res.Output = r.red.apply(fmt.Sprintf("pushing %s: %v", file, err))
			r.log(label + ": " + res.Output)
			return
		}
		argv = []string{Bash, file, strconv.Itoa(r.spec.GuestID)}
	case CheckCommand:
		if strings.TrimSpace(c.Command) == "" {
			res.Output = "health check has an empty command"
			return
		}
		argv = []string{Bash, "-c", c.Command}
	default:
		res.Output = fmt.Sprintf("unknown health check type %q (want %q or %q)", c.Type, CheckScript, CheckCommand)
		return
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultCheckTimeout
	}
	interval := c.Interval
	if interval <= 0 {
		interval = DefaultCheckInterval
	}
	attempts := 1 + max(c.Retries, 0)
	for a := 1; a <= attempts; a++ {
		res.Attempts = a
		o := r.exec(ctx, r.guest.ex, label, ExecRequest{Argv: argv, Env: r.env(c.Name, KindCheck, &r.guest), Timeout: timeout})
		res.ExitCode, res.TimedOut, res.Output = o.res.ExitCode, o.timedOut, o.cap.allTail()
		if o.ok() {
			res.OK, res.ExitCode = true, 0
			r.log(fmt.Sprintf("%s: ok (attempt %d of %d)", label, a, attempts))
			return
		}
		if o.err != nil {
			res.ExitCode = -1
			res.Output = appendLine(res.Output, r.red.apply("could not run: "+o.err.Error()))
		}
		r.log(fmt.Sprintf("%s: failed (%s), attempt %d of %d", label, o.describe(), a, attempts))
		if ctx.Err() != nil {
			return
		}
		if a < attempts {
			if err := wait(ctx, interval); err != nil {
				res.Output = appendLine(res.Output, "stopped waiting to retry: "+err.Error())
				return
			}
		}
	}
}

func appendLine(s, line string) string {
	if s == "" {
		return line
	}
	return s + "\n" + line
}
