//go:build linux

package pvesim_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/pvesim"
)

// A clone whose worker fails leaves what PVE's clone_vm leaves: the source
// unlocked (its 'disk' lock is removed in any case), no target config, and
// "clone failed: ..." as the exit status; the next clone then works.
func TestFailedCloneTaskCleansUp(t *testing.T) {
	e := newEnv(t, pvesim.Options{})
	e.createCT(100)
	e.srv.Faults().AddTaskFailure(pvesim.TaskFault{Type: "vzclone", Message: "rsync error: some files could not be transferred", Count: 1})
	r := e.raw("POST", "/nodes/pve/lxc/100/clone", url.Values{"newid": {"101"}, "full": {"1"}})
	if st := e.waitUPID(r.body["data"].(string)); st != "clone failed: rsync error: some files could not be transferred" {
		t.Fatalf("exit status %q", st)
	}
	if _, ok := e.srv.GuestConfig(101); ok {
		t.Fatal("the failed clone's target config remains")
	}
	if cfg, _ := e.srv.GuestConfig(100); cfg["lock"] != "" {
		t.Fatalf("source still locked: %q", cfg["lock"])
	}
	r = e.raw("POST", "/nodes/pve/lxc/100/clone", url.Values{"newid": {"101"}, "full": {"1"}})
	if st := e.waitUPID(r.body["data"].(string)); st != "OK" {
		t.Fatalf("clone after the failure: %q", st)
	}

	// A VM create that fails removes its placeholder and says so as PVE does.
	e.srv.Faults().AddTaskFailure(pvesim.TaskFault{Type: "qmcreate", Message: "storage migration failed", Count: 1})
	r = e.raw("POST", "/nodes/pve/qemu", url.Values{"vmid": {"300"}, "scsi0": {"local-lvm:4"}})
	if st := e.waitUPID(r.body["data"].(string)); st != "unable to create VM 300 - storage migration failed" {
		t.Fatalf("create exit status %q", st)
	}
	if _, ok := e.srv.GuestConfig(300); ok {
		t.Fatal("the failed create's placeholder config remains")
	}
}

// A task that never ends runs until it is stopped; stopping it runs the
// handler's clean-up.
func TestHangingTaskStops(t *testing.T) {
	e := newEnv(t, pvesim.Options{})
	e.createCT(100)
	e.srv.Faults().AddTaskFailure(pvesim.TaskFault{Type: "vzclone", Hang: true, Count: 1})
	r := e.raw("POST", "/nodes/pve/lxc/100/clone", url.Values{"newid": {"102"}, "full": {"1"}})
	upid := r.body["data"].(string)
	st := e.raw("GET", "/nodes/pve/tasks/"+url.PathEscape(upid)+"/status", nil)
	if st.body["data"].(map[string]any)["status"] != "running" {
		t.Fatalf("hanging task: %v", st.body)
	}
	if cfg, _ := e.srv.GuestConfig(100); cfg["lock"] != "disk" {
		t.Fatalf("source lock while cloning: %q", cfg["lock"])
	}
	e.raw("DELETE", "/nodes/pve/tasks/"+url.PathEscape(upid), nil)
	if got := e.waitUPID(upid); !strings.Contains(got, "clone failed: received interrupt") {
		t.Fatalf("stopped task: %q", got)
	}
	if cfg, _ := e.srv.GuestConfig(100); cfg["lock"] != "" {
		t.Fatal("source still locked after the stopped clone")
	}
}
