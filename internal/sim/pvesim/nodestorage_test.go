//go:build linux

package pvesim_test

import (
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/pvesim"
)

// pvesm on the node is an API client of the same cluster: what it changes
// the API shows, and the other way round.
func TestPvesmRoundTrip(t *testing.T) {
	e := newGuestEnv(t, pvesim.Options{})
	c := e.sshClient()
	run := func(line string, wantCode int) sshResult {
		t.Helper()
		r := e.mustRun(c, line, "")
		if r.code != wantCode {
			t.Fatalf("%q: exit %d, want %d\nstdout %q\nstderr %q", line, r.code, wantCode, r.stdout, r.stderr)
		}
		return r
	}
	st := run("pvesm status", 0).stdout
	lines := strings.Split(strings.TrimSuffix(st, "\n"), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "Name             Type     Status     Total (KiB)") ||
		!regexp.MustCompile(`^local-lvm\s+lvmthin\s+active\s+419430400\s+\d+\s+\d+\s+\d+\.\d\d%$`).MatchString(lines[2]) {
		t.Fatalf("pvesm status:\n%s", st)
	}
	// pvesm set is PUT /storage/{storage}
	run("pvesm set local --content iso,vztmpl,backup,import,snippets", 0)
	if got := e.raw("GET", "/storage/local", nil).body["data"].(map[string]any)["content"]; got != "iso,vztmpl,backup,import,snippets" {
		t.Fatalf("content after pvesm set: %v", got)
	}
	run(`printf 'runcmd: []\n' > /var/lib/vz/snippets/user.yaml`, 0)
	list := run("pvesm list local --content snippets", 0).stdout
	if list != "Volid                    Format  Type      Size VMID\nlocal:snippets/user.yaml snippet snippets  11\n" {
		t.Fatalf("pvesm list:\n%q", list)
	}
	if r := run("pvesm path local:snippets/user.yaml", 0); r.stdout != "/var/lib/vz/snippets/user.yaml\n" {
		t.Fatalf("pvesm path: %q", r.stdout)
	}
	if r := run("pvesm path local-lvm:vm-100-disk-0", 0); r.stdout != "/dev/pve/vm-100-disk-0\n" {
		t.Fatalf("pvesm path lvm: %q", r.stdout)
	}
	if r := run("pvesm path user.yaml", 255); r.stderr != "unable to parse volume ID 'user.yaml'\n" {
		t.Fatalf("pvesm path error: %q", r.stderr)
	}
	// alloc and free, seen through the API; scripts reach pvesm too
	if r := run("pvesm alloc local-lvm 100 vm-100-disk-5 4G", 0); r.stdout != "successfully created 'local-lvm:vm-100-disk-5'\n" {
		t.Fatalf("alloc: %q", r.stdout)
	}
	vols := e.raw("GET", "/nodes/pve/storage/local-lvm/content", url.Values{"vmid": {"100"}}).body["data"].([]any)
	if len(vols) != 1 || vols[0].(map[string]any)["size"] != float64(4<<30) {
		t.Fatalf("allocated volume: %v", vols)
	}
	if r := run("pvesm alloc local-lvm 100 disk-9 1G", 255); r.stderr != "illegal name 'disk-9' - should be 'vm-100-*'\n" {
		t.Fatalf("illegal name: %q", r.stderr)
	}
	if r := run(`bash -c 'pvesm free local-lvm:vm-100-disk-5 && echo freed'`, 0); r.stdout != "Removed volume 'local-lvm:vm-100-disk-5'\nfreed\n" {
		t.Fatalf("free: %q %q", r.stdout, r.stderr)
	}
	if vols := e.raw("GET", "/nodes/pve/storage/local-lvm/content", url.Values{"vmid": {"100"}}).body["data"].([]any); len(vols) != 0 {
		t.Fatalf("after free: %v", vols)
	}
	if r := run("pvesm list nope", 255); r.stderr != "storage 'nope' does not exist\n" {
		t.Fatalf("list nope: %q", r.stderr)
	}
}

// qm disk import (and its alias qm importdisk) copy a node file into a new
// volume of the VM, as an unused disk or the given drive.
func TestQmDiskImport(t *testing.T) {
	e := newGuestEnv(t, pvesim.Options{})
	e.createVM(200)
	c := e.sshClient()
	// a qcow2 header whose virtual size is 1 GiB
	e.mustRun(c, `printf 'QFI\xfb\x00\x00\x00\x03%016d\x00\x00\x00\x00\x40\x00\x00\x00' 0 > /root/disk.qcow2`, "")
	r := e.mustRun(c, "qm disk import 200 /root/disk.qcow2 local-lvm", "")
	want := "importing disk '/root/disk.qcow2' to VM 200 ...\ntransferred 0.0 B of 1.0 GiB (0.00%)\n" +
		"transferred 1.0 GiB of 1.0 GiB (100.00%)\nunused0: successfully imported disk 'local-lvm:vm-200-disk-1'\n"
	if r.code != 0 || r.stdout != want {
		t.Fatalf("qm disk import: exit %d\n%q\nwant %q\nstderr %q", r.code, r.stdout, want, r.stderr)
	}
	cfg := e.raw("GET", "/nodes/pve/qemu/200/config", nil).body["data"].(map[string]any)
	if cfg["unused0"] != "local-lvm:vm-200-disk-1" {
		t.Fatalf("config %v", cfg)
	}
	vol := e.raw("GET", "/nodes/pve/storage/local-lvm/content/local-lvm:vm-200-disk-1", nil).body["data"].(map[string]any)
	if vol["size"] != float64(1<<30) {
		t.Fatalf("imported volume %v", vol)
	}
	r = e.mustRun(c, "qm importdisk 200 disk.qcow2 local-lvm --target-disk scsi1 --format qcow2", "")
	if r.code != 0 || !strings.HasSuffix(r.stdout, "scsi1: successfully imported disk 'local-lvm:vm-200-disk-2'\n") ||
		r.stderr != "format 'qcow2' is not supported by the target storage - using 'raw' instead\n" {
		t.Fatalf("qm importdisk: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
	if cfg := e.raw("GET", "/nodes/pve/qemu/200/config", nil).body["data"].(map[string]any); cfg["scsi1"] != "local-lvm:vm-200-disk-2" {
		t.Fatalf("config %v", cfg)
	}
	for line, stderr := range map[string]string{
		"qm disk import 200 /nope local-lvm":                                "/nope: non-existent or non-regular file\n",
		"qm disk import 200 /root/disk.qcow2 local":                         "storage local does not support vm images\n",
		"qm disk import 201 /root/disk.qcow2 local-lvm":                     "Configuration file 'nodes/pve/qemu-server/201.conf' does not exist\n",
		"qm disk import 200 /root/disk.qcow2 local-lvm --target-disk scsi1": "cowardly refusing to overwrite existing entry: scsi1\n",
	} {
		if r := e.mustRun(c, line, ""); r.code != 255 || !strings.HasSuffix(r.stderr, stderr) {
			t.Errorf("%q: exit %d stderr %q, want %q", line, r.code, r.stderr, stderr)
		}
	}
}
