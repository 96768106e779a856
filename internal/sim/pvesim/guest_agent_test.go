//go:build linux

package pvesim_test

import (
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	proxmox "github.com/luthermonson/go-proxmox"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/pvesim"
)

// agentVM creates a VM on a new disk: it stands for an installed OS that
// has the guest agent (a VM imported from a cloud image does not).
func (e *env) agentVM(vmid int, agent string, extra ...proxmox.VirtualMachineOption) *proxmox.VirtualMachine {
	e.t.Helper()
	opts := []proxmox.VirtualMachineOption{
		{Name: "name", Value: "vm" + strconv.Itoa(vmid)},
		{Name: "scsi0", Value: "local-lvm:4"},
		{Name: "net0", Value: "virtio,bridge=vmbr0"},
	}
	for _, o := range extra {
		if o.Name == "scsi0" {
			opts[1] = o
		}
	}
	if agent != "" {
		opts = append(opts, proxmox.VirtualMachineOption{Name: "agent", Value: agent})
	}
	for _, o := range extra {
		if o.Name != "scsi0" {
			opts = append(opts, o)
		}
	}
	task, err := e.node().NewVirtualMachine(e.ctx, vmid, opts...)
	e.wait(task, err)
	vm, err := e.node().VirtualMachine(e.ctx, vmid)
	if err != nil {
		e.t.Fatal(err)
	}
	return vm
}

// The agent's errors, in PVE's order and texts; and a boot delay during
// which the agent is not running yet (no guest roots needed).
func TestAgentAvailabilityErrors(t *testing.T) {
	e := newEnv(t, pvesim.Options{AgentBootDelay: time.Second})
	e.agentVM(201, "")
	e.wait(mustVM(e, 201).Start(e.ctx))
	e.expectErr(e.raw("POST", "/nodes/pve/qemu/201/agent/ping", nil), 500, "No QEMU guest agent configured")
	e.agentVM(202, "enabled=1")
	e.expectErr(e.raw("POST", "/nodes/pve/qemu/202/agent/ping", nil), 500, "VM 202 is not running")
	e.agentVM(203, "enabled=0,type=virtio")
	e.wait(mustVM(e, 203).Start(e.ctx))
	e.expectErr(e.raw("GET", "/nodes/pve/qemu/203/agent/get-host-name", nil), 500, "QEMU guest agent is not running")
	e.expectErr(e.raw("POST", "/nodes/pve/qemu/999/agent/ping", nil), 500, "Configuration file 'nodes/pve/qemu-server/999.conf' does not exist")

	vm := mustVM(e, 202)
	e.wait(vm.Start(e.ctx))
	// still booting right after the start task
	e.expectErr(e.raw("POST", "/nodes/pve/qemu/202/agent/ping", url.Values{}), 500, "QEMU guest agent is not running")
	if err := vm.WaitForAgent(e.ctx, 10); err != nil { // polls get-osinfo through go-proxmox
		t.Fatal(err)
	}
	if err := vm.AgentPing(e.ctx); err != nil {
		t.Fatal(err)
	}
	// without guest roots exec refuses with a reason, informational commands work
	r := e.raw("POST", "/nodes/pve/qemu/202/agent/exec", url.Values{"command": {"true"}})
	if r.status != 500 || !strings.Contains(r.reason, "guest-exec' failed - the simulator runs without guest roots") {
		t.Fatalf("exec without roots: %d %q", r.status, r.reason)
	}
	ifs, err := vm.AgentGetNetworkIFaces(e.ctx)
	if err != nil || len(ifs) != 1 || ifs[0].Name != "eth0" || len(ifs[0].IPAddresses) != 2 ||
		!strings.HasPrefix(ifs[0].IPAddresses[0].IPAddress, "10.") || ifs[0].IPAddresses[0].Prefix != 8 {
		t.Fatalf("interfaces %+v %v", ifs, err)
	}
	e.wait(vm.Stop(e.ctx))
	e.expectErr(e.raw("POST", "/nodes/pve/qemu/202/agent/ping", nil), 500, "VM 202 is not running")
}

func mustVM(e *env, vmid int) *proxmox.VirtualMachine {
	e.t.Helper()
	vm, err := e.node().VirtualMachine(e.ctx, vmid)
	if err != nil {
		e.t.Fatal(err)
	}
	return vm
}

