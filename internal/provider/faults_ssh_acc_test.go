//go:build linux

package provider

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
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

// Faults of the node shell and the guest agent while a guest is provisioned:
// a script failing once the guest exists, SSH dropped in the middle of a
// command, refused, with wrong credentials or a changed host key; a guest
// agent whose exec hangs. The guest is kept (taint_on_failure = false, as
// the estate module sets it) and the next apply resumes.

const sshFaultID = 520

// sshProvider is realProvider with the host key read from keyFile (so a
// step can trust a new key) and optional overrides of the ssh block.
func (s *testSim) sshProvider(keyFile, password string, port int) string {
	_, p, _ := strings.Cut(s.srv.SSHAddr(""), ":")
	if port != 0 {
		p = fmt.Sprint(port)
	}
	if password == "" {
		password = s.srv.SSHPassword()
	}
	return fmt.Sprintf(`
provider "phoenix" {
  endpoint       = %q
  username       = %q
  password       = %q
  ca_certificate = %q
  node           = "pve"
  ssh {
    username = "root"
    password = %q
    port     = %s
    host_key = trimspace(file(%q))
  }
}
`, s.srv.Endpoint(), s.srv.Username(), s.srv.Password(), s.srv.CACertFile(), password, p, keyFile)
}

// trustKey writes the node's current host key to file.
func (s *testSim) trustKey(t *testing.T, file string) {
	t.Helper()
	if err := os.WriteFile(file, []byte(s.srv.SSHHostKey()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
}

func sshFaultCT(features ...string) string {
	return fmt.Sprintf(`
resource "phoenix_guest" "s" {
  taint_on_failure       = false
  script_timeout_seconds = 10
  spec = {
    vmid = %d, kind = "lxc", name = "sshfault", cores = 1, memory_mb = 256, disk_size_gb = 2, storage = "local-lvm"
    os_template = %q
    network = { name = "eth0", bridge = "vmbr0", ip = "dhcp" }
    features = [%s]
  }
}
`, sshFaultID, pvesim.DefaultCTTemplate, strings.Join(features, ", "))
}

// flaky fails the first time it runs in a guest and succeeds after.
var flaky = feature("flaky", "#!/bin/bash\nif [ ! -f /var/lib/flaky-tried ]; then touch /var/lib/flaky-tried; echo 'first try fails' >&2; exit 3; fi\necho ok >> /flaky.log\n")

// freePort is a loopback port nothing listens on.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	return port
}

// resumed is the step after a fault: the guest is in state as on PVE and
// provisioned, and the plan after it is empty.
func resumed(sim *testSim, cfg string) resource.TestStep {
	return resource.TestStep{
		Config: cfg,
		ConfigPlanChecks: resource.ConfigPlanChecks{
			PreApply:             []plancheck.PlanCheck{stateIsReality{sim: sim, ids: []int{sshFaultID}}},
			PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
		},
		ConfigStateChecks: []statecheck.StateCheck{
			statecheck.ExpectKnownValue("phoenix_guest.s", tfjsonpath.New("provisioning_error"), knownvalue.Null()),
		},
		Check: sim.matches([]int{sshFaultID}, 1),
	}
}

// provisioningError checks the guest kept its provisioning error.
func provisioningError(re string) []statecheck.StateCheck {
	return []statecheck.StateCheck{statecheck.ExpectKnownValue("phoenix_guest.s", tfjsonpath.New("provisioning_error"),
		knownvalue.StringRegexp(regexp.MustCompile(`(?s)`+re)))}
}

// provisioningFaults are the cases of TestAccFaults_provisioning by name.
var provisioningFaults = map[string]func(t *testing.T, sim *testSim, key string) []resource.TestStep{
	"script fails after the guest exists": func(t *testing.T, sim *testSim, key string) []resource.TestStep {
		cfg := sim.sshProvider(key, "", 0) + sshFaultCT(flaky)
		return []resource.TestStep{
			{Config: cfg, ExpectNonEmptyPlan: true, ConfigStateChecks: provisioningError(`feature "flaky"\s+failed\s+with\s+exit\s+code\s+3.*first try fails`)},
			resumed(sim, cfg),
		}
	},
	"SSH dropped in the middle of a command": func(t *testing.T, sim *testSim, key string) []resource.TestStep {
		cfg := sim.sshProvider(key, "", 0) + sshFaultCT(feature("f1", f1))
		return []resource.TestStep{
			{PreConfig: func() {
				if err := sim.srv.Faults().DropSSHCommands(1); err != nil {
					t.Fatal(err)
				}
			}, Config: cfg, ExpectNonEmptyPlan: true, ConfigStateChecks: provisioningError(`connection lost`)},
			resumed(sim, cfg),
		}
	},
	"changed host key": func(t *testing.T, sim *testSim, key string) []resource.TestStep {
		return []resource.TestStep{
			{Config: sim.sshProvider(key, "", 0) + sshFaultCT(feature("f1", f1))},
			{PreConfig: func() {
				if err := sim.srv.Faults().ChangeSSHHostKey(); err != nil {
					t.Fatal(err)
				}
			}, Config: sim.sshProvider(key, "", 0) + sshFaultCT(feature("f1", f1), feature("f2", f2)),
				ExpectError: regexp.MustCompile(`(?s)HOST KEY CHANGED.*ssh-keygen\s+-lf.*update\s+ssh.host_key`)},
			func() resource.TestStep {
				st := resumed(sim, sim.sshProvider(key, "", 0)+sshFaultCT(feature("f1", f1), feature("f2", f2)))
				st.PreConfig = func() { sim.trustKey(t, key) } // the operator checked the new fingerprint
				return st
			}(),
		}
	},
	"wrong SSH credentials": func(t *testing.T, sim *testSim, key string) []resource.TestStep {
		return []resource.TestStep{
			{Config: sim.sshProvider(key, "", 0) + sshFaultCT(feature("f1", f1))},
			{Config: sim.sshProvider(key, "not-the-password", 0) + sshFaultCT(feature("f1", f1), feature("f2", f2)),
				ExpectError: regexp.MustCompile(`(?s)unable to authenticate.*check\s+ssh.username\s+and\s+ssh.password`)},
			resumed(sim, sim.sshProvider(key, "", 0)+sshFaultCT(feature("f1", f1), feature("f2", f2))),
		}
	},
	"SSH refused": func(t *testing.T, sim *testSim, key string) []resource.TestStep {
		return []resource.TestStep{
			{Config: sim.sshProvider(key, "", 0) + sshFaultCT(feature("f1", f1))},
			{Config: sim.sshProvider(key, "", freePort(t)) + sshFaultCT(feature("f1", f1), feature("f2", f2)),
				ExpectError: regexp.MustCompile(`(?s)ssh\s+to\s+node\s+pve.*connection\s+refused`)},
			resumed(sim, sim.sshProvider(key, "", 0)+sshFaultCT(feature("f1", f1), feature("f2", f2))),
		}
	},
}

func TestAccFaults_provisioning(t *testing.T) {
	for name, steps := range provisioningFaults {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			sim := startRealSim(t)
			key := filepath.Join(t.TempDir(), "host_key.pub")
			sim.trustKey(t, key)
			resource.Test(t, resource.TestCase{
				PreCheck:                 func() { testAccPreCheck(t) },
				ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
				CheckDestroy:             sim.checkGone(sshFaultID),
				Steps:                    steps(t, sim, key),
			})
		})
	}
}

