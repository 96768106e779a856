//go:build linux

package provider

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/guestconf"
	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/pve"
	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/pvesim"
	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/pvesimtest"
)

const vmTestKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExampleExampleExampleExampleExampleExample phoenix@example"

// startVMSim is a simulator with real guests whose local storage takes
// snippets, as a phoenix host running VMs needs for their cloud-init.
func startVMSim(t *testing.T) *testSim {
	t.Helper()
	return vmSimOf(t, pvesimtest.StartReal(t, pvesim.Options{AgentBootDelay: 200 * time.Millisecond}))
}

// marker is an inline feature script that leaves /etc/phoenix/markers/<name>.
func marker(name string) string {
	return fmt.Sprintf(`{ name = %q, content = "#!/bin/bash\nset -e\nmkdir -p /etc/phoenix/markers\necho $PHOENIX_GUEST_ID > /etc/phoenix/markers/%s\n" }`, name, name)
}

// markerFile writes marker's script to dir and returns a feature reading
// it by path (import restores a path; inline content only as a digest).
func markerFile(t *testing.T, dir, name string) string {
	t.Helper()
	p := filepath.Join(dir, name+".sh")
	script := "#!/bin/bash\nset -e\nmkdir -p /etc/phoenix/markers\necho $PHOENIX_GUEST_ID > /etc/phoenix/markers/" + name + "\n"
	if err := os.WriteFile(p, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf(`{ name = %q, path = %q }`, name, p)
}

// vmTemplateAndClone is a template VM from the cloud image and a clone of it.
func vmTemplateAndClone(cloneIP string, allowRestart bool, cloneFeature string) string {
	return fmt.Sprintf(`
resource "phoenix_guest" "tmpl" {
  spec = {
    vmid = 8000, kind = "vm", name = "ubuntu-2404-cloud-template", os_type = "ubuntu", is_template = true
    cores = 1, memory_mb = 1024, disk_size_gb = 10, storage = "local-lvm"
    template_image = "noble-server-cloudimg-amd64.img"
    network  = { bridge = "vmbr0", ip = "dhcp" }
    cloud_init = { username = "phoenix_user", ssh_authorized_keys = [%q], packages = ["curl"] }
    features = [%s]
  }
}

resource "phoenix_guest" "clone" {
  allow_restart = %t
  spec = {
    vmid = 8001, kind = "vm", name = "docker-vm-01", os_type = "ubuntu", clone_from = 8000
    cores = 2, memory_mb = 2048, disk_size_gb = 16, storage = "local-lvm"
    network  = { bridge = "vmbr0", ip = %q, gateway = "10.0.0.1", nameservers = ["10.0.0.1"] }
    cloud_init = { username = "phoenix_user" }
    features = [%s]
  }
  depends_on = [phoenix_guest.tmpl]
}
`, vmTestKey, marker("base_setup"), allowRestart, cloneIP, cloneFeature)
}

// A template VM from a cloud image, finalised and converted; a clone of it
// with its own cloud-init identity and the template's software; a
// cloud-init change; import with an empty plan; a real destroy.
func TestAccVM_templateAndClone(t *testing.T) {
	sim := startVMSim(t)
	docker := markerFile(t, t.TempDir(), "docker")
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             sim.checkGone(8000, 8001),
		Steps: []resource.TestStep{
			{
				Config: sim.realProvider() + vmTemplateAndClone("10.0.0.101/24", false, docker),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("phoenix_guest.tmpl", tfjsonpath.New("status"), knownvalue.StringExact("stopped")),
					statecheck.ExpectKnownValue("phoenix_guest.tmpl", tfjsonpath.New("spec").AtMapKey("is_template"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue("phoenix_guest.clone", tfjsonpath.New("status"), knownvalue.StringExact("running")),
					statecheck.ExpectKnownValue("phoenix_guest.clone", tfjsonpath.New("provisioned").AtMapKey("docker"), knownvalue.NotNull()),
				},
				Check: func(*terraform.State) error {
					c := sim.config(t, 8000)
					if c["template"] != "1" || !strings.Contains(c["scsi0"], "base-8000-disk") || c["cicustom"] != "user=local:snippets/phoenix-8000-user.yaml" {
						return fmt.Errorf("template config %v", c)
					}
					c = sim.config(t, 8001)
					if c["cicustom"] != "" || c["ipconfig0"] != "ip=10.0.0.101/24,gw=10.0.0.1" || !strings.Contains(c["scsi0"], "size=16G") {
						return fmt.Errorf("clone config %v", c)
					}
					for p, want := range map[string]string{
						"etc/hostname": "docker-vm-01\n", "etc/netplan/50-cloud-init.yaml": "10.0.0.101/24",
						"etc/phoenix/markers/base_setup": "8000\n", "etc/phoenix/markers/docker": "8001\n",
						"var/lib/dpkg/info/qemu-guest-agent.list": "qemu-ga",
					} {
						if got := sim.guestFile(t, 8001, p); !strings.Contains(got, want) {
							return fmt.Errorf("clone %s = %q, want %q", p, got, want)
						}
					}
					return nil
				},
			},
			{
				// A running VM's cloud-init change waits in PVE's pending
				// section unless allow_restart; with it, the VM reboots into
				// its new address.
				Config: sim.realProvider() + vmTemplateAndClone("10.0.0.111/24", true, docker),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction("phoenix_guest.clone", plancheck.ResourceActionUpdate)},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: func(*terraform.State) error {
					if got := sim.guestFile(t, 8001, "etc/netplan/50-cloud-init.yaml"); !strings.Contains(got, "10.0.0.111/24") {
						return fmt.Errorf("after the cloud-init change the guest has %q", got)
					}
					return nil
				},
			},
			{
				ResourceName:            "phoenix_guest.clone",
				ImportState:             true,
				ImportStateId:           "8001",
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"health", "pending_restart"},
			},
			{
				Config:   sim.realProvider() + vmTemplateAndClone("10.0.0.111/24", true, docker),
				PlanOnly: true,
			},
		},
	})
	if _, err := sim.srv.ReadNodeFile("pve", "/var/lib/vz/snippets/phoenix-8000-user.yaml", 0); err == nil {
		t.Error("the destroyed template's user-data snippet is left on the node")
	}
}

