//go:build linux

package provider

import (
	"context"
	"fmt"
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

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/pve"
	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/pvesim"
	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/pvesimtest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	pvesimtest.Cleanup()
	os.Exit(code)
}

// startRealSim is a simulator whose guests run commands, reached over SSH
// with the host key pinned.
func startRealSim(t *testing.T) *testSim {
	t.Helper()
	return simOf(t, pvesimtest.StartReal(t, pvesim.Options{}))
}

// realProvider adds the ssh block: password auth, the simulator's host key.
func (s *testSim) realProvider() string {
	_, port, _ := strings.Cut(s.srv.SSHAddr(""), ":")
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
    host_key = %q
  }
}
`, s.srv.Endpoint(), s.srv.Username(), s.srv.Password(), s.srv.CACertFile(), s.srv.SSHPassword(), port, s.srv.SSHHostKey())
}

// guestFile reads a file inside a guest's root.
func (s *testSim) guestFile(t *testing.T, id int, path string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(s.srv.GuestRoot(id), path))
	if err != nil {
		return ""
	}
	return string(b)
}

func provisionConfig(features, extra string) string {
	return fmt.Sprintf(`
resource "phoenix_guest" "p" {
  script_timeout_seconds = 20
  spec = {
    vmid         = 300
    kind         = "lxc"
    name         = "prov"
    cores        = 1
    memory_mb    = 256
    disk_size_gb = 4
    storage      = "local-lvm"
    os_template  = %q
    network      = { name = "eth0", bridge = "vmbr0", ip = "dhcp" }
    extra_json   = jsonencode({ vllm_model = "Qwen/Qwen2.5-7B", note = "it's $(touch /pwned) ; rm -rf / \"quoted\"" })
    features     = [%s]
    %s
  }
}
`, pvesim.DefaultCTTemplate, features, extra)
}

func feature(name, script string, more ...string) string {
	return fmt.Sprintf(`{ name = %q, content = %q %s }`, name, script, strings.Join(more, " "))
}

const (
	f1 = "#!/bin/bash\necho \"f1 $PHOENIX_GUEST_ID $PHOENIX_GUEST_NAME\" >> /order.log\ncp \"$PHOENIX_GUEST_JSON\" /ctx.json\n"
	f2 = "#!/bin/bash\necho f2 >> /order.log\n"
)

func TestAccGuest_provisioning(t *testing.T) {
	sim := startRealSim(t)
	const addr = "phoenix_guest.p"
	order := func(want string) resource.TestCheckFunc {
		return func(*terraform.State) error {
			if got := sim.guestFile(t, 300, "order.log"); got != want {
				return fmt.Errorf("order.log = %q, want %q", got, want)
			}
			return nil
		}
	}
	hostScript := `#!/bin/bash
