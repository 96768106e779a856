//go:build linux

package provider

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/plancheck"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/pvesim"
)

// Task faults (TASK ERROR with PVE's clean-up, a task that never ends),
// config locks held or left behind, the node or the whole API going away,
// slow answers, and an ID taken between plan and apply.

// taskError makes the next task of typ fail with msg.
func taskError(typ, msg string) func(*testing.T, *testSim) {
	return func(_ *testing.T, s *testSim) {
		s.srv.Faults().AddTaskFailure(pvesim.TaskFault{Type: typ, Message: msg, Count: 1})
	}
}

// faultClone is faultCT (500) and a clone of its snapshot (501).
func faultClone(s *testSim, cores int) string {
	return faultCT(s, cores) + fmt.Sprintf(`
resource "phoenix_guest" "c" {
  spec = { vmid = %d, kind = "lxc", name = "fault-clone", clone_from = %d, clone_snapshot = "golden", storage = "local-lvm" }
  depends_on = [phoenix_guest.f]
}
`, faultID+1, faultID)
}

// stopTasks stops every running task, as an administrator would in the UI
// (Task > Stop), so a hung task's clean-up runs.
func stopTasks(t *testing.T, s *testSim) error {
	var list []struct {
		UPID string `json:"upid"`
	}
	ctx := context.Background()
	if err := s.api.API().Get(ctx, "/nodes/pve/tasks?source=active", &list); err != nil {
		return err
	}
	if len(list) == 0 {
		return fmt.Errorf("no task is running: the hung task ended by itself")
	}
	for _, task := range list {
		if err := s.api.API().Delete(ctx, "/nodes/pve/tasks/"+url.PathEscape(task.UPID), nil); err != nil {
			return err
		}
		if _, err := s.srv.WaitTask(ctx, task.UPID); err != nil {
			return err
		}
	}
	return nil
}

// editConf changes guest id's config file as an editor on the node would.
func editConf(t *testing.T, s *testSim, id int, edit func(string) string) {
	t.Helper()
	if err := s.srv.EditConfFile(id, edit); err != nil {
		t.Fatal(err)
	}
}

func TestAccFaults_tasks(t *testing.T) {
	hung := func(typ string) func(*testing.T, *testSim) {
		return func(_ *testing.T, s *testSim) {
			s.srv.Faults().AddTaskFailure(pvesim.TaskFault{Type: typ, Hang: true, Count: 1})
		}
	}
	runFaultMatrix(t, []faultCase{
		{name: "create TASK ERROR", inject: taskError("vzcreate", "no space left on device"),
			want: `Unable to create CT 500.*unable to create CT 500 - no space left on device`, check: noGuest(faultID)},
		{name: "clone TASK ERROR", inject: taskError("vzclone", "clone failed: copy failed: No space left on device"), cfg: faultClone,
			ids: []int{faultID, faultID + 1}, want: `Unable to create CT 501.*clone failed: copy failed`, check: noGuest(faultID + 1)},
		{name: "start TASK ERROR", inject: taskError("vzstart", "startup for container '500' failed"),
			want: `Unable to apply CT 500.*startup for container '500' failed`},
		{name: "snapshot TASK ERROR", inject: taskError("vzsnapshot", "snapshot feature is not available"),
			want: `Unable to apply CT 500.*snapshot feature is not available`},
		{name: "resize TASK ERROR", phase: "update", inject: taskError("resize", "unable to resize disk 'rootfs' - lvextend failed"),
			want: `Unable to apply CT 500.*lvextend failed`},
		{name: "stop TASK ERROR (destroy)", phase: "destroy", inject: taskError("vzstop", "can't stop CT 500 - timeout"),
			want: `Unable to delete CT 500.*can't stop CT 500`},
		{name: "destroy TASK ERROR", phase: "destroy", inject: taskError("vzdestroy", "unable to remove volume - device busy"),
			want: `Unable to delete CT 500.*device busy`},
		{name: "create task never ends (timeouts block)", inject: hung("vzcreate"), cfg: faultCTWithin("3s"),
			want: `Unable to create CT 500.*(deadline|timed out|timeout)`, check: stopTasks},
		{name: "snapshot task never ends (timeouts block)", inject: hung("vzsnapshot"), cfg: faultCTWithin("3s"),
			want: `Unable to apply CT 500.*(deadline|timed out|timeout)`, check: stopTasks},
	})
}

