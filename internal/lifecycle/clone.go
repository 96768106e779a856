package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/phoenix"
	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/pve"
)

// kindNames name the guest kinds in messages.
var kindNames = map[pve.Kind]string{pve.LXC: "container", pve.QEMU: "VM"}

// cloneGuest makes g, of out.Ref's kind, a full clone of its source: of the
// source itself (a template) or of its snapshot g.CloneSnapshot (PVE
// templates have no snapshots). It records in out where the clone ended up,
// even when the clone task failed.
func cloneGuest(ctx context.Context, env Env, g *phoenix.Guest, opts Options, out *Outcome) error {
	src, ok, err := locateSource(ctx, env, *g.CloneFrom)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("clone source %d does not exist: create it first (depends_on on its resource), or set the resource's estate so the provider builds it from the phoenix files", *g.CloneFrom)
	}
	if kind := out.Ref.Kind; src.Kind != kind {
		return fmt.Errorf("clone source %s is a %s; a %s clones only a %s (clone_from_vmid)", src, kindNames[src.Kind], kindNames[kind], kindNames[kind])
	}
	if g.CloneSnapshot != "" {
		snaps, err := env.API.Snapshots(ctx, src)
		if err != nil {
			return err
		}
		if !contains(snaps, g.CloneSnapshot) {
			return fmt.Errorf("clone source %d has no snapshot %q yet: it is taken after the source is provisioned, so apply the source first", src.ID, g.CloneSnapshot)
		}
	}
	env.logf("cloning %s into %d (snapshot %q)", src, g.ID, g.CloneSnapshot)
	out.Ref, err = cloneOnto(ctx, env, src, pve.CloneOptions{NewID: g.ID, Name: g.Name, Snapshot: g.CloneSnapshot, Storage: g.Storage,
		Full: true, Description: opts.Description})
	out.Exists = guestExists(ctx, env, g.ID, out, err)
	if err != nil {
		return fmt.Errorf("cloning %d from %d: %w", g.ID, src.ID, err)
	}
	return nil
}

// locateSource finds a clone source through the plan's shared cluster
// listing: it existed before this create, and every write of this process
// (an on-demand build of it included) refreshes the listing.
func locateSource(ctx context.Context, env Env, id int) (pve.Ref, bool, error) {
	r, ok, err := env.API.Guest(ctx, id)
	return r.Ref, ok, err
}

// guestExists records where the guest ended up after its create or clone
// task: where that put it when the task succeeded; after a failure, where it
// was created (one status request), else wherever the cluster listing finds
// it (a clone PVE placed elsewhere).
func guestExists(ctx context.Context, env Env, id int, out *Outcome, taskErr error) bool {
	if taskErr == nil {
		return true
	}
	if _, err := env.API.Status(ctx, out.Ref); err == nil {
		return true
	}
	ref, ok, err := env.API.Locate(ctx, id)
	if err == nil && ok {
		out.Ref = ref
		return true
	}
	return false
}

// cloneOnto clones src into a new guest on env.Node. PVE clones straight to
// another node only when the source's disks are on shared storage; with
// local storage (PVE refuses "... uses local storage") the clone is made on
// the source's node and then migrated, stopped, to env.Node, as an operator
// would. The returned ref is where the new guest ended up.
func cloneOnto(ctx context.Context, env Env, src pve.Ref, o pve.CloneOptions) (pve.Ref, error) {
	o.Target = env.Node
	dst := pve.Ref{Node: env.Node, Kind: src.Kind, ID: o.NewID}
	err := env.API.Clone(ctx, src, o)
	var ae *pve.APIError
	if err == nil || env.Node == src.Node || !errors.As(err, &ae) || !strings.Contains(ae.Msg, "uses local storage") {
		return dst, err
	}
	env.logf("%s has local disks: cloning %d on %s, then migrating it to %s", src, o.NewID, src.Node, env.Node)
	o.Target = ""
	local := pve.Ref{Node: src.Node, Kind: src.Kind, ID: o.NewID}
	if err := env.API.Clone(ctx, src, o); err != nil {
		return local, err
	}
	if err := env.API.Migrate(ctx, local, env.Node, false); err != nil {
		return local, err
	}
	return dst, nil
}
