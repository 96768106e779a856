package provider

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/lifecycle"
	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/phoenix"
	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/provision"
)

// Ordering by building on demand. The estate module applies every guest from
// one resource block with no depends_on, so a guest's address never depends
// on its place in the dependency graph. When a guest's clone source or a
// dependency is missing or unfinished, the provider builds it itself, inside
// the same apply, from the phoenix files named by the resource's `estate`,
// recursively. Every operation on a guest ID holds that ID's lock in the
// provider process: whoever needs a guest first builds it, and everyone
// else, its own resource instance included, waits for that build. A waiter
// always waits for a build that is running (locks are taken along
// dependency edges, which phoenix.Load guarantees acyclic), so no
// -parallelism can deadlock: at -parallelism=1 the first instance builds
// its whole chain inline.

// buildRegistry is the per-process state of on-demand builds.
type buildRegistry struct {
	mu      sync.Mutex
	locks   map[int]chan struct{} // held IDs; the channel closes on release
	failed  map[int]error         // on-demand builds that failed in this run
	owned   map[int]bool          // guests a resource instance created or updated in this run
	built   map[int]bool          // guests built on demand in this run
	estates map[estateKey]*estateEntry
}

func newBuildRegistry() *buildRegistry {
	return &buildRegistry{locks: map[int]chan struct{}{}, failed: map[int]error{}, owned: map[int]bool{}, built: map[int]bool{},
		estates: map[estateKey]*estateEntry{}}
}

// lock takes guest id's lock, waiting (cancellably) for its holder.
func (b *buildRegistry) lock(ctx context.Context, id int) (func(), error) {
	for {
		b.mu.Lock()
		ch, held := b.locks[id]
		if !held {
			ch = make(chan struct{})
			b.locks[id] = ch
			b.mu.Unlock()
			return func() {
				b.mu.Lock()
				delete(b.locks, id)
				close(ch)
				b.mu.Unlock()
			}, nil
		}
		b.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for the build of guest %d: %w", id, ctx.Err())
		}
	}
}

// builtOnDemand reports whether guest id was built on demand in this run
// (its own instance then adopts it as a matter of course).
func (b *buildRegistry) builtOnDemand(id int) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.built[id]
}

func (b *buildRegistry) failure(id int) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.failed[id]
}

func (b *buildRegistry) fail(id int, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.failed[id] = err
}

// own claims guest id for one resource instance in this run: a second
// resource with the same ID would otherwise adopt the first one's guest.
func (b *buildRegistry) own(id int) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.owned[id] {
		return fmt.Errorf("guest %d is already managed by another phoenix_guest resource in this configuration: give each resource its own vmid", id)
	}
	b.owned[id] = true
	return nil
}

// estateKey names the phoenix files of a resource's `estate`.
type estateKey struct{ configDir, featuresDir string }

// estateSpecs are the specs the phoenix files give each guest: exactly what
// its own resource gets from phoenix_config without module overrides.
type estateSpecs struct {
	key   estateKey
	specs map[int]guestModel
}

type estateEntry struct {
	once sync.Once
	est  *estateSpecs
	err  error
}

// estate loads the phoenix files once per process.
func (b *buildRegistry) estate(ctx context.Context, key estateKey) (*estateSpecs, error) {
	b.mu.Lock()
	e, ok := b.estates[key]
	if !ok {
		e = &estateEntry{}
		b.estates[key] = e
	}
	b.mu.Unlock()
	e.once.Do(func() {
		est, scripts, err := readEstate(phoenix.Sources{Dir: key.configDir}, key.featuresDir)
		if err != nil {
			e.err = fmt.Errorf("reading the phoenix files of estate (config_dir %s): %w", key.configDir, err)
			return
		}
		specs := make(map[int]guestModel, len(est.Guests))
		for _, g := range est.Guests {
			specs[g.ID] = estateSpec(ctx, g, scripts)
		}
		e.est = &estateSpecs{key: key, specs: specs}
	})
	return e.est, e.err
}

// buildInput is one operation on a guest: create (or adopt) when ref is
// nil, else update the guest at ref. The phoenix files of set (ConfigDir)
// are read only when a prerequisite has to be checked.
type buildInput struct {
	spec guestModel
	set  settings
	prev []provision.Record
	ref  *lifecycle.Ref
	// passwordChanged: the spec's cloud-init password differs from the state's.
	passwordChanged bool
}

// chainKey carries the IDs being built by one call chain, to report a cycle
// (possible only when a spec overrides the phoenix files' dependencies).
type chainKey struct{}

func enter(ctx context.Context, id int) (context.Context, error) {
	chain, _ := ctx.Value(chainKey{}).([]int)
	if slices.Contains(chain, id) {
		parts := make([]string, 0, len(chain)+1)
		for _, c := range append(chain, id) {
			parts = append(parts, strconv.Itoa(c))
		}
		return ctx, fmt.Errorf("dependency cycle: %s", strings.Join(parts, " -> "))
	}
	return context.WithValue(ctx, chainKey{}, append(slices.Clone(chain), id)), nil
}

