//go:build linux

package pvesim_test

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	proxmox "github.com/luthermonson/go-proxmox"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/pvesim"
)

func TestTasksLogAndStatus(t *testing.T) {
	e := newEnv(t, pvesim.Options{})
	e.createCT(100)
	tasks, err := e.node().Tasks(e.ctx, nil)
	if err != nil || len(tasks) != 1 || tasks[0].Type != "vzcreate" {
		t.Fatalf("tasks %+v %v", tasks, err)
	}
	upid := string(tasks[0].UPID)
	r := e.raw("GET", "/nodes/pve/tasks/"+url.PathEscape(upid)+"/log", url.Values{"start": {"0"}, "limit": {"50"}})
	lines := r.body["data"].([]any)
	last := lines[len(lines)-1].(map[string]any)
	if last["t"] != "TASK OK" || r.body["total"] != float64(len(lines)) {
		t.Fatalf("log %v", r.body)
	}
	// a task that fails: injected task fault
	e.srv.Faults().AddTaskFailure(pvesim.TaskFault{Type: "vzstart", Message: "startup for container '100' failed"})
	ct, _ := e.node().Container(e.ctx, 100)
	task, err := ct.Start(e.ctx)
	e.waitStatus(task, err, "startup for container '100' failed")
	r = e.raw("GET", "/nodes/pve/tasks/"+url.PathEscape(string(task.UPID))+"/log", nil)
	lines = r.body["data"].([]any)
	if lines[len(lines)-1].(map[string]any)["t"] != "TASK ERROR: startup for container '100' failed" {
		t.Fatalf("error log %v", lines)
	}
}

func TestLocksAndContention(t *testing.T) {
	e := newEnv(t, pvesim.Options{LockTimeout: 100 * time.Millisecond})
	e.createCT(100)
	// a flock held elsewhere: sync calls time out with PVE's message, tasks fail with it
	if err := e.srv.Faults().HoldLock(pvesim.GuestLockPath("lxc", 100), time.Second); err != nil {
		t.Fatal(err)
	}
	e.expectErr(e.raw("PUT", "/nodes/pve/lxc/100/config", url.Values{"cores": {"2"}}), 500,
		"can't lock file '/run/lock/lxc/pve-config-100.lock' - got timeout")
	ct, _ := e.node().Container(e.ctx, 100)
	task, err := ct.Start(e.ctx)
	e.waitStatus(task, err, "can't lock file '/run/lock/lxc/pve-config-100.lock' - got timeout")

	// config locks while a task runs
	slow := newEnv(t, pvesim.Options{TaskDuration: 300 * time.Millisecond})
	slow.createCT(100)
	slow.createVM(200)
	slow.raw("POST", "/nodes/pve/qemu/200/template", nil)
	r := slow.raw("POST", "/nodes/pve/lxc/100/clone", url.Values{"newid": {"101"}})
	slow.expectErr(slow.raw("PUT", "/nodes/pve/lxc/100/config", url.Values{"cores": {"2"}}), 500, "CT is locked (disk)")
	if st := slow.waitUPID(r.body["data"].(string)); st != "OK" {
		t.Fatal(st)
	}
	waitUntilTemplate(t, slow, 200)
	r = slow.raw("POST", "/nodes/pve/qemu/200/clone", url.Values{"newid": {"201"}})
	slow.expectErr(slow.raw("PUT", "/nodes/pve/qemu/201/config", url.Values{"cores": {"2"}}), 500, "VM is locked (clone)")
	if st := slow.waitUPID(r.body["data"].(string)); st != "OK" {
		t.Fatal(st)
	}
}

// waitUntilTemplate waits for the qmtemplate task of vmid.
func waitUntilTemplate(t *testing.T, e *env, vmid int) {
	t.Helper()
	for _, tk := range mustTasks(t, e) {
		if tk.Type == "qmtemplate" {
			e.waitUPID(string(tk.UPID))
		}
	}
}