// A clone of a named snapshot of a provisioned, non-template VM.
func TestAccVM_cloneFromSnapshot(t *testing.T) {
	sim := startVMSim(t)
	cfg := sim.realProvider() + fmt.Sprintf(`
resource "phoenix_guest" "base" {
  spec = {
    vmid = 8100, kind = "vm", name = "base", cores = 1, memory_mb = 1024, storage = "local-lvm"
    template_image = "local:import/noble-server-cloudimg-amd64.qcow2", template_snapshot_name = "initial"
    network = { bridge = "vmbr0", ip = "dhcp" }
    features = [%s]
  }
}
resource "phoenix_guest" "snapclone" {
  spec = {
    vmid = 8101, kind = "vm", name = "snapclone", storage = "local-lvm", clone_from = 8100, clone_snapshot = "initial"
    network = { bridge = "vmbr0", ip = "10.0.0.121/24", gateway = "10.0.0.1" }
  }
  depends_on = [phoenix_guest.base]
}
`, marker("base_setup"))
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             sim.checkGone(8100, 8101),
		Steps: []resource.TestStep{{
			Config: cfg,
			ConfigPlanChecks: resource.ConfigPlanChecks{
				PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
			},
			Check: func(*terraform.State) error {
				snaps, err := sim.api.Snapshots(context.Background(), pve.Ref{Node: "pve", Kind: pve.QEMU, ID: 8100})
				if err != nil || len(snaps) != 1 || snaps[0] != "initial" {
					return fmt.Errorf("snapshots of 8100: %v %v", snaps, err)
				}
				if got := sim.guestFile(t, 8101, "etc/phoenix/markers/base_setup"); got != "8100\n" {
					return fmt.Errorf("the snapshot clone lacks the provisioned marker: %q", got)
				}
				return nil
			},
		}},
	})
}

