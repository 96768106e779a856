//go:build linux

package provider

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
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

// testSim starts an in-process simulator for one test.
type testSim struct {
	srv *pvesim.Server
	api *pve.Client
}

func startSim(t *testing.T) *testSim {
	t.Helper()
	return startSimOpts(t, pvesim.Options{})
}

// simOf wraps a started simulator with an API client logged in as root@pam.
func simOf(t *testing.T, srv *pvesim.Server) *testSim {
	t.Helper()
	api, err := pve.New(pve.Config{Endpoint: srv.Endpoint(), Username: srv.Username(), Password: srv.Password(), CAPEM: string(srv.CACertPEM())})
	if err != nil {
		t.Fatal(err)
	}
	return &testSim{srv: srv, api: api}
}

// provider renders a provider block authenticating as root@pam with a
// ticket and verifying the simulator's CA.
func (s *testSim) provider() string {
	return fmt.Sprintf(`
provider "phoenix" {
  endpoint       = %q
  username       = %q
  password       = %q
  ca_certificate = %q
  node           = "pve"
}
`, s.srv.Endpoint(), s.srv.Username(), s.srv.Password(), s.srv.CACertFile())
}

// checkGone is a CheckDestroy that asks the API.
func (s *testSim) checkGone(ids ...int) resource.TestCheckFunc {
	return func(*terraform.State) error {
		for _, id := range ids {
			ref, ok, err := s.api.Locate(context.Background(), id)
			if err != nil {
				return err
			}
			if ok {
				return fmt.Errorf("%s still exists after destroy", ref)
			}
		}
		return nil
	}
}

func (s *testSim) config(t *testing.T, id int) map[string]string {
	t.Helper()
	ref, ok, err := s.api.Locate(context.Background(), id)
	if err != nil || !ok {
		t.Fatalf("guest %d: found=%v err=%v", id, ok, err)
	}
	cfg, err := s.api.Config(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	return cfg.Values
}

// adminToken makes user an Administrator on / and returns its new API token
// "tf" without privilege separation (PROXMOX_VE_API_TOKEN's value).
func (s *testSim) adminToken(t *testing.T, user string) string {
	t.Helper()
	if err := s.srv.AddUser(user, "unused-user-password"); err != nil {
		t.Fatal(err)
	}
	if err := s.srv.SetACL("/", user, "Administrator", true); err != nil {
		t.Fatal(err)
	}
	token, err := s.srv.AddToken(user, "tf", false)
	if err != nil {
		t.Fatal(err)
	}
	return token
}

func ctConfig(cores, disk int, extra string) string {
	return fmt.Sprintf(`
resource "phoenix_guest" "web" {
  spec = {
    vmid         = 200
    kind         = "lxc"
    name         = "web"
    cores        = %d
    memory_mb    = 512
    swap_mb      = 256
    disk_size_gb = %d
    storage      = "local-lvm"
    os_template  = %q
    unprivileged = true
    start_at_boot = true
    boot_order   = 2
    boot_delay   = 5
    pct_options  = ["nesting=1", "keyctl=1"]
    network = { name = "eth0", bridge = "vmbr0", ip = "10.0.0.20/24", gateway = "10.0.0.1", mac = "52:54:00:AA:00:20" }
    mount_points = [{ type = "volume", name = "data", storage = "local-lvm", size_gb = 2, path = "/data" }]
    firewall = {
      enabled = true
      rules   = [{ type = "in", action = "ACCEPT", source = "10.0.0.153", proto = "tcp", port = "8000" }]
    }
    %s
  }
}
`, cores, disk, pvesim.DefaultCTTemplate, extra)
}

func TestAccGuest_containerLifecycle(t *testing.T) {
	sim := startSim(t)
	const addr = "phoenix_guest.web"
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             sim.checkGone(200),
		Steps: []resource.TestStep{
			{
				Config: sim.provider() + ctConfig(2, 8, ""),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("id"), knownvalue.StringExact("200")),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("status"), knownvalue.StringExact("running")),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("current_node"), knownvalue.StringExact("pve")),
				},
				ConfigPlanChecks: resource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
				Check: func(*terraform.State) error {
					c := sim.config(t, 200)
					for k, want := range map[string]string{"cores": "2", "memory": "512", "swap": "256", "onboot": "1", "hostname": "web"} {
						if c[k] != want {
							return fmt.Errorf("PVE %s = %q, want %q", k, c[k], want)
						}
					}
					if !regexp.MustCompile(`mp=/data`).MatchString(c["mp0"]) || !regexp.MustCompile(`hwaddr=52:54:00:AA:00:20`).MatchString(c["net0"]) {
						return fmt.Errorf("mount point or MAC not applied: mp0=%q net0=%q", c["mp0"], c["net0"])
					}
					return nil
				},
			},
			{
				// cores change in place
				Config: sim.provider() + ctConfig(4, 8, ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate)},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("spec").AtMapKey("cores"), knownvalue.Int64Exact(4)),
				},
			},
			{
				// growing the disk is in place too
				Config: sim.provider() + ctConfig(4, 10, ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate)},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
			},
			{
				// drift: cores and memory changed in the UI, the guest stopped, the mount point removed
				PreConfig: func() {
					ctx := context.Background()
					ref := pve.Ref{Node: "pve", Kind: pve.LXC, ID: 200}
					if err := sim.api.UpdateConfig(ctx, ref, map[string]string{"cores": "1", "memory": "1024"}, []string{"mp0"}, ""); err != nil {
						t.Fatal(err)
					}
					if err := sim.api.Stop(ctx, ref); err != nil {
						t.Fatal(err)
					}
				},
				Config: sim.provider() + ctConfig(4, 10, ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate)},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: func(*terraform.State) error {
					c := sim.config(t, 200)
					if c["cores"] != "4" || c["memory"] != "512" || !regexp.MustCompile(`mp=/data`).MatchString(c["mp0"]) {
						return fmt.Errorf("drift not corrected: cores=%q memory=%q mp0=%q", c["cores"], c["memory"], c["mp0"])
					}
					st, err := sim.api.Status(context.Background(), pve.Ref{Node: "pve", Kind: pve.LXC, ID: 200})
					if err != nil || st.Status != "running" {
						return fmt.Errorf("stopped guest not started again: %v %v", st, err)
					}
					return nil
				},
			},
			{
				ResourceName:            addr,
				ImportState:             true,
				ImportStateId:           "200",
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"timeouts", "health", "pending_restart"},
			},
			{
				// a smaller disk recreates the guest
				Config: sim.provider() + ctConfig(4, 6, ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction(addr, plancheck.ResourceActionDestroyBeforeCreate)},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
			},
		},
	})
}

