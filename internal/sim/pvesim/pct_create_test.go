//go:build linux

package pvesim_test

import (
	"testing"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/pvesim"
)

// A host script creates a container with pct's own options and lists it;
// the container is what the API shows, and a refused option is PVE's 400.
func TestPctCreateAndListFromAHostScript(t *testing.T) {
	e := newGuestEnv(t, pvesim.Options{})
	c := e.sshClient()
	script := `set -e
pct create 200 local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst --hostname web --memory 1024 --cores 2 \
  --rootfs local-lvm:8 --net0 name=eth0,bridge=vmbr0,ip=dhcp --unprivileged 1 --features nesting=1
pct list`
	r := e.mustRun(c, "bash -c '"+script+"'", "")
	want := "VMID       Status     Lock         Name                \n" +
		"200        stopped                 web                 \n"
	if r.code != 0 || r.stdout != want {
		t.Fatalf("exit %d\nstdout %q\nwant   %q\nstderr %q", r.code, r.stdout, want, r.stderr)
	}
	cfg, _ := e.raw("GET", "/nodes/pve/lxc/200/config", nil).body["data"].(map[string]any)
	for k, v := range map[string]any{"hostname": "web", "memory": float64(1024), "cores": float64(2), "features": "nesting=1",
		"unprivileged": float64(1), "rootfs": "local-lvm:vm-200-disk-0,size=8G"} {
		if cfg[k] != v {
			t.Errorf("config %s = %#v, want %#v (config %v)", k, cfg[k], v, cfg)
		}
	}
	r = e.mustRun(c, "pct create 201 local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst --memory 1", "")
	if want := "400 Parameter verification failed.\nmemory: value must have a minimum value of 16\npct create <vmid> <ostemplate> [OPTIONS]\n"; r.code != 255 || r.stderr != want {
		t.Fatalf("exit %d stderr %q want %q", r.code, r.stderr, want)
	}
}
