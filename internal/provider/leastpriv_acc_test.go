//go:build linux

package provider

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/pvesim"
)

// Least privilege: an API token holding exactly the privileges
// docs/guides/real-pve-host.md lists applies, refreshes and destroys a mixed
// estate (containers cloned from a provisioned template snapshot, a VM
// template from a cloud image and its clone), and without any one of them
// the apply fails with PVE's 403 naming the path and the privilege.

// guide is what docs/guides/real-pve-host.md tells users to create: roles
// (`pveum role add ROLE --privs "..."`) and the user's ACLs (`pveum aclmod
// PATH -user phoenix@pve -role R1,R2`).
type guide struct {
	roles  map[string][]string
	order  []string // role names as the guide creates them
	grants []docGrant
}

type docGrant struct {
	path  string
	roles []string
}

var (
	roleAddRE = regexp.MustCompile(`pveum role add (\S+) --privs "([^"]+)"`)
	aclModRE  = regexp.MustCompile(`pveum aclmod (\S+) -user phoenix@pve -role (\S+)`)
)

func readGuide(t *testing.T) guide {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "docs", "guides", "real-pve-host.md"))
	if err != nil {
		t.Fatal(err)
	}
	text := strings.ReplaceAll(string(b), "\\\n", " ")
	g := guide{roles: map[string][]string{}}
	for _, m := range roleAddRE.FindAllStringSubmatch(text, -1) {
		g.roles[m[1]] = strings.Fields(m[2])
		g.order = append(g.order, m[1])
	}
	for _, m := range aclModRE.FindAllStringSubmatch(text, -1) {
		roles := strings.Split(m[2], ",")
		for _, r := range roles {
			if g.roles[r] == nil {
				t.Fatalf("the guide grants role %s, which it never creates", r)
			}
		}
		g.grants = append(g.grants, docGrant{path: m[1], roles: roles})
	}
	if len(g.grants) == 0 {
		t.Fatal("the guide grants no role to phoenix@pve")
	}
	return g
}

// grant makes the guide's user, roles and ACLs, and its token without
// privilege separation; it returns the token (PROXMOX_VE_API_TOKEN's value).
func (g guide) grant(t *testing.T, srv *pvesim.Server) string {
	t.Helper()
	if err := srv.AddUser("phoenix@pve", "unused-password"); err != nil {
		t.Fatal(err)
	}
	g.setRoles(t, srv, "", "")
	for _, gr := range g.grants {
		for _, r := range gr.roles {
			if err := srv.SetACL(gr.path, "phoenix@pve", r, true); err != nil {
				t.Fatal(err)
			}
		}
	}
	tok, err := srv.AddToken("phoenix@pve", "terraform", false)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// setRoles (re)defines the guide's roles, without privilege drop in role
// dropRole.
func (g guide) setRoles(t *testing.T, srv *pvesim.Server, dropRole, drop string) {
	t.Helper()
	for _, name := range g.order {
		var privs []string
		for _, p := range g.roles[name] {
			if name != dropRole || p != drop {
				privs = append(privs, p)
			}
		}
		if err := srv.SetRole(name, privs...); err != nil {
			t.Fatal(err)
		}
	}
}

// tokenProvider is realProvider authenticating with an API token.
func (s *testSim) tokenProvider(token string) string {
	p := s.realProvider()
	p = strings.Replace(p, fmt.Sprintf("username       = %q", s.srv.Username()), fmt.Sprintf("api_token      = %q", token), 1)
	return strings.Replace(p, fmt.Sprintf("password       = %q\n", s.srv.Password()), "", 1)
}

// mixedEstate is two containers (a provisioned source with a volume, a
// firewall and a template snapshot; a clone of the snapshot) and two VMs (a
// template from the cloud image with cloud-init packages; its clone).
func mixedEstate(base int) string {
	return fmt.Sprintf(`
resource "phoenix_guest" "base" {
  spec = {
    vmid = %[1]d, kind = "lxc", name = "base", cores = 1, memory_mb = 512, swap_mb = 256, disk_size_gb = 4
    storage = "local-lvm", os_template = %[2]q, unprivileged = true, start_at_boot = true, boot_order = 1, boot_delay = 5
    pct_options = ["nesting=1"]
    network = { name = "eth0", bridge = "vmbr0", ip = "10.0.0.61/24", gateway = "10.0.0.1" }
    mount_points = [{ type = "volume", name = "data", storage = "local-lvm", size_gb = 1, path = "/data" }]
    firewall = { enabled = true, rules = [{ type = "in", action = "ACCEPT", proto = "tcp", port = "22" }] }
    template_snapshot_name = "golden"
    features = [%[3]s]
  }
}

resource "phoenix_guest" "app" {
  spec = {
    vmid = %[4]d, kind = "lxc", name = "app", clone_from = %[1]d, clone_snapshot = "golden", cores = 2, memory_mb = 512
    disk_size_gb = 6, storage = "local-lvm"
    network = { name = "eth0", bridge = "vmbr0", ip = "10.0.0.62/24", gateway = "10.0.0.1" }
    features = [%[5]s]
  }
  depends_on = [phoenix_guest.base]
}

resource "phoenix_guest" "vmtmpl" {
  spec = {
    vmid = %[6]d, kind = "vm", name = "vm-template", os_type = "ubuntu", is_template = true
    cores = 1, memory_mb = 1024, disk_size_gb = 10, storage = "local-lvm"
    template_image = "noble-server-cloudimg-amd64.img"
    network = { bridge = "vmbr0", ip = "dhcp" }
    cloud_init = { username = "phoenix_user", ssh_authorized_keys = [%[7]q], packages = ["curl"] }
    features = [%[8]s]
  }
}

resource "phoenix_guest" "vm" {
  spec = {
    vmid = %[9]d, kind = "vm", name = "vm-app", os_type = "ubuntu", clone_from = %[6]d
    cores = 2, memory_mb = 1024, disk_size_gb = 12, storage = "local-lvm"
    network = { bridge = "vmbr0", ip = "10.0.0.63/24", gateway = "10.0.0.1" }
    cloud_init = { username = "phoenix_user" }
    features = [%[10]s]
  }
  depends_on = [phoenix_guest.vmtmpl]
}
`, base, pvesim.DefaultCTTemplate, marker("base"), base+1, marker("app"), base+10, vmTestKey, marker("vmbase"), base+11, marker("vmapp"))
}

func mixedIDs(base int) []int { return []int{base, base + 1, base + 10, base + 11} }

func TestAccLeastPrivilege_guideGrantsSuffice(t *testing.T) {
	sim := startVMSim(t)
	token := readGuide(t).grant(t, sim.srv)
	cfg := sim.tokenProvider(token) + mixedEstate(600)
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             sim.checkGone(mixedIDs(600)...),
		Steps: []resource.TestStep{
			{Config: cfg, ConfigPlanChecks: resource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}}},
			{RefreshState: true},
			{Config: cfg, PlanOnly: true},
		},
	})
	// Every write to a guest was the token's.
	writes := 0
	for _, r := range sim.srv.Faults().Requests() {
		if r.Method != "GET" && strings.HasPrefix(r.Template, "/nodes/{node}/") {
			writes++
			if r.User != "phoenix@pve!terraform" {
				t.Errorf("%s %s ran as %s, not the token", r.Method, r.Path, r.User)
			}
		}
	}
	if writes == 0 {
		t.Error("the token wrote nothing")
	}
}