// apply runs one operation on the guest under its lock, after making sure
// its prerequisites are built.
func (c *ProviderConfig) apply(ctx context.Context, env lifecycle.Env, in buildInput) (lifecycle.Outcome, error) {
	id := int(in.spec.VMID.ValueInt64())
	ctx, err := enter(ctx, id)
	if err != nil {
		return lifecycle.Outcome{}, err
	}
	release, err := c.builds.lock(ctx, id)
	if err != nil {
		return lifecycle.Outcome{}, err
	}
	defer release()
	if err := c.builds.own(id); err != nil {
		return lifecycle.Outcome{}, err
	}
	return c.build(ctx, env, in)
}

// build is apply's body, for a caller that holds the guest's lock.
func (c *ProviderConfig) build(ctx context.Context, env lifecycle.Env, in buildInput) (lifecycle.Outcome, error) {
	g := in.spec.toGuest(ctx)
	if err := c.ensurePrerequisites(ctx, env, g, in); err != nil {
		return lifecycle.Outcome{}, err
	}
	opts, err := c.options(ctx, in, g)
	if err != nil {
		return lifecycle.Outcome{}, err
	}
	var out lifecycle.Outcome
	if in.ref == nil {
		out, err = lifecycle.Create(ctx, env, g, opts)
	} else {
		out, err = lifecycle.Update(ctx, env, *in.ref, g, opts)
	}
	if out.Exists {
		desc, derr := metadata(ctx, in.spec, in.set, err == nil, out.Records)
		if derr == nil {
			derr = lifecycle.SetDescription(ctx, env, out.Ref, desc)
		}
		if derr != nil {
			out.Warnings = append(out.Warnings, fmt.Sprintf("%s works, but its metadata could not be stored in its description (%v): "+
				"it cannot be adopted after an interrupted apply, and import reads it from PVE's configuration only", out.Ref, derr))
		}
	}
	return out, err
}

// ensurePrerequisites builds what g needs first: its clone source (at
// creation) and its dependencies. Without an estate, hand-written resources
// order themselves with depends_on, and a missing clone source is
// lifecycle.Create's clear error.
func (c *ProviderConfig) ensurePrerequisites(ctx context.Context, env lifecycle.Env, g *phoenix.Guest, in buildInput) error {
	if in.set.ConfigDir == "" {
		return nil
	}
	var ids []int
	if in.ref == nil && g.CloneFrom != nil {
		ids = append(ids, *g.CloneFrom)
	}
	for _, d := range g.Dependencies {
		if !slices.Contains(ids, d) {
			ids = append(ids, d)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	est, err := c.builds.estate(ctx, estateKey{configDir: in.set.ConfigDir, featuresDir: in.set.FeaturesDir})
	if err != nil {
		return fmt.Errorf("guest %d needs %v first: %w", g.ID, ids, err)
	}
	for _, id := range ids {
		if err := c.ensure(ctx, env, id, in, est); err != nil {
			return fmt.Errorf("guest %d needs guest %d first: %w", g.ID, id, err)
		}
	}
	return nil
}

// ensure makes guest id finished, building it from the phoenix files when it
// is missing or unfinished. An on-demand build that failed is not retried in
// the same run; the guest's own resource instance still tries, and records
// the outcome in its state.
func (c *ProviderConfig) ensure(ctx context.Context, env lifecycle.Env, id int, parent buildInput, est *estateSpecs) error {
	if err := c.builds.failure(id); err != nil {
		return err
	}
	spec, ok := est.specs[id]
	if !ok {
		return fmt.Errorf("guest %d is not defined in the phoenix files of %s", id, est.key.configDir)
	}
	ctx, err := enter(ctx, id)
	if err != nil {
		return err
	}
	release, err := c.builds.lock(ctx, id)
	if err != nil {
		return err
	}
	defer release()
	g := spec.toGuest(ctx)
	f, err := lifecycle.Inspect(ctx, env, id)
	if err != nil {
		return err
	}
	ready, why, err := lifecycle.Ready(ctx, env, f, g)
	if err != nil || ready {
		return err
	}
	if env.Log != nil {
		env.Log(fmt.Sprintf("%s: building it now from the phoenix files", why))
	}
	child := buildInput{spec: spec, set: settings{Started: true, Taint: true, AllowRestart: parent.set.AllowRestart,
		WarnOnly: parent.set.WarnOnly, ScriptTimeout: parent.set.ScriptTimeout,
		ConfigDir: est.key.configDir, FeaturesDir: est.key.featuresDir}}
	out, err := c.build(ctx, env, child)
	if out.Exists {
		c.builds.mu.Lock()
		c.builds.built[id] = true
		c.builds.mu.Unlock()
	}
	if err != nil {
		var stepErr *provision.StepError
		if errors.As(err, &stepErr) {
			err = fmt.Errorf("%w\n(the guest is kept; its own resource resumes from the failed script)", err)
		}
		c.builds.fail(id, err)
	}
	return err
}
