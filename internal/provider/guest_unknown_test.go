//go:build linux

package provider

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/pvesim"
)

// Spec values set from other resources' outputs are unknown at plan time: a
// list (nameservers, pct_options), an object (network) and nested lists of
// objects (firewall rules, mount points). The plan works; the apply uses the
// values once known.
func TestAccGuest_unknownValues(t *testing.T) {
	sim := startSim(t)
	const addr = "phoenix_guest.u"
	spec := tfjsonpath.New("spec")
	cfg := sim.provider() + fmt.Sprintf(`
resource "terraform_data" "dns"    { input = ["10.0.0.53", "10.0.0.54"] }
resource "terraform_data" "flags"  { input = ["nesting=1"] }
resource "terraform_data" "net"    { input = { name = "eth0", bridge = "vmbr0", ip = "10.0.0.60/24", gateway = "10.0.0.1" } }
resource "terraform_data" "rules"  { input = [{ type = "in", action = "ACCEPT", proto = "tcp", port = "22" }, { type = "in", action = "DROP", proto = "udp", port = "53" }] }
resource "terraform_data" "mounts" { input = [{ type = "volume", storage = "local-lvm", size_gb = 2, path = "/data" }] }

resource "phoenix_guest" "u" {
  spec = {
    vmid         = 720
    kind         = "lxc"
    name         = "unknowns"
    cores        = 1
    memory_mb    = 256
    disk_size_gb = 4
    storage      = "local-lvm"
    os_template  = %q
    pct_options  = terraform_data.flags.output
    network      = merge(terraform_data.net.output, { nameservers = terraform_data.dns.output })
    firewall     = { enabled = true, rules = terraform_data.rules.output }
    mount_points = terraform_data.mounts.output
  }
}
`, pvesim.DefaultCTTemplate)
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             sim.checkGone(720),
		Steps: []resource.TestStep{{
			Config: cfg,
			ConfigPlanChecks: resource.ConfigPlanChecks{
				PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionCreate),
					plancheck.ExpectUnknownValue(addr, spec.AtMapKey("pct_options")),
					plancheck.ExpectUnknownValue(addr, spec.AtMapKey("network")),
					plancheck.ExpectUnknownValue(addr, spec.AtMapKey("firewall").AtMapKey("rules")),
					plancheck.ExpectUnknownValue(addr, spec.AtMapKey("mount_points")),
				},
				PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
			},
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(addr, spec.AtMapKey("network").AtMapKey("nameservers"),
					knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact("10.0.0.53"), knownvalue.StringExact("10.0.0.54")})),
				statecheck.ExpectKnownValue(addr, spec.AtMapKey("firewall").AtMapKey("rules"), knownvalue.ListSizeExact(2)),
			},
			Check: func(*terraform.State) error {
				c := sim.config(t, 720)
				if c["nameserver"] != "10.0.0.53 10.0.0.54" || c["features"] != "nesting=1" || !strings.Contains(c["net0"], "ip=10.0.0.60/24") ||
					!strings.Contains(c["mp0"], "mp=/data") {
					return fmt.Errorf("the values known at apply were not applied: %v", c)
				}
				return nil
			},
		}},
	})
}
