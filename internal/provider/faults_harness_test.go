//go:build linux

package provider

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/pvesim"
	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/pvesimtest"
)

// The fault matrix (docs/reliability.md): each case injects one fault into
// an apply through Terraform and asserts its outcome (absorbed, or an error
// saying what failed), then that the state equals the simulator (no
// orphaned guest, none lost from state, no duplicate) and that the next
// apply converges to an empty plan. Cases run in parallel, each on its own
// simulator.

// faultCase is one row of the matrix.
type faultCase struct {
	name string
	// phase is when the fault strikes: "create" (default), "update" (cores
	// 1 -> 2 and the disk 2 -> 3 GiB on a running guest) or "destroy".
	phase string
	// inject installs the fault just before the faulty apply.
	inject func(t *testing.T, s *testSim)
	// want is the faulty apply's error (a regexp whose spaces match any
	// blank, as Terraform wraps lines); "" when it absorbs the fault.
	want string
	// check asserts more once the faulty apply ended (request counts...).
	check func(t *testing.T, s *testSim) error
	// cfg overrides the configuration (default faultCT); cores varies
	// with the phase.
	cfg func(s *testSim, cores int) string
	// ids are the guests the configuration manages (default faultID).
	ids []int
	// opts are the simulator's options (default startSim's).
	opts *pvesim.Options
	// vm runs the case on a simulator with real guests, SSH and a snippets
	// storage (startVMSim), as VMs need.
	vm bool
	// preApply runs between the faulty apply's plan and its apply.
	preApply func(s *testSim) plancheck.PlanCheck
	// quiet marks a fault that fails no request (a lock held for a while):
	// an absorbed fault is otherwise checked to have failed one.
	quiet bool
}

const faultID = 500

// faultCT is one running container with a firewall and a template
// snapshot, so an apply touches every kind of request the provider makes
// for a container.
func faultCT(s *testSim, cores int) string { return faultCTWithin("30s")(s, cores) }

// faultCTWithin is faultCT with every operation's timeouts block set to d.
func faultCTWithin(d string) func(s *testSim, cores int) string {
	return func(s *testSim, cores int) string {
		return s.provider() + fmt.Sprintf(`
resource "phoenix_guest" "f" {
  spec = {
    vmid = %d, kind = "lxc", name = "fault", cores = %d, memory_mb = 256, disk_size_gb = %d, storage = "local-lvm"
    os_template = %q
    network = { name = "eth0", bridge = "vmbr0", ip = "dhcp" }
    firewall = { enabled = true, rules = [{ type = "in", action = "ACCEPT", proto = "tcp", port = "22" }] }
    template_snapshot_name = "golden"
  }
  timeouts {
    create = %q
    update = %q
    delete = %q
  }
}
`, faultID, cores, cores+1, pvesim.DefaultCTTemplate, d, d, d)
	}
}

func runFaultMatrix(t *testing.T, cases []faultCase) {
	t.Helper()
	names := map[string]bool{}
	for _, c := range cases {
		if names[c.name] {
			t.Fatalf("fault case %q twice", c.name)
		}
		names[c.name] = true
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			runFaultCase(t, c)
		})
	}
}

func runFaultCase(t *testing.T, c faultCase) {
	var sim *testSim
	if c.vm {
		sim = startVMSim(t)
	} else {
		sim = startSimWith(t, c.opts)
	}
	cfg := c.cfg
	if cfg == nil {
		cfg = faultCT
	}
	ids := c.ids
	if ids == nil {
		ids = []int{faultID}
	}
	want := 1
	var steps []resource.TestStep
	if c.phase == "update" || c.phase == "destroy" {
		steps = append(steps, resource.TestStep{Config: cfg(sim, 1)})
	}
	if c.phase == "update" {
		want = 2
	}
	faulty := resource.TestStep{
		PreConfig: func() { sim.srv.Faults().Clear(); sim.srv.Faults().ResetStats(); c.inject(t, sim) },
		Config:    cfg(sim, want),
		Destroy:   c.phase == "destroy",
	}
	converge := resource.TestStep{
		PreConfig: func() {
			sim.srv.Faults().Clear()
			if c.check != nil {
				if err := c.check(t, sim); err != nil {
					t.Error(err)
				}
			}
		},
		Config: cfg(sim, want),
		ConfigPlanChecks: resource.ConfigPlanChecks{
			PreApply:             []plancheck.PlanCheck{stateIsReality{sim: sim, ids: ids}},
			PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
		},
		Check: sim.matches(ids, want),
	}
	if c.preApply != nil {
		faulty.ConfigPlanChecks.PreApply = []plancheck.PlanCheck{c.preApply(sim)}
	}
	switch {
	case c.want != "":
		// Terraform wraps long lines: a space in want matches any blank.
		faulty.ExpectError = regexp.MustCompile(`(?s)` + strings.ReplaceAll(c.want, " ", `\s+`))
		steps = append(steps, faulty)
		if c.phase == "destroy" {
			converge.Destroy, converge.Config, converge.Check = true, cfg(sim, want), nil
			converge.ConfigPlanChecks = resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{stateIsReality{sim: sim, ids: ids}}}
		}
		steps = append(steps, converge)
	case c.phase == "destroy":
		faulty.Check = func(*terraform.State) error { return absorbed(t, sim, c) }
		steps = append(steps, faulty)
	default:
		faulty.ConfigPlanChecks.PostApplyPostRefresh = converge.ConfigPlanChecks.PostApplyPostRefresh
		faulty.Check = resource.ComposeTestCheckFunc(sim.matches(ids, want), func(*terraform.State) error { return absorbed(t, sim, c) })
		steps = append(steps, faulty)
	}
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             sim.checkGone(ids...),
		Steps:                    steps,
	})
}

