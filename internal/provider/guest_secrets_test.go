//go:build linux

package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/lifecycle"
	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/phoenix"
	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/pvesim"
)

var secrets = []string{"s3cr3t-feature", "s3cr3t-extra", "s3cr3t-check", "s3cr3t-password"}

func secretsConfig() string {
	return fmt.Sprintf(`
terraform {
  required_providers {
    phoenix = { source = "registry.terraform.io/phoenix-hypervisor/phoenix" }
  }
}

resource "phoenix_guest" "s" {
  spec = {
    vmid         = 710
    kind         = "lxc"
    name         = "secretive"
    cores        = 1
    memory_mb    = 256
    disk_size_gb = 4
    storage      = "local-lvm"
    os_template  = %q
    network      = { name = "eth0", bridge = "vmbr0", ip = "dhcp" }
    extra_json   = jsonencode({ api_key = "s3cr3t-extra" })
    features     = [{ name = "token", content = "#!/bin/bash\necho run >> /runs.log\necho s3cr3t-feature > /token\n" }]
    health_checks = [{ name = "token", type = "command", command = "test -n s3cr3t-check" }]
    cloud_init   = { username = "ops", password = "s3cr3t-password" }
  }
}
`, pvesim.DefaultCTTemplate)
}

// The description (readable with audit rights) carries digests, never
// inline scripts, commands, extra_json values or passwords. Import restores
// the rest, says what it could not restore, and plans an in-place change
// that runs no script again.
func TestAccGuest_metadataWithoutSecrets(t *testing.T) {
	sim := startRealSim(t)
	tf := newTFRunner(t, t.TempDir(), sim.realProvider()+secretsConfig())
	tf.must("apply", "-auto-approve", "-input=false", "-no-color")
	desc := sim.config(t, 710)["description"]
	for _, s := range secrets {
		if strings.Contains(desc, s) {
			t.Fatalf("the raw description shows %q", s)
		}
	}
	meta, err := lifecycle.ParseDescription(desc)
	if err != nil || meta == nil || meta.ID != 710 || !meta.Ready {
		t.Fatalf("metadata: %+v %v", meta, err)
	}
	for _, s := range secrets {
		if strings.Contains(string(meta.Record), s) {
			t.Fatalf("the metadata holds %q: %s", s, meta.Record)
		}
	}
	var rec guestRecord
	if err := json.Unmarshal(meta.Record, &rec); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"extra_json", "features[0].content", "health_checks[0].command"} {
		if !strings.HasPrefix(rec.Digests[p], "sha256:") {
			t.Errorf("no digest of %s: %v", p, rec.Digests)
		}
	}

	tf.must("state", "rm", "phoenix_guest.s")
	out := tf.must("import", "-no-color", "-input=false", "phoenix_guest.s", "710")
	if !msgRe("stores only digests of extra_json, features[0].content, health_checks[0].command").MatchString(out) {
		t.Fatalf("import must say what it could not restore:\n%s", out)
	}
	if got := tf.planActions()["phoenix_guest.s"]; !slices.Equal(got, []string{"update"}) {
		t.Fatalf("after import, the unrestored contents are an in-place change, got %v", got)
	}
	tf.must("apply", "-auto-approve", "-input=false", "-no-color")
	if got := sim.guestFile(t, 710, "runs.log"); got != "run\n" {
		t.Fatalf("the feature's digest matched: it must not run again, runs.log = %q", got)
	}
	if code, out := tf.run("plan", "-detailed-exitcode", "-no-color", "-input=false"); code != 0 {
		t.Fatalf("plan after the first apply since import must be empty (exit %d):\n%s", code, out)
	}
	tf.must("destroy", "-auto-approve", "-input=false", "-no-color")
	if err := sim.checkGone(710)(nil); err != nil {
		t.Fatal(err)
	}
}