set -e
pct exec "$1" -- /bin/sh -c 'echo "host for $0" >> /host.log' "$1"
`
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             sim.checkGone(300),
		Steps: []resource.TestStep{
			{
				Config: sim.realProvider() + provisionConfig(feature("f1", f1)+","+feature("f2", f2), ""),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("provisioned"), knownvalue.MapSizeExact(2)),
				},
				ConfigPlanChecks: resource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
				Check: resource.ComposeTestCheckFunc(order("f1 300 prov\nf2\n"), func(*terraform.State) error {
					ctx := sim.guestFile(t, 300, "ctx.json")
					for _, want := range []string{`"vllm_model": "Qwen/Qwen2.5-7B"`, `"vmid": 300`, `$(touch /pwned)`} {
						if !strings.Contains(ctx, want) {
							return fmt.Errorf("context JSON lacks %s:\n%s", want, ctx)
						}
					}
					if sim.guestFile(t, 300, "pwned") != "" || fileExists("/pwned") {
						return fmt.Errorf("a shell metacharacter in the context was executed")
					}
					return nil
				}),
			},
			{
				// a changed script re-runs that feature only
				Config: sim.realProvider() + provisionConfig(feature("f1", f1)+","+feature("f2", f2+"echo changed >/dev/null\n"), ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate)},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: order("f1 300 prov\nf2\nf2\n"),
			},
			{
				// an explicit trigger re-runs f1; an added host-mode feature runs on the node and calls pct exec itself
				Config: sim.realProvider() + provisionConfig(feature("f1", f1, `, trigger = "2"`)+","+feature("f2", f2+"echo changed >/dev/null\n")+","+
					feature("hostside", hostScript, ", host = true"), ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate)},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: resource.ComposeTestCheckFunc(order("f1 300 prov\nf2\nf2\nf1 300 prov\n"), func(*terraform.State) error {
					if got := sim.guestFile(t, 300, "host.log"); got != "host for 300\n" {
						return fmt.Errorf("host script: host.log = %q", got)
					}
					return nil
				}),
			},
			{
				// a failing feature fails the apply, names guest, feature, exit code and stderr; the guest stays
				Config: sim.realProvider() + provisionConfig(feature("f1", f1, `, trigger = "2"`)+","+feature("f2", f2+"echo changed >/dev/null\n")+","+
					feature("hostside", hostScript, ", host = true")+","+feature("broken", "#!/bin/bash\necho partial >> /order.log\necho 'disk on fire' >&2\nexit 7\n"), ""),
				ExpectError: regexpMust(`(?s)guest 300 \(prov\): feature "broken"\s+failed\s+with\s+exit\s+code\s+7.*disk on fire`),
			},
			{
				// fixed: the next apply resumes from the failed feature, nothing else runs
				Config: sim.realProvider() + provisionConfig(feature("f1", f1, `, trigger = "2"`)+","+feature("f2", f2+"echo changed >/dev/null\n")+","+
					feature("hostside", hostScript, ", host = true")+","+feature("broken", "#!/bin/bash\necho fixed >> /order.log\n"), ""),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate)},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: order("f1 300 prov\nf2\nf2\nf1 300 prov\npartial\nfixed\n"),
			},
			{
				// a removed feature is dropped from state; nothing runs
				Config: sim.realProvider() + provisionConfig(feature("f1", f1, `, trigger = "2"`)+","+feature("f2", f2+"echo changed >/dev/null\n"), ""),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("provisioned"), knownvalue.MapSizeExact(2)),
				},
				ConfigPlanChecks: resource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
				Check:            order("f1 300 prov\nf2\nf2\nf1 300 prov\npartial\nfixed\n"),
			},
			{
				// a hung script is killed at its timeout and reported
				Config:      strings.Replace(sim.realProvider()+provisionConfig(feature("f1", f1, `, trigger = "2"`)+","+feature("hang", "#!/bin/bash\nsleep 600\n"), ""), "script_timeout_seconds = 20", "script_timeout_seconds = 2", 1),
				ExpectError: regexpMust(`(?s)feature "hang"\s+timed\s+out\s+after\s+2s\s+and\s+was\s+killed`),
			},
		},
	})
}

func TestAccGuest_failedCreateResumes(t *testing.T) {
	sim := startRealSim(t)
	const addr = "phoenix_guest.p"
	broken := func(fixed bool) string {
		script := "#!/bin/bash\necho try >> /order.log\nexit 3\n"
		if fixed {
			script = "#!/bin/bash\necho ok >> /order.log\n"
		}
		return sim.realProvider() + strings.Replace(provisionConfig(feature("f1", f1)+","+feature("flaky", script), ""),
			"script_timeout_seconds = 20", "script_timeout_seconds = 20\n  taint_on_failure = false", 1)
	}
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             sim.checkGone(300),
		Steps: []resource.TestStep{
			{
				// taint_on_failure = false: the guest is kept untainted with the failure recorded
				Config: broken(false),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("provisioning_error"), knownvalue.StringRegexp(regexpMust(`flaky.*exit.* 3`))),
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("provisioned"), knownvalue.MapSizeExact(1)),
				},
				ExpectNonEmptyPlan: true,
			},
			{
				Config: broken(true),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate)},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(addr, tfjsonpath.New("provisioning_error"), knownvalue.Null()),
				},
				Check: func(*terraform.State) error {
					if got := sim.guestFile(t, 300, "order.log"); got != "f1 300 prov\ntry\nok\n" {
						return fmt.Errorf("resume must run only the failed feature: order.log = %q", got)
					}
					return nil
				},
			},
		},
	})
}

func TestAccGuest_rawLXCOptions(t *testing.T) {
	sim := startRealSim(t)
	rawLines := func() [][2]string {
		cfg, err := sim.api.Config(context.Background(), pve.Ref{Node: "pve", Kind: pve.LXC, ID: 300})
		if err != nil {
			t.Fatal(err)
		}
		return cfg.RawLXC
	}
	withOpts := func(opts string) string {
		return sim.realProvider() + provisionConfig("", fmt.Sprintf(`lxc_options = [%s]
    apparmor_profile = "unconfined"
    gpus = ["0"]`, opts))
	}
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             sim.checkGone(300),
		Steps: []resource.TestStep{
			{
				Config:           withOpts(`"lxc.cgroup2.devices.allow=a", "lxc.mount.entry=/dev/fuse dev/fuse none bind,create=file"`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
				Check: func(*terraform.State) error {
					got := rawLines()
					// 2 options + the AppArmor profile; as root@pam the GPU is passed through with devN, not raw lines
					if len(got) != 3 || got[0] != [2]string{"lxc.cgroup2.devices.allow", "a"} || got[2] != [2]string{"lxc.apparmor.profile", "unconfined"} {
						return fmt.Errorf("raw lines: %v", got)
					}
					return nil
				},
			},
			{
				// re-apply writes nothing twice; removing an option removes its line
				Config:           withOpts(`"lxc.cgroup2.devices.allow=a"`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
				Check: func(*terraform.State) error {
					got := rawLines()
					for _, l := range got {
						if strings.Contains(l[1], "/dev/fuse") {
							return fmt.Errorf("removed option still present: %v", got)
						}
					}
					if len(got) != 2 {
						return fmt.Errorf("want 2 lines, got %v", got)
					}
					if c := sim.config(t, 300); c["dev0"] != "/dev/nvidia0" || c["dev1"] != "/dev/nvidiactl" {
						return fmt.Errorf("GPU passthrough: dev0=%q dev1=%q", c["dev0"], c["dev1"])
					}
					return nil
				},
			},
		},
	})
}

func regexpMust(s string) *regexp.Regexp { return regexp.MustCompile(s) }

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
