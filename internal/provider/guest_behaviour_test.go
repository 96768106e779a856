//go:build linux

package provider

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/pve"
	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/pvesim"
)

func restartConfig(features string, allowRestart bool) string {
	return fmt.Sprintf(`
resource "phoenix_guest" "r" {
  allow_restart = %t
  spec = {
    vmid = 400
    kind = "lxc"
    name = "restart"
    cores = 1
    memory_mb = 512
    disk_size_gb = 4
    storage = "local-lvm"
    os_template = %q
    pct_options = [%s]
    network = { name = "eth0", bridge = "vmbr0", ip = "dhcp" }
  }
}
`, allowRestart, pvesim.DefaultCTTemplate, features)
}

// A feature-flag change on a running container waits in PVE's pending
// section unless allow_restart lets the provider restart the guest.
func TestAccGuest_pendingRestart(t *testing.T) {
	sim := startSim(t)
	const addr = "phoenix_guest.r"
	pending := func(want string) resource.TestCheckFunc {
		return func(*terraform.State) error {
			c := sim.config(t, 400)
			if c["features"] != want {
				return fmt.Errorf("features = %q, want %q", c["features"], want)
			}
			return nil
		}
	}
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             sim.checkGone(400),
		Steps: []resource.TestStep{
			{Config: sim.provider() + restartConfig(`"nesting=1"`, false), Check: pending("nesting=1"),
				ConfigStateChecks: []statecheck.StateCheck{statecheck.ExpectKnownValue(addr, tfjsonpath.New("pending_restart"), knownvalue.ListSizeExact(0))}},
			{
				Config: sim.provider() + restartConfig(`"nesting=1", "keyctl=1"`, false),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("pending_restart"), knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact("features")})),
				},
				// GET config shows pending values (PVE's default): PVE has the
				// change, the running container does not yet.
				Check:            pending("keyctl=1,nesting=1"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
			{
				Config: sim.provider() + restartConfig(`"nesting=1", "keyctl=1"`, true),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("pending_restart"), knownvalue.ListSizeExact(0)),
				},
				ConfigPlanChecks: resource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
				Check: func(*terraform.State) error {
					keys, err := sim.api.Pending(context.Background(), pve.Ref{Node: "pve", Kind: pve.LXC, ID: 400})
					if err != nil || len(keys) != 0 {
						return fmt.Errorf("allow_restart must restart the guest to apply pending keys: %v %v", keys, err)
					}
					return nil
				},
			},
		},
	})
}

// A failing read keeps the state; protection stops a destroy with a reason;
// root-only settings are refused at plan for token auth.
func TestAccGuest_errorsKeepState(t *testing.T) {
	sim := startSim(t)
	cfg := sim.provider() + restartConfig(`"nesting=1"`, false)
	ref := pve.Ref{Node: "pve", Kind: pve.LXC, ID: 400}
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             sim.checkGone(400),
		Steps: []resource.TestStep{
			{Config: cfg},
			{
				PreConfig: func() {
					// Every read fails: one failed read is absorbed by the client's retries.
					sim.srv.Faults().AddFault(pvesim.FaultRule{Method: "GET", Path: "/nodes/{node}/lxc/{vmid}/config", Status: 500, Message: "simulated backend failure"})
				},
				Config:      cfg,
				ExpectError: regexp.MustCompile(`(?s)Unable to read guest 400.*simulated backend failure.*The state is kept`),
			},
			{
				// the state survived the failed refresh: nothing to do
				PreConfig:        sim.srv.Faults().Clear,
				Config:           cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			},
			{
				PreConfig: func() {
					if err := sim.api.UpdateConfig(context.Background(), ref, map[string]string{"protection": "1"}, nil, ""); err != nil {
						t.Fatal(err)
					}
				},
				Config:      cfg,
				Destroy:     true,
				ExpectError: regexp.MustCompile(`(?s)has PVE protection set.*pct set 400 --protection 0`),
			},
			{
				PreConfig: func() {
					if err := sim.api.UpdateConfig(context.Background(), ref, nil, []string{"protection"}, ""); err != nil {
						t.Fatal(err)
					}
				},
				Config: cfg,
			},
		},
	})
}

func TestAccGuest_rootOnlyNeedsTicket(t *testing.T) {
	sim := startSim(t)
	tokenProvider := strings.Replace(strings.Replace(sim.provider(),
		fmt.Sprintf("username       = %q", sim.srv.Username()), fmt.Sprintf("api_token      = %q", sim.srv.APIToken()), 1),
		fmt.Sprintf("password       = %q\n", sim.srv.Password()), "", 1)
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config:      tokenProvider + restartConfig(`"nesting=1", "keyctl=1"`, false),
			ExpectError: msgRe(`changing feature flags (except nesting) is only allowed for root@pam: "keyctl=1"`),
		}},
	})
}
