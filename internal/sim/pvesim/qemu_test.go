//go:build linux

package pvesim_test

import (
	"net/url"
	"strings"
	"testing"

	proxmox "github.com/luthermonson/go-proxmox"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/pvesim"
)

func (e *env) createVM(vmid int) *proxmox.VirtualMachine {
	e.t.Helper()
	task, err := e.node().NewVirtualMachine(e.ctx, vmid,
		proxmox.VirtualMachineOption{Name: "name", Value: "vm" + strings.Repeat("x", 1)},
		proxmox.VirtualMachineOption{Name: "memory", Value: 2048},
		proxmox.VirtualMachineOption{Name: "scsi0", Value: "local-lvm:0,import-from=" + pvesim.DefaultCloudImage},
		proxmox.VirtualMachineOption{Name: "ide2", Value: "local-lvm:cloudinit"},
		proxmox.VirtualMachineOption{Name: "net0", Value: "virtio,bridge=vmbr0"},
		proxmox.VirtualMachineOption{Name: "ciuser", Value: "ubuntu"},
		proxmox.VirtualMachineOption{Name: "cipassword", Value: "secret"},
		proxmox.VirtualMachineOption{Name: "sshkeys", Value: proxmox.EncodeSSHKeys("ssh-ed25519 AAAAC3Nza user@host")},
		proxmox.VirtualMachineOption{Name: "ipconfig0", Value: "ip=10.0.0.20/24,gw=10.0.0.1"},
		proxmox.VirtualMachineOption{Name: "nameserver", Value: "1.1.1.1"},
		proxmox.VirtualMachineOption{Name: "searchdomain", Value: "example.com"})
	e.wait(task, err)
	vm, err := e.node().VirtualMachine(e.ctx, vmid)
	if err != nil {
		e.t.Fatal(err)
	}
	return vm
}

func TestQEMUCreateCloudInitAndConfig(t *testing.T) {
	e := newEnv(t, pvesim.Options{})
	vm := e.createVM(200)
	raw, _ := e.srv.GuestConfig(200)
	if raw["scsi0"] != "local-lvm:vm-200-disk-0,size=600M" || raw["ide2"] != "local-lvm:vm-200-cloudinit,media=cdrom" {
		t.Fatalf("disks %v", raw)
	}
	if !strings.HasPrefix(raw["net0"], "virtio=BC:24:11:") || !strings.HasSuffix(raw["net0"], ",bridge=vmbr0") {
		t.Fatalf("net0 %q", raw["net0"])
	}
	if raw["sshkeys"] != "ssh-ed25519%20AAAAC3Nza%20user%40host" || !strings.HasPrefix(raw["cipassword"], "$5$") {
		t.Fatalf("cloud-init keys %v", raw)
	}
	r := e.raw("GET", "/nodes/pve/qemu/200/config", nil)
	if r.body["data"].(map[string]any)["cipassword"] != "**********" {
		t.Fatalf("password not masked: %v", r.body["data"])
	}
	if vm.VirtualMachineConfig.Memory != 2048 || vm.VirtualMachineConfig.Name != "vmx" {
		t.Fatalf("vm config %+v", vm.VirtualMachineConfig)
	}
	r = e.raw("GET", "/nodes/pve/qemu/200/cloudinit/dump", url.Values{"type": {"user"}})
	user := r.body["data"].(string)
	if !strings.Contains(user, "user: ubuntu\n") || !strings.Contains(user, "  - ssh-ed25519 AAAAC3Nza user@host\n") {
		t.Fatalf("user-data %q", user)
	}
	r = e.raw("GET", "/nodes/pve/qemu/200/cloudinit/dump", url.Values{"type": {"network"}})
	if n := r.body["data"].(string); !strings.Contains(n, "address: '10.0.0.20'") || !strings.Contains(n, "gateway: '10.0.0.1'") {
		t.Fatalf("network-data %q", n)
	}

	// import-from needs images/import content
	r = e.raw("POST", "/nodes/pve/qemu", url.Values{"vmid": {"201"}, "scsi0": {"local-lvm:0,import-from=" + pvesim.DefaultISO}})
	st := e.waitUPID(r.body["data"].(string))
	if st != "Parameter verification failed." {
		t.Fatalf("import-from iso: %q", st)
	}
	if _, ok := e.srv.GuestConfig(201); ok {
		t.Fatal("failed create left a config")
	}
	// async POST config, sync PUT, digest
	task, err := vm.Config(e.ctx, proxmox.VirtualMachineOption{Name: "cores", Value: 4})
	e.wait(task, err)
	if !strings.Contains(string(task.UPID), ":qmconfig:200:") {
		t.Fatalf("UPID %s", task.UPID)
	}
	e.expectErr(e.raw("PUT", "/nodes/pve/qemu/200/config", url.Values{"digest": {strings.Repeat("a", 40)}, "cores": {"2"}}), 500,
		"checksum mismatch (file change by other user?)")
	r = e.raw("PUT", "/nodes/pve/qemu/200/config", url.Values{"delete": {"ciuser,nameserver"}})
	if r.status != 200 || r.body["data"] != nil {
		t.Fatalf("PUT config %d %v", r.status, r.body)
	}
	if raw, _ := e.srv.GuestConfig(200); raw["ciuser"] != "" || raw["nameserver"] != "" || raw["cores"] != "4" {
		t.Fatalf("after delete %v", raw)
	}
	// running VM: non-hotplug changes go pending
	e.wait(vm.Start(e.ctx))
	e.raw("PUT", "/nodes/pve/qemu/200/config", url.Values{"memory": {"4096"}})
	r = e.raw("GET", "/nodes/pve/qemu/200/pending", nil)
	found := false
	for _, it := range r.body["data"].([]any) {
		m := it.(map[string]any)
		if m["key"] == "memory" && m["pending"] == "4096" && m["value"] == "2048" {
			found = true
		}
	}
	if !found {
		t.Fatalf("pending %v", r.body["data"])
	}
	e.wait(vm.Stop(e.ctx))
	if raw, _ := e.srv.GuestConfig(200); raw["memory"] != "4096" {
		t.Fatalf("pending not applied on stop: %v", raw["memory"])
	}
}

