//go:build linux

package provider

import (
	"context"
	"fmt"
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

// foreignConfig is HCL matching CT 705 as createForeign makes it; the OS
// template is something PVE cannot tell.
func foreignConfig() string {
	return fmt.Sprintf(`
resource "phoenix_guest" "imported" {
  spec = {
    vmid          = 705
    kind          = "lxc"
    name          = "legacy"
    cores         = 2
    memory_mb     = 512
    swap_mb       = 256
    disk_size_gb  = 4
    storage       = "local-lvm"
    os_template   = %q
    unprivileged  = true
    start_at_boot = true
    boot_order    = 2
    boot_delay    = 5
    pct_options   = ["nesting=1"]
    network = {
      name          = "eth0"
      bridge        = "vmbr0"
      ip            = "10.0.0.75/24"
      gateway       = "10.0.0.1"
      mac           = "52:54:00:AA:07:05"
      nameservers   = ["10.0.0.1"]
      search_domain = "lab.example"
    }
    mount_points = [{ type = "volume", storage = "local-lvm", size_gb = 2, path = "/data" }]
    firewall = {
      enabled = true
      rules   = [{ type = "in", action = "ACCEPT", proto = "tcp", port = "22" }]
    }
    # The orchestrator ran it; run again it would fail (and there is no SSH).
    features = [{ name = "legacy_setup", content = "#!/bin/bash\nexit 1\n" }]
  }
}
`, pvesim.DefaultCTTemplate)
}

// createForeign creates CT 705 through the API, as a user or another tool
// would: no phoenix metadata.
func createForeign(t *testing.T, sim *testSim) {
	t.Helper()
	ctx := context.Background()
	err := sim.api.CreateContainer(ctx, "pve", 705, map[string]string{
		"ostemplate": pvesim.DefaultCTTemplate, "hostname": "legacy", "storage": "local-lvm", "rootfs": "local-lvm:4",
		"cores": "2", "memory": "512", "swap": "256", "unprivileged": "1", "onboot": "1", "startup": "order=2,up=5",
		"features": "nesting=1", "nameserver": "10.0.0.1", "searchdomain": "lab.example", "mp0": "local-lvm:2,mp=/data",
		"net0": "name=eth0,bridge=vmbr0,firewall=1,gw=10.0.0.1,hwaddr=52:54:00:AA:07:05,ip=10.0.0.75/24", "tags": "handmade",
	})
	if err != nil {
		t.Fatal(err)
	}
	ref := pve.Ref{Node: "pve", Kind: pve.LXC, ID: 705}
	if err := sim.api.SetFirewallEnabled(ctx, ref, true); err != nil {
		t.Fatal(err)
	}
	if err := sim.api.ReplaceFirewallRules(ctx, ref, []pve.FirewallRule{{Type: "in", Action: "ACCEPT", Proto: "tcp", DPort: "22", Enable: 1}}); err != nil {
		t.Fatal(err)
	}
	if err := sim.api.Start(ctx, ref); err != nil {
		t.Fatal(err)
	}
}

// A guest created outside the provider, imported with HCL that matches it:
// everything PVE tells is read back (storage from rootfs, sizes, network,
// mount points, firewall...), and the OS template, which PVE cannot tell,
// never forces a replacement: the next plan is in place only, then empty.
func TestAccGuest_importForeign(t *testing.T) {
	sim := startSim(t)
	createForeign(t, sim)
	const addr = "phoenix_guest.imported"
	cfg := sim.provider() + foreignConfig()
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             sim.checkGone(705),
		Steps: []resource.TestStep{
			{
				// Without this provider's metadata the guest is never taken over.
				Config:      cfg,
				ExpectError: msgRe("CT 705 on node pve already exists and was not created by this provider; import it (terraform import <address> 705)"),
			},
			{
				Config:             cfg,
				ResourceName:       addr,
				ImportState:        true,
				ImportStateId:      "705",
				ImportStatePersist: true,
				ImportStateCheck: func(states []*terraform.InstanceState) error {
					a := states[0].Attributes
					for k, want := range map[string]string{"spec.storage": "local-lvm", "spec.cores": "2", "spec.disk_size_gb": "4",
						"spec.network.ip": "10.0.0.75/24", "spec.network.search_domain": "lab.example", "spec.mount_points.0.size_gb": "2",
						"spec.firewall.rules.0.port": "22", "spec.unprivileged": "true", "spec.boot_delay": "5", "status": "running"} {
						if a[k] != want {
							return fmt.Errorf("imported %s = %q, want %q", k, a[k], want)
						}
					}
					if v, ok := a["spec.os_template"]; ok && v != "" {
						return fmt.Errorf("PVE cannot tell the OS template, yet import set it to %q", v)
					}
					return nil
				},
			},
			{
				// The template PVE cannot tell is the only difference: in place.
				Config:             cfg,
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
				ConfigPlanChecks: resource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate),
				}},
			},
			{
				Config: cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate)},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				// The features of a guest another tool built are recorded as
				// run, not run again.
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("provisioned").AtMapKey("legacy_setup"), knownvalue.NotNull()),
				},
				Check: func(*terraform.State) error {
					if c := sim.config(t, 705); c["tags"] != "handmade" {
						return fmt.Errorf("the imported guest was recreated: %v", c)
					}
					return nil
				},
			},
			{
				// Once the spec is in state, the template is a creation-only
				// input like any other: changing it recreates the guest.
				Config: sim.provider() + replaceOnce(foreignConfig(), pvesim.DefaultCTTemplate, "local:vztmpl/other.tar.zst"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(addr, plancheck.ResourceActionDestroyBeforeCreate),
				}},
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
		},
	})
}

func replaceOnce(s, old, new string) string { return strings.Replace(s, old, new, 1) }
