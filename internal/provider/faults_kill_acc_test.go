//go:build linux

package provider

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/pvesim"
	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/pvesimtest"
)

// Terraform SIGKILLed in the middle of an apply (with its provider process,
// as when a CI runner dies), then applied again: the guest it was building
// is found by its metadata and adopted, its provisioning resumed, and
// nothing is created twice. Also: tickets that expire during a long apply,
// and a revoked API token.

// startApply runs terraform apply in its own process group.
func (r tfRunner) startApply(t *testing.T) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(os.Getenv("TF_ACC_TERRAFORM_PATH"), "apply", "-auto-approve", "-input=false", "-no-color")
	cmd.Dir, cmd.Env = r.dir, r.env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, &out
}

// killAll SIGKILLs terraform and the provider process it started.
func killAll(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
}

// waitFor polls cond until it holds or the apply ends (then it fails).
func waitFor(t *testing.T, what string, out *bytes.Buffer, cmd *exec.Cmd, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			killAll(t, cmd)
			t.Fatalf("%s did not happen:\n%s", what, out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestAccFaults_killedMidApply(t *testing.T) {
	if os.Getenv("TF_ACC") == "" || os.Getenv("TF_ACC_TERRAFORM_PATH") == "" {
		t.Fatal("this acceptance test needs TF_ACC=1 and TF_ACC_TERRAFORM_PATH (scripts/test.sh sets both)")
	}
	cases := []struct {
		name string
		// at says when to kill: it holds once the apply reached that point.
		at func(s *testSim) bool
		// createFails makes the create task the apply was killed in fail:
		// PVE removes the guest, and the next apply creates it again.
		createFails bool
	}{
		{name: "during the create task", at: func(s *testSim) bool { return runningTask(s, "vzcreate") }},
		{name: "during a create task that then fails", at: func(s *testSim) bool { return runningTask(s, "vzcreate") }, createFails: true},
		{name: "during a feature script", at: func(s *testSim) bool { return fileExists(filepath.Join(s.srv.GuestRoot(530), "started")) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			srv := pvesimtest.StartReal(t, pvesim.Options{TaskDuration: 700 * time.Millisecond})
			sim := simOf(t, srv)
			slow := feature("slow", "#!/bin/bash\ntouch /started\nsleep 2\necho done >> /slow.log\n")
			mainTF := sim.realProvider() + `
terraform {
  required_providers {
    phoenix = { source = "registry.terraform.io/phoenix-hypervisor/phoenix" }
  }
}
` + strings.Replace(sshFaultCT(slow), fmt.Sprint(sshFaultID), "530", 1)
			tf := newTFRunner(t, t.TempDir(), mainTF)
			if c.createFails {
				srv.Faults().AddTaskFailure(pvesim.TaskFault{Type: "vzcreate", Message: "got lock timeout - aborting command", Count: 1})
			}
			cmd, out := tf.startApply(t)
			waitFor(t, c.name, out, cmd, func() bool { return c.at(sim) })
			killAll(t, cmd)

			again := tf.must("apply", "-auto-approve", "-input=false", "-no-color")
			if !strings.Contains(again, "Apply complete! Resources: 1 added") {
				t.Fatalf("the second apply must record the guest:\n%s", again)
			}
			creates := 1
			if c.createFails {
				creates = 2
			}
			if n := srv.Faults().Counters()["POST /nodes/{node}/lxc"]; n != creates {
				t.Fatalf("the guest was created %d times, want %d", n, creates)
			}
			if ids := sim.guests(t); len(ids) != 1 || ids[0] != 530 {
				t.Fatalf("the simulator has guests %v, want [530]", ids)
			}
			if got := sim.guestFile(t, 530, "slow.log"); !strings.HasPrefix(got, "done\n") {
				t.Fatalf("the feature did not finish: slow.log = %q", got)
			}
			if code, plan := tf.run("plan", "-detailed-exitcode", "-no-color", "-input=false"); code != 0 {
				t.Fatalf("re-plan after the resumed apply must be empty (exit %d):\n%s", code, plan)
			}
			tf.must("destroy", "-auto-approve", "-input=false", "-no-color")
			if err := sim.checkGone(530)(nil); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// runningTask reports whether a task of typ runs on the simulator.
func runningTask(s *testSim, typ string) bool {
	var list []struct {
		Type string `json:"type"`
	}
	if err := s.api.API().Get(context.Background(), "/nodes/pve/tasks?source=active", &list); err != nil {
		return false
	}
	for _, task := range list {
		if task.Type == typ {
			return true
		}
	}
	return false
}

// Tickets live one second here; an apply of several seconds logs in again
// whenever PVE refuses an expired one, and finishes.
func TestAccFaults_ticketExpiresDuringApply(t *testing.T) {
	runFaultMatrix(t, []faultCase{{
		name: "ticket expiry during a long apply", quiet: true,
		opts:   &pvesim.Options{TicketLifetime: time.Second, TaskDuration: 400 * time.Millisecond},
		inject: func(*testing.T, *testSim) {},
		check: func(_ *testing.T, s *testSim) error {
			expired, logins := 0, 0
			for _, r := range s.srv.Faults().Requests() {
				if r.Status == 401 {
					expired++
				}
				if r.Method == "POST" && r.Template == "/access/ticket" {
					logins++
				}
			}
			if expired == 0 || logins < 2 {
				return fmt.Errorf("want expired tickets refused and new logins, got %d refusals and %d logins", expired, logins)
			}
			return nil
		},
	}})
}

// A revoked API token fails the refresh with an explanation (never as a
// guest that disappeared); a new token converges.
func TestAccFaults_revokedToken(t *testing.T) {
	sim := startSim(t)
	token := sim.adminToken(t, "ops@pve")
	t.Setenv("PROXMOX_VE_API_TOKEN", token)
	cfg := fmt.Sprintf(`
provider "phoenix" {
  endpoint       = %q
  ca_certificate = %q
  node           = "pve"
}
`, sim.srv.Endpoint(), sim.srv.CACertFile()) + strings.TrimPrefix(faultCT(sim, 1), sim.provider())
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             sim.checkGone(faultID),
		Steps: []resource.TestStep{
			{Config: cfg},
			{
				PreConfig:   func() { sim.srv.RemoveToken("ops@pve", "tf") },
				Config:      cfg,
				ExpectError: regexpMust(`(?s)PVE refused the API token ops@pve!tf.*revoked`),
			},
			{
				PreConfig: func() {
					token, err := sim.srv.AddToken("ops@pve", "tf", false)
					if err != nil {
						t.Fatal(err)
					}
					os.Setenv("PROXMOX_VE_API_TOKEN", token)
				},
				Config: cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{stateIsReality{sim: sim, ids: []int{faultID}}, plancheck.ExpectEmptyPlan()},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: sim.matches([]int{faultID}, 1),
			},
		},
	})
}
