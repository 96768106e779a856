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
	api *pve.Client
	ref pve.Ref
	// poll is the exec-status schedule.
	poll pve.Backoff
}

func newAgentTarget(api *pve.Client, ref pve.Ref) agentTarget {
	return agentTarget{api: api, ref: ref, poll: pve.Backoff{Initial: 50 * time.Millisecond, Max: time.Second}}
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
	var parts []string
	for i := 0; i*agentChunk < len(data); i++ {
		part := fmt.Sprintf("%s.phoenix-part-%04d", path, i)
		end := min((i+1)*agentChunk, len(data))
		if err := t.api.AgentFileWrite(ctx, t.ref, part, data[i*agentChunk:end]); err != nil {
			return err
		}
		parts = append(parts, pve.ShellQuote(part))
	}
	q := pve.ShellQuote(path)
	return t.run(ctx, fmt.Sprintf("cat %s > %s && rm -f %s && chmod %04o %s", strings.Join(parts, " "), q, strings.Join(parts, " "), mode.Perm(), q))
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

// Exec starts the command through the agent and polls exec-status until it
// exits. The agent passes no environment, so variables go through env(1).
// At the request's timeout the command is killed (the agent's pid is the
// guest's) and reported as timed out.
func (t agentTarget) Exec(ctx context.Context, req provision.ExecRequest, out provision.LineSink) (provision.ExecResult, error) {
	argv := req.Argv
	if len(req.Env) > 0 {
		argv = append([]string{provision.Env}, envPairs(req.Env)...)
		argv = append(argv, req.Argv...)
	}
	if len(req.Stdin) > 64*1024 {
		return provision.ExecResult{}, fmt.Errorf("%s: agent exec input of %d bytes exceeds PVE's 64 KiB", t.ref, len(req.Stdin))
	}
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