// absorbed checks that an absorbed fault did strike (a request failed or
// was dropped) before c's own check.
func absorbed(t *testing.T, s *testSim, c faultCase) error {
	if !c.quiet {
		struck := false
		for _, r := range s.srv.Faults().Requests() {
			struck = struck || r.Status == 0 || r.Status >= 500
		}
		if !struck {
			return fmt.Errorf("the fault never struck: no request failed")
		}
	}
	if c.check == nil {
		return nil
	}
	return c.check(t, s)
}

// startSimWith is startSim with other options.
func startSimWith(t *testing.T, opts *pvesim.Options) *testSim {
	t.Helper()
	if opts == nil {
		return startSim(t)
	}
	return startSimOpts(t, *opts)
}

// guests lists the IDs of every guest the simulator has.
func (s *testSim) guests(t *testing.T) []int {
	t.Helper()
	var list []struct {
		VMID int `json:"vmid"`
	}
	if err := s.api.API().Get(context.Background(), "/cluster/resources?type=vm", &list); err != nil {
		t.Fatal(err)
	}
	var ids []int
	for _, g := range list {
		ids = append(ids, g.VMID)
	}
	sort.Ints(ids)
	return ids
}

// matches checks that the simulator holds exactly ids, each unlocked and
// running (templates apart), containers with the given cores.
func (s *testSim) matches(ids []int, cores int) resource.TestCheckFunc {
	return func(*terraform.State) error {
		ctx := context.Background()
		have := map[int]bool{}
		var list []struct {
			VMID   int    `json:"vmid"`
			Type   string `json:"type"`
			Status string `json:"status"`
			Lock   string `json:"lock"`
		}
		if err := s.api.API().Get(ctx, "/cluster/resources?type=vm", &list); err != nil {
			return err
		}
		for _, g := range list {
			have[g.VMID] = true
			if g.Lock != "" {
				return fmt.Errorf("guest %d is left locked (%s)", g.VMID, g.Lock)
			}
		}
		for _, id := range ids {
			if !have[id] {
				return fmt.Errorf("guest %d is missing", id)
			}
		}
		if len(have) != len(ids) {
			return fmt.Errorf("the simulator has guests %v, want exactly %v", keysOf(have), ids)
		}
		ref, _, err := s.api.Locate(ctx, ids[0])
		if err != nil {
			return err
		}
		cfg, err := s.api.Config(ctx, ref)
		if err != nil {
			return err
		}
		if ref.Kind == "lxc" && cfg.Values["cores"] != strconv.Itoa(cores) {
			return fmt.Errorf("%s has cores %q, want %d", ref, cfg.Values["cores"], cores)
		}
		return nil
	}
}

func keysOf(m map[int]bool) []int {
	out := make([]int, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Ints(out)
	return out
}

// stateIsReality is a plan check: every guest of ids is in Terraform's
// (refreshed) state exactly when the simulator has it, so a failed apply
// neither orphaned a guest nor lost one from state.
type stateIsReality struct {
	sim *testSim
	ids []int
}

func (c stateIsReality) CheckPlan(ctx context.Context, req plancheck.CheckPlanRequest, resp *plancheck.CheckPlanResponse) {
	inState := map[int]bool{}
	if ps := req.Plan.PriorState; ps != nil && ps.Values != nil {
		for _, r := range ps.Values.RootModule.Resources {
			if r.Type != "phoenix_guest" {
				continue
			}
			if id, err := strconv.Atoi(fmt.Sprint(r.AttributeValues["id"])); err == nil {
				inState[id] = true
			}
		}
	}
	for _, id := range c.ids {
		_, inSim, err := c.sim.api.Locate(ctx, id)
		if err != nil {
			resp.Error = err
			return
		}
		switch {
		case inSim && !inState[id]:
			resp.Error = fmt.Errorf("guest %d exists on PVE but not in the state: orphaned by the failed apply", id)
		case !inSim && inState[id]:
			resp.Error = fmt.Errorf("guest %d is in the state but not on PVE", id)
		}
		if resp.Error != nil {
			return
		}
	}
}

// startSimOpts starts an in-process simulator with opts: 20 ms tasks and a
// 2 s lock timeout unless set.
func startSimOpts(t *testing.T, opts pvesim.Options) *testSim {
	t.Helper()
	if opts.TaskDuration == 0 {
		opts.TaskDuration = 20 * time.Millisecond
	}
	if opts.LockTimeout == 0 {
		opts.LockTimeout = 2 * time.Second
	}
	srv, err := pvesim.Start(opts)
	if err != nil {
		t.Fatalf("starting pvesim: %v", err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	pvesimtest.CheckSchemaAtEnd(t, srv)
	return simOf(t, srv)
}
