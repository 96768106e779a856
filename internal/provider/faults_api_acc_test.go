//go:build linux

package provider

import (
	"fmt"
	"testing"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/pvesim"
)

// API faults: a 5xx or a connection reset on each read and each write the
// provider makes for a container. Reads are asked again; a write that PVE
// refused fails the apply with PVE's message; a write whose answer was lost
// is looked up, never sent twice.

// fail injects count failures (status, message) of method and path.
func fail(method, path string, status, count int) func(*testing.T, *testSim) {
	return func(_ *testing.T, s *testSim) {
		s.srv.Faults().AddFault(pvesim.FaultRule{Method: method, Path: path, Status: status, Message: "simulated failure", Count: count})
	}
}

// reset drops count connections of method and path, before PVE sees the
// request (pvesim.DropBefore) or after it ran (pvesim.DropAfter).
func reset(method, path, mode string, count int) func(*testing.T, *testSim) {
	return func(_ *testing.T, s *testSim) {
		s.srv.Faults().AddFault(pvesim.FaultRule{Method: method, Path: path, Drop: mode, Count: count})
	}
}

// sent checks how often the faulty apply sent "METHOD /template".
func sent(key string, n int) func(*testing.T, *testSim) error {
	return func(_ *testing.T, s *testSim) error {
		if got := s.srv.Faults().Counters()[key]; got != n {
			return fmt.Errorf("%s sent %d times, want %d", key, got, n)
		}
		return nil
	}
}

const (
	ctPath     = "/nodes/{node}/lxc/{vmid}"
	taskStatus = "/nodes/{node}/tasks/{upid}/status"
)

func TestAccFaults_apiReads(t *testing.T) {
	var cases []faultCase
	for _, r := range []struct{ phase, path string }{
		{"create", "/cluster/resources"},
		{"create", ctPath + "/config"},
		{"create", taskStatus},
		{"create", ctPath + "/snapshot"},
		{"create", ctPath + "/firewall/rules"},
		{"update", ctPath + "/pending"},
		{"update", ctPath + "/firewall/options"},
		{"destroy", ctPath + "/config"},
	} {
		cases = append(cases,
			faultCase{name: fmt.Sprintf("500 on GET %s (%s)", r.path, r.phase), phase: r.phase, inject: fail("GET", r.path, 500, 1)},
			faultCase{name: fmt.Sprintf("reset on GET %s (%s)", r.path, r.phase), phase: r.phase, inject: reset("GET", r.path, pvesim.DropAfter, 1)})
	}
	cases = append(cases,
		faultCase{name: "503 on POST /access/ticket at login", inject: fail("POST", "/access/ticket", 503, 2)},
		faultCase{name: "reset of POST /access/ticket at login", inject: reset("POST", "/access/ticket", pvesim.DropBefore, 1)},
		faultCase{name: "GET config failing on every try", phase: "update", inject: fail("GET", ctPath+"/config", 500, 0),
			want: `(?s)Unable to read guest 500.*simulated failure.*The state is kept`},
	)
	runFaultMatrix(t, cases)
}

func TestAccFaults_apiWrites(t *testing.T) {
	runFaultMatrix(t, []faultCase{
		{name: "500 on create", inject: fail("POST", "/nodes/{node}/lxc", 500, 1), want: `(?s)Unable to create CT 500.*simulated failure`},
		{name: "create answer lost", inject: reset("POST", "/nodes/{node}/lxc", pvesim.DropAfter, 1), check: sent("POST /nodes/{node}/lxc", 1)},
		{name: "create never reached PVE", inject: reset("POST", "/nodes/{node}/lxc", pvesim.DropBefore, 1), check: sent("POST /nodes/{node}/lxc", 2)},
		{name: "503 on create", inject: fail("POST", "/nodes/{node}/lxc", 503, 2), check: sent("POST /nodes/{node}/lxc", 3)},
		{name: "500 on config write", inject: fail("PUT", ctPath+"/config", 500, 1), want: `(?s)Unable to apply CT 500.*simulated failure.*The guest is kept in state`},
		{name: "config write answer lost", inject: reset("PUT", ctPath+"/config", pvesim.DropAfter, 1)},
		{name: "500 on start", inject: fail("POST", ctPath+"/status/start", 500, 1), want: `(?s)Unable to apply CT 500.*simulated failure`},
		{name: "start answer lost", inject: reset("POST", ctPath+"/status/start", pvesim.DropAfter, 1), check: sent("POST "+ctPath+"/status/start", 1)},
		{name: "500 on snapshot", inject: fail("POST", ctPath+"/snapshot", 500, 1), want: `(?s)Unable to apply CT 500.*simulated failure`},
		{name: "snapshot answer lost", inject: reset("POST", ctPath+"/snapshot", pvesim.DropAfter, 1), check: sent("POST "+ctPath+"/snapshot", 1)},
		{name: "500 on firewall options", inject: fail("PUT", ctPath+"/firewall/options", 500, 1), want: `(?s)Unable to apply CT 500.*simulated failure`},
		{name: "500 on firewall rule", inject: fail("POST", ctPath+"/firewall/rules", 500, 1), want: `(?s)Unable to apply CT 500.*simulated failure`},
		{name: "500 on resize", phase: "update", inject: fail("PUT", ctPath+"/resize", 500, 1), want: `(?s)Unable to apply CT 500.*simulated failure`},
		{name: "500 on config write (update)", phase: "update", inject: fail("PUT", ctPath+"/config", 500, 1), want: `(?s)Unable to apply CT 500.*simulated failure`},
		{name: "500 on stop (destroy)", phase: "destroy", inject: fail("POST", ctPath+"/status/stop", 500, 1), want: `(?s)Unable to delete CT 500.*simulated failure`},
		{name: "500 on destroy", phase: "destroy", inject: fail("DELETE", ctPath, 500, 1), want: `(?s)Unable to delete CT 500.*simulated failure`},
		{name: "destroy answer lost", phase: "destroy", inject: reset("DELETE", ctPath, pvesim.DropAfter, 1)},
	})
}
