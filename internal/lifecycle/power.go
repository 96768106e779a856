package lifecycle

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/guestconf"
	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/phoenix"
	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/provision"
	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/pve"
)

// Steps both state machines share once the configuration is diffed.

// applyChanges writes the config changes in one update, guarded by the
// digest of the config they were computed from, then grows the disks.
func applyChanges(ctx context.Context, env Env, ref pve.Ref, ch guestconf.Changes, digest string) error {
	if len(ch.Set) > 0 || len(ch.Delete) > 0 {
		env.logf("%s: setting %v", ref, ch.Keys())
		if err := env.API.UpdateConfig(ctx, ref, ch.Set, ch.Delete, digest); err != nil {
			return err
		}
	}
	for _, r := range ch.Resize {
		env.logf("%s: growing %s to %s", ref, r.Disk, r.Size)
		if err := env.API.Resize(ctx, ref, r.Disk, r.Size); err != nil {
			return err
		}
	}
	return nil
}

// applyFirewall sets the guest firewall's switch and rules when g manages them.
func applyFirewall(ctx context.Context, env Env, ref pve.Ref, g *phoenix.Guest) error {
	if g.Firewall == nil {
		return nil
	}
	if err := env.API.SetFirewallEnabled(ctx, ref, g.Firewall.Enabled); err != nil {
		return err
	}
	return env.API.ReplaceFirewallRules(ctx, ref, guestconf.FirewallRules(g))
}

// power reboots a running guest for what waits for its restart (PVE's own
// pending section, which includes what an earlier apply left pending, plus
// extra, what PVE does not list there) when allow_restart says so, else
// reports it in PendingRestart; then starts or stops the guest as
// opts.Started says (a VM shuts down cleanly, a container stops).
func power(ctx context.Context, env Env, out Outcome, opts Options, running bool, extra []string) (Outcome, bool, error) {
	ref := out.Ref
	pending := map[string]bool{}
	if running {
		keys, err := env.API.Pending(ctx, ref)
		if err != nil {
			return out, running, err
		}
		for _, k := range append(keys, extra...) {
			pending[k] = true
		}
	}
	if len(pending) > 0 {
		if opts.AllowRestart && opts.Started {
			env.logf("%s: rebooting to apply %v", ref, slices.Sorted(maps.Keys(pending)))
			if err := env.API.Reboot(ctx, ref); err != nil {
				return out, running, err
			}
		} else {
			out.PendingRestart = slices.Sorted(maps.Keys(pending))
			out.Warnings = append(out.Warnings, fmt.Sprintf("%s is running: %s take effect at its next restart (set allow_restart = true to restart it during apply)",
				ref, strings.Join(out.PendingRestart, ", ")))
		}
	}
	var err error
	switch {
	case opts.Started && !running:
		// The request mechanism already waits out locks and busy nodes and
		// recovers a lost answer: a failure here is final.
		env.logf("%s: starting", ref)
		if err = env.API.Start(ctx, ref); err == nil {
			running = true
		}
	case !opts.Started && running:
		if err = stop(ctx, env, ref); err == nil {
			running = false
		}
	}
	return out, running, err
}

// scriptsPending reports whether provisioning has work: steps to run, or
// records of steps no longer configured to drop.
func scriptsPending(opts Options) bool {
	return len(provision.Pending(opts.Provision.Steps, opts.Previous)) > 0 || pruned(opts.Provision.Steps, opts.Previous)
}

// pruned reports whether records exist for steps no longer configured.
func pruned(steps []provision.Step, prev []provision.Record) bool {
	names := map[string]bool{}
	for _, s := range steps {
		names[s.Name] = true
	}
	for _, r := range prev {
		if !names[r.Name] {
			return true
		}
	}
	return false
}

// ensureSnapshot takes snapshot name once.
func ensureSnapshot(ctx context.Context, env Env, ref pve.Ref, name string) error {
	snaps, err := env.API.Snapshots(ctx, ref)
	if err != nil {
		return err
	}
	if contains(snaps, name) {
		return nil
	}
	env.logf("%s: taking template snapshot %q", ref, name)
	return env.API.Snapshot(ctx, ref, name, "phoenix: provisioned state for clones")
}

// stop stops a running guest: a VM shuts down cleanly (stopped once the
// shutdown timeout passed), a container stops.
func stop(ctx context.Context, env Env, ref pve.Ref) error {
	if ref.Kind == pve.QEMU {
		env.logf("%s: shutting down", ref)
		return env.API.Shutdown(ctx, ref, shutdownTimeout)
	}
	env.logf("%s: stopping", ref)
	return env.API.Stop(ctx, ref)
}

// destroy stops the guest at ref and destroys it with its disks (purge),
// then calls after with its last config; a guest with PVE's protection flag
// is left alone with an explanation.
func destroy(ctx context.Context, env Env, ref pve.Ref, after func(cfg *pve.GuestConfig)) error {
	cfg, err := env.API.Config(ctx, ref)
	if err != nil {
		if pve.IsNotFound(err) {
			return nil
		}
		return err
	}
	if cfg.Values["protection"] == "1" {
		cli := map[pve.Kind]string{pve.LXC: "pct", pve.QEMU: "qm"}[ref.Kind]
		return fmt.Errorf("%s has PVE protection set, so it cannot be destroyed; unset it first (%s set %d --protection 0, or Options > Protection in the UI)", ref, cli, ref.ID)
	}
	st, err := env.API.Status(ctx, ref)
	if err != nil {
		return err
	}
	if st.Status == "running" {
		if err := stop(ctx, env, ref); err != nil {
			return err
		}
	}
	env.logf("%s: destroying (purge)", ref)
	if err := env.API.Destroy(ctx, ref); err != nil {
		return err
	}
	if after != nil {
		after(cfg)
	}
	return nil
}
