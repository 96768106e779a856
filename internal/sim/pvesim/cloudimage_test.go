//go:build linux

package pvesim_test

import (
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	proxmox "github.com/luthermonson/go-proxmox"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/pvesim"
)

// writeNodeFile writes a file into the node's filesystem, as an SSH upload does.
func (e *env) writeNodeFile(p, content string) {
	e.t.Helper()
	c := e.sshClient()
	defer c.Close()
	e.mustRun(c, "mkdir -p "+filepath.Dir(p)+" && cat > "+p, content)
}

// A VM imported from a cloud image runs that image, which lacks the guest
// agent: the agent never answers until cloud-init installs it from the
// user-data's packages (a cicustom snippet), whose runcmd runs too.
func TestCloudImageGetsTheAgentFromUserData(t *testing.T) {
	e := newGuestEnv(t, pvesim.Options{})
	image := proxmox.VirtualMachineOption{Name: "scsi0", Value: "local-lvm:0,import-from=" + pvesim.DefaultCloudImage}
	ci := proxmox.VirtualMachineOption{Name: "ide2", Value: "local-lvm:cloudinit"}

	bare := e.agentVM(310, "enabled=1", image, ci)
	e.wait(bare.Start(e.ctx))
	e.expectErr(e.raw("POST", "/nodes/pve/qemu/310/agent/ping", url.Values{}), 500, "QEMU guest agent is not running")
	if got, _ := e.guestFile(310, "etc/os-release"); !strings.Contains(got, "VERSION_CODENAME=noble") {
		t.Fatalf("a VM imported from the noble cloud image runs %q", got)
	}

	e.writeNodeFile("/var/lib/vz/snippets/u311.yaml", `#cloud-config
hostname: "from-user-data"
user: "phoenix"
ssh_authorized_keys:
  - "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIUserData u@d"
packages:
  - "qemu-guest-agent"
runcmd:
  - [sh, -c, "echo ran > /root/runcmd-marker"]
`)
	vm := e.agentVM(311, "enabled=1", image, ci, proxmox.VirtualMachineOption{Name: "cicustom", Value: "user=local:snippets/u311.yaml"})
	e.wait(vm.Start(e.ctx))
	if err := vm.WaitForAgent(e.ctx, 10); err != nil {
		t.Fatalf("the agent installed by cloud-init does not answer: %v", err)
	}
	want := map[string]string{
		"etc/hostname":                            "from-user-data\n",
		"home/phoenix/.ssh/authorized_keys":       "AAAAC3NzaC1lZDI1NTE5AAAAIUserData",
		"root/runcmd-marker":                      "ran\n",
		"var/lib/dpkg/info/qemu-guest-agent.list": "/usr/sbin/qemu-ga",
	}
	for p, w := range want {
		if got, _ := e.guestFile(311, p); !strings.Contains(got, w) {
			t.Fatalf("%s = %q, want it to contain %q", p, got, w)
		}
	}
}

// The snippet is read when the VM starts (qemu-server builds the drive
// then): a missing one fails the start task with PVE's message.
func TestCloudInitSnippetMissingFailsStart(t *testing.T) {
	e := newGuestEnv(t, pvesim.Options{})
	vm := e.agentVM(312, "enabled=1",
		proxmox.VirtualMachineOption{Name: "ide2", Value: "local-lvm:cloudinit"},
		proxmox.VirtualMachineOption{Name: "cicustom", Value: "user=local:snippets/missing.yaml"})
	task, err := vm.Start(e.ctx)
	e.waitStatus(task, err, "can't open '/var/lib/vz/snippets/missing.yaml' - No such file or directory")
	if err := vm.Ping(e.ctx); err != nil || vm.Status != "stopped" {
		t.Fatalf("VM after a failed start: %s %v", vm.Status, err)
	}
}

// A rollback with start boots the VM as a start does: its cloud-init drive
// is built then, so a snippet gone since the snapshot fails the task.
func TestRollbackStartBuildsTheCloudInitDrive(t *testing.T) {
	e := newGuestEnv(t, pvesim.Options{})
	e.writeNodeFile("/var/lib/vz/snippets/u313.yaml", "#cloud-config\nhostname: \"rolled\"\n")
	vm := e.agentVM(313, "enabled=1",
		proxmox.VirtualMachineOption{Name: "ide2", Value: "local-lvm:cloudinit"},
		proxmox.VirtualMachineOption{Name: "cicustom", Value: "user=local:snippets/u313.yaml"})
	e.wait(vm.NewSnapshot(e.ctx, "s1"))
	c := e.sshClient()
	defer c.Close()
	e.mustRun(c, "rm /var/lib/vz/snippets/u313.yaml", "")
	r := e.raw("POST", "/nodes/pve/qemu/313/snapshot/s1/rollback", url.Values{"start": {"1"}})
	if st := e.waitUPID(r.body["data"].(string)); !strings.Contains(st, "can't open '/var/lib/vz/snippets/u313.yaml'") {
		t.Fatalf("rollback with start and the snippet gone: %q, want the start's snippet error", st)
	}
}
