//go:build linux

package pvesim_test

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/pvesim"
)

// Migration as pve-container's and qemu-server's migrate_vm and their
// Migrate modules check and report it.

// migrate posts a migration and waits for its task; it returns the exit
// status and the task log.
func (e *env) migrate(kind string, vmid, target string, extra url.Values) (string, string) {
	e.t.Helper()
	params := url.Values{"target": {target}}
	for k, v := range extra {
		params[k] = v
	}
	r := e.raw("POST", "/nodes/pve/"+kind+"/"+vmid+"/migrate", params)
	if r.status != 200 {
		e.t.Fatalf("migrate %s %s: %d %s", kind, vmid, r.status, r.reason)
	}
	upid := r.body["data"].(string)
	if !strings.Contains(upid, map[string]string{"lxc": ":vzmigrate:", "qemu": ":qmigrate:"}[kind]+vmid+":") {
		e.t.Fatalf("task type: %s", upid)
	}
	st := e.waitUPID(upid)
	log := e.raw("GET", "/nodes/pve/tasks/"+url.PathEscape(upid)+"/log", url.Values{"limit": {"100"}})
	var lines []string
	for _, l := range log.body["data"].([]any) {
		lines = append(lines, l.(map[string]any)["t"].(string))
	}
	return st, strings.Join(lines, "\n")
}

func TestMigrateContainer(t *testing.T) {
	e := newEnv(t, pvesim.Options{Nodes: []string{"pve", "pve2"}})
	e.createCT(100)
	e.expectErr(e.raw("POST", "/nodes/pve/lxc/100/migrate", url.Values{"target": {"pve"}}), 400, "Parameter verification failed.")
	e.expectErr(e.raw("POST", "/nodes/pve/lxc/100/migrate", url.Values{"target": {"pve9"}}), 500, "no such cluster node 'pve9'")
	ct, _ := e.node().Container(e.ctx, 100)
	task, err := ct.Start(e.ctx)
	e.wait(task, err)
	e.expectErr(e.raw("POST", "/nodes/pve/lxc/100/migrate", url.Values{"target": {"pve2"}}), 500,
		"can't migrate running container without --online or --restart")
	st, log := e.migrate("lxc", "100", "pve2", url.Values{"online": {"1"}})
	if st != "migration aborted" || !strings.Contains(log, "migration aborted (duration 00:00:00): lxc live migration is currently not implemented") {
		t.Fatalf("online: %s\n%s", st, log)
	}
	if st, log := e.migrate("lxc", "100", "pve2", url.Values{"restart": {"1"}}); st != "OK" {
		t.Fatalf("restart mode: %s\n%s", st, log)
	}
	e.expectErr(e.raw("GET", "/nodes/pve/lxc/100/config", nil), 500, "Configuration file 'nodes/pve/lxc/100.conf' does not exist")
	cur := e.raw("GET", "/nodes/pve2/lxc/100/status/current", nil)
	if data := cur.body["data"].(map[string]any); data["status"] != "running" || data["lock"] != nil {
		t.Fatalf("on pve2: %v", data)
	}
	res := e.raw("GET", "/cluster/resources", url.Values{"type": {"vm"}})
	if node := res.body["data"].([]any)[0].(map[string]any)["node"]; node != "pve2" {
		t.Fatalf("cluster resources put it on %v", node)
	}
	// its disk moved with it: the new node lists it
	content := e.raw("GET", "/nodes/pve2/storage/local-lvm/content", nil)
	if raw, _ := json.Marshal(content.body); !strings.Contains(string(raw), "vm-100-disk-0") {
		t.Fatalf("pve2's local-lvm lacks the disk: %v", content.body)
	}
}

// Snapshots on storage that cannot send them (lvmthin) stop a migration
// after the volume scan, with PVE's warning in the log.
func TestMigrateRefusesLocalSnapshots(t *testing.T) {
	e := newEnv(t, pvesim.Options{Nodes: []string{"pve", "pve2"}})
	e.createCT(101)
	if r := e.raw("POST", "/nodes/pve/lxc/101/snapshot", url.Values{"snapname": {"s1"}}); r.status != 200 || e.waitUPID(r.body["data"].(string)) != "OK" {
		t.Fatalf("snapshot: %v", r)
	}
	st, log := e.migrate("lxc", "101", "pve2", nil)
	if st != "migration aborted" || !strings.Contains(log, "can't migrate local volume 'local-lvm:vm-101-disk-0': non-migratable snapshot exists") ||
		!strings.Contains(log, "can't migrate CT - check log") {
		t.Fatalf("%s\n%s", st, log)
	}
	cur := e.raw("GET", "/nodes/pve/lxc/101/status/current", nil)
	if cur.status != 200 || cur.body["data"].(map[string]any)["lock"] != nil {
		t.Fatalf("the guest must stay where it was, unlocked: %v", cur.body)
	}
}

func TestMigrateVM(t *testing.T) {
	e := newEnv(t, pvesim.Options{Nodes: []string{"pve", "pve2"}})
	vm := e.createVM(200)
	task, err := vm.Start(e.ctx)
	e.wait(task, err)
	e.expectErr(e.raw("POST", "/nodes/pve/qemu/200/migrate", url.Values{"target": {"pve2"}}), 500, "can't migrate running VM without --online")
	st, log := e.migrate("qemu", "200", "pve2", url.Values{"online": {"1"}})
	if st != "migration aborted" || !strings.Contains(log, "can't live migrate attached local disks without with-local-disks option") {
		t.Fatalf("local disks: %s\n%s", st, log)
	}
	if st, log := e.migrate("qemu", "200", "pve2", url.Values{"online": {"1"}, "with-local-disks": {"1"}}); st != "OK" {
		t.Fatalf("live: %s\n%s", st, log)
	}
	cur := e.raw("GET", "/nodes/pve2/qemu/200/status/current", nil)
	if cur.body["data"].(map[string]any)["status"] != "running" {
		t.Fatalf("a live migration keeps the VM running: %v", cur.body)
	}
}

func TestMigrateRefusesLocalDevicesAndLocks(t *testing.T) {
	e := newEnv(t, pvesim.Options{Nodes: []string{"pve", "pve2"}})
	e.createVM(201)
	if err := e.srv.EditConfFile(201, func(s string) string { return s + "hostpci0: 0000:01:00.0\n" }); err != nil {
		t.Fatal(err)
	}
	st, log := e.migrate("qemu", "201", "pve2", nil)
	if st != "migration aborted" || !strings.Contains(log, "can't migrate VM which uses local devices: hostpci0") {
		t.Fatalf("devices: %s\n%s", st, log)
	}
	e.createCT(102)
	if err := e.srv.EditConfFile(102, func(s string) string { return s + "lock: backup\n" }); err != nil {
		t.Fatal(err)
	}
	st, log = e.migrate("lxc", "102", "pve2", nil)
	if st != "migration aborted" || !strings.Contains(log, "CT is locked (backup)") {
		t.Fatalf("lock: %s\n%s", st, log)
	}
}
