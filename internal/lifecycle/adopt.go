package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/guestconf"
	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/phoenix"
	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/provision"
	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/pve"
)

// Found is what Inspect learnt about a guest ID.
type Found struct {
	Ref    Ref
	Exists bool
	// Meta is the guest's metadata; nil when it carries none (a guest this
	// provider did not create) or when it cannot be read (MetaErr).
	Meta    *Metadata
	MetaErr error
	// Storage is the storage of the guest's root disk (rootfs or scsi0).
	Storage string
	// Template is true for a PVE template.
	Template bool
}

// Inspect finds guest id and reads what building, adopting or importing it
// needs: its metadata and its root disk's storage.
func Inspect(ctx context.Context, env Env, id int) (Found, error) {
	ref, ok, err := env.API.Locate(ctx, id)
	if err != nil || !ok {
		return Found{Ref: ref}, err
	}
	return inspectAt(ctx, env, ref)
}

// inspectAt is Inspect of the guest a fresh lookup just found at ref.
func inspectAt(ctx context.Context, env Env, ref Ref) (Found, error) {
	cfg, err := env.API.Config(ctx, ref)
	if err != nil {
		if pve.IsNotFound(err) {
			return Found{Ref: ref}, nil
		}
		return Found{Ref: ref}, err
	}
	f := Found{Ref: ref, Exists: true, Template: cfg.Values["template"] == "1"}
	f.Meta, f.MetaErr = ParseDescription(cfg.Values["description"])
	root := cfg.Values["rootfs"]
	if ref.Kind == pve.QEMU {
		root = cfg.Values[guestconf.BootDisk(cfg.Values)]
	}
	vol, _, _ := strings.Cut(root, ",")
	if sid, _, ok := strings.Cut(vol, ":"); ok && !strings.HasPrefix(vol, "/") {
		f.Storage = sid
	}
	return f, nil
}

// KindOf is the phoenix kind of a PVE guest reference.
func KindOf(ref Ref) phoenix.Kind {
	if ref.Kind == pve.QEMU {
		return phoenix.KindVM
	}
	return phoenix.KindLXC
}

// Ours reports whether the guest carries this provider's metadata for g.
func (f Found) Ours(g *phoenix.Guest) bool {
	return f.Exists && f.Meta != nil && f.Meta.ID == g.ID && f.Meta.Kind == g.Kind && KindOf(f.Ref) == g.Kind
}

// Ready reports whether g, found as f, is finished as a prerequisite of other
// guests (a clone source or a dependency): its build completed (by its
// metadata; a guest without metadata is taken as it is), its template
// snapshot exists and it is a template when it must be one. why says what is
// missing.
func Ready(ctx context.Context, env Env, f Found, g *phoenix.Guest) (ready bool, why string, err error) {
	switch {
	case !f.Exists:
		return false, fmt.Sprintf("guest %d does not exist", g.ID), nil
	case f.Ours(g) && !f.Meta.Ready:
		return false, fmt.Sprintf("%s has not finished its build (provisioning, template snapshot or template conversion)", f.Ref), nil
	case g.IsTemplate && !f.Template:
		return false, fmt.Sprintf("%s is not a template", f.Ref), nil
	}
	if g.TemplateSnapshot != "" && !g.IsTemplate {
		snaps, err := env.API.Snapshots(ctx, f.Ref)
		if err != nil {
			return false, "", err
		}
		if !contains(snaps, g.TemplateSnapshot) {
			return false, fmt.Sprintf("%s has no snapshot %q", f.Ref, g.TemplateSnapshot), nil
		}
	}
	return true, "", nil
}