// A script exec'd through the agent (go-proxmox AgentExec/AgentExecStatus)
// runs in the VM's root with input-data as stdin; exit code and both
// streams come back decoded; file-write/file-read reach the same root.
func TestAgentExecRunsScriptInVM(t *testing.T) {
	e := newGuestEnv(t, pvesim.Options{})
	vm := e.agentVM(200, "1")
	e.wait(vm.Start(e.ctx))
	pid, err := vm.AgentExec(e.ctx, []string{"bash", "-c", "cat > /root/agent-in; echo out; echo err >&2; exit 4"}, "from input-data\n")
	if err != nil {
		t.Fatal(err)
	}
	st, err := vm.WaitForAgentExecExit(e.ctx, pid, 10)
	if err != nil {
		t.Fatal(err)
	}
	if st.Exited != 1 || st.ExitCode != 4 || st.OutData != "out\n" || st.ErrData != "err\n" {
		t.Fatalf("exec-status %+v", st)
	}
	if got, _ := e.guestFile(200, "root/agent-in"); got != "from input-data\n" {
		t.Fatalf("file written by the agent exec: %q", got)
	}
	// QGA forgets a pid once its exit was reported
	e.expectErr(e.raw("GET", "/nodes/pve/qemu/200/agent/exec-status", url.Values{"pid": {strconv.Itoa(pid)}}),
		500, "VM 200 qga command 'guest-exec-status' failed - Invalid parameter 'pid'")
	e.expectErr(e.raw("POST", "/nodes/pve/qemu/200/agent/exec", url.Values{"command": {"no-such-program"}}), 500,
		"VM 200 qga command 'guest-exec' failed - Guest agent command failed, error was 'Failed to execute child process “no-such-program” (No such file or directory)'")
	// qemu-ga's environment has PATH only
	pid, _ = vm.AgentExec(e.ctx, []string{"sh", "-c", "echo HOME=${HOME-unset}"}, "")
	if st, err = vm.WaitForAgentExecExit(e.ctx, pid, 10); err != nil || st.OutData != "HOME=unset\n" {
		t.Fatalf("env: %+v %v", st, err)
	}

	if err := vm.AgentFileWrite(e.ctx, "/etc/motd", []byte("hello from the agent\n")); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.guestFile(200, "etc/motd"); got != "hello from the agent\n" {
		t.Fatalf("file-write: %q", got)
	}
	fr, err := vm.AgentFileRead(e.ctx, "/etc/motd")
	if err != nil || fr.Content != "hello from the agent\n" || fr.Truncated {
		t.Fatalf("file-read %+v %v", fr, err)
	}
	// PVE's size limits: file-write content 60 KiB, exec input-data 64 KiB
	r := e.raw("POST", "/nodes/pve/qemu/200/agent/file-write", url.Values{"file": {"/x"}, "content": {strings.Repeat("a", 60*1024+1)}})
	if r.status != 400 || r.body["errors"].(map[string]any)["content"] == nil {
		t.Fatalf("oversized file-write: %d %v", r.status, r.body)
	}
	r = e.raw("POST", "/nodes/pve/qemu/200/agent/exec", url.Values{"command": {"cat"}, "input-data": {strings.Repeat("a", 64*1024+1)}})
	if r.status != 400 || r.body["errors"].(map[string]any)["input-data"] == nil {
		t.Fatalf("oversized input-data: %d %v", r.status, r.body)
	}
	e.expectErr(e.raw("GET", "/nodes/pve/qemu/200/agent/file-read", url.Values{"file": {"/nope"}}), 500,
		"VM 200 qga command 'guest-file-open' failed - failed to open file '/nope' (mode: 'r'): No such file or directory")

	// qm guest exec in the node shell goes through the same agent
	qr := e.mustRun(e.sshClient(), "qm guest exec 200 -- bash -c 'echo via-qm; exit 2'", "")
	var out map[string]any
	if err := json.Unmarshal([]byte(qr.stdout), &out); err != nil || qr.code != 0 ||
		out["exitcode"] != float64(2) || out["out-data"] != "via-qm\n" || out["exited"] != float64(1) {
		t.Fatalf("qm guest exec: %d %q %q", qr.code, qr.stdout, qr.stderr)
	}
}

