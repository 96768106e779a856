//go:build linux

package provider

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/pvesim"
	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/pvesimtest"
)

// Scale under contention: 50 containers cloned from one template snapshot
// in one apply, at Terraform's default parallelism and at 50. Each clone
// holds the source's 'disk' lock while it runs, so the others are refused
// ("CT is locked (disk)", pve-container's set_lock); the provider waits and
// retries, and every clone is created once. The refusals and the wall time
// are logged (docs/reliability.md).
func TestAccScale_fiftyClonesOfOneTemplate(t *testing.T) {
	sim := startSimOpts(t, pvesim.Options{
		TaskDuration:  20 * time.Millisecond,
		TaskDurations: map[string]time.Duration{"vzclone": 100 * time.Millisecond},
	})
	const n = 50
	mainTF := sim.provider() + fmt.Sprintf(`
terraform {
  required_providers {
    phoenix = { source = "registry.terraform.io/phoenix-hypervisor/phoenix" }
  }
}

resource "phoenix_guest" "template" {
  spec = {
    vmid = 600, kind = "lxc", name = "template", cores = 1, memory_mb = 256, disk_size_gb = 2, storage = "local-lvm"
    os_template = %q, template_snapshot_name = "golden"
    network = { name = "eth0", bridge = "vmbr0", ip = "dhcp" }
  }
}

resource "phoenix_guest" "clone" {
  for_each = toset([for i in range(%d) : tostring(601 + i)])
  spec = {
    vmid = tonumber(each.key), kind = "lxc", name = "clone-${each.key}", clone_from = 600, clone_snapshot = "golden"
    storage = "local-lvm", cores = 1
  }
  depends_on = [phoenix_guest.template]
}
`, pvesim.DefaultCTTemplate, n)
	tf := newTFRunner(t, t.TempDir(), mainTF)
	for _, par := range []int{0, n} {
		sim.srv.Faults().ResetStats()
		start := time.Now()
		out := tf.must("apply", "-auto-approve", "-input=false", "-no-color", parallelismFlag(par))
		wall := time.Since(start)
		if !strings.Contains(out, fmt.Sprintf("Resources: %d added", n+1)) {
			t.Fatalf("want %d guests created:\n%s", n+1, out)
		}
		if ids := sim.guests(t); len(ids) != n+1 {
			t.Fatalf("the simulator has %d guests, want %d", len(ids), n+1)
		}
		refusals := map[string]int{}
		for _, r := range sim.srv.Faults().Requests() {
			if r.Error != "" {
				msg := r.Error
				if i := strings.Index(msg, " - "); strings.HasPrefix(msg, "can't lock file") && i > 0 {
					msg = "can't lock file ..." + msg[i:]
				}
				refusals[r.Method+" "+r.Template+": "+msg]++
			}
		}
		c := sim.srv.Faults().Counters()
		if got := c["POST /nodes/{node}/lxc/{vmid}/clone"] - sumPrefix(refusals, "POST /nodes/{node}/lxc/{vmid}/clone:"); got != n {
			t.Fatalf("want %d accepted clone requests (each clone once), got %d", n, got)
		}
		if len(refusals) == 0 {
			t.Errorf("%s: 50 clones of one source met no lock: the test exercises no contention", parallelismFlag(par))
		}
		var lines []string
		for k, v := range refusals {
			lines = append(lines, fmt.Sprintf("%5d  %s", v, k))
		}
		sort.Strings(lines)
		t.Logf("%s: %d clones in %s, %d requests; refused by locks and retried:\n%s", parallelismFlag(par), n, wall.Round(time.Millisecond),
			sumPrefix(c, ""), strings.Join(lines, "\n"))
		if code, plan := tf.run("plan", "-detailed-exitcode", "-no-color", "-input=false", parallelismFlag(par)); code != 0 {
			t.Fatalf("re-plan must be empty (exit %d):\n%s", code, plan)
		}
		out = tf.must("destroy", "-auto-approve", "-input=false", "-no-color", parallelismFlag(par))
		if !strings.Contains(out, fmt.Sprintf("Resources: %d destroyed", n+1)) {
			t.Fatalf("want %d destroyed:\n%s", n+1, out)
		}
	}
}

