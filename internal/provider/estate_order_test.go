//go:build linux

package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/pve"
	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/pvesim"
)

// tierEstate writes a phoenix estate 11 dependency tiers deep: a clone chain
// 600 <- 601 <- ... <- 609 (each cloned from its source's snapshot "golden"),
// 620 depending on 609, and 621 depending on nothing. deps621 and src609
// let a test move 621 to another tier and give 609 another clone source.
func tierEstate(t *testing.T, dir string, deps621 []int, src609 int) {
	t.Helper()
	entry := func(name string, extra map[string]any) map[string]any {
		e := map[string]any{"name": name, "cores": 1, "memory_mb": 64, "storage_pool": "local-lvm", "storage_size_gb": 1,
			"network_config": map[string]any{"name": "eth0", "bridge": "vmbr0", "ip": "dhcp"}}
		for k, v := range extra {
			e[k] = v
		}
		return e
	}
	cts := map[string]any{"600": entry("tier0", map[string]any{"template": pvesim.DefaultCTTemplate, "template_snapshot_name": "golden"})}
	for i := 1; i <= 9; i++ {
		src := 600 + i - 1
		if i == 9 {
			src = src609
		}
		cts[fmt.Sprint(600+i)] = entry(fmt.Sprintf("tier%d", i), map[string]any{"clone_from_ctid": fmt.Sprint(src), "template_snapshot_name": "golden"})
	}
	cts["620"] = entry("leaf", map[string]any{"template": pvesim.DefaultCTTemplate, "dependencies": []string{"609"}})
	deps := []string{}
	for _, d := range deps621 {
		deps = append(deps, fmt.Sprint(d))
	}
	cts["621"] = entry("free", map[string]any{"template": pvesim.DefaultCTTemplate, "dependencies": deps})
	write := func(name string, v any) {
		b, _ := json.MarshalIndent(v, "", "  ")
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("phoenix_hypervisor_config.json", map[string]any{"network": map[string]any{"interfaces": map[string]any{"name": "vmbr0"}}})
	write("phoenix_lxc_configs.json", map[string]any{"lxc_configs": cts})
}

var tierIDs = []int{600, 601, 602, 603, 604, 605, 606, 607, 608, 609, 620, 621}

func estateMain(t *testing.T, sim *testSim, cfgDir string) string {
	return sim.provider() + fmt.Sprintf(`
terraform {
  required_providers {
    phoenix = { source = "registry.terraform.io/phoenix-hypervisor/phoenix" }
  }
}

module "estate" {
  source     = %q
  config_dir = %q
}

data "phoenix_config" "tiers" { config_dir = %q }
output "tier_count" { value = length(data.phoenix_config.tiers.tiers) }
`, filepath.Join(repoRoot(t), "examples", "modules", "phoenix-estate"), cfgDir, cfgDir)
}

// The estate module is one resource block keyed by ID: an estate of any depth
// applies at any -parallelism (Terraform's CLI, which can set it), the
// provider building each clone source first, one build per guest at a time.
func TestAccEstate_tiersAtAnyParallelism(t *testing.T) {
	for _, parallelism := range []int{1, 0, 50} {
		t.Run(strings.TrimPrefix(parallelismFlag(parallelism), "-"), func(t *testing.T) {
			sim := startSim(t)
			cfgDir := t.TempDir()
			tierEstate(t, cfgDir, nil, 608)
			tf := newTFRunner(t, t.TempDir(), estateMain(t, sim, cfgDir))
			par := parallelismFlag(parallelism)
			tf.must("get", "-no-color")
			out := tf.must("apply", "-auto-approve", "-input=false", "-no-color", par)
			if !strings.Contains(out, "Apply complete! Resources: 12 added") || !strings.Contains(out, "tier_count = 11") {
				t.Fatalf("want 12 guests over 11 tiers:\n%s", out)
			}
			// Guests built on demand in this apply are adopted silently.
			if strings.Contains(out, "Warning: Adopted") {
				t.Errorf("a guest built in this apply must not be reported as adopted:\n%s", out)
			}
			for _, id := range tierIDs {
				if c := sim.config(t, id); c["hostname"] == "" {
					t.Fatalf("CT %d not configured: %v", id, c)
				}
			}
			// Each clone was made from its source's snapshot, which exists.
			for id := 600; id <= 609; id++ {
				snaps, err := sim.api.Snapshots(context.Background(), pve.Ref{Node: "pve", Kind: pve.LXC, ID: id})
				if err != nil || !slices.Contains(snaps, "golden") {
					t.Fatalf("CT %d lacks its template snapshot: %v %v", id, snaps, err)
				}
			}
			if code, out := tf.run("plan", "-detailed-exitcode", "-no-color", "-input=false"); code != 0 {
				t.Fatalf("re-plan after apply must be empty (exit %d):\n%s", code, out)
			}
			if parallelism == 1 {
				testAdoptAfterLostState(t, sim, tf, par)
				testModulePlans(t, tf, cfgDir)
			}
			out = tf.must("destroy", "-auto-approve", "-input=false", "-no-color", par)
			if !strings.Contains(out, "Resources: 12 destroyed") {
				t.Fatalf("want 12 destroyed:\n%s", out)
			}
			if err := sim.checkGone(tierIDs...)(nil); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// The state of a guest is lost (an apply killed before Terraform wrote it):
// the next apply adopts the guest instead of failing or creating another.
func testAdoptAfterLostState(t *testing.T, sim *testSim, tf tfRunner, par string) {
	addr := `module.estate.phoenix_guest.this["605"]`
	ctx := context.Background()
	ref := pve.Ref{Node: "pve", Kind: pve.LXC, ID: 605}
	if err := sim.api.UpdateConfig(ctx, ref, map[string]string{"tags": "survivor"}, nil, ""); err != nil {
		t.Fatal(err)
	}
	tf.must("state", "rm", addr)
	out := tf.must("apply", "-auto-approve", "-input=false", "-no-color", par)
	if !strings.Contains(out, "Adopted CT 605") || !strings.Contains(out, "1 added") {
		t.Fatalf("want 605 adopted:\n%s", out)
	}
	if c := sim.config(t, 605); c["tags"] != "survivor" {
		t.Fatalf("605 was recreated instead of adopted: %v", c)
	}
	if code, out := tf.run("plan", "-detailed-exitcode", "-no-color", "-input=false"); code != 0 {
		t.Fatalf("plan after adoption must be empty (exit %d):\n%s", code, out)
	}
}

// Through the module: a new dependency (621 moves from tier 0 to tier 7) is
// an in-place update; a new clone source (609) is a replacement.
func testModulePlans(t *testing.T, tf tfRunner, cfgDir string) {
	addr := func(id int) string { return fmt.Sprintf(`module.estate.phoenix_guest.this["%d"]`, id) }
	tierEstate(t, cfgDir, []int{606}, 608)
	acts := tf.planActions()
	for _, id := range tierIDs {
		want := []string{"no-op"}
		if id == 621 {
			want = []string{"update"}
		}
		if got := acts[addr(id)]; !slices.Equal(got, want) {
			t.Errorf("a new dependency of 621: %s plans %v, want %v", addr(id), got, want)
		}
	}
	tierEstate(t, cfgDir, []int{606}, 607)
	acts = tf.planActions()
	if got := acts[addr(609)]; !slices.Equal(got, []string{"delete", "create"}) {
		t.Errorf("a new clone source must replace 609, got %v", got)
	}
	if got := acts[addr(620)]; !slices.Equal(got, []string{"no-op"}) {
		t.Errorf("620 depends on 609 but does not change: %v", got)
	}
	tierEstate(t, cfgDir, nil, 608)
}

// The estate module's block, in the root module so plancheck can address it
// (with count: the test framework's CheckDestroy reads state in a format
// without for_each keys): a guest that changes tier is an in-place change; a
// guest whose clone source changes is replaced (a real re-creation); its
// dependents are not.
func TestAccEstate_tierChangePlans(t *testing.T) {
	sim := startSim(t)
	cfgDir := t.TempDir()
	tierEstate(t, cfgDir, nil, 608)
	cfg := sim.provider() + fmt.Sprintf(`
data "phoenix_config" "x" { config_dir = %q }
locals { ids = [for id in data.phoenix_config.x.lxc_ids : tostring(id)] }
resource "phoenix_guest" "this" {
  count  = length(local.ids)
  spec   = data.phoenix_config.x.guests[local.ids[count.index]]
  estate = { config_dir = %q }
}
`, cfgDir, cfgDir)
	addr := func(id int) string { return fmt.Sprintf("phoenix_guest.this[%d]", slices.Index(tierIDs, id)) }
	noOp := func(ids ...int) []plancheck.PlanCheck {
		var out []plancheck.PlanCheck
		for _, id := range ids {
			out = append(out, plancheck.ExpectResourceAction(addr(id), plancheck.ResourceActionNoop))
		}
		return out
	}
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             sim.checkGone(tierIDs...),
		Steps: []resource.TestStep{
			{Config: cfg, ConfigPlanChecks: resource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}}},
			{
				// 621 gains a dependency: it moves from tier 0 to tier 7.
				PreConfig: func() { tierEstate(t, cfgDir, []int{606}, 608) },
				Config:    cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             append(noOp(600, 606, 609, 620), plancheck.ExpectResourceAction(addr(621), plancheck.ResourceActionUpdate)),
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
			},
			{
				// 609 gets another clone source: replaced; 620, which depends on it, is not.
				PreConfig: func() { tierEstate(t, cfgDir, []int{606}, 607) },
				Config:    cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             append(noOp(607, 608, 620, 621), plancheck.ExpectResourceAction(addr(609), plancheck.ResourceActionDestroyBeforeCreate)),
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
			},
		},
	})
}

// A module override of a creation-only input cannot apply to a guest that was
// built on demand from the phoenix files: the error names the field and the
// fix, and the guest is kept.
func TestAccEstate_overrideOfCreationInput(t *testing.T) {
	sim := startSim(t)
	cfgDir := t.TempDir()
	tierEstate(t, cfgDir, nil, 608)
	main := strings.Replace(estateMain(t, sim, cfgDir), "  config_dir = ", "  overrides  = { \"601\" = { storage = \"local-zfs\" } }\n  config_dir = ", 1)
	tf := newTFRunner(t, t.TempDir(), main)
	tf.must("get", "-no-color")
	// 602 alone: its clone sources 601 and 600 are built on demand, from the files.
	out := tf.must("apply", "-auto-approve", "-input=false", "-no-color", `-target=module.estate.phoenix_guest.this["602"]`)
	if !strings.Contains(out, "1 added") {
		t.Fatalf("want 602 created:\n%s", out)
	}
	for _, id := range []int{600, 601, 602} {
		if c := sim.config(t, id); !strings.HasPrefix(c["rootfs"], "local-lvm:") {
			t.Fatalf("CT %d: %v", id, c)
		}
	}
	code, out := tf.run("apply", "-auto-approve", "-input=false", "-no-color", "-parallelism=1")
	if code == 0 || !msgRe(`storage: built with "local-lvm", the spec says "local-zfs"`).MatchString(out) || !msgRe("put the value in the phoenix files").MatchString(out) {
		t.Fatalf("want a refusal naming storage and the fix (exit %d):\n%s", code, out)
	}
	if c := sim.config(t, 601); !strings.HasPrefix(c["rootfs"], "local-lvm:") {
		t.Fatalf("CT 601 must be kept as it is: %v", c)
	}
	tf.must("destroy", "-auto-approve", "-input=false", "-no-color")
}
