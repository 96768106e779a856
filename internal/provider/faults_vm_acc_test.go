//go:build linux

package provider

import (
	"fmt"
	"testing"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/pvesim"
)

// API faults on the requests the provider makes for VMs and for clones:
// finding the cloud image and the snippets storage, the create, the
// configuration and cloud-init, the guest agent, the template conversion,
// the shutdown; and a container clone's own requests.

const faultVMID = 8500

// faultVM is a VM from the cloud image (user-data snippet, guest agent)
// with a feature run through the agent.
func faultVM(s *testSim, cores int) string {
	return s.realProvider() + fmt.Sprintf(`
resource "phoenix_guest" "v" {
  spec = {
    vmid = %d, kind = "vm", name = "fault-vm", cores = %d, memory_mb = 512, storage = "local-lvm"
    template_image = "noble-server-cloudimg-amd64.img"
    network = { bridge = "vmbr0", ip = "dhcp" }
    features = [%s]
  }
  timeouts {
    create = "60s"
    update = "60s"
    delete = "60s"
  }
}
`, faultVMID, cores, marker("base_setup"))
}

// faultVMClone is a VM template and its clone (cloud-init regenerated).
func faultVMClone(s *testSim, cores int) string {
	return s.realProvider() + fmt.Sprintf(`
resource "phoenix_guest" "t" {
  spec = {
    vmid = %d, kind = "vm", name = "fault-tmpl", is_template = true, cores = 1, memory_mb = 512, storage = "local-lvm"
    template_image = "noble-server-cloudimg-amd64.img"
    network = { bridge = "vmbr0", ip = "dhcp" }
  }
}

resource "phoenix_guest" "c" {
  spec = {
    vmid = %d, kind = "vm", name = "fault-clone", clone_from = %d, cores = %d, storage = "local-lvm"
    network = { bridge = "vmbr0", ip = "10.0.0.85/24", gateway = "10.0.0.1" }
  }
  depends_on = [phoenix_guest.t]
}
`, faultVMID, faultVMID+1, faultVMID, cores)
}

const vmPath = "/nodes/{node}/qemu/{vmid}"

func TestAccFaults_vmAPI(t *testing.T) {
	vm := func(c faultCase) faultCase {
		c.vm = true
		if c.cfg == nil {
			c.cfg = faultVM
			c.ids = []int{faultVMID}
		}
		return c
	}
	clone := func(c faultCase) faultCase {
		c = vm(c)
		c.cfg, c.ids = faultVMClone, []int{faultVMID, faultVMID + 1}
		return c
	}
	var cases []faultCase
	for _, path := range []string{"/nodes/{node}/storage", "/nodes/{node}/storage/{storage}/content", "/storage/{storage}",
		vmPath + "/config", vmPath + "/agent/exec-status"} {
		cases = append(cases,
			vm(faultCase{name: "500 on GET " + path, inject: fail("GET", path, 500, 1)}),
			vm(faultCase{name: "reset on GET " + path, inject: reset("GET", path, pvesim.DropAfter, 1)}))
	}
	cases = append(cases,
		vm(faultCase{name: "500 on VM create", inject: fail("POST", "/nodes/{node}/qemu", 500, 1), want: `Unable to create VM 8500.*simulated failure`}),
		vm(faultCase{name: "VM create answer lost", inject: reset("POST", "/nodes/{node}/qemu", pvesim.DropAfter, 1), check: sent("POST /nodes/{node}/qemu", 1)}),
		vm(faultCase{name: "500 on VM config write", phase: "update", inject: fail("POST", vmPath+"/config", 500, 1), want: `Unable to apply VM 8500.*simulated failure`}),
		vm(faultCase{name: "agent ping failing a while", inject: fail("POST", vmPath+"/agent/ping", 500, 3)}),
		vm(faultCase{name: "500 on agent file-write", inject: fail("POST", vmPath+"/agent/file-write", 500, 1), want: `Unable to apply VM 8500.*simulated failure`}),
		vm(faultCase{name: "500 on agent exec", inject: fail("POST", vmPath+"/agent/exec", 500, 1), want: `Unable to apply VM 8500.*simulated failure`}),
		vm(faultCase{name: "500 on shutdown (destroy)", phase: "destroy", inject: fail("POST", vmPath+"/status/shutdown", 500, 1), want: `Unable to delete VM 8500.*simulated failure`}),
		vm(faultCase{name: "qmcreate TASK ERROR", inject: taskError("qmcreate", "import failed: no space left"), want: `Unable to create VM 8500.*unable to create VM 8500 - import failed`, check: noGuest(faultVMID)}),
		vm(faultCase{name: "qmstart TASK ERROR", inject: taskError("qmstart", "start failed: QEMU exited with code 1"), want: `Unable to apply VM 8500.*QEMU exited with code 1`}),
		vm(faultCase{name: "qmdestroy TASK ERROR", phase: "destroy", inject: taskError("qmdestroy", "unable to remove volume"), want: `Unable to delete VM 8500.*unable to remove volume`}),
		clone(faultCase{name: "500 on VM clone", inject: fail("POST", vmPath+"/clone", 500, 1), want: `Unable to create VM 8501.*simulated failure`}),
		clone(faultCase{name: "VM clone answer lost", inject: reset("POST", vmPath+"/clone", pvesim.DropAfter, 1), check: sent("POST "+vmPath+"/clone", 1)}),
		clone(faultCase{name: "500 on template conversion", inject: fail("POST", vmPath+"/template", 500, 1), want: `Unable to apply VM 8500.*simulated failure`}),
		clone(faultCase{name: "500 on cloud-init regenerate", inject: fail("PUT", vmPath+"/cloudinit", 500, 1), want: `Unable to apply VM 8501.*simulated failure`}),
		clone(faultCase{name: "qmclone TASK ERROR", inject: taskError("qmclone", "clone failed: copy failed"), want: `Unable to create VM 8501.*clone failed: copy failed`, check: noGuest(faultVMID + 1)}),
		faultCase{name: "500 on container clone", cfg: faultClone, ids: []int{faultID, faultID + 1}, inject: fail("POST", ctPath+"/clone", 500, 1), want: `Unable to create CT 501.*simulated failure`},
		faultCase{name: "container clone answer lost", cfg: faultClone, ids: []int{faultID, faultID + 1}, inject: reset("POST", ctPath+"/clone", pvesim.DropAfter, 1), check: sent("POST "+ctPath+"/clone", 1)},
		faultCase{name: "500 on firewall rule delete", phase: "update", cfg: faultCTRules, inject: fail("DELETE", ctPath+"/firewall/rules/{pos}", 500, 1), want: `Unable to apply CT 500.*simulated failure`},
	)
	runFaultMatrix(t, cases)
}

// faultCTRules is faultCT with two firewall rules at cores 1 and one at 2,
// so the update deletes a rule.
func faultCTRules(s *testSim, cores int) string {
	rules := `{ type = "in", action = "ACCEPT", proto = "tcp", port = "22" }`
	if cores == 1 {
		rules += `, { type = "in", action = "ACCEPT", proto = "tcp", port = "80" }`
	}
	return s.provider() + fmt.Sprintf(`
resource "phoenix_guest" "f" {
  spec = {
    vmid = %d, kind = "lxc", name = "fault", cores = %d, memory_mb = 256, disk_size_gb = 2, storage = "local-lvm"
    os_template = %q
    network = { name = "eth0", bridge = "vmbr0", ip = "dhcp" }
    firewall = { enabled = true, rules = [%s] }
  }
}
`, faultID, cores, pvesim.DefaultCTTemplate, rules)
}