// noGuest checks that a failed task left no guest (PVE's clean-up).
func noGuest(id int) func(*testing.T, *testSim) error {
	return func(_ *testing.T, s *testSim) error {
		if _, ok, err := s.api.Locate(context.Background(), id); err != nil || ok {
			return fmt.Errorf("a failed create must leave no guest %d: found=%v err=%v", id, ok, err)
		}
		return nil
	}
}

func TestAccFaults_locksNodesAndTime(t *testing.T) {
	quickLocks := &pvesim.Options{LockTimeout: 500 * time.Millisecond}
	var held func() // the lock another operation holds, released once the apply failed
	runFaultMatrix(t, []faultCase{
		{name: "config lock held by another task for a while", phase: "update", quiet: true,
			inject: func(t *testing.T, s *testSim) {
				if err := s.srv.Faults().HoldLock(pvesim.GuestLockPath("lxc", faultID), 1500*time.Millisecond); err != nil {
					t.Fatal(err)
				}
			}},
		{name: "config flock held past PVE's lock timeout", phase: "update", opts: quickLocks, cfg: faultCTWithin("3s"),
			inject: func(t *testing.T, s *testSim) {
				release, err := s.srv.Faults().HoldLockUntil(pvesim.GuestLockPath("lxc", faultID))
				if err != nil {
					t.Fatal(err)
				}
				held = release
			},
			want:  `Unable to apply CT 500.*CT 500 on node pve: can't lock file '/run/lock/lxc/pve-config-500.lock' - got timeout \(waited.*pct unlock`,
			check: func(*testing.T, *testSim) error { held(); return nil }},
		{name: "config lock left behind", phase: "update", cfg: faultCTWithin("3s"),
			inject: func(t *testing.T, s *testSim) {
				editConf(t, s, faultID, func(c string) string { return "lock: backup\n" + c })
			},
			want: `Unable to apply CT 500.*CT 500 on node pve is locked \(backup\).*pct unlock`,
			check: func(t *testing.T, s *testSim) error {
				editConf(t, s, faultID, func(c string) string { return strings.Replace(c, "lock: backup\n", "", 1) })
				return nil
			}},
		{name: "node down for a while", quiet: true, inject: func(t *testing.T, s *testSim) {
			s.srv.Faults().SetNodeDown("pve", true)
			time.AfterFunc(1500*time.Millisecond, func() { s.srv.Faults().SetNodeDown("pve", false) })
		}},
		{name: "node down past the timeouts block", cfg: faultCTWithin("3s"), want: `Unable to create CT 500`,
			inject: func(t *testing.T, s *testSim) { s.srv.Faults().SetNodeDown("pve", true) }},
		{name: "API down mid-apply (connections reset)", inject: func(t *testing.T, s *testSim) {
			s.srv.Faults().AddFault(pvesim.FaultRule{Drop: pvesim.DropBefore, After: 8, Count: 6})
		}},
		{name: "API answering 503 mid-apply", inject: func(t *testing.T, s *testSim) {
			s.srv.Faults().AddFault(pvesim.FaultRule{Status: 503, Message: "Service Unavailable", After: 8, Count: 6})
		}},
		{name: "answer slower than the timeouts block", cfg: faultCTWithin("2s"), want: `Unable to (create|apply) CT 500.*(deadline|timed out|timeout)`,
			inject: func(t *testing.T, s *testSim) {
				s.srv.Faults().AddFault(pvesim.FaultRule{Method: "GET", Path: ctPath + "/config", Latency: 5 * time.Second, Count: 1})
			}},
		{name: "ID taken between plan and apply", inject: func(*testing.T, *testSim) {}, want: `CT 500 .*already exists and was not created by this provider`,
			preApply: func(s *testSim) plancheck.PlanCheck { return takeID{s: s, id: faultID} },
			check: func(t *testing.T, s *testSim) error {
				ref, _, err := s.api.Locate(context.Background(), faultID)
				if err != nil {
					return err
				}
				return s.api.Destroy(context.Background(), ref) // the operator frees the ID
			}},
	})
}

// takeID is a plan check that creates a foreign CT with the guest's ID
// after the plan and before the apply, as another user would.
type takeID struct {
	s  *testSim
	id int
}

func (c takeID) CheckPlan(ctx context.Context, _ plancheck.CheckPlanRequest, resp *plancheck.CheckPlanResponse) {
	resp.Error = c.s.api.CreateContainer(ctx, "pve", c.id, map[string]string{"ostemplate": pvesim.DefaultCTTemplate,
		"hostname": "someone-else", "rootfs": "local-lvm:2"})
}
