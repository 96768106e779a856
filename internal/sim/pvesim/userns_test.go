//go:build linux

package pvesim_test

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	proxmox "github.com/luthermonson/go-proxmox"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/pvesim"
)

// Unprivileged containers run in a user namespace mapped as PVE maps them
// (0 100000 65536, or their lxc.idmap lines) over a root owned by the
// mapped ids; privileged ones are not mapped.
func TestUnprivilegedContainerIDMap(t *testing.T) {
	e := newGuestEnv(t, pvesim.Options{})
	c := e.sshClient()
	out := func(line string) string {
		t.Helper()
		r := e.mustRun(c, line, "")
		if r.code != 0 {
			t.Fatalf("%q: exit %d %q", line, r.code, r.stderr)
		}
		return strings.Join(strings.Fields(r.stdout), " ")
	}
	hostOwner := func(vmid int, p string) uint32 {
		t.Helper()
		var st syscall.Stat_t
		if err := syscall.Lstat(filepath.Join(e.srv.GuestRoot(vmid), p), &st); err != nil {
			t.Fatal(err)
		}
		return st.Uid
	}
	e.startCT(100)
	if got := out("pct exec 100 -- cat /proc/self/uid_map /proc/self/gid_map"); got != "0 100000 65536 0 100000 65536" {
		t.Fatalf("unprivileged maps: %q", got)
	}
	if got := out("pct exec 100 -- sh -c 'id -u; touch /root/made; stat -c %u /root/made'"); got != "0 0" {
		t.Fatalf("root inside: %q", got)
	}
	if u := hostOwner(100, "root/made"); u != 100000 {
		t.Fatalf("host owner of a file the CT's root made: %d", u)
	}
	// pct push speaks container ids: the file is the CT root's, or --user's
	out("echo data > /root/f; pct push 100 /root/f /tmp/f; pct push 100 /root/f /tmp/g --user 33")
	if got := out("pct exec 100 -- stat -c %u /tmp/f /tmp/g"); got != "0 33" {
		t.Fatalf("owners inside: %q", got)
	}
	if u, g := hostOwner(100, "tmp/f"), hostOwner(100, "tmp/g"); u != 100000 || g != 100033 {
		t.Fatalf("host owners %d %d", u, g)
	}

	// a privileged container is not mapped
	e.createCT(101, proxmox.ContainerOption{Name: "unprivileged", Value: 0})
	ct, _ := e.node().Container(e.ctx, 101)
	e.wait(ct.Start(e.ctx))
	if got := out("pct exec 101 -- cat /proc/self/uid_map"); got != "0 0 4294967295" {
		t.Fatalf("privileged map: %q", got)
	}
	if u := hostOwner(101, "root"); u != 0 {
		t.Fatalf("privileged root owned by %d", u)
	}

	// lxc.idmap lines replace the default map
	e.createCT(102)
	out(`cat >> /etc/pve/lxc/102.conf <<'EOF'
lxc.idmap: u 0 100000 1000
lxc.idmap: u 1000 1000 1
lxc.idmap: u 1001 101001 64535
lxc.idmap: g 0 100000 65536
EOF`)
	out("pct start 102")
	if got := out("pct exec 102 -- cat /proc/self/uid_map"); got != "0 100000 1000 1000 1000 1 1001 101001 64535" {
		t.Fatalf("lxc.idmap map: %q", got)
	}
}