func mustTasks(t *testing.T, e *env) proxmox.Tasks {
	tasks, err := e.node().Tasks(e.ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	return tasks
}

func TestFaultInjectionAndCounters(t *testing.T) {
	e := newEnv(t, pvesim.Options{Nodes: []string{"pve", "pve2"}})
	e.srv.Faults().ResetStats()
	e.srv.Faults().AddFault(pvesim.FaultRule{Method: "GET", Path: "/nodes/{node}/lxc", Status: 500, Message: "got timeout", Count: 1})
	e.expectErr(e.raw("GET", "/nodes/pve/lxc", nil), 500, "got timeout")
	if r := e.raw("GET", "/nodes/pve/lxc", nil); r.status != 200 {
		t.Fatalf("fault not used up: %d", r.status)
	}
	if c := e.srv.Faults().Counters()["GET /nodes/{node}/lxc"]; c != 2 {
		t.Fatalf("counter %d", c)
	}
	// a node that stops answering: the client gives up, other nodes answer
	e.srv.Faults().SetNodeDown("pve2", true)
	ctx, cancel := context.WithTimeout(e.ctx, 100*time.Millisecond)
	defer cancel()
	var out any
	if err := e.c.Get(ctx, "/nodes/pve2/lxc", &out); err == nil {
		t.Fatal("down node answered")
	}
	nodes, _ := e.c.Nodes(e.ctx)
	if nodes[1].Status != "offline" {
		t.Fatalf("pve2 status %q", nodes[1].Status)
	}
	e.srv.Faults().Clear()
	if r := e.raw("GET", "/nodes/pve2/lxc", nil); r.status != 200 {
		t.Fatalf("node back: %d", r.status)
	}
}

func TestStatePersistsAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	e := newEnv(t, pvesim.Options{StateDir: dir})
	e.createCT(100)
	fp, pw := e.srv.Fingerprint(), e.srv.Password()
	if err := e.srv.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "state.json")); err != nil {
		t.Fatal(err)
	}
	e2 := newEnv(t, pvesim.Options{StateDir: dir})
	if e2.srv.Fingerprint() != fp || e2.srv.Password() != pw {
		t.Fatal("identity changed across restart")
	}
	if cfg, ok := e2.srv.GuestConfig(100); !ok || cfg["hostname"] != "ct100" {
		t.Fatalf("guest lost: %v", cfg)
	}
}

func TestPhoenixSeed(t *testing.T) {
	for _, layout := range []string{"seed-layout", "split-layout"} {
		dir := filepath.Join(sharedDir(), "phoenix", layout)
		if _, err := os.Stat(dir); err != nil {
			t.Skipf("phoenix sample configs absent (%s): %v", dir, err)
		}
		e := newEnv(t, pvesim.Options{PhoenixConfigDir: dir})
		st, err := e.node().Storage(e.ctx, "quickOS-lxc-disks")
		if err != nil || st.Type != "zfspool" {
			t.Fatalf("%s: storage %+v %v", layout, st, err)
		}
		for _, s := range []string{"local", "local-lvm", "fastData-shared-iso"} {
			if _, err := e.node().Storage(e.ctx, s); err != nil {
				t.Fatalf("%s: storage %s: %v", layout, s, err)
			}
		}
		r := e.raw("GET", "/nodes/pve/storage/fastData-shared-iso/content", url.Values{"content": {"vztmpl"}})
		vols := r.body["data"].([]any)
		if len(vols) == 0 || vols[0].(map[string]any)["volid"] != "fastData-shared-iso:vztmpl/ubuntu-24.04-standard_24.04-2_amd64.tar.zst" {
			t.Fatalf("%s: templates %v", layout, vols)
		}
		r = e.raw("GET", "/nodes/pve/storage/local/content", url.Values{"content": {"import"}})
		found := false
		for _, v := range r.body["data"].([]any) {
			found = found || v.(map[string]any)["volid"] == "local:import/noble-server-cloudimg-amd64.qcow2"
		}
		if !found {
			t.Fatalf("%s: cloud image missing: %v", layout, r.body["data"])
		}
		// the estate's first container can be created from the seeded template on its storage
		task, err := e.node().NewContainer(e.ctx, 900,
			proxmox.ContainerOption{Name: "ostemplate", Value: "fastData-shared-iso:vztmpl/ubuntu-24.04-standard_24.04-2_amd64.tar.zst"},
			proxmox.ContainerOption{Name: "rootfs", Value: "quickOS-lxc-disks:32"})
		e.wait(task, err)
		if cfg, _ := e.srv.GuestConfig(900); cfg["rootfs"] != "quickOS-lxc-disks:subvol-900-disk-0,size=32G" {
			t.Fatalf("%s: rootfs %q", layout, cfg["rootfs"])
		}
	}
}
