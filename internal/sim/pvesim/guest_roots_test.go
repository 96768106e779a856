//go:build linux

package pvesim_test

import (
	"os"
	"path/filepath"
	"testing"

	proxmox "github.com/luthermonson/go-proxmox"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/pvesim"
)

// A clone from a snapshot inherits the snapshot's files, not the source's
// later ones; a rollback restores them; destroy removes the root.
func TestCloneFromSnapshotAndRollbackCarryFiles(t *testing.T) {
	e := newGuestEnv(t, pvesim.Options{})
	ct := e.startCT(100)
	c := e.sshClient()
	e.mustRun(c, "pct exec 100 -- bash -c 'echo v1 > /root/state'", "")
	e.wait(ct.NewSnapshot(e.ctx, "s1"))
	e.mustRun(c, "pct exec 100 -- bash -c 'echo v2 > /root/state; touch /root/after-snapshot'", "")

	_, task, err := ct.Clone(e.ctx, &proxmox.ContainerCloneOptions{NewID: 102, SnapName: "s1", Hostname: "copy"})
	e.wait(task, err)
	if got, _ := e.guestFile(102, "root/state"); got != "v1\n" {
		t.Fatalf("clone's file %q", got)
	}
	if _, ok := e.guestFile(102, "root/after-snapshot"); ok {
		t.Fatal("clone got a file written after the snapshot")
	}
	// the clone boots with its own hostname
	clone, err := e.node().Container(e.ctx, 102)
	if err != nil {
		t.Fatal(err)
	}
	e.wait(clone.Start(e.ctx))
	if r := e.mustRun(c, "pct exec 102 -- hostname", ""); r.stdout != "copy\n" {
		t.Fatalf("clone hostname %q", r.stdout)
	}

	r := e.raw("POST", "/nodes/pve/lxc/100/snapshot/s1/rollback", nil)
	if st := e.waitUPID(r.body["data"].(string)); st != "OK" {
		t.Fatalf("rollback: %s", st)
	}
	if got, _ := e.guestFile(100, "root/state"); got != "v1\n" {
		t.Fatalf("file after rollback %q", got)
	}
	if _, ok := e.guestFile(100, "root/after-snapshot"); ok {
		t.Fatal("rollback kept a file written after the snapshot")
	}

	e.wait(clone.Stop(e.ctx))
	e.wait(clone.Delete(e.ctx, nil))
	if _, err := os.Stat(e.srv.GuestRoot(102)); !os.IsNotExist(err) {
		t.Fatalf("root of the destroyed clone: %v", err)
	}
}

// A guest command writes to paths that also exist on the host, and climbs
// above its root: only its own root changes.
func TestGuestCommandCannotTouchHostFiles(t *testing.T) {
	e := newGuestEnv(t, pvesim.Options{})
	e.startCT(100)
	host := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(host, []byte("host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	marker := "escape-" + filepath.Base(filepath.Dir(host))
	r := e.mustRun(e.sshClient(), `pct exec 100 -- bash -c '
mkdir -p "$(dirname `+host+`)" && echo pwned > `+host+`
cd / && cd ../../../.. && echo out > `+marker+`
echo pwned > /proc/1/root/`+marker+`-proc 2>/dev/null || true'`, "")
	if r.code != 0 {
		t.Fatalf("exit %d %q", r.code, r.stderr)
	}
	if got, _ := os.ReadFile(host); string(got) != "host\n" {
		t.Fatalf("host file changed: %q", got)
	}
	if got, _ := e.guestFile(100, host); got != "pwned\n" {
		t.Fatalf("guest's own copy %q", got)
	}
	if got, _ := e.guestFile(100, marker); got != "out\n" {
		t.Fatalf("guest marker %q", got)
	}
	for _, p := range []string{"/" + marker, "/" + marker + "-proc"} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			os.Remove(p)
			t.Fatalf("%s appeared on the host", p)
		}
	}
}
