//go:build linux

package pvesim_test

import (
	"net/url"
	"reflect"
	"testing"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/pvesim"
)

// A snapshot whose worker fails (or is stopped) is cleaned up as PVE's
// snapshot_create does ("snapshot create failed: starting cleanup"): no
// 'snapshot' lock and no snapshot remain, and the next snapshot works.
func TestFailedSnapshotTaskCleansUp(t *testing.T) {
	e := newEnv(t, pvesim.Options{})
	e.createCT(100)
	e.srv.Faults().AddTaskFailure(pvesim.TaskFault{Type: "vzsnapshot", Message: "snapshot feature is not available", Count: 1})
	r := e.raw("POST", "/nodes/pve/lxc/100/snapshot", url.Values{"snapname": {"golden"}})
	if st := e.waitUPID(r.body["data"].(string)); st != "snapshot feature is not available" {
		t.Fatalf("exit status %q", st)
	}
	if cfg, _ := e.srv.GuestConfig(100); cfg["lock"] != "" || cfg["parent"] != "" {
		t.Fatalf("a failed snapshot left lock %q, parent %q", cfg["lock"], cfg["parent"])
	}
	list := e.raw("GET", "/nodes/pve/lxc/100/snapshot", nil).body["data"].([]any)
	if len(list) != 1 {
		t.Fatalf("a failed snapshot is listed: %v", list)
	}
	e.srv.Faults().AddTaskFailure(pvesim.TaskFault{Type: "vzsnapshot", Hang: true, Count: 1})
	r = e.raw("POST", "/nodes/pve/lxc/100/snapshot", url.Values{"snapname": {"golden"}})
	upid := r.body["data"].(string)
	e.raw("DELETE", "/nodes/pve/tasks/"+url.PathEscape(upid), nil)
	if st := e.waitUPID(upid); st != "received interrupt" {
		t.Fatalf("stopped snapshot exit status %q", st)
	}
	if cfg, _ := e.srv.GuestConfig(100); cfg["lock"] != "" {
		t.Fatalf("a stopped snapshot left lock %q", cfg["lock"])
	}
	r = e.raw("POST", "/nodes/pve/lxc/100/snapshot", url.Values{"snapname": {"golden"}})
	if st := e.waitUPID(r.body["data"].(string)); st != "OK" {
		t.Fatalf("snapshot after the failures: %q", st)
	}
	// A snapshot refused before it started (the name is used) keeps the
	// existing one.
	r = e.raw("POST", "/nodes/pve/lxc/100/snapshot", url.Values{"snapname": {"golden"}})
	if st := e.waitUPID(r.body["data"].(string)); st != "snapshot name 'golden' already used" {
		t.Fatalf("exit status %q", st)
	}
	if len(e.raw("GET", "/nodes/pve/lxc/100/snapshot", nil).body["data"].([]any)) != 2 {
		t.Fatal("the refused snapshot removed the existing one")
	}
}

// A fault rule with After lets that many matching requests through first.
func TestFaultAfterSomeRequests(t *testing.T) {
	e := newEnv(t, pvesim.Options{})
	e.srv.Faults().AddFault(pvesim.FaultRule{Method: "GET", Path: "/version", Status: 503, Message: "Service Unavailable", After: 2, Count: 1})
	var got []int
	for i := 0; i < 4; i++ {
		got = append(got, e.raw("GET", "/version", nil).status)
	}
	if want := []int{200, 200, 503, 200}; !reflect.DeepEqual(got, want) {
		t.Fatalf("statuses %v, want %v", got, want)
	}
	if reqs := e.srv.Faults().Requests(); reqs[2].Error != "Service Unavailable" || reqs[3].Error != "" {
		t.Fatalf("the request log must keep PVE's message of a failure: %+v", reqs)
	}
	// A held lock makes writes to the guest wait and then fail with PVE's
	// flock timeout, until it is released.
	e.createCT(100)
	release, err := e.srv.Faults().HoldLockUntil(pvesim.GuestLockPath("lxc", 100))
	if err != nil {
		t.Fatal(err)
	}
	e.expectErr(e.raw("PUT", "/nodes/pve/lxc/100/config", url.Values{"cores": {"2"}}), 500,
		"can't lock file '/run/lock/lxc/pve-config-100.lock' - got timeout")
	release()
	if r := e.raw("PUT", "/nodes/pve/lxc/100/config", url.Values{"cores": {"2"}}); r.status != 200 {
		t.Fatalf("after the release: %d %s", r.status, r.reason)
	}
}
