//go:build linux

package pvesim_test

import (
	"net/url"
	"testing"

	proxmox "github.com/luthermonson/go-proxmox"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/pvesim"
)

// A clone that fails part-way leaves nothing behind: the half-made guest and
// the volumes already allocated for it go, the source is unlocked (both
// kinds share this step).
func TestFailedCloneFreesItsVolumes(t *testing.T) {
	e := newEnv(t, pvesim.Options{})
	if r := e.raw("PUT", "/storage/local", url.Values{"content": {"iso,vztmpl,rootdir"}}); r.status != 200 {
		t.Fatalf("PUT local: %d %v", r.status, r.body)
	}
	e.createCT(100, proxmox.ContainerOption{Name: "rootfs", Value: "local:2"}, proxmox.ContainerOption{Name: "mp0", Value: "local-lvm:1,mp=/data"})
	// mp0's copy (local-lvm) is allocated first, then rootfs' fails on local
	if r := e.raw("PUT", "/storage/local", url.Values{"content": {"iso,vztmpl"}}); r.status != 200 {
		t.Fatalf("PUT local: %d %v", r.status, r.body)
	}
	r := e.raw("POST", "/nodes/pve/lxc/100/clone", url.Values{"newid": {"101"}, "full": {"1"}})
	if st := e.waitUPID(r.body["data"].(string)); st != "clone failed: storage 'local' does not allow content type 'rootdir' (Container)" {
		t.Fatalf("clone: %q", st)
	}
	if _, ok := e.srv.GuestConfig(101); ok {
		t.Fatal("the failed clone's guest remains")
	}
	vols := e.raw("GET", "/nodes/pve/storage/local-lvm/content", url.Values{"vmid": {"101"}}).body["data"].([]any)
	if len(vols) != 0 {
		t.Fatalf("volumes of the failed clone remain: %v", vols)
	}
	if cfg, _ := e.srv.GuestConfig(100); cfg["lock"] != "" {
		t.Fatalf("source still locked: %v", cfg["lock"])
	}
}
