//go:build linux

package pvesim_test

import (
	"net/url"
	"testing"

	proxmox "github.com/luthermonson/go-proxmox"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/pvesim"
)

// A form's repeated keys are all kept: pve-http-server's decode_urlencoded
// makes them an array, which RESTHandler joins with ',' for "-list"
// formats (delete) and refuses for plain strings.
func TestRepeatedFormKeys(t *testing.T) {
	e := newEnv(t, pvesim.Options{})
	e.createCT(100, proxmox.ContainerOption{Name: "description", Value: "d"}, proxmox.ContainerOption{Name: "nameserver", Value: "1.1.1.1"})
	r := e.raw("PUT", "/nodes/pve/lxc/100/config", url.Values{"delete": {"description", "nameserver"}})
	if r.status != 200 {
		t.Fatalf("PUT: %d %v", r.status, r.body)
	}
	cfg, _ := e.srv.GuestConfig(100)
	if _, ok := cfg["description"]; ok {
		t.Fatalf("description kept: %v", cfg)
	}
	if _, ok := cfg["nameserver"]; ok {
		t.Fatalf("the second delete value was dropped: %v", cfg)
	}
	r = e.raw("PUT", "/nodes/pve/lxc/100/config", url.Values{"hostname": {"a", "b"}})
	e.expectErr(r, 400, "Parameter verification failed.")
	if errs := r.body["errors"].(map[string]any); errs["hostname"] != "type check ('string') failed - got ARRAY" {
		t.Fatalf("errors = %v", errs)
	}
}

// qemu-server's parse_vm_config strips a description's trailing whitespace;
// pve-container keeps it.
func TestVMDescriptionLosesTrailingWhitespace(t *testing.T) {
	e := newEnv(t, pvesim.Options{})
	e.createVM(200)
	desc := func(path string) (any, bool) {
		t.Helper()
		d := e.raw("GET", path, nil).body["data"].(map[string]any)
		v, ok := d["description"]
		return v, ok
	}
	e.raw("PUT", "/nodes/pve/qemu/200/config", url.Values{"description": {"line one\nline two  \n\t\n"}})
	if v, _ := desc("/nodes/pve/qemu/200/config"); v != "line one\nline two" {
		t.Fatalf("VM description %q", v)
	}
	// a blank description reads back as the empty string
	e.raw("PUT", "/nodes/pve/qemu/200/config", url.Values{"description": {"   "}})
	if v, ok := desc("/nodes/pve/qemu/200/config"); !ok || v != "" {
		t.Fatalf("blank VM description %q %v", v, ok)
	}
	e.createCT(100)
	e.raw("PUT", "/nodes/pve/lxc/100/config", url.Values{"description": {"kept  \n"}})
	if v, _ := desc("/nodes/pve/lxc/100/config"); v != "kept  \n" {
		t.Fatalf("CT description %q", v)
	}
}

// "STORAGE:8G" is not an allocation (only a bare number of GiB is): PVE
// takes it for an existing volume and fails to find it.
func TestRootfsWithUnitIsNoAllocation(t *testing.T) {
	e := newEnv(t, pvesim.Options{})
	create := func(vmid, rootfs string) string {
		t.Helper()
		r := e.raw("POST", "/nodes/pve/lxc", url.Values{"vmid": {vmid}, "ostemplate": {pvesim.DefaultCTTemplate}, "rootfs": {rootfs}})
		if r.status != 200 {
			t.Fatalf("create: %d %v", r.status, r.body)
		}
		return e.waitUPID(r.body["data"].(string))
	}
	if st := create("100", "local-lvm:8G"); st != "unable to create CT 100 - no such logical volume pve/8G" {
		t.Fatalf("lvmthin: %q", st)
	}
	e.expectErr(e.raw("GET", "/nodes/pve/lxc/100/config", nil), 500, "Configuration file 'nodes/pve/lxc/100.conf' does not exist")
	e.raw("PUT", "/storage/local", url.Values{"content": {"iso,vztmpl,rootdir"}})
	if st := create("101", "local:8G"); st != "unable to create CT 101 - unable to parse directory volume name '8G'" {
		t.Fatalf("dir: %q", st)
	}
	if st := create("102", "local-lvm:8"); st != "OK" {
		t.Fatalf("allocation: %q", st)
	}
	// mount points follow the same rule
	r := e.raw("POST", "/nodes/pve/lxc", url.Values{"vmid": {"103"}, "ostemplate": {pvesim.DefaultCTTemplate},
		"rootfs": {"local-lvm:1"}, "mp0": {"local-lvm:2G,mp=/data"}})
	if st := e.waitUPID(r.body["data"].(string)); st != "unable to create CT 103 - no such logical volume pve/2G" {
		t.Fatalf("mp0: %q", st)
	}
	if vols := e.raw("GET", "/nodes/pve/storage/local-lvm/content", url.Values{"vmid": {"103"}}).body["data"].([]any); len(vols) != 0 {
		t.Fatalf("the failed create left volumes: %v", vols)
	}
}
