package lifecycle

import (
	"context"
	"errors"
	"io"
	"os"
	"time"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/provision"
	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/pve"
)

// ctTarget runs provisioning inside a container: pct push + pct exec over
// SSH to the node holding it.
type ctTarget struct {
	shell *pve.Shell
	ref   pve.Ref
}

func (t ctTarget) Push(ctx context.Context, path string, data []byte, mode os.FileMode) error {
	return t.shell.PctPush(ctx, t.ref.Node, t.ref.ID, path, data, mode)
}

func (t ctTarget) Exec(ctx context.Context, req provision.ExecRequest, out provision.LineSink) (provision.ExecResult, error) {
	return runStreamed(ctx, req, out, func(ctx context.Context, stdout, stderr io.Writer) (pve.Result, error) {
		return t.shell.PctExec(ctx, t.ref.Node, t.ref.ID, req.Argv, req.Env, req.Stdin, stdout, stderr)
	})
}

// nodeHost runs phoenix host scripts on the node.
type nodeHost struct {
	shell *pve.Shell
	node  string
}

func (h nodeHost) Push(ctx context.Context, path string, data []byte, mode os.FileMode) error {
	return h.shell.WriteNodeFile(ctx, h.node, path, data, mode)
}

func (h nodeHost) Exec(ctx context.Context, req provision.ExecRequest, out provision.LineSink) (provision.ExecResult, error) {
	return runStreamed(ctx, req, out, func(ctx context.Context, stdout, stderr io.Writer) (pve.Result, error) {
		return h.shell.RunHost(ctx, h.node, req.Argv, req.Env, req.Stdin, stdout, stderr)
	})
}

// runStreamed applies the request's timeout and streams output line by line
// to the sink while the command runs.
func runStreamed(ctx context.Context, req provision.ExecRequest, out provision.LineSink,
	run func(ctx context.Context, stdout, stderr io.Writer) (pve.Result, error)) (provision.ExecResult, error) {
	if req.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, req.Timeout)
		defer cancel()
	}
	var stdout, stderr io.Writer
	var lw []*provision.LineWriter
	if out != nil {
		o, e := provision.NewLineWriter(provision.Stdout, out), provision.NewLineWriter(provision.Stderr, out)
		stdout, stderr, lw = o, e, []*provision.LineWriter{o, e}
	}
	start := time.Now()
	res, err := run(ctx, stdout, stderr)
	for _, w := range lw {
		_ = w.Close()
	}
	r := provision.ExecResult{ExitCode: res.ExitCode, Stdout: res.Stdout, Stderr: res.Stderr}
	if err != nil && errors.Is(err, context.DeadlineExceeded) && req.Timeout > 0 && time.Since(start) >= req.Timeout {
		r.TimedOut = true
		return r, nil
	}
	return r, err
}