// The largest entries fit PVE's 8 KiB description limit: every guest of the
// shared layouts with its full record, and a synthetic entry far beyond the
// limit with the lists PVE can tell left out (or, beyond that, no spec).
func TestMetadataFitsDescriptionLimit(t *testing.T) {
	ctx := context.Background()
	set := settings{Started: true, Taint: true, ConfigDir: "/usr/local/phoenix_hypervisor/etc", FeaturesDir: "/usr/local/phoenix_hypervisor/bin"}
	for _, layout := range []string{"seed-layout", "split-layout"} {
		est, _, err := readEstate(phoenix.Sources{Dir: sharedDir(t) + "/phoenix/" + layout}, "")
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range est.Guests {
			spec := newGuestModel(ctx, g, nil)
			desc, err := metadata(ctx, spec, set, true, nil)
			if err != nil || len(desc) > 8192 {
				t.Fatalf("%s guest %d: %d bytes, %v", layout, g.ID, len(desc), err)
			}
			meta, err := lifecycle.ParseDescription(desc)
			if err != nil {
				t.Fatal(err)
			}
			back, rec, err := decodeRecord(ctx, meta.Record)
			if err != nil || back == nil || len(rec.Observed) != 0 {
				t.Fatalf("%s guest %d: the full spec must fit: %v %v", layout, g.ID, rec, err)
			}
			if !back.Cores.Equal(spec.Cores) || !back.Network.Equal(spec.Network) || !back.MountPoints.Equal(spec.MountPoints) {
				t.Fatalf("%s guest %d: the spec does not round-trip", layout, g.ID)
			}
		}
	}
	huge := bigGuest(200)
	spec := newGuestModel(ctx, huge, nil)
	desc, err := metadata(ctx, spec, set, true, nil)
	if err != nil || len(desc) > 8192 {
		t.Fatalf("a huge entry must still fit: %d bytes, %v", len(desc), err)
	}
	meta, _ := lifecycle.ParseDescription(desc)
	back, rec, err := decodeRecord(ctx, meta.Record)
	if err != nil || back == nil || !slices.Equal(rec.Observed, observable) {
		t.Fatalf("want the spec without the lists PVE tells: %+v %v", rec, err)
	}
	if n := len(back.MountPoints.Elements()); n != 0 || back.Cores.ValueInt64() != 8 {
		t.Fatalf("dropped lists must be empty (read from PVE on import): %d mount points, cores %v", n, back.Cores)
	}
	// With thousands of features even the short spec is too large: the
	// metadata stays, without a spec, so the guest is still adoptable.
	spec = newGuestModel(ctx, bigGuest(3000), nil)
	if desc, err = metadata(ctx, spec, set, true, nil); err != nil || len(desc) > 8192 {
		t.Fatalf("%d bytes, %v", len(desc), err)
	}
	meta, _ = lifecycle.ParseDescription(desc)
	if back, _, err := decodeRecord(ctx, meta.Record); err != nil || back != nil || meta.ID != 999 {
		t.Fatalf("want metadata without a spec: %v %v", back, err)
	}
}

// bigGuest has n of each list entry, with distinct values that compress poorly.
func bigGuest(n int) *phoenix.Guest {
	cores := int64(8)
	g := &phoenix.Guest{Kind: phoenix.KindLXC, ID: 999, Name: "big", Cores: &cores, Storage: "local-lvm", OSTemplate: pvesim.DefaultCTTemplate}
	for i := 0; i < n; i++ {
		g.MountPoints = append(g.MountPoints, phoenix.MountPoint{Type: "volume", Name: fmt.Sprintf("vol%d", i), Storage: "local-lvm", SizeGB: int64(i + 1), Path: fmt.Sprintf("/srv/data/%x/%d", i*7919, i)})
		g.Features = append(g.Features, fmt.Sprintf("feature_%x_%d", i*104729, i))
		g.Ports = append(g.Ports, fmt.Sprintf("%d:%d", 1000+i, 2000+i*3))
	}
	g.Firewall = &phoenix.Firewall{Enabled: true}
	for i := 0; i < n; i++ {
		g.Firewall.Rules = append(g.Firewall.Rules, phoenix.FirewallRule{Type: "in", Action: "ACCEPT", Source: fmt.Sprintf("10.%d.%d.%d", i%256, i*7%256, i*13%256), Proto: "tcp", Port: fmt.Sprint(1000 + i*17)})
	}
	return g
}