func TestQEMUTemplateCloneSnapshots(t *testing.T) {
	e := newEnv(t, pvesim.Options{})
	vm := e.createVM(300)
	e.expectErr(e.raw("POST", "/nodes/pve/qemu/300/clone", url.Values{"newid": {"301"}, "full": {"0"}}), 500,
		"Linked clone feature is not supported for 'local-lvm:vm-300-disk-0' (scsi0)")
	task, err := vm.NewSnapshot(e.ctx, "s1")
	e.wait(task, err)
	task, err = vm.ConvertToTemplate(e.ctx)
	e.waitStatus(task, err, "unable to create template, because VM contains snapshots")
	snaps, _ := vm.Snapshots(e.ctx)
	for _, s := range snaps {
		if s.Name == "s1" {
			task, err := s.Delete(e.ctx)
			e.wait(task, err)
		}
	}
	task, err = vm.ConvertToTemplate(e.ctx)
	e.wait(task, err)
	newid, task, err := vm.Clone(e.ctx, &proxmox.VirtualMachineCloneOptions{NewID: 301, Name: "linked"})
	e.wait(task, err)
	c, _ := e.srv.GuestConfig(newid)
	if c["scsi0"] != "local-lvm:base-300-disk-0/vm-301-disk-0,size=600M" || c["ide2"] != "local-lvm:vm-301-cloudinit,media=cdrom" {
		t.Fatalf("linked clone %v", c)
	}
	e.expectErr(e.raw("POST", "/nodes/pve/qemu/300/clone", url.Values{"newid": {"301"}}), 500, "unable to create VM 301: config file already exists")
	r := e.raw("POST", "/nodes/pve/qemu/300/snapshot", url.Values{"snapname": {"s2"}})
	if st := e.waitUPID(r.body["data"].(string)); st != "you can't take a snapshot if it's a template" {
		t.Fatalf("template snapshot %q", st)
	}
	e.wait(vm.Delete(e.ctx, nil))
}

func TestFirewall(t *testing.T) {
	e := newEnv(t, pvesim.Options{})
	e.createCT(100)
	e.raw("PUT", "/nodes/pve/lxc/100/firewall/options", url.Values{"enable": {"1"}, "policy_in": {"DROP"}})
	r := e.raw("GET", "/nodes/pve/lxc/100/firewall/options", nil)
	if d := r.body["data"].(map[string]any); d["enable"] != float64(1) || d["policy_in"] != "DROP" {
		t.Fatalf("options %v", d)
	}
	e.raw("POST", "/nodes/pve/lxc/100/firewall/rules", url.Values{"type": {"in"}, "action": {"ACCEPT"}, "dport": {"22"}, "proto": {"tcp"}, "enable": {"1"}})
	e.raw("POST", "/nodes/pve/lxc/100/firewall/rules", url.Values{"type": {"in"}, "action": {"ACCEPT"}, "dport": {"80"}, "proto": {"tcp"}})
	ct, _ := e.node().Container(e.ctx, 100)
	rules, err := ct.FirewallRules(e.ctx)
	if err != nil || len(rules) != 2 || rules[0].Dport != "80" || rules[1].Pos != 1 {
		t.Fatalf("rules %+v %v", rules, err)
	}
	e.raw("DELETE", "/nodes/pve/lxc/100/firewall/rules/0", nil)
	if rules, _ = ct.FirewallRules(e.ctx); len(rules) != 1 || rules[0].Dport != "22" {
		t.Fatalf("after delete %+v", rules)
	}
}