// A guest agent whose exec never finishes: the script timeout ends the
// feature, the VM is kept, and the next apply resumes the feature once the
// agent works. (An agent that never answers at all is
// TestAccVM_agentNeverAnswers.)
func TestAccFaults_agentExecHangs(t *testing.T) {
	sim := startVMSim(t)
	const id = 8320
	cfg := sim.realProvider() + fmt.Sprintf(`
resource "phoenix_guest" "vm" {
  taint_on_failure       = false
  script_timeout_seconds = 2
  spec = {
    vmid = %d, kind = "vm", name = "hang", cores = 1, memory_mb = 512, storage = "local-lvm"
    template_image = "noble-server-cloudimg-amd64.img"
    network = { bridge = "vmbr0", ip = "dhcp" }
    features = [%s]
  }
}
`, id, marker("base_setup"))
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             sim.checkGone(id),
		Steps: []resource.TestStep{
			{
				PreConfig:          func() { sim.srv.Faults().SetAgentExecHang(id, true) },
				Config:             cfg,
				ExpectNonEmptyPlan: true,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("phoenix_guest.vm", tfjsonpath.New("provisioning_error"),
						knownvalue.StringRegexp(regexp.MustCompile(`(?s)feature "base_setup"\s+(could\s+not\s+run:.*)?timed\s+out`))),
				},
			},
			{
				PreConfig: func() { sim.srv.Faults().SetAgentExecHang(id, false) },
				Config:    cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{stateIsReality{sim: sim, ids: []int{id}}, plancheck.ExpectResourceAction("phoenix_guest.vm", plancheck.ResourceActionUpdate)},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: func(*terraform.State) error {
					if sim.guestFile(t, id, "etc/phoenix/markers/base_setup") != fmt.Sprintf("%d\n", id) {
						return fmt.Errorf("the feature did not run once the agent worked")
					}
					return nil
				},
			},
		},
	})
}