func sumPrefix(m map[string]int, prefix string) int {
	total := 0
	for k, v := range m {
		if strings.HasPrefix(k, prefix) {
			total += v
		}
	}
	return total
}

// Parallel clones of one provisioned VM's snapshot: each clone task holds
// the source's flock for its whole run, so the others' workers fail with
// PVE's "can't lock file '/var/lock/qemu-server/lock-8600.conf' - got
// timeout". The provider starts such a task again (it did nothing), and
// every clone is created once. (Containers are cloned under the source's
// 'disk' lock instead: TestAccScale_fiftyClonesOfOneTemplate.)
func TestAccScale_parallelVMClonesHitTheFlockTimeout(t *testing.T) {
	srv := pvesimtest.StartReal(t, pvesim.Options{AgentBootDelay: 100 * time.Millisecond, LockTimeout: 200 * time.Millisecond,
		TaskDurations: map[string]time.Duration{"qmclone": 400 * time.Millisecond}})
	sim := vmSimOf(t, srv)
	const n = 4
	cfg := sim.realProvider() + fmt.Sprintf(`
resource "phoenix_guest" "base" {
  spec = {
    vmid = 8600, kind = "vm", name = "base", cores = 1, memory_mb = 512, storage = "local-lvm"
    template_image = "local:import/noble-server-cloudimg-amd64.qcow2", template_snapshot_name = "initial"
    network = { bridge = "vmbr0", ip = "dhcp" }
  }
}

resource "phoenix_guest" "clone" {
  count = %d
  spec = {
    vmid = 8601 + count.index, kind = "vm", name = "clone-${8601 + count.index}", storage = "local-lvm", clone_from = 8600, clone_snapshot = "initial"
    network = { bridge = "vmbr0", ip = "dhcp" }
  }
  depends_on = [phoenix_guest.base]
}
`, n)
	ids := []int{8600}
	for i := 1; i <= n; i++ {
		ids = append(ids, 8600+i)
	}
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             sim.checkGone(ids...),
		Steps: []resource.TestStep{{
			Config:           cfg,
			ConfigPlanChecks: resource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
			Check: func(*terraform.State) error {
				timeouts := 0
				for _, task := range taskList(t, sim, "qmclone") {
					if task.Status == "clone failed: can't lock file '/var/lock/qemu-server/lock-8600.conf' - got timeout" {
						timeouts++
					}
				}
				if timeouts == 0 {
					return fmt.Errorf("no clone task met the source's flock timeout: the test exercises no contention")
				}
				t.Logf("%d parallel VM clones: %d clone tasks ended in the flock timeout and were started again", n, timeouts)
				return sim.matches(ids, 1)(nil)
			},
		}},
	})
}

type taskEntry struct {
	UPID   string `json:"upid"`
	Type   string `json:"type"`
	Status string `json:"status"`
}

// taskList is the node's finished tasks of type typ.
func taskList(t *testing.T, s *testSim, typ string) []taskEntry {
	t.Helper()
	var list []taskEntry
	if err := s.api.API().Get(context.Background(), "/nodes/pve/tasks?limit=1000&typefilter="+typ, &list); err != nil {
		t.Fatal(err)
	}
	return list
}

// vmSimOf wraps a started simulator whose local storage takes snippets.
func vmSimOf(t *testing.T, srv *pvesim.Server) *testSim {
	t.Helper()
	sim := simOf(t, srv)
	if err := sim.api.API().Put(context.Background(), "/storage/local", map[string]string{"content": "iso,vztmpl,backup,import,snippets"}, nil); err != nil {
		t.Fatal(err)
	}
	return sim
}
