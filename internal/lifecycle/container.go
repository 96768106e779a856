// Package lifecycle is phoenix's container state machine on the PVE API:
// create from a template or clone from a source's snapshot, converge the
// configuration, raw lxc lines and firewall, start, run feature scripts,
// take the template snapshot, run health checks; and read back, update and
// destroy. It knows phoenix and PVE, not Terraform.
package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/guestconf"
	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/phoenix"
	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/provision"
	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/pve"
)

// Env is how to reach PVE.
type Env struct {
	API   *pve.Client
	Shell *pve.Shell // nil when the provider has no SSH settings
	Node  string     // node for new guests
	Log   func(string)
	// SnippetsStorage is where VM cloud-init user-data snippets go; empty:
	// the first storage with snippets content on the node.
	SnippetsStorage string
}

func (e Env) logf(format string, args ...any) {
	if e.Log != nil {
		e.Log(fmt.Sprintf(format, args...))
	}
}

// Options are the resource's settings beyond the guest model.
type Options struct {
	Started      bool
	AllowRestart bool
	Provision    provision.Spec
	Checks       []provision.Check
	Previous     []provision.Record
	// Description is the guest's description from the moment it exists
	// (its metadata, see Metadata), so an interrupted build can be adopted.
	Description string
	// PasswordChanged says the VM's cloud-init password changed since the
	// last apply (PVE cannot tell: it keeps a hash).
	PasswordChanged bool
}

// Outcome is what an apply did; Ref is set as soon as the guest exists, so a
// caller can keep a half-created guest in state even when an error follows.
type Outcome struct {
	Ref    pve.Ref
	Exists bool
	// Adopted is true when Create found the guest already built by this
	// provider (see adopt) and converged it instead of creating it.
	Adopted        bool
	PendingRestart []string
	Records        []provision.Record
	Checks         []provision.CheckResult
	Warnings       []string
	// Template is true once the guest was converted into a PVE template.
	Template bool
}

// ErrNeedsSSH is returned when a change has no API and no SSH is configured.
var ErrNeedsSSH = errors.New("this change needs SSH access to the node: configure the provider's ssh block (or PROXMOX_VE_SSH_*)")

// CreateContainer creates g and brings it to its desired state.
func CreateContainer(ctx context.Context, env Env, g *phoenix.Guest, opts Options) (Outcome, error) {
	out := Outcome{Ref: pve.Ref{Node: env.Node, Kind: pve.LXC, ID: g.ID}, Records: opts.Previous}
	ref, ok, err := env.API.Locate(ctx, g.ID)
	if err == nil && ok {
		ok, err = settleCreate(ctx, env, ref)
	}
	if err != nil {
		return out, err
	}
	if ok {
		if err := adopt(ctx, env, ref, g, &opts, &out); err != nil {
			return out, err
		}
		return converge(ctx, env, out, g, opts, false)
	}
	if g.CloneFrom != nil {
		if err := cloneGuest(ctx, env, g, opts, &out); err != nil {
			return out, err
		}
	} else {
		tmpl, err := containerTemplate(env, g)
		if err != nil {
			return out, err
		}
		env.logf("creating CT %d on %s from %s", g.ID, env.Node, tmpl)
		params := guestconf.ContainerCreateParams(g, tmpl)
		if opts.Description != "" {
			params["description"] = opts.Description
		}
		err = env.API.CreateContainer(ctx, env.Node, g.ID, params)
		out.Exists = guestExists(ctx, env, g.ID, &out, err)
		if err != nil {
			return out, fmt.Errorf("creating CT %d: %w", g.ID, err)
		}
	}
	return converge(ctx, env, out, g, opts, true)
}

// containerTemplate is pct create's ostemplate: the resolved volume, a volume
// ID as written, or an absolute path on the node, which PVE takes from
// root@pam only (as the orchestrator's pct create did).
func containerTemplate(env Env, g *phoenix.Guest) (string, error) {
	switch {
	case g.OSTemplate != "":
		return g.OSTemplate, nil
	case strings.Contains(g.Template, ":"):
		return g.Template, nil
	case strings.HasPrefix(g.Template, "/"):
		if !env.API.IsRootTicket() {
			return "", fmt.Errorf("CT %d: template %s is a path on the node, which PVE accepts only from root@pam: log in as root@pam with a password, "+
				"or put the template on a storage and set os_template (storage:vztmpl/file)", g.ID, g.Template)
		}
		return g.Template, nil
	}
	return "", fmt.Errorf("no OS template for CT %d: set os_template (storage:vztmpl/file) or an absolute template path; %q is neither", g.ID, g.Template)
}

// UpdateContainer brings an existing container to g.
func UpdateContainer(ctx context.Context, env Env, ref pve.Ref, g *phoenix.Guest, opts Options) (Outcome, error) {
	out := Outcome{Ref: ref, Exists: true, Records: opts.Previous}
	return converge(ctx, env, out, g, opts, false)
}

