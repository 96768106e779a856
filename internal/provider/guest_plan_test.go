//go:build linux

package provider

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	rschema "github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"
	tfresource "github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/phoenix"
	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/pve"
	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/pvesim"
)

// freeForm are spec attributes any string is good for.
var freeForm = map[string]bool{"spec.source": true, "spec.features.trigger": true}

// The field table carries the rules declaratively: every spec attribute has
// PVE's validators (booleans have nothing to check), and every creation-only
// input a replacement modifier; nothing is kept in a list by hand.
func TestFieldTableDeclaresRules(t *testing.T) {
	var walk func(prefix string, attrs map[string]rschema.Attribute)
	walk = func(prefix string, attrs map[string]rschema.Attribute) {
		for name, a := range attrs {
			p := prefix + "." + name
			x := fieldNamed(name)
			switch v := a.(type) {
			case rschema.StringAttribute:
				if len(v.Validators) == 0 && !freeForm[p] {
					t.Errorf("%s has no validator", p)
				}
				if x.replace && prefix == "spec" && len(v.PlanModifiers) != 1 {
					t.Errorf("%s is creation-only but has no replacement modifier", p)
				}
			case rschema.Int64Attribute:
				if len(v.Validators) == 0 {
					t.Errorf("%s has no validator", p)
				}
				if (x.replace || x.shrink) && prefix == "spec" && len(v.PlanModifiers) != 1 {
					t.Errorf("%s needs a replacement modifier", p)
				}
			case rschema.ListAttribute:
				if len(v.Validators) == 0 {
					t.Errorf("%s has no element validator", p)
				}
			case rschema.BoolAttribute:
				if x.replace && prefix == "spec" && len(v.PlanModifiers) != 1 {
					t.Errorf("%s is creation-only but has no replacement modifier", p)
				}
			case rschema.SingleNestedAttribute:
				walk(p, v.Attributes)
			case rschema.ListNestedAttribute:
				walk(p, v.NestedObject.Attributes)
			}
		}
	}
	walk("spec", specAttributes(guestFields))
}

// Restart warnings come from the field table's per-kind flags.
func TestRestartWarningsFromFieldTable(t *testing.T) {
	ctx := context.Background()
	base := newGuestModel(ctx, bigGuest(0), nil)
	warn := func(kind string, change func(m *guestModel)) string {
		state := base
		state.Kind = types.StringValue(kind)
		plan := state
		change(&plan)
		var diags diag.Diagnostics
		sm := &guestResourceModel{Status: types.StringValue("running"), Spec: specObjectMust(&state)}
		(&GuestResource{}).warnRestart(specObjectMust(&plan), phoenix.Kind(kind), sm, false, "guest 999", &diags)
		if len(diags) == 0 {
			return ""
		}
		return diags[0].Detail()
	}
	cores := func(m *guestModel) { m.Cores = types.Int64Value(16) }
	flags := func(m *guestModel) { m.PctOptions = stringList([]string{"nesting=1"}) }
	if w := warn("lxc", cores); w != "" {
		t.Errorf("cores hotplug on a container: no warning expected, got %q", w)
	}
	if w := warn("vm", cores); !strings.Contains(w, `["cores"]`) {
		t.Errorf("cores on a running VM wait for a restart: %q", w)
	}
	if w := warn("lxc", flags); !strings.Contains(w, `["pct_options"]`) {
		t.Errorf("feature flags on a running container wait for a restart: %q", w)
	}
}

// Plan modifiers keep what Update does not change known in the plan, and a
// change of any argument (even one only the provider reads, like estate)
// plans an update whose result matches the plan.
func TestAccGuest_planModifiers(t *testing.T) {
	sim := startSim(t)
	const addr = "phoenix_guest.p"
	dir := t.TempDir()
	writeFiles(t, dir, idEstate("10.0.0.1", "80", "ops"))
	cfg := func(estate string) string {
		return sim.provider() + fmt.Sprintf(`
resource "phoenix_guest" "p" {
  %s
  spec = {
    vmid         = 740
    kind         = "lxc"
    name         = "plans"
    cores        = 1
    memory_mb    = 256
    disk_size_gb = 4
    storage      = "local-lvm"
    os_template  = %q
    network      = { name = "eth0", bridge = "vmbr0", ip = "dhcp" }
  }
}`, estate, pvesim.DefaultCTTemplate)
	}
	withEstate := fmt.Sprintf("estate = { config_dir = %q }", dir)
	tfresource.Test(t, tfresource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             sim.checkGone(740),
		Steps: []tfresource.TestStep{
			{Config: cfg("")},
			{
				Config: cfg(withEstate),
				ConfigPlanChecks: tfresource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate),
						plancheck.ExpectKnownValue(addr, tfjsonpath.New("id"), knownvalue.StringExact("740")),
						plancheck.ExpectKnownValue(addr, tfjsonpath.New("current_node"), knownvalue.StringExact("pve")),
						plancheck.ExpectKnownValue(addr, tfjsonpath.New("status"), knownvalue.StringExact("running")),
						plancheck.ExpectKnownValue(addr, tfjsonpath.New("provisioned"), knownvalue.MapSizeExact(0)),
					},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
			},
			{
				// Stopped out of band: status is planned from started.
				PreConfig: func() {
					if err := sim.api.Stop(context.Background(), pve.Ref{Node: "pve", Kind: pve.LXC, ID: 740}); err != nil {
						t.Fatal(err)
					}
				},
				Config: cfg(withEstate),
				ConfigPlanChecks: tfresource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate),
						plancheck.ExpectKnownValue(addr, tfjsonpath.New("status"), knownvalue.StringExact("running")),
					},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
			},
			{
				Config: strings.Replace(cfg(withEstate), "spec = {", "started = false\n  spec = {", 1),
				ConfigPlanChecks: tfresource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectKnownValue(addr, tfjsonpath.New("status"), knownvalue.StringExact("stopped")),
					},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
			},
		},
	})
}

// fieldNamed finds a top-level field of the table.
func fieldNamed(name string) field {
	for _, x := range guestFields {
		if x.name == name {
			return x
		}
	}
	return field{}
}

// Two resources with one ID: the second does not adopt the first's guest.
func TestAccGuest_duplicateID(t *testing.T) {
	sim := startSim(t)
	one := func(name string) string {
		return fmt.Sprintf(`
resource "phoenix_guest" %q {
  spec = { vmid = 750, kind = "lxc", name = %q, storage = "local-lvm", disk_size_gb = 4, os_template = %q }
}`, name, name, pvesim.DefaultCTTemplate)
	}
	tfresource.Test(t, tfresource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             sim.checkGone(750),
		Steps: []tfresource.TestStep{{
			Config:      sim.provider() + one("a") + one("b"),
			ExpectError: msgRe("guest 750 is already managed by another phoenix_guest resource in this configuration"),
		}},
	})
}