// A script over one agent write (61,440 bytes) arrives whole; a failing
// feature keeps the VM (taint_on_failure = false) and the next apply resumes
// at that feature only.
func TestAccVM_largeScriptAndResume(t *testing.T) {
	sim := startVMSim(t)
	big := "#!/bin/bash\nset -e\nwc -c < \"$0\" > /root/big-size\necho run >> /root/big-runs\n" + strings.Repeat("# padding for a script larger than one agent file-write\n", 1500)
	scripts := t.TempDir()
	bigPath := filepath.Join(scripts, "big.sh")
	if err := os.WriteFile(bigPath, []byte(big), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := sim.realProvider() + fmt.Sprintf(`
resource "phoenix_guest" "vm" {
  taint_on_failure = false
  spec = {
    vmid = 8200, kind = "vm", name = "big", cores = 1, memory_mb = 1024, storage = "local-lvm"
    template_image = "noble-server-cloudimg-amd64.img"
    network = { bridge = "vmbr0", ip = "dhcp" }
    features = [
      { name = "big", path = %q },
      { name = "flaky", content = "#!/bin/bash\ntest -e /root/fixed || { echo 'flaky: waiting for /root/fixed' >&2; exit 4; }\necho ok > /root/flaky-done\n" },
    ]
  }
}
`, bigPath)
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             sim.checkGone(8200),
		Steps: []resource.TestStep{
			{
				Config:             cfg,
				ExpectNonEmptyPlan: true, // the failed feature is still to run
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("phoenix_guest.vm", tfjsonpath.New("provisioning_error"),
						knownvalue.StringRegexp(regexpMust(`feature "flaky" failed with exit code 4(.|\n)*waiting for /root/fixed`))),
				},
				Check: func(*terraform.State) error {
					if got := strings.TrimSpace(sim.guestFile(t, 8200, "root/big-size")); got != fmt.Sprint(len(big)) {
						return fmt.Errorf("the big script arrived with %s bytes, want %d", got, len(big))
					}
					return os.WriteFile(filepath.Join(sim.srv.GuestRoot(8200), "root/fixed"), nil, 0o644)
				},
			},
			{
				Config: cfg,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("phoenix_guest.vm", tfjsonpath.New("provisioning_error"), knownvalue.Null()),
				},
				Check: func(*terraform.State) error {
					if runs := sim.guestFile(t, 8200, "root/big-runs"); runs != "run\n" {
						return fmt.Errorf("the big feature ran again on resume: %q", runs)
					}
					if got := sim.guestFile(t, 8200, "root/flaky-done"); got != "ok\n" {
						return fmt.Errorf("the failed feature did not run on resume: %q", got)
					}
					return nil
				},
			},
		},
	})
}

// A guest agent that never answers fails the create with the reason, keeps
// the VM (recorded as not provisioned), and the next apply, once the agent
// answers, provisions it without recreating it.
func TestAccVM_agentNeverAnswers(t *testing.T) {
	sim := startVMSim(t)
	cfg := sim.realProvider() + fmt.Sprintf(`
resource "phoenix_guest" "vm" {
  taint_on_failure = false
  timeouts { create = "20s" }
  spec = {
    vmid = 8300, kind = "vm", name = "silent", cores = 1, memory_mb = 1024, storage = "local-lvm"
    template_image = "noble-server-cloudimg-amd64.img"
    network = { bridge = "vmbr0", ip = "dhcp" }
    features = [%s]
  }
}
`, marker("base_setup"))
	var created string
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             sim.checkGone(8300),
		Steps: []resource.TestStep{
			{
				PreConfig:          func() { sim.srv.Faults().SetAgentDown(8300, true) },
				Config:             cfg,
				ExpectNonEmptyPlan: true,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("phoenix_guest.vm", tfjsonpath.New("provisioning_error"),
						knownvalue.StringRegexp(regexpMust(`QEMU guest agent did not answer(.|\n)*qemu-guest-agent`))),
				},
				Check: func(*terraform.State) error {
					created = sim.config(t, 8300)["smbios1"]
					return nil
				},
			},
			{
				PreConfig: func() { sim.srv.Faults().SetAgentDown(8300, false) },
				Config:    cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction("phoenix_guest.vm", plancheck.ResourceActionUpdate)},
				},
				Check: func(*terraform.State) error {
					if sim.config(t, 8300)["smbios1"] != created {
						return fmt.Errorf("the VM was recreated instead of resumed")
					}
					if sim.guestFile(t, 8300, "etc/phoenix/markers/base_setup") != "8300\n" {
						return fmt.Errorf("the feature did not run once the agent answered")
					}
					return nil
				},
			},
		},
	})
}

