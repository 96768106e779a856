package lifecycle

import (
	"context"
	"errors"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/phoenix"
	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/pve"
)

var errVMs = errors.New("VMs are not supported by this build of the provider")

// CreateVM creates a VM from its cloud image or clones it, then converges it.
func CreateVM(ctx context.Context, env Env, g *phoenix.Guest, opts Options) (Outcome, error) {
	return Outcome{}, errVMs
}

// UpdateVM brings an existing VM to g.
func UpdateVM(ctx context.Context, env Env, ref pve.Ref, g *phoenix.Guest, opts Options) (Outcome, error) {
	return Outcome{Ref: ref, Exists: true}, errVMs
}

func readVM(ctx context.Context, env Env, ref pve.Ref, g *phoenix.Guest) (Observation, error) {
	return Observation{Ref: ref, Found: true}, errVMs
}

// DestroyVM shuts a VM down and destroys it with its disks.
func DestroyVM(ctx context.Context, env Env, ref pve.Ref) error {
	return errVMs
}
