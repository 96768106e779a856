//go:build linux

package pvesim_test

import (
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	proxmox "github.com/luthermonson/go-proxmox"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/pvesim"
)

func (e *env) createCT(vmid int, extra ...proxmox.ContainerOption) {
	e.t.Helper()
	opts := append([]proxmox.ContainerOption{
		{Name: "ostemplate", Value: pvesim.DefaultCTTemplate},
		{Name: "hostname", Value: "ct" + strconv.Itoa(vmid)},
		{Name: "rootfs", Value: "local-lvm:8"},
		{Name: "net0", Value: "name=eth0,bridge=vmbr0,ip=dhcp"},
		{Name: "memory", Value: 1024},
	}, extra...)
	task, err := e.node().NewContainer(e.ctx, vmid, opts...)
	e.wait(task, err)
}

var upidRE = regexp.MustCompile(`^UPID:pve:[0-9A-F]{8}:[0-9A-F]{8}:[0-9A-F]{8}:[a-z]+:\d+:root@pam!phoenix:$`)

func TestLXCCreateConfigAndLifecycle(t *testing.T) {
	e := newEnv(t, pvesim.Options{})
	task, err := e.node().NewContainer(e.ctx, 100,
		proxmox.ContainerOption{Name: "ostemplate", Value: pvesim.DefaultCTTemplate},
		proxmox.ContainerOption{Name: "hostname", Value: "web"},
		proxmox.ContainerOption{Name: "rootfs", Value: "local-lvm:8"},
		proxmox.ContainerOption{Name: "net0", Value: "name=eth0,bridge=vmbr0,ip=10.0.0.5/24,gw=10.0.0.1"},
		proxmox.ContainerOption{Name: "features", Value: "nesting=1"})
	if err == nil && !upidRE.MatchString(string(task.UPID)) {
		t.Fatalf("UPID %q", task.UPID)
	}
	e.wait(task, err)
	if !strings.Contains(string(task.UPID), ":vzcreate:100:") {
		t.Fatalf("task type in %s", task.UPID)
	}
	ct, err := e.node().Container(e.ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	cfg := ct.ContainerConfig
	if cfg.Hostname != "web" || cfg.RootFS != "local-lvm:vm-100-disk-0,size=8G" {
		t.Fatalf("config %+v", cfg)
	}
	if !regexp.MustCompile(`^name=eth0,bridge=vmbr0,gw=10\.0\.0\.1,hwaddr=BC:24:11:[0-9A-F:]{8},ip=10\.0\.0\.5/24,type=veth$`).MatchString(cfg.Nets["net0"]) {
		t.Fatalf("net0 %q", cfg.Nets["net0"])
	}
	raw, _ := e.srv.GuestConfig(100)
	if raw["unprivileged"] != "1" || raw["ostype"] != "debian" {
		t.Fatalf("defaults %v", raw)
	}
	e.wait(ct.Start(e.ctx))
	if err := ct.Ping(e.ctx); err != nil || ct.Status != "running" {
		t.Fatalf("status %q %v", ct.Status, err)
	}
	e.expectErr(e.raw("POST", "/nodes/pve/lxc/100/status/start", nil), 500, "CT 100 already running")
	e.wait(ct.Stop(e.ctx))
	e.expectErr(e.raw("POST", "/nodes/pve/lxc/100/status/stop", nil), 500, "CT 100 not running")

	// config update, delete, digest
	if _, err = ct.Config(e.ctx, proxmox.ContainerOption{Name: "memory", Value: 2048}, proxmox.ContainerOption{Name: "description", Value: "hi"}); err != nil {
		t.Fatal(err)
	}
	raw, _ = e.srv.GuestConfig(100)
	if raw["memory"] != "2048" || raw["description"] != "hi" {
		t.Fatalf("after PUT %v", raw)
	}
	e.expectErr(e.raw("PUT", "/nodes/pve/lxc/100/config", url.Values{"delete": {"memory"}}), 500, "unable to delete required option 'memory'")
	r := e.raw("PUT", "/nodes/pve/lxc/100/config", url.Values{"delete": {"bogus"}})
	e.expectErr(r, 400, "Parameter verification failed.")
	if r.body["errors"].(map[string]any)["delete"] != "unknown option 'bogus'" {
		t.Fatalf("errors %v", r.body["errors"])
	}
	e.expectErr(e.raw("PUT", "/nodes/pve/lxc/100/config", url.Values{"digest": {strings.Repeat("0", 40)}, "cores": {"2"}}), 500,
		"detected modified configuration - file changed by other user? Try again.")
	e.raw("PUT", "/nodes/pve/lxc/100/config", url.Values{"delete": {"description"}})
	if raw, _ = e.srv.GuestConfig(100); raw["description"] != "" {
		t.Fatalf("description not deleted: %v", raw)
	}

	// resize: grow only
	e.wait(ct.Resize(e.ctx, "rootfs", "+2G"))
	if raw, _ = e.srv.GuestConfig(100); raw["rootfs"] != "local-lvm:vm-100-disk-0,size=10G" {
		t.Fatalf("resize: %v", raw["rootfs"])
	}
	task, err = ct.Resize(e.ctx, "rootfs", "4G")
	e.waitStatus(task, err, "unable to shrink disk size")
}

func TestLXCUnknownAndErrors(t *testing.T) {
	e := newEnv(t, pvesim.Options{Nodes: []string{"pve", "pve2"}})
	e.expectErr(e.raw("GET", "/nodes/pve/lxc/123/config", nil), 500, "Configuration file 'nodes/pve/lxc/123.conf' does not exist")
	e.createCT(100)
	// wrong node, wrong kind
	e.expectErr(e.raw("GET", "/nodes/pve2/lxc/100/config", nil), 500, "Configuration file 'nodes/pve2/lxc/100.conf' does not exist")
	e.expectErr(e.raw("GET", "/nodes/pve/qemu/100/config", nil), 500, "Configuration file 'nodes/pve/qemu-server/100.conf' does not exist")
	// IDs are cluster-wide
	e.expectErr(e.raw("POST", "/nodes/pve2/lxc", url.Values{"vmid": {"100"}, "ostemplate": {pvesim.DefaultCTTemplate}}), 500,
		"CT 100 already exists on node 'pve'")
	e.expectErr(e.raw("POST", "/nodes/pve2/qemu", url.Values{"vmid": {"100"}}), 500, "CT 100 already exists on node 'pve'")
	// parameter verification
	r := e.raw("PUT", "/nodes/pve/lxc/100/config", url.Values{"bogus": {"1"}, "cores": {"x"}})
	e.expectErr(r, 400, "Parameter verification failed.")
	errs := r.body["errors"].(map[string]any)
	if errs["bogus"] != "property is not defined in schema and the schema does not allow additional properties" ||
		errs["cores"] != "type check ('integer') failed - got 'x'" {
		t.Fatalf("errors %v", errs)
	}
	r = e.raw("PUT", "/nodes/pve/lxc/100/config", url.Values{"net0": {"name=eth0,hwaddr=zz"}})
	e.expectErr(r, 400, "Parameter verification failed.")
	if _, ok := r.body["errors"].(map[string]any)["net0"]; !ok {
		t.Fatalf("net0 error missing: %v", r.body)
	}
	// root-only operations refused for the API token
	e.expectErr(e.raw("PUT", "/nodes/pve/lxc/100/config", url.Values{"mp0": {"/srv/data,mp=/data"}}), 403,
		"Permission check failed (mount point type bind is only allowed for root@pam)")
	e.expectErr(e.raw("PUT", "/nodes/pve/lxc/100/config", url.Values{"features": {"nesting=1,keyctl=1"}}), 403,
		"Permission check failed (changing feature flags (except nesting) is only allowed for root@pam)")
	e.expectErr(e.raw("PUT", "/nodes/pve/lxc/100/config", url.Values{"dev0": {"/dev/null"}}), 403,
		"Permission check failed (configuring device passthrough is only allowed for root@pam)")
	if r := e.raw("PUT", "/nodes/pve/lxc/100/config", url.Values{"features": {"nesting=1"}}); r.status != 200 {
		t.Fatalf("nesting by token: %d %s", r.status, r.reason)
	}
}

func TestLXCSnapshotsTemplateClone(t *testing.T) {
	e := newEnv(t, pvesim.Options{})
	e.createCT(100)
	ct, _ := e.node().Container(e.ctx, 100)
	task, err := ct.NewSnapshot(e.ctx, "before")
	e.wait(task, err)
	snaps, err := ct.Snapshots(e.ctx)
	if err != nil || len(snaps) != 2 || snaps[0].Name != "before" || snaps[1].Name != "current" || snaps[1].Parent != "before" {
		t.Fatalf("snapshots %+v %v", snaps, err)
	}
	e.expectErr(e.raw("POST", "/nodes/pve/lxc/100/snapshot", url.Values{"snapname": {"current"}}), 500, "unable to use snapshot name 'current' (reserved name)")
	r := e.raw("POST", "/nodes/pve/lxc/100/snapshot", url.Values{"snapname": {"1bad"}})
	e.expectErr(r, 400, "Parameter verification failed.")
	r = e.raw("POST", "/nodes/pve/lxc/100/snapshot", url.Values{"snapname": {"before"}})
	if st := e.waitUPID(r.body["data"].(string)); st != "snapshot name 'before' already used" {
		t.Fatalf("dup snapshot: %q", st)
	}
	// config change then rollback restores it
	e.raw("PUT", "/nodes/pve/lxc/100/config", url.Values{"memory": {"4096"}})
	r = e.raw("POST", "/nodes/pve/lxc/100/snapshot/before/rollback", nil)
	if st := e.waitUPID(r.body["data"].(string)); st != "OK" {
		t.Fatal(st)
	}
	if raw, _ := e.srv.GuestConfig(100); raw["memory"] != "1024" || raw["parent"] != "before" {
		t.Fatalf("rollback: %v", raw)
	}
	// template needs no snapshots
	e.expectErr(e.raw("POST", "/nodes/pve/lxc/100/template", nil), 500, "unable to create template, because CT contains snapshots")
	r = e.raw("DELETE", "/nodes/pve/lxc/100/snapshot/before", nil)
	if st := e.waitUPID(r.body["data"].(string)); st != "OK" {
		t.Fatal(st)
	}
	// linked clone needs a template
	e.expectErr(e.raw("POST", "/nodes/pve/lxc/100/clone", url.Values{"newid": {"101"}, "full": {"0"}}), 500,
		"Linked clone feature for 'local-lvm:vm-100-disk-0' is not available")
	if err := ct.Template(e.ctx); err != nil {
		t.Fatal(err)
	}
	raw, _ := e.srv.GuestConfig(100)
	if raw["template"] != "1" || raw["rootfs"] != "local-lvm:base-100-disk-0,size=8G" {
		t.Fatalf("template: %v", raw)
	}
	r = e.raw("POST", "/nodes/pve/lxc/100/snapshot", url.Values{"snapname": {"x1"}})
	if st := e.waitUPID(r.body["data"].(string)); st != "you can't take a snapshot if it's a template" {
		t.Fatalf("template snapshot: %q", st)
	}
	e.expectErr(e.raw("POST", "/nodes/pve/lxc/100/clone", url.Values{"newid": {"101"}, "storage": {"local-lvm"}, "full": {"0"}}), 500,
		"parameter 'storage' not allowed for linked clones")
	newid, task, err := ct.Clone(e.ctx, &proxmox.ContainerCloneOptions{NewID: 101, Hostname: "linked"})
	e.wait(task, err)
	clone, _ := e.srv.GuestConfig(newid)
	if clone["rootfs"] != "local-lvm:base-100-disk-0/vm-101-disk-0,size=8G" || clone["hostname"] != "linked" || clone["net0"] == raw["net0"] {
		t.Fatalf("linked clone: %v", clone)
	}
	if !strings.Contains(string(task.UPID), ":vzclone:100:") {
		t.Fatalf("clone UPID names the source: %s", task.UPID)
	}
	_, task, err = ct.Clone(e.ctx, &proxmox.ContainerCloneOptions{NewID: 102, Full: true, Storage: "local-lvm"})
	e.wait(task, err)
	if full, _ := e.srv.GuestConfig(102); full["rootfs"] != "local-lvm:vm-102-disk-0,size=8G" {
		t.Fatalf("full clone: %v", full)
	}
	// full clone of a running container needs a snapshot
	c101, _ := e.node().Container(e.ctx, 101)
	e.wait(c101.Start(e.ctx))
	e.expectErr(e.raw("POST", "/nodes/pve/lxc/101/clone", url.Values{"newid": {"103"}}), 500,
		"Full clone of a running container is only possible from a snapshot")
	e.expectErr(e.raw("DELETE", "/nodes/pve/lxc/101", nil), 500, "CT 101 is running - destroy failed")
	e.wait(c101.Stop(e.ctx))
	e.wait(c101.Delete(e.ctx, &proxmox.ContainerDeleteOptions{Purge: true}))
	if _, ok := e.srv.GuestConfig(101); ok {
		t.Fatal("101 still exists")
	}
}