// Drift: cores changed out of band show and are corrected; a VM converted to
// a template outside Terraform is refused at plan with the fix, never
// replaced silently. A template VM with a snapshot name takes no snapshot.
func TestAccVM_driftAndTemplates(t *testing.T) {
	sim := startVMSim(t)
	cfg := sim.realProvider() + `
resource "phoenix_guest" "vm" {
  spec = {
    vmid = 8400, kind = "vm", name = "drift", cores = 2, memory_mb = 1024, storage = "local-lvm"
    template_image = "noble-server-cloudimg-amd64.img"
    network = { bridge = "vmbr0", ip = "dhcp" }
  }
}
resource "phoenix_guest" "tmpl" {
  spec = {
    vmid = 8401, kind = "vm", name = "tmpl", is_template = true, template_snapshot_name = "initial", storage = "local-lvm"
    template_image = "noble-server-cloudimg-amd64.img"
    network = { bridge = "vmbr0", ip = "dhcp" }
  }
}
`
	ref := pve.Ref{Node: "pve", Kind: pve.QEMU, ID: 8400}
	ctx := context.Background()
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             sim.checkGone(8400, 8401),
		Steps: []resource.TestStep{
			{
				Config: cfg,
				Check: func(*terraform.State) error {
					snaps, err := sim.api.Snapshots(ctx, pve.Ref{Node: "pve", Kind: pve.QEMU, ID: 8401})
					if err != nil || len(snaps) != 0 || sim.config(t, 8401)["template"] != "1" {
						return fmt.Errorf("template 8401: snapshots %v (%v), config %v", snaps, err, sim.config(t, 8401))
					}
					return nil
				},
			},
			{
				PreConfig: func() {
					if err := sim.api.UpdateConfig(ctx, ref, map[string]string{"cores": "6"}, nil, ""); err != nil {
						t.Fatal(err)
					}
				},
				Config: cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction("phoenix_guest.vm", plancheck.ResourceActionUpdate)},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: func(*terraform.State) error {
					if c := sim.config(t, 8400)["cores"]; c != "2" {
						return fmt.Errorf("cores drift not corrected: %s", c)
					}
					return nil
				},
			},
			{
				PreConfig: func() {
					if err := sim.api.Stop(ctx, ref); err != nil {
						t.Fatal(err)
					}
					if err := sim.api.Template(ctx, ref); err != nil {
						t.Fatal(err)
					}
				},
				Config:      cfg,
				ExpectError: regexpMust(`PVE cannot turn a template back into a VM`),
			},
		},
	})
}

// A VM another tool built (through the API, no phoenix metadata), imported
// with HCL that matches it: what PVE tells is read back (storage and size of
// the boot disk, cores, memory, network, cloud-init user and keys), the
// cloud image PVE cannot tell never forces a replacement, and the first plan
// is in place only; after it, the plan is empty.
func TestAccVM_importForeign(t *testing.T) {
	sim := startVMSim(t)
	ctx := context.Background()
	err := sim.api.CreateVM(ctx, "pve", 8900, map[string]string{
		"name": "legacy-vm", "cores": "2", "memory": "2048", "ostype": "l26", "scsihw": "virtio-scsi-pci",
		"scsi0": "local-lvm:0,import-from=" + pvesim.DefaultCloudImage, "ide2": "local-lvm:cloudinit", "boot": "order=scsi0",
		"net0": "virtio,bridge=vmbr0", "ipconfig0": "ip=10.0.0.90/24,gw=10.0.0.1", "ciuser": "ops", "agent": "enabled=1",
		"sshkeys": guestconf.EncodeSSHKeys([]string{vmTestKey}), "tags": "handmade",
	})
	if err != nil {
		t.Fatal(err)
	}
	ref := pve.Ref{Node: "pve", Kind: pve.QEMU, ID: 8900}
	if err := sim.api.Resize(ctx, ref, "scsi0", "12G"); err != nil {
		t.Fatal(err)
	}
	if err := sim.api.Start(ctx, ref); err != nil {
		t.Fatal(err)
	}
	cfg := sim.realProvider() + fmt.Sprintf(`
resource "phoenix_guest" "legacy" {
  spec = {
    vmid = 8900, kind = "vm", name = "legacy-vm", os_type = "l26", cores = 2, memory_mb = 2048, disk_size_gb = 12
    storage = "local-lvm", template_image = "noble-server-cloudimg-amd64.img"
    network = { bridge = "vmbr0", ip = "10.0.0.90/24", gateway = "10.0.0.1" }
    cloud_init = { username = "ops", ssh_authorized_keys = [%q] }
  }
}
`, vmTestKey)
	const addr = "phoenix_guest.legacy"
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             sim.checkGone(8900),
		Steps: []resource.TestStep{
			{
				Config: cfg, ResourceName: addr, ImportState: true, ImportStateId: "8900", ImportStatePersist: true,
				ImportStateCheck: func(states []*terraform.InstanceState) error {
					a := states[0].Attributes
					for k, want := range map[string]string{"spec.kind": "vm", "spec.storage": "local-lvm", "spec.disk_size_gb": "12",
						"spec.cores": "2", "spec.memory_mb": "2048", "spec.network.ip": "10.0.0.90/24", "spec.cloud_init.username": "ops",
						"spec.cloud_init.ssh_authorized_keys.0": vmTestKey, "status": "running"} {
						if a[k] != want {
							return fmt.Errorf("imported %s = %q, want %q", k, a[k], want)
						}
					}
					return nil
				},
			},
			{
				Config: cfg,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction(addr, plancheck.ResourceActionUpdate)},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: func(*terraform.State) error {
					if c := sim.config(t, 8900); c["tags"] != "handmade" {
						return fmt.Errorf("the imported VM was recreated: %v", c)
					}
					return nil
				},
			},
		},
	})
}
