//go:build linux

package pvesim_test

import (
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/pvesim"
)

// The node task list as Tasks.pm serves it: finished tasks by default,
// running ones with source=active (status RUNNING), both with all; token
// tasks under their user with the token's name; since/userfilter filters.
func TestTaskListSourcesAndFilters(t *testing.T) {
	e := newEnv(t, pvesim.Options{TaskDurations: map[string]time.Duration{"vzstart": time.Hour}})
	e.createCT(100)
	r := e.raw("POST", "/nodes/pve/lxc/100/status/start", nil)
	running := r.body["data"].(string)
	list := func(q url.Values) []map[string]any {
		t.Helper()
		var out []map[string]any
		for _, x := range e.raw("GET", "/nodes/pve/tasks", q).body["data"].([]any) {
			out = append(out, x.(map[string]any))
		}
		return out
	}
	if l := list(nil); len(l) != 1 || l[0]["type"] != "vzcreate" || l[0]["status"] != "OK" {
		t.Fatalf("archive: %v", l)
	}
	if l := list(url.Values{"source": {"active"}}); len(l) != 1 || l[0]["upid"] != running || l[0]["status"] != "RUNNING" {
		t.Fatalf("active: %v", l)
	}
	all := list(url.Values{"source": {"all"}})
	if len(all) != 2 || all[0]["user"] != "root@pam" || all[0]["tokenid"] != "phoenix" {
		t.Fatalf("all, token tasks under their user: %v", all)
	}
	future := strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10)
	if l := list(url.Values{"source": {"all"}, "since": {future}}); len(l) != 0 {
		t.Fatalf("since: %v", l)
	}
	if l := list(url.Values{"source": {"all"}, "userfilter": {"someone@pve"}}); len(l) != 0 {
		t.Fatalf("userfilter: %v", l)
	}
	if l := list(url.Values{"source": {"all"}, "userfilter": {"ROOT@pam"}, "typefilter": {"vzstart"}}); len(l) != 1 {
		t.Fatalf("userfilter is a case-insensitive match: %v", l)
	}
	e.raw("DELETE", "/nodes/pve/tasks/"+url.PathEscape(running), nil)
	e.waitUPID(running)
}

// Task durations per type, scaled; TaskTimes reports them exactly.
func TestTaskDurationsPerType(t *testing.T) {
	e := newEnv(t, pvesim.Options{TaskDurations: map[string]time.Duration{"vzstart": 2 * time.Second}, TaskScale: 0.1})
	e.createCT(100)
	r := e.raw("POST", "/nodes/pve/lxc/100/status/start", nil)
	upid := r.body["data"].(string)
	e.waitUPID(upid)
	start, end, ok := e.srv.TaskTimes(upid)
	if d := end.Sub(start); !ok || d < 200*time.Millisecond {
		t.Fatalf("a 2 s start scaled by 0.1 ran %s", d)
	}
}
