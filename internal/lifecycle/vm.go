package lifecycle

import (
	"context"
	"fmt"
	"strings"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/guestconf"
	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/phoenix"
	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/pve"
)

// The VM state machine, the mirror of the container one: create from a cloud
// image or clone, converge the configuration and cloud-init, start and wait
// for the guest agent, run the feature scripts through the agent, take the
// template snapshot or finalise into a template; read back; destroy.

// CreateVM creates g from its cloud image, or clones it from its source (a
// template, or a snapshot of a provisioned VM), then converges it.
func CreateVM(ctx context.Context, env Env, g *phoenix.Guest, opts Options) (Outcome, error) {
	out := Outcome{Ref: pve.Ref{Node: env.Node, Kind: pve.QEMU, ID: g.ID}, Records: opts.Previous}
	ref, exists, err := env.API.Locate(ctx, g.ID)
	if err == nil && exists {
		exists, err = settleCreate(ctx, env, ref)
	}
	if err != nil {
		return out, err
	}
	node := env.Node
	if exists {
		node = ref.Node
	}
	settings, err := vmSettings(ctx, env, node, g)
	if err != nil {
		return out, err
	}
	settings.SetPassword = true
	if exists {
		if err := adopt(ctx, env, ref, g, &opts, &out); err != nil {
			return out, err
		}
		return convergeVM(ctx, env, out, g, opts, settings, true)
	}
	if g.CloneFrom != nil {
		if err := cloneGuest(ctx, env, g, opts, &out); err != nil {
			return out, err
		}
	} else {
		source, err := resolveImage(ctx, env, g)
		if err != nil {
			return out, err
		}
		if err := writeUserData(ctx, env, env.Node, g, settings); err != nil {
			return out, err
		}
		settings.written = true
		params := guestconf.VMCreateParams(g, source, settings.VMSettings)
		if opts.Description != "" {
			params["description"] = opts.Description
		}
		env.logf("creating VM %d on %s from %s", g.ID, env.Node, source)
		err = env.API.CreateVM(ctx, env.Node, g.ID, params)
		out.Exists = guestExists(ctx, env, g.ID, &out, err)
		if err != nil {
			return out, fmt.Errorf("creating VM %d: %w", g.ID, err)
		}
	}
	return convergeVM(ctx, env, out, g, opts, settings, true)
}

// UpdateVM brings an existing VM to g.
func UpdateVM(ctx context.Context, env Env, ref pve.Ref, g *phoenix.Guest, opts Options) (Outcome, error) {
	out := Outcome{Ref: ref, Exists: true, Records: opts.Previous}
	settings, err := vmSettings(ctx, env, ref.Node, g)
	if err != nil {
		return out, err
	}
	settings.SetPassword = opts.PasswordChanged
	return convergeVM(ctx, env, out, g, opts, settings, false)
}

// convergeVM sets the configuration, grows the disk, regenerates cloud-init,
// starts the VM and provisions it; a template is left as it is but for its
// configuration.
func convergeVM(ctx context.Context, env Env, out Outcome, g *phoenix.Guest, opts Options, s vmCloudInit, fresh bool) (Outcome, error) {
	ref := out.Ref
	cfg, err := env.API.Config(ctx, ref)
	if err != nil {
		return out, err
	}
	isTemplate := cfg.Values["template"] == "1"
	if isTemplate && !g.IsTemplate {
		return out, fmt.Errorf("%s is a PVE template (converted outside Terraform?); PVE cannot turn a template back into a VM: "+
			"set is_template = true, or replace it (terraform apply -replace=<address>)", ref)
	}
	ch := guestconf.DiffVM(g, cfg.Values, s.VMSettings)
	if len(ch.Replace) > 0 {
		return out, fmt.Errorf("%s cannot be changed in place: %s", ref, strings.Join(ch.Replace, "; "))
	}
	snippetChanged := false
	if s.CICustom != "" && !isTemplate && !s.written {
		if snippetChanged, err = writeUserDataIfChanged(ctx, env, ref.Node, g, s); err != nil {
			return out, err
		}
	}
	st, err := env.API.Status(ctx, ref)
	if err != nil {
		return out, err
	}
	running := st.Status == "running"
	if err := applyChanges(ctx, env, ref, ch, cfg.Digest); err != nil {
		return out, err
	}
	ciChanged := snippetChanged
	for _, k := range ch.Keys() {
		ciChanged = ciChanged || guestconf.IsCloudInitKey(k)
	}
	if err := applyFirewall(ctx, env, ref, g); err != nil {
		return out, err
	}
	if isTemplate {
		out.Template = true
		return out, nil
	}
	if ciChanged && !running {
		// A running VM keeps the changes in PVE's pending section (shown in
		// pending_restart); its drive is rebuilt when it restarts.
		if err := env.API.RegenerateCloudInit(ctx, ref); err != nil {
			return out, err
		}
	}
	// A changed user-data snippet has no pending entry in PVE: it shows as
	// "cloudinit" until the restart.
	var extra []string
	if snippetChanged {
		extra = []string{"cloudinit"}
	}
	if out, running, err = power(ctx, env, out, opts, running, extra); err != nil {
		return out, err
	}
	return provisionVM(ctx, env, out, g, opts, running, fresh)
}

// readVM observes the VM res into g from its pending section, which holds
// the config values and the changes waiting for a restart in one answer.
func readVM(ctx context.Context, env Env, res pve.Resource, g *phoenix.Guest) (Observation, error) {
	ref := res.Ref
	obs := Observation{Ref: ref, Found: true, Status: res.Status, Lock: res.Lock}
	cfg, pending, err := env.API.PendingConfig(ctx, ref)
	if err != nil {
		if pve.IsNotFound(err) {
			return Observation{Ref: ref}, nil
		}
		return obs, err
	}
	obs.Template = cfg.Values["template"] == "1"
	if res.Status == "running" {
		obs.Pending = pending
	}
	o := guestconf.Observed{Config: cfg.Values}
	if g.Firewall != nil {
		if o.FirewallEnabled, o.FirewallRules, err = readFirewall(ctx, env, ref); err != nil {
			return obs, err
		}
	}
	guestconf.ObserveVM(g, o)
	return obs, nil
}

func readFirewall(ctx context.Context, env Env, ref pve.Ref) (*bool, []phoenix.FirewallRule, error) {
	on, err := env.API.FirewallEnabled(ctx, ref)
	if err != nil {
		return nil, nil, err
	}
	rules, err := env.API.FirewallRules(ctx, ref)
	if err != nil {
		return nil, nil, err
	}
	return &on, guestconf.ObservedRules(rules), nil
}

// DestroyVM shuts a VM down (stopping it once the shutdown timeout passed),
// destroys it with its disks and removes its user-data snippet. PVE's
// protection flag is honoured.
func DestroyVM(ctx context.Context, env Env, ref pve.Ref) error {
	return destroy(ctx, env, ref, func(cfg *pve.GuestConfig) { removeUserData(ctx, env, ref, cfg.Values["cicustom"]) })
}