func converge(ctx context.Context, env Env, out Outcome, g *phoenix.Guest, opts Options, fresh bool) (Outcome, error) {
	ref := out.Ref
	cfg, err := env.API.Config(ctx, ref)
	if err != nil {
		return out, err
	}
	ch := guestconf.DiffContainer(g, cfg.Values)
	if len(ch.Replace) > 0 {
		return out, fmt.Errorf("%s cannot be changed in place: %s", ref, strings.Join(ch.Replace, "; "))
	}
	gpuDevices := env.API.IsRootTicket()
	if gpuDevices {
		for k, v := range guestconf.GPUDeviceKeys(g) {
			if cfg.Values[k] != v {
				if ch.Set == nil {
					ch.Set = map[string]string{}
				}
				ch.Set[k] = v
			}
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
	rawChanged, err := applyRawLXC(ctx, env, ref, g, cfg, gpuDevices)
	if err != nil {
		return out, err
	}
	if err := applyFirewall(ctx, env, ref, g); err != nil {
		return out, err
	}
	var extra []string
	if rawChanged && running {
		extra = []string{"lxc"} // raw lines apply at the next start; PVE's pending section does not show them
	}
	if out, running, err = power(ctx, env, out, opts, running, extra); err != nil {
		return out, err
	}
	return provisionAndSnapshot(ctx, env, out, g, opts, running)
}

// applyRawLXC writes the raw lxc.* lines (lxc_options, AppArmor profile,
// GPU entries) when they differ from the guest's; changed says it wrote.
func applyRawLXC(ctx context.Context, env Env, ref pve.Ref, g *phoenix.Guest, cfg *pve.GuestConfig, gpuDevices bool) (changed bool, err error) {
	raw := guestconf.DesiredRawLXC(g, gpuDevices)
	if guestconf.SameRawLXC(raw, cfg.RawLXC) {
		return false, nil
	}
	if env.Shell == nil {
		return false, fmt.Errorf("%s: raw lxc options / AppArmor profile / GPU entries: %w", ref, ErrNeedsSSH)
	}
	lines := make([][2]string, len(raw))
	for i, l := range raw {
		lines[i] = [2]string{l.Key, l.Value}
	}
	env.logf("%s: writing %d raw lxc lines to %s", ref, len(lines), pve.ConfPath(ref.Node, ref.ID))
	return true, setRawLXC(ctx, env, ref, raw, lines)
}

func provisionAndSnapshot(ctx context.Context, env Env, out Outcome, g *phoenix.Guest, opts Options, running bool) (Outcome, error) {
	ref := out.Ref
	if scriptsPending(opts) {
		if !running {
			out.Warnings = append(out.Warnings, fmt.Sprintf("%s is not running: feature scripts were not run", ref))
		} else {
			if env.Shell == nil {
				return out, fmt.Errorf("%s: feature scripts: %w", ref, ErrNeedsSSH)
			}
			recs, err := provision.Run(ctx, ctTarget{shell: env.Shell, ref: ref}, nodeHost{shell: env.Shell, node: ref.Node},
				opts.Provision, opts.Previous, env.Log)
			out.Records = recs
			if err != nil {
				return out, err
			}
		}
	}
	if g.TemplateSnapshot != "" {
		if err := ensureSnapshot(ctx, env, ref, g.TemplateSnapshot); err != nil {
			return out, err
		}
	}
	if len(opts.Checks) > 0 && running && env.Shell != nil {
		out.Checks = provision.RunChecks(ctx, ctTarget{shell: env.Shell, ref: ref}, opts.Provision, opts.Checks, provision.Wait, env.Log)
	}
	return out, nil
}

// readContainer observes the container res into g: its config (values and
// raw lxc.* lines, which PVE's pending listing leaves out) and, when it
// runs, its pending section; run state comes from the cluster listing.
func readContainer(ctx context.Context, env Env, res pve.Resource, g *phoenix.Guest) (Observation, error) {
	ref := res.Ref
	obs := Observation{Ref: ref, Found: true, Status: res.Status, Lock: res.Lock}
	cfg, err := env.API.Config(ctx, ref)
	if err != nil {
		if pve.IsNotFound(err) {
			return Observation{Ref: ref}, nil
		}
		return obs, err
	}
	obs.Template = cfg.Values["template"] == "1"
	if res.Status == "running" {
		if obs.Pending, err = env.API.Pending(ctx, ref); err != nil {
			return obs, err
		}
	}
	o := guestconf.Observed{Config: cfg.Values, RawLXC: cfg.RawLXC}
	if g.Firewall != nil {
		if o.FirewallEnabled, o.FirewallRules, err = readFirewall(ctx, env, ref); err != nil {
			return obs, err
		}
	}
	guestconf.ObserveContainer(g, o)
	return obs, nil
}

// DestroyContainer stops and destroys a container with its disks. PVE's
// protection flag is honoured: the guest is left alone with an explanation.
func DestroyContainer(ctx context.Context, env Env, ref pve.Ref) error {
	return destroy(ctx, env, ref, nil)
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// setRawLXC writes the raw lines and checks PVE took them: the file has no
// API, PVE drops keys it refuses, and another writer of the same file can
// race us, so a write that did not stick is tried again a few times.
func setRawLXC(ctx context.Context, env Env, ref pve.Ref, raw []guestconf.RawLXCLine, lines [][2]string) error {
	var after *pve.GuestConfig
	for attempt := 0; attempt < 3; attempt++ {
		if _, err := env.Shell.SetRawLXC(ctx, ref.Node, ref.ID, lines); err != nil {
			return err
		}
		var err error
		if after, err = env.API.Config(ctx, ref); err != nil {
			return err
		}
		if guestconf.SameRawLXC(raw, after.RawLXC) {
			return nil
		}
		env.logf("%s: raw lxc lines did not stick (PVE has %v), writing again", ref, after.RawLXC)
	}
	return fmt.Errorf("%s: the raw lxc lines written to %s did not take effect (PVE now has %v); check that PVE accepts these keys",
		ref, pve.ConfPath(ref.Node, ref.ID), after.RawLXC)
}