func TestAccGuest_cloneAndDisappear(t *testing.T) {
	sim := startSim(t)
	cfg := sim.provider() + fmt.Sprintf(`
resource "phoenix_guest" "tmpl" {
  spec = {
    vmid = 900
    kind = "lxc"
    name = "tmpl"
    cores = 1
    memory_mb = 512
    disk_size_gb = 4
    storage = "local-lvm"
    os_template = %q
    template_snapshot_name = "pre-configured"
    network = { name = "eth0", bridge = "vmbr0", ip = "dhcp" }
  }
}

resource "phoenix_guest" "app" {
  spec = {
    vmid = 950
    kind = "lxc"
    name = "app"
    cores = 2
    memory_mb = 1024
    disk_size_gb = 6
    storage = "local-lvm"
    clone_from = phoenix_guest.tmpl.spec.vmid
    clone_snapshot = "pre-configured"
    network = { name = "eth0", bridge = "vmbr0", ip = "10.0.0.50/24", gateway = "10.0.0.1" }
  }
}
`, pvesim.DefaultCTTemplate)
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             sim.checkGone(900, 950),
		Steps: []resource.TestStep{
			{
				Config:           cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
				Check: func(*terraform.State) error {
					snaps, err := sim.api.Snapshots(context.Background(), pve.Ref{Node: "pve", Kind: pve.LXC, ID: 900})
					if err != nil || len(snaps) != 1 || snaps[0] != "pre-configured" {
						return fmt.Errorf("template snapshot: %v %v", snaps, err)
					}
					if c := sim.config(t, 950); c["cores"] != "2" || c["hostname"] != "app" {
						return fmt.Errorf("clone not configured: %v", c)
					}
					return nil
				},
			},
			{
				// deleted out of band: removed from state with a warning, then created again
				PreConfig: func() {
					ref := pve.Ref{Node: "pve", Kind: pve.LXC, ID: 950}
					_ = sim.api.Stop(context.Background(), ref)
					if err := sim.api.Destroy(context.Background(), ref); err != nil {
						t.Fatal(err)
					}
				},
				Config: cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction("phoenix_guest.app", plancheck.ResourceActionCreate)},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
			},
		},
	})
}

func TestAccGuest_planErrors(t *testing.T) {
	sim := startSim(t)
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: sim.provider() + `
resource "phoenix_guest" "vm" {
  spec = { vmid = 8000, kind = "vm", name = "vm", template_image = "x.img" }
}`,
				ExpectError: msgRe("a VM created from a cloud image needs storage"),
			},
			{
				Config: sim.provider() + `
resource "phoenix_guest" "ct" {
  spec = {
    vmid = 300
    kind = "lxc"
    name = "ct"
    os_template = "local:vztmpl/x.tar.zst"
    features = [{ name = "docker", path = "/nonexistent/feature_install_docker.sh" }]
  }
}`,
				ExpectError: msgRe(`feature "docker": script not found at /nonexistent/feature_install_docker.sh`),
			},
			{
				Config: sim.provider() + `
resource "phoenix_guest" "ct" {
  spec = { vmid = 301, kind = "lxc", name = "t", os_template = "local:vztmpl/x.tar.zst", is_template = true }
}`,
				ExpectError: msgRe(`phoenix_guest does not convert containers into PVE templates`),
			},
		},
	})
}

var _ = strconv.Itoa