// privilegeCase is the smallest part of the mixed estate that needs a
// privilege: a container (its create, settings, start and read), a
// container with a template snapshot, a clone, a VM template from the cloud
// image with cloud-init packages and a feature run through the agent.
func privilegeCase(priv string, id int) string {
	ct := func(name string, id int, extra string) string {
		return fmt.Sprintf(`
resource "phoenix_guest" %q {
  spec = {
    vmid = %d, kind = "lxc", name = %q, cores = 1, memory_mb = 256, swap_mb = 128, disk_size_gb = 2, storage = "local-lvm"
    os_template = %q, start_at_boot = true, boot_order = 1
    network = { name = "eth0", bridge = "vmbr0", ip = "dhcp" }
    firewall = { enabled = true, rules = [{ type = "in", action = "ACCEPT", proto = "tcp", port = "22" }] }
    %s
  }
}
`, name, id, name, pvesim.DefaultCTTemplate, extra)
	}
	switch priv {
	case "VM.Snapshot":
		return ct("src", id, `template_snapshot_name = "golden"`)
	case "VM.Clone":
		return ct("src", id, `template_snapshot_name = "golden"`) + fmt.Sprintf(`
resource "phoenix_guest" "clone" {
  spec = { vmid = %d, kind = "lxc", name = "clone", clone_from = %d, clone_snapshot = "golden", storage = "local-lvm" }
  depends_on = [phoenix_guest.src]
}
`, id+1, id)
	case "VM.Config.HWType", "VM.Config.Cloudinit", "VM.GuestAgent.Unrestricted", "Datastore.Allocate":
		return fmt.Sprintf(`
resource "phoenix_guest" "vm" {
  spec = {
    vmid = %d, kind = "vm", name = "vm", is_template = true, cores = 1, memory_mb = 512, disk_size_gb = 4, storage = "local-lvm"
    template_image = "noble-server-cloudimg-amd64.img"
    network = { bridge = "vmbr0", ip = "dhcp" }
    cloud_init = { username = "phoenix_user", packages = ["curl"] }
    features = [%s]
  }
}

resource "phoenix_guest" "vmclone" {
  spec = {
    vmid = %d, kind = "vm", name = "vmclone", clone_from = %d, storage = "local-lvm"
    network = { bridge = "vmbr0", ip = "10.0.0.64/24", gateway = "10.0.0.1" }
  }
  depends_on = [phoenix_guest.vm]
}
`, id, marker("vm"), id+1, id)
	}
	return ct("ct", id, "")
}

// Without any one privilege of the guide the apply fails with PVE's 403 for
// it; granted again, the next apply converges (the guest a failed apply
// left is adopted or resumed, never duplicated).
func TestAccLeastPrivilege_eachGuidePrivilegeIsNeeded(t *testing.T) {
	sim := startVMSim(t)
	g := readGuide(t)
	token := g.grant(t, sim.srv)
	var steps []resource.TestStep
	var ids []int
	id := 700
	for _, role := range g.order {
		for _, priv := range g.roles[role] {
			want := regexp.MustCompile(`Permission\s+check\s+failed\s+\(/[^,]*,\s+[^)]*` + regexp.QuoteMeta(priv) + `[|)]`)
			if priv == "VM.Allocate" {
				// create_vm's VM.Allocate check names neither path nor privilege
				want = regexp.MustCompile(`Permission\s+check\s+failed(\n|$|\s+\(/vms/\d+,\s+VM\.Allocate\))`)
			}
			cfg := sim.tokenProvider(token) + privilegeCase(priv, id)
			ids = append(ids, id, id+1)
			steps = append(steps,
				resource.TestStep{
					PreConfig:   func() { g.setRoles(t, sim.srv, role, priv) },
					Config:      cfg,
					ExpectError: want,
				},
				resource.TestStep{
					PreConfig:        func() { g.setRoles(t, sim.srv, "", "") },
					Config:           cfg,
					ConfigPlanChecks: resource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
				})
			id += 10
		}
	}
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             sim.checkGone(ids...),
		Steps:                    steps,
	})
}