// Faults: the agent never comes up; exec'd commands hang.
func TestAgentFaults(t *testing.T) {
	e := newGuestEnv(t, pvesim.Options{})
	vm := e.agentVM(200, "1")
	e.wait(vm.Start(e.ctx))
	e.srv.Faults().SetAgentDown(200, true)
	e.expectErr(e.raw("POST", "/nodes/pve/qemu/200/agent/ping", nil), 500, "QEMU guest agent is not running")
	e.srv.Faults().Clear()
	if err := vm.AgentPing(e.ctx); err != nil {
		t.Fatal(err)
	}
	e.simPost("/_sim/agent", `{"vmid": 200, "exec_hang": true}`)
	pid, err := vm.AgentExec(e.ctx, []string{"touch", "/root/never"}, "")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		st, err := vm.AgentExecStatus(e.ctx, pid)
		if err != nil || st.Exited != 0 {
			t.Fatalf("hung exec status %+v %v", st, err)
		}
	}
	if _, ok := e.guestFile(200, "root/never"); ok {
		t.Fatal("a hung command must not have run")
	}
	e.srv.Faults().Clear()
	pid, _ = vm.AgentExec(e.ctx, []string{"true"}, "")
	if st, err := vm.WaitForAgentExecExit(e.ctx, pid, 10); err != nil || st.ExitCode != 0 {
		t.Fatalf("after clearing: %+v %v", st, err)
	}
}

// Cloud-init's first boot applies ciuser, sshkeys, ipconfig0, name and
// nameserver into the root once per instance; `cloud-init clean` (template
// finalisation) makes the next boot apply them again.
func TestCloudInitFirstBoot(t *testing.T) {
	e := newGuestEnv(t, pvesim.Options{})
	vm := e.agentVM(300, "1",
		proxmox.VirtualMachineOption{Name: "ide2", Value: "local-lvm:cloudinit"},
		proxmox.VirtualMachineOption{Name: "ciuser", Value: "phoenix"},
		proxmox.VirtualMachineOption{Name: "sshkeys", Value: proxmox.EncodeSSHKeys("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFake phoenix@ci")},
		proxmox.VirtualMachineOption{Name: "ipconfig0", Value: "ip=10.1.2.3/24,gw=10.1.2.1"},
		proxmox.VirtualMachineOption{Name: "nameserver", Value: "1.1.1.1"})
	e.wait(vm.Start(e.ctx))
	want := map[string]string{
		"etc/hostname":                      "vm300\n",
		"home/phoenix/.ssh/authorized_keys": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFake phoenix@ci",
		"etc/netplan/50-cloud-init.yaml":    "10.1.2.3/24",
		"etc/resolv.conf":                   "nameserver 1.1.1.1",
	}
	for p, w := range want {
		if got, _ := e.guestFile(300, p); !strings.Contains(got, w) {
			t.Fatalf("%s = %q, want it to contain %q", p, got, w)
		}
	}
	if h, err := vm.AgentGetHostName(e.ctx); err != nil || h != "vm300" {
		t.Fatalf("get-host-name %q %v", h, err)
	}
	ifs, err := vm.AgentGetNetworkIFaces(e.ctx)
	if err != nil || len(ifs) != 1 || ifs[0].IPAddresses[0].IPAddress != "10.1.2.3" || ifs[0].IPAddresses[0].Prefix != 24 {
		t.Fatalf("interfaces %+v %v", ifs, err)
	}
	exec := func(script string) {
		t.Helper()
		pid, err := vm.AgentExec(e.ctx, []string{"bash", "-c", script}, "")
		if err != nil {
			t.Fatal(err)
		}
		if st, err := vm.WaitForAgentExecExit(e.ctx, pid, 10); err != nil || st.ExitCode != 0 {
			t.Fatalf("%q: %+v %v", script, st, err)
		}
	}
	reboot := func() {
		t.Helper()
		e.wait(vm.Stop(e.ctx))
		e.wait(vm.Start(e.ctx))
	}
	// same instance: a reboot keeps what the guest changed
	exec("echo kept > /etc/hostname")
	reboot()
	if got, _ := e.guestFile(300, "etc/hostname"); got != "kept\n" {
		t.Fatalf("hostname after plain reboot %q", got)
	}
	exec("cloud-init clean --logs && test ! -e /var/lib/cloud/instance && test ! -e /var/log/cloud-init.log")
	reboot()
	if got, _ := e.guestFile(300, "etc/hostname"); got != "vm300\n" {
		t.Fatalf("hostname after clean + reboot %q", got)
	}
	if _, ok := e.guestFile(300, "var/lib/cloud/data/instance-id"); !ok {
		t.Fatal("cloud-init did not run again after clean")
	}
}
