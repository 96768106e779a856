package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/phoenix"
	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/pve"
)

// The guest-level entry points: one per operation, dispatching on the
// guest's kind to the container or the VM state machine. The provider calls
// these and never a kind-specific function, so a VM goes through exactly the
// same resource code as a container.

// Create creates g (a container or a VM) and brings it to its desired state.
func Create(ctx context.Context, env Env, g *phoenix.Guest, opts Options) (Outcome, error) {
	if g.Kind == phoenix.KindVM {
		return CreateVM(ctx, env, g, opts)
	}
	return CreateContainer(ctx, env, g, opts)
}

// Update brings the existing guest at ref to g.
func Update(ctx context.Context, env Env, ref pve.Ref, g *phoenix.Guest, opts Options) (Outcome, error) {
	if ref.Kind == pve.QEMU {
		return UpdateVM(ctx, env, ref, g, opts)
	}
	return UpdateContainer(ctx, env, ref, g, opts)
}

// Observation is what Read found of a guest.
type Observation struct {
	Ref   pve.Ref
	Found bool
	// Status is PVE's run state: running or stopped.
	Status string
	// Pending lists config keys waiting for the next restart.
	Pending []string
	// Template is true for a PVE template (converted out of band or by us).
	Template bool
	// Lock is the guest's config lock ("create" while a create or clone
	// runs or after one was cut short; "" when none).
	Lock string
}

// Read finds guest id wherever it runs and observes its actual state into g,
// for the fields g manages. A guest of the other kind than g is reported as
// found with its real kind in Ref; g is then left untouched.
//
// A refresh costs the shared cluster listing (node, run state, template
// flag, lock: one request for every guest of the plan) and per guest: a
// container's config (values and raw lxc.* lines) plus, when it runs, its
// pending section; a VM's pending section (values and pending changes in
// one); a managed firewall's options and rules.
func Read(ctx context.Context, env Env, id int, g *phoenix.Guest) (Observation, error) {
	res, found, err := env.API.Guest(ctx, id)
	if err != nil || !found {
		return Observation{Ref: res.Ref, Found: found}, err
	}
	obs, err := readGuest(ctx, env, res, g)
	if err == nil && !obs.Found {
		// PVE has no such guest where the shared listing put it: it moved or
		// went since the listing was taken. Look again in a fresh one.
		if res, found, err = env.API.GuestFresh(ctx, id); err != nil || !found {
			return Observation{Ref: res.Ref, Found: found}, err
		}
		obs, err = readGuest(ctx, env, res, g)
	}
	return obs, err
}

func readGuest(ctx context.Context, env Env, res pve.Resource, g *phoenix.Guest) (Observation, error) {
	if (res.Kind == pve.QEMU) != (g.Kind == phoenix.KindVM) {
		return Observation{Ref: res.Ref, Found: true, Status: res.Status, Template: res.Template, Lock: res.Lock}, nil
	}
	if res.Kind == pve.QEMU {
		return readVM(ctx, env, res, g)
	}
	return readContainer(ctx, env, res, g)
}

// Destroy stops and destroys the guest at ref with its disks, honouring PVE's
// protection flag.
func Destroy(ctx context.Context, env Env, ref pve.Ref) error {
	if ref.Kind == pve.QEMU {
		return DestroyVM(ctx, env, ref)
	}
	return DestroyContainer(ctx, env, ref)
}

// kindMismatch explains an ID held by a guest of the other kind.
func kindMismatch(ref pve.Ref, g *phoenix.Guest) error {
	want := "a container"
	if g.Kind == phoenix.KindVM {
		want = "a VM"
	}
	return fmt.Errorf("ID %d is %s, but the definition is %s: choose a free ID or remove the other guest", ref.ID, ref, want)
}

// Absent confirms that the guest at ref (the node and kind last recorded)
// is gone when the cluster listing does not show it. PVE's listing leaves
// out the guests the credentials may not audit (VM.Audit on /vms/ID), so a
// missing entry alone must not drop a guest from state or skip its
// destroy: its node is asked directly, and a refusal is an error.
func Absent(ctx context.Context, env Env, ref pve.Ref) error {
	if ref.Node == "" {
		return nil
	}
	_, err := env.API.Status(ctx, ref)
	var ae *pve.APIError
	switch {
	case err == nil:
		return fmt.Errorf("%s is missing from the cluster listing (/cluster/resources) but its node still has it: "+
			"the credentials may not audit it; grant VM.Audit on /vms/%d", ref, ref.ID)
	case pve.IsNotFound(err), errors.As(err, &ae) && strings.Contains(ae.Msg, "hostname lookup"):
		return nil // gone, or its node left the cluster
	}
	return err
}

// RefOf is the reference of guest id of kind on node.
func RefOf(node string, kind phoenix.Kind, id int) Ref {
	if kind == phoenix.KindVM {
		return Ref{Node: node, Kind: pve.QEMU, ID: id}
	}
	return Ref{Node: node, Kind: pve.LXC, ID: id}
}
