package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/phoenix"
	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/provision"
	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/pve"
)

// shutdownTimeout is how long a VM gets to shut down cleanly (ACPI or the
// agent) before PVE stops it.
const shutdownTimeout = 3 * time.Minute

// agentBackoff paces the guest agent pings while a VM boots.
var agentBackoff = pve.Backoff{Initial: 250 * time.Millisecond, Max: 5 * time.Second}

// provisionVM waits for the guest agent, runs the pending scripts through it,
// takes the template snapshot, runs the health checks and, for a template,
// finalises and converts the VM.
func provisionVM(ctx context.Context, env Env, out Outcome, g *phoenix.Guest, opts Options, running, fresh bool) (Outcome, error) {
	ref := out.Ref
	scripts := scriptsPending(opts)
	if !running {
		if scripts {
			out.Warnings = append(out.Warnings, fmt.Sprintf("%s is not running: feature scripts were not run", ref))
		}
		if g.IsTemplate {
			return out, finalizeTemplate(ctx, env, ref, false)
		}
		return out, nil
	}
	if fresh || scripts || g.IsTemplate || len(opts.Checks) > 0 {
		if err := waitAgent(ctx, env, ref); err != nil {
			return out, err
		}
	}
	target := newAgentTarget(env, ref)
	if scripts {
		var host provision.Host
		if env.Shell != nil {
			host = nodeHost{shell: env.Shell, node: ref.Node}
		}
		recs, err := provision.Run(ctx, target, host, opts.Provision, opts.Previous, env.Log)
		out.Records = recs
		if err != nil {
			return out, err
		}
	}
	if g.TemplateSnapshot != "" && !g.IsTemplate {
		if err := ensureSnapshot(ctx, env, ref, g.TemplateSnapshot); err != nil {
			return out, err
		}
	}
	if len(opts.Checks) > 0 {
		out.Checks = provision.RunChecks(ctx, target, opts.Provision, opts.Checks, provision.Wait, env.Log)
	}
	if g.IsTemplate {
		for _, c := range out.Checks {
			if !c.OK && !c.WarnOnly {
				return out, fmt.Errorf("%s: health check %q failed, so it is not converted into a template", ref, c.Name)
			}
		}
		if err := finalizeTemplate(ctx, env, ref, true); err != nil {
			return out, err
		}
		out.Template = true
	}
	return out, nil
}

// waitAgent pings the guest agent with backoff until it answers, leaving a
// little of ctx's time so the failure can still be reported and recorded.
func waitAgent(ctx context.Context, env Env, ref pve.Ref) error {
	start := time.Now()
	wctx := ctx
	if dl, ok := ctx.Deadline(); ok {
		margin := min(30*time.Second, time.Until(dl)/10)
		var cancel context.CancelFunc
		wctx, cancel = context.WithDeadline(ctx, dl.Add(-margin))
		defer cancel()
	}
	var delay time.Duration
	var last error
	for {
		err := env.API.AgentPing(wctx, ref)
		if err == nil {
			env.logf("%s: guest agent answered after %s", ref, time.Since(start).Round(time.Millisecond))
			return nil
		}
		var ae *pve.APIError
		switch {
		case errors.As(err, &ae) && strings.Contains(ae.Msg, "No QEMU guest agent configured"):
			return fmt.Errorf("%s has no guest agent configured (agent: enabled=1): %w", ref, err)
		case errors.As(err, &ae) && strings.Contains(ae.Msg, "is not running") && !strings.Contains(ae.Msg, "agent"):
			return fmt.Errorf("%s stopped while booting (check its console: qm terminal %d): %w", ref, ref.ID, err)
		case errors.As(err, &ae) && ae.Status == 403:
			// A refused privilege does not come with the boot: say so now.
			return fmt.Errorf("%s: PVE refuses the guest agent to these credentials: %w", ref, err)
		}
		last = err
		delay = agentBackoff.Next(delay)
		if provision.Wait(wctx, delay) != nil {
			return &AgentError{Ref: ref, Waited: time.Since(start).Round(time.Second), Last: last}
		}
	}
}

// AgentError is a VM whose guest agent never answered: like a failed
// feature script, it leaves a VM that exists but is not provisioned.
type AgentError struct {
	Ref    pve.Ref
	Waited time.Duration
	Last   error
}

func (e *AgentError) Error() string {
	return fmt.Sprintf("%s: the QEMU guest agent did not answer within %s (last: %v). Either the image lacks qemu-guest-agent "+
		"(VMs created from a cloud image get it through cloud-init user-data; a template must have it installed) or the VM does not boot "+
		"(check its console: qm terminal %d). The VM is kept; fix the cause and apply again", e.Ref, e.Waited, e.Last, e.Ref.ID)
}

// templateReset is what a template's disk must not keep for its clones: the
// cloud-init instance state (so clones run cloud-init as new instances) and
// the machine-id (so clones get their own), as the orchestrator reset them.
const templateReset = "cloud-init clean --logs --seed >/dev/null 2>&1 || cloud-init clean --logs; " +
	": > /etc/machine-id; rm -f /var/lib/dbus/machine-id; sync"

// finalizeTemplate resets the guest's identity (when it runs), shuts it down
// cleanly and converts it into a template.
func finalizeTemplate(ctx context.Context, env Env, ref pve.Ref, running bool) error {
	if running {
		env.logf("%s: resetting cloud-init state and machine-id for clones", ref)
		if err := newAgentTarget(env, ref).run(ctx, templateReset); err != nil {
			return fmt.Errorf("%s: finalising the template: %w", ref, err)
		}
		env.logf("%s: shutting down", ref)
		if err := env.API.Shutdown(ctx, ref, shutdownTimeout); err != nil {
			return err
		}
	}
	env.logf("%s: converting into a template", ref)
	return env.API.Template(ctx, ref)
}
