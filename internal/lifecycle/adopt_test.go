//go:build linux

package lifecycle

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/pve"
)

func describe(t *testing.T, m Metadata) string {
	t.Helper()
	d, err := m.Description()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// A guest carries its metadata from the moment it exists; a second Create
// (an apply killed midway, run again) adopts it and resumes provisioning
// from the recorded digests instead of failing or duplicating it.
func TestCreateAdoptsItsOwnGuest(t *testing.T) {
	env := testEnv(t)
	ctx := context.Background()
	g := ct(700)
	meta := Metadata{ID: 700, Kind: g.Kind, Origin: OriginOf(g), Provisioned: map[string]string{"base": "sha256:aa"}}
	out, err := CreateContainer(ctx, env, g, Options{Description: describe(t, meta)})
	if err != nil || out.Adopted {
		t.Fatalf("create: adopted=%v err=%v", out.Adopted, err)
	}
	cfg, err := env.API.Config(ctx, out.Ref)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseDescription(cfg.Values["description"])
	if err != nil || got == nil || got.ID != 700 || got.Ready {
		t.Fatalf("the create request must carry the metadata: %+v %v", got, err)
	}
	g.Cores = i64(3)
	out, err = CreateContainer(ctx, env, g, Options{})
	if err != nil || !out.Adopted || !out.Exists {
		t.Fatalf("want adoption, got adopted=%v exists=%v err=%v", out.Adopted, out.Exists, err)
	}
	if len(out.Records) != 1 || out.Records[0].Name != "base" || out.Records[0].Digest != "sha256:aa" {
		t.Fatalf("adoption must resume from the recorded scripts: %+v", out.Records)
	}
	if cfg, _ := env.API.Config(ctx, out.Ref); cfg.Values["cores"] != "3" {
		t.Fatalf("the adopted guest must be converged to the spec: cores=%q", cfg.Values["cores"])
	}
}

// Creation-only inputs that differ from what the guest was built with are an
// error naming the field and the fix; the guest is never touched.
func TestAdoptRefusesOtherCreationInputs(t *testing.T) {
	env := testEnv(t)
	ctx := context.Background()
	g := ct(701)
	if _, err := CreateContainer(ctx, env, g, Options{Description: describe(t, Metadata{ID: 701, Kind: g.Kind, Origin: OriginOf(g)})}); err != nil {
		t.Fatal(err)
	}
	g.Storage = "fast-zfs"
	out, err := CreateContainer(ctx, env, g, Options{})
	if err == nil || out.Exists || !strings.Contains(err.Error(), `storage: built with "local-lvm", the spec says "fast-zfs"`) ||
		!strings.Contains(err.Error(), "put the value in the phoenix files") {
		t.Fatalf("want a refusal naming storage and the fix, got exists=%v err=%v", out.Exists, err)
	}
}

// Only this provider's metadata for this very ID is adopted.
func TestAdoptRefusesForeignMetadata(t *testing.T) {
	env := testEnv(t)
	ctx := context.Background()
	for id, desc := range map[int]string{
		702: describe(t, Metadata{ID: 999, Kind: "lxc"}),
		703: "Managed by Terraform\nphoenix-meta:v2:!!!notbase64",
		704: "Managed by Terraform\nphoenix-meta:v1:H4sIAAAAAAAA",
	} {
		if _, err := CreateContainer(ctx, env, ct(id), Options{Description: desc}); err != nil {
			t.Fatal(err)
		}
		out, err := CreateContainer(ctx, env, ct(id), Options{})
		if err == nil || out.Exists || out.Adopted {
			t.Fatalf("guest %d: a foreign or unreadable description must be refused, got %v", id, err)
		}
		if !strings.Contains(err.Error(), "import it (terraform import <address>") {
			t.Errorf("guest %d: the refusal must say how to import it: %v", id, err)
		}
	}
}

// PVE copies the source's description into a full clone of the guest
// itself (not of a snapshot): a clone interrupted before it was described as
// itself is still recognised as ours.
func TestAdoptInterruptedClone(t *testing.T) {
	env := testEnv(t)
	ctx := context.Background()
	src := ct(900)
	if _, err := CreateContainer(ctx, env, src, Options{Description: describe(t, Metadata{ID: 900, Kind: "lxc", Ready: true, Origin: OriginOf(src)})}); err != nil {
		t.Fatal(err)
	}
	ref := pve.Ref{Node: "pve", Kind: pve.LXC, ID: 900}
	if err := env.API.Clone(ctx, ref, pve.CloneOptions{NewID: 950, Full: true}); err != nil {
		t.Fatal(err)
	}
	clone := ct(950)
	id := 900
	clone.CloneFrom = &id
	out, err := CreateContainer(ctx, env, clone, Options{})
	if err != nil || !out.Adopted || len(out.Records) != 0 {
		t.Fatalf("want the interrupted clone adopted with no records, got adopted=%v records=%v err=%v", out.Adopted, out.Records, err)
	}
}

func TestReadyNeedsFinishedBuildAndSnapshot(t *testing.T) {
	env := testEnv(t)
	ctx := context.Background()
	g := ct(705)
	g.TemplateSnapshot = "golden"
	check := func(want bool, wantWhy string) {
		t.Helper()
		f, err := Inspect(ctx, env, 705)
		if err != nil {
			t.Fatal(err)
		}
		ready, why, err := Ready(ctx, env, f, g)
		if err != nil || ready != want || !strings.Contains(why, wantWhy) {
			t.Fatalf("ready=%v why=%q err=%v, want %v %q", ready, why, err, want, wantWhy)
		}
	}
	check(false, "does not exist")
	out, err := CreateContainer(ctx, env, g, Options{Description: describe(t, Metadata{ID: 705, Kind: "lxc", Origin: OriginOf(g)})})
	if err != nil {
		t.Fatal(err)
	}
	// The build took the snapshot, but its metadata still says building.
	check(false, "has not finished its build")
	if err := SetDescription(ctx, env, out.Ref, describe(t, Metadata{ID: 705, Kind: "lxc", Ready: true, Origin: OriginOf(g)})); err != nil {
		t.Fatal(err)
	}
	check(true, "")
	f, _ := Inspect(ctx, env, 705)
	if f.Storage != "local-lvm" || !f.Ours(g) {
		t.Fatalf("inspect: storage=%q ours=%v", f.Storage, f.Ours(g))
	}
}

// The metadata fits PVE's description limit or says so; what cannot be read
// is an error, no metadata at all is not.
func TestMetadataEncoding(t *testing.T) {
	m := Metadata{ID: 950, Kind: "lxc", Ready: true, Origin: Origin{Storage: "local-lvm"}, Record: json.RawMessage(`{"a":1}`)}
	d := describe(t, m)
	back, err := ParseDescription("notes written by hand\n" + d)
	if err != nil || back.ID != 950 || !back.Ready || back.Origin.Storage != "local-lvm" || string(back.Record) != `{"a":1}` {
		t.Fatalf("round trip: %+v %v", back, err)
	}
	if m, err := ParseDescription("just notes"); m != nil || err != nil {
		t.Fatalf("no metadata is not an error: %v %v", m, err)
	}
	if _, err := ParseDescription("phoenix-meta:v9:abc"); err == nil || !strings.Contains(err.Error(), "unsupported metadata version") {
		t.Fatalf("unknown version: %v", err)
	}
	// Incompressible record: too large for PVE.
	big := make([]byte, 9000)
	if _, err := rand.Read(big); err != nil {
		t.Fatal(err)
	}
	m.Record, _ = json.Marshal(map[string][]byte{"x": big})
	if _, err := m.Description(); !errors.Is(err, ErrDescriptionTooLarge) {
		t.Fatalf("want ErrDescriptionTooLarge, got %v", err)
	}
}
