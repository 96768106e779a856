package lifecycle

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/provision"
	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/pve"
)

// agentTarget runs provisioning inside a VM through the QEMU guest agent:
// agent/file-write for files, agent/exec + exec-status for commands.
type agentTarget struct {
	api  *pve.Client
	ref  pve.Ref
	logf func(format string, args ...any)
	// poll is the exec-status schedule.
	poll pve.Backoff
}

func newAgentTarget(env Env, ref pve.Ref) agentTarget {
	return agentTarget{api: env.API, ref: ref, logf: env.logf, poll: pve.Backoff{Initial: 50 * time.Millisecond, Max: time.Second}}
}

// agentChunk is the most raw bytes one file-write carries: its content is
// sent base64-encoded, and PVE takes at most pve.AgentWriteMax characters.
const agentChunk = pve.AgentWriteMax / 4 * 3

// Push writes data to path: in one file-write when it fits, else in parts
// joined in the guest; then sets the mode (file-write creates files 0644).
func (t agentTarget) Push(ctx context.Context, path string, data []byte, mode os.FileMode) error {
	if len(data) <= agentChunk {
		if err := t.api.AgentFileWrite(ctx, t.ref, path, data); err != nil {
			return err
		}
		return t.run(ctx, fmt.Sprintf("chmod %04o %s", mode.Perm(), pve.ShellQuote(path)))
	}
	var parts, backwards []string
	for i := 0; i*agentChunk < len(data); i++ {
		part := fmt.Sprintf("%s.phoenix-part-%04d", path, i)
		end := min((i+1)*agentChunk, len(data))
		if err := t.api.AgentFileWrite(ctx, t.ref, part, data[i*agentChunk:end]); err != nil {
			return err
		}
		parts = append(parts, pve.ShellQuote(part))
		backwards = append([]string{pve.ShellQuote(part)}, backwards...)
	}
	// Repeatable (Exec may run it again): the parts go last part first, so
	// while the first part is there, all are, and the join has yet to finish.
	q := pve.ShellQuote(path)
	return t.run(ctx, fmt.Sprintf("if [ -e %s ]; then cat %s > %s && rm -f %s; fi && chmod %04o %s",
		parts[0], strings.Join(parts, " "), q, strings.Join(backwards, " "), mode.Perm(), q))
}

// run runs a shell line in the guest and fails unless it exits 0.
func (t agentTarget) run(ctx context.Context, line string) error {
	res, err := t.Exec(ctx, provision.ExecRequest{Argv: []string{"/bin/sh", "-c", line}}, nil)
	if err != nil {
		return err
	}
	if res.ExitCode != 0 {
		return fmt.Errorf("%s: %q exited %d: %s", t.ref, line, res.ExitCode, strings.TrimSpace(string(res.Stderr)))
	}
	return nil
}

// execAttempts bounds the runs of one command whose results were lost.
const execAttempts = 3

// Exec starts the command through the agent and polls exec-status until it
// exits. The agent passes no environment, so variables go through env(1).
// At the request's timeout the command is killed (the agent's pid is the
// guest's) and reported as timed out. When the answer reporting the exit is
// lost, the result is gone with it (QGA forgets the pid once it reported
// it): the command runs again, as every command run here may (provisioning
// steps are idempotent, file joins are written to be repeatable).
func (t agentTarget) Exec(ctx context.Context, req provision.ExecRequest, out provision.LineSink) (provision.ExecResult, error) {
	argv := req.Argv
	if len(req.Env) > 0 {
		argv = append([]string{provision.Env}, envPairs(req.Env)...)
		argv = append(argv, req.Argv...)
	}
	if len(req.Stdin) > 64*1024 {
		return provision.ExecResult{}, fmt.Errorf("%s: agent exec input of %d bytes exceeds PVE's 64 KiB", t.ref, len(req.Stdin))
	}
	for attempt := 1; ; attempt++ {
		res, err := t.execOnce(ctx, argv, req, out)
		if !errors.Is(err, pve.ErrAgentExecForgotten) || attempt == execAttempts {
			return res, err
		}
		t.logf("%s: the result of %q was lost on its way back: running it again", t.ref, req.Argv)
	}
}

// execOnce is one run of Exec's command.
func (t agentTarget) execOnce(ctx context.Context, argv []string, req provision.ExecRequest, out provision.LineSink) (provision.ExecResult, error) {
	pid, err := t.api.AgentExec(ctx, t.ref, argv, req.Stdin)
	if err != nil {
		return provision.ExecResult{}, err
	}
	waitCtx := ctx
	if req.Timeout > 0 {
		var cancel context.CancelFunc
		waitCtx, cancel = context.WithTimeout(ctx, req.Timeout)
		defer cancel()
	}
	var delay time.Duration
	for {
		st, err := t.api.AgentExecStatus(waitCtx, t.ref, pid)
		if err == nil && st.Exited {
			res := provision.ExecResult{ExitCode: st.ExitCode, Stdout: st.Stdout, Stderr: st.Stderr}
			if st.Signal != 0 {
				res.ExitCode = -1
			}
			feedLines(out, provision.Stdout, st.Stdout)
			feedLines(out, provision.Stderr, st.Stderr)
			return res, nil
		}
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			return provision.ExecResult{}, err
		}
		delay = t.poll.Next(delay)
		if werr := provision.Wait(waitCtx, delay); werr != nil || err != nil {
			if ctx.Err() == nil && req.Timeout > 0 {
				// Our deadline, not the caller's: kill it and say so.
				_, _ = t.api.AgentExec(ctx, t.ref, []string{"kill", "-KILL", fmt.Sprint(pid)}, nil)
				return provision.ExecResult{ExitCode: -1, TimedOut: true}, nil
			}
			return provision.ExecResult{}, ctx.Err()
		}
	}
}

func envPairs(env map[string]string) []string {
	names := make([]string, 0, len(env))
	for k := range env {
		names = append(names, k)
	}
	sort.Strings(names)
	out := make([]string, 0, len(env))
	for _, k := range names {
		out = append(out, k+"="+env[k])
	}
	return out
}

func feedLines(out provision.LineSink, s provision.Stream, data []byte) {
	if out == nil || len(data) == 0 {
		return
	}
	for _, line := range bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n")) {
		out(s, string(line))
	}
}