// settleCreate waits for the create or clone still running for the guest
// at ref (its config holds only the 'create' lock: an apply killed while its
// task ran, or another process creating it), so it can be adopted once it
// carries its metadata. exists is false when that task failed and PVE
// removed the guest: it is then created anew.
func settleCreate(ctx context.Context, env Env, ref Ref) (exists bool, err error) {
	cfg, err := env.API.Config(ctx, ref)
	switch {
	case pve.IsNotFound(err):
		return false, nil
	case err != nil:
		return false, err
	case cfg.Values["lock"] != "create":
		return true, nil
	}
	env.logf("%s is still being created by a task (an earlier apply was interrupted, or another process creates it): waiting for it", ref)
	switch err := env.API.WaitCreated(ctx, ref.ID); {
	case errors.Is(err, pve.ErrCreateFailed):
		env.logf("%s: that create failed and PVE removed the guest: creating it again", ref)
		return false, nil
	case err != nil:
		return false, fmt.Errorf("%s is locked by a create or clone that has not finished (lock: create): %w; "+
			"when no task runs for it any more (see the node's task list), remove the half-created guest (pct destroy/qm destroy %d) and apply again", ref, err, ref.ID)
	}
	return true, nil
}

// adopt takes over the existing guest at ref as g when it carries this
// provider's metadata (an earlier apply killed midway, or a guest built on
// demand for another one in this apply) and was built with the creation-only
// inputs g asks for. Provisioning then resumes from the scripts that already
// ran. Any other guest with the ID is refused: it is not ours to change.
func adopt(ctx context.Context, env Env, ref Ref, g *phoenix.Guest, opts *Options, out *Outcome) error {
	if KindOf(ref) != g.Kind {
		return kindMismatch(ref, g)
	}
	f, err := inspectAt(ctx, env, ref) // the caller located it just now
	if err != nil {
		return err
	}
	importIt := fmt.Sprintf("import it (terraform import <address> %d) instead of creating it", g.ID)
	switch {
	case !f.Exists:
		return fmt.Errorf("%s disappeared while it was being adopted; apply again", ref)
	case f.MetaErr != nil:
		return fmt.Errorf("%s already exists and its description holds phoenix metadata that cannot be read (%v); %s, or destroy it", ref, f.MetaErr, importIt)
	case f.Meta == nil:
		return fmt.Errorf("%s already exists and was not created by this provider; %s", ref, importIt)
	case f.Meta.Kind != g.Kind:
		return fmt.Errorf("%s carries metadata of a %s; %s", ref, f.Meta.Kind, importIt)
	case f.Meta.ID != g.ID && (g.CloneFrom == nil || f.Meta.ID != *g.CloneFrom):
		return fmt.Errorf("%s carries the metadata of guest %d: it is a copy of another guest; %s, or destroy it", ref, f.Meta.ID, importIt)
	case f.Meta.ID != g.ID:
		// PVE copies the description when cloning: this is our clone of
		// g's source, interrupted before it was described as g.
		env.logf("%s is a clone of %d interrupted before its metadata was written: adopting it", ref, f.Meta.ID)
	default:
		if diffs := f.Meta.Origin.Differences(OriginOf(g)); len(diffs) > 0 {
			return fmt.Errorf("%s was built by this provider with other creation-only inputs than this spec:\n  %s\n"+
				"A guest is never destroyed to apply this. If the spec overrides the phoenix files (e.g. module overrides), "+
				"put the value in the phoenix files, so a guest built on demand for its clones gets it too; otherwise destroy %s by hand and apply again",
				ref, strings.Join(diffs, "\n  "), ref)
		}
		if len(opts.Previous) == 0 {
			opts.Previous = metaRecords(f.Meta.Provisioned)
		}
		env.logf("%s exists with this provider's metadata: adopting it", ref)
	}
	out.Ref, out.Exists, out.Adopted, out.Records = ref, true, true, opts.Previous
	return nil
}

// metaRecords turns recorded digests into provisioning records.
func metaRecords(digests map[string]string) []provision.Record {
	out := make([]provision.Record, 0, len(digests))
	for name, d := range digests {
		out = append(out, provision.Record{Name: name, Digest: d, Status: provision.StatusOK})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
