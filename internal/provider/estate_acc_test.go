//go:build linux

package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/pve"
	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/pvesim"
	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/pvesimtest"
)

// The reference estates (../shared/phoenix/seed-layout and split-layout:
// 15 containers and the VMs, template and clones) through
// examples/modules/phoenix-estate with the stand-in scripts of
// examples/standins, driven by the real Terraform CLI so -parallelism can be
// set (terraform-plugin-testing cannot pass it).

var (
	providerBinOnce sync.Once
	providerBinDir  string
	providerBinErr  error
)

func providerBinary(t *testing.T) string {
	t.Helper()
	providerBinOnce.Do(func() {
		providerBinDir, providerBinErr = os.MkdirTemp("", "phoenix-provider-")
		if providerBinErr != nil {
			return
		}
		cmd := exec.Command("go", "build", "-o", filepath.Join(providerBinDir, "terraform-provider-phoenix"), ".")
		cmd.Dir = repoRoot(t)
		if out, err := cmd.CombinedOutput(); err != nil {
			providerBinErr = errors.New(string(out) + err.Error())
		}
	})
	if providerBinErr != nil {
		t.Fatalf("building the provider: %v", providerBinErr)
	}
	return providerBinDir
}

// newTFRunner writes main.tf into work and runs the real Terraform CLI there
// with this provider built from the repository (dev_overrides).
func newTFRunner(t *testing.T, work, mainTF string) tfRunner {
	t.Helper()
	if os.Getenv("TF_ACC") == "" || os.Getenv("TF_ACC_TERRAFORM_PATH") == "" {
		t.Fatal("this acceptance test needs TF_ACC=1 and TF_ACC_TERRAFORM_PATH (scripts/test.sh sets both)")
	}
	if err := os.WriteFile(filepath.Join(work, "main.tf"), []byte(mainTF), 0o644); err != nil {
		t.Fatal(err)
	}
	rc := filepath.Join(work, "terraformrc")
	rcText := fmt.Sprintf("provider_installation {\n  dev_overrides {\n    \"registry.terraform.io/phoenix-hypervisor/phoenix\" = %q\n  }\n  direct {}\n}\n", providerBinary(t))
	if err := os.WriteFile(rc, []byte(rcText), 0o644); err != nil {
		t.Fatal(err)
	}
	return tfRunner{t: t, dir: work, env: append(os.Environ(), "TF_CLI_CONFIG_FILE="+rc, "TF_IN_AUTOMATION=1", "CHECKPOINT_DISABLE=1")}
}

// parallelismFlag spells out -parallelism; 0 is Terraform's default (10).
func parallelismFlag(n int) string {
	if n == 0 {
		n = 10
	}
	return fmt.Sprintf("-parallelism=%d", n)
}

// planActions plans and returns each resource address's actions
// (["update"], ["delete","create"]...), from terraform show -json.
func (r tfRunner) planActions(args ...string) map[string][]string {
	r.t.Helper()
	r.must(append([]string{"plan", "-input=false", "-no-color", "-out=plan.bin"}, args...)...)
	cmd := exec.Command(os.Getenv("TF_ACC_TERRAFORM_PATH"), "show", "-json", "plan.bin")
	cmd.Dir, cmd.Env = r.dir, r.env
	out, err := cmd.Output()
	if err != nil {
		r.t.Fatalf("terraform show -json: %v", err)
	}
	var plan struct {
		ResourceChanges []struct {
			Address string `json:"address"`
			Change  struct {
				Actions []string `json:"actions"`
			} `json:"change"`
		} `json:"resource_changes"`
	}
	if err := json.Unmarshal(out, &plan); err != nil {
		r.t.Fatalf("terraform show -json: %v\n%s", err, out)
	}
	actions := map[string][]string{}
	for _, rc := range plan.ResourceChanges {
		actions[rc.Address] = rc.Change.Actions
	}
	return actions
}

type tfRunner struct {
	t   *testing.T
	dir string
	env []string
}

// run runs terraform and returns its exit code and output.
func (r tfRunner) run(args ...string) (int, string) {
	r.t.Helper()
	cmd := exec.Command(os.Getenv("TF_ACC_TERRAFORM_PATH"), args...)
	cmd.Dir = r.dir
	cmd.Env = r.env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0, out.String()
	case errors.As(err, &exit):
		return exit.ExitCode(), out.String()
	}
	r.t.Fatalf("terraform %v: %v", args, err)
	return -1, ""
}

func (r tfRunner) must(args ...string) string {
	r.t.Helper()
	code, out := r.run(args...)
	if code != 0 {
		r.t.Fatalf("terraform %s: exit %d\n%s", strings.Join(args, " "), code, out)
	}
	return out
}

// sharedVMs are the VMs each reference layout defines: the template first.
var sharedVMs = map[string][]int{"seed-layout": {8000, 8001, 8002}, "split-layout": {8000, 8001}}

func TestAccEstate_sharedLayouts(t *testing.T) {
	if os.Getenv("TF_ACC") == "" || os.Getenv("TF_ACC_TERRAFORM_PATH") == "" {
		t.Fatal("the estate acceptance test needs TF_ACC=1 and TF_ACC_TERRAFORM_PATH (scripts/test.sh sets both)")
	}
	for _, layout := range []string{"seed-layout", "split-layout"} {
		cfgDir := filepath.Join(sharedDir(t), "phoenix", layout)
		// 1, and Terraform's default (no flag).
		for _, parallelism := range []int{1, 0} {
			name := fmt.Sprintf("%s/parallelism=%d", layout, parallelism)
			if parallelism == 0 {
				name = layout + "/parallelism=default"
			}
			t.Run(name, func(t *testing.T) {
				testEstate(t, cfgDir, parallelism, sharedVMs[layout])
			})
		}
	}
}

func testEstate(t *testing.T, cfgDir string, parallelism int, vms []int) {
	// The operator's one-time setup for VMs: a storage for cloud-init snippets.
	sim := vmSimOf(t, pvesimtest.StartReal(t, pvesim.Options{PhoenixConfigDir: cfgDir}))
	api := sim.api
	work := t.TempDir()
	root := repoRoot(t)
	mainTF := sim.realProvider() + fmt.Sprintf(`
terraform {
  required_providers {
    phoenix = { source = "registry.terraform.io/phoenix-hypervisor/phoenix" }
  }
}

module "estate" {
  source                  = %q
  config_dir              = %q
  features_dir            = %q
  health_checks_warn_only = true
}

output "guests" { value = module.estate.guests }
`, filepath.Join(root, "examples", "modules", "phoenix-estate"), cfgDir, filepath.Join(root, "examples", "standins", "bin"))
	tf := newTFRunner(t, work, mainTF)
	par := parallelismFlag(parallelism)

	tf.must("get", "-no-color")
	out := tf.must("apply", "-auto-approve", "-input=false", "-no-color", par)
	total := 15 + len(vms)
	if !strings.Contains(out, fmt.Sprintf("Apply complete! Resources: %d added", total)) {
		t.Fatalf("want 15 containers and %d VMs created:\n%s", len(vms), out)
	}
	if !strings.Contains(out, `health check "Dummy Fail" on CT 950 failed`) {
		t.Errorf("the failing stand-in health check must be reported as a warning:\n%s", out)
	}
	calls := 0
	for _, n := range sim.srv.Faults().Counters() {
		calls += n
	}
	t.Logf("apply of 15 containers and %d VMs: %d PVE API requests", len(vms), calls)
	// The seed layout's template VM carries a snapshot name PVE cannot honour.
	if len(vms) == 3 && !strings.Contains(out, "VM 8000 takes no template snapshot") {
		t.Errorf("the template-with-snapshot warning is missing:\n%s", out)
	}
	checkSharedVMs(t, sim, vms)
	ids := []int{900, 901, 902, 903, 910, 920, 950, 951, 952, 953, 954, 955, 956, 957, 960}
	for _, id := range ids {
		ref, ok, err := api.Locate(context.Background(), id)
		if err != nil || !ok {
			t.Fatalf("CT %d missing after apply: %v", id, err)
		}
		if st, err := api.Status(context.Background(), ref); err != nil || st.Status != "running" {
			t.Errorf("CT %d not running: %v %v", id, st, err)
		}
	}
	// The clone chain 900 -> 901 -> 920 -> 950: 950 inherits the markers of
	// every feature its sources ran, through their snapshots.
	for _, marker := range []string{"base_setup", "nvidia", "vllm"} {
		if sim.guestFile(t, 950, "var/lib/phoenix/markers/"+marker) == "" {
			t.Errorf("CT 950 lacks the %s marker inherited through the clone chain", marker)
		}
	}
	if got := sim.guestFile(t, 901, "var/lib/phoenix/markers/vllm"); got != "" {
		t.Errorf("a source must not see its clones' features: 901 has vllm marker %q", got)
	}
	// Shared volumes became bind mounts, raw lines reached the conf file.
	if c := sim.config(t, 953); !strings.Contains(c["mp0"]+c["mp1"]+c["mp2"], "/etc/nginx/ssl") {
		t.Errorf("CT 953 lacks its shared bind mounts: %v", c)
	}

	if code, out := tf.run("plan", "-detailed-exitcode", "-no-color", "-input=false"); code != 0 {
		t.Fatalf("re-plan after apply must be empty (exit %d):\n%s", code, out)
	}

	// Drift: cores changed in the UI, a guest stopped.
	ctx := context.Background()
	if err := api.UpdateConfig(ctx, pve.Ref{Node: "pve", Kind: pve.LXC, ID: 953}, map[string]string{"cores": "1"}, nil, ""); err != nil {
		t.Fatal(err)
	}
	if err := api.Stop(ctx, pve.Ref{Node: "pve", Kind: pve.LXC, ID: 910}); err != nil {
		t.Fatal(err)
	}
	if code, out := tf.run("plan", "-detailed-exitcode", "-no-color", "-input=false"); code != 2 {
		t.Fatalf("drift must show in the plan (exit %d):\n%s", code, out)
	}
	tf.must("apply", "-auto-approve", "-input=false", "-no-color", par)
	if c := sim.config(t, 953); c["cores"] != "4" {
		t.Errorf("drift not corrected: cores = %q", c["cores"])
	}
	if code, out := tf.run("plan", "-detailed-exitcode", "-no-color", "-input=false"); code != 0 {
		t.Fatalf("plan after correcting drift must be empty (exit %d):\n%s", code, out)
	}

	out = tf.must("destroy", "-auto-approve", "-input=false", "-no-color", par)
	if !strings.Contains(out, fmt.Sprintf("Resources: %d destroyed", total)) {
		t.Fatalf("want %d destroyed:\n%s", total, out)
	}
	if err := sim.checkGone(append(ids, vms...)...)(nil); err != nil {
		t.Fatal(err)
	}
	if names := snippetFiles(t, sim); len(names) != 0 {
		t.Errorf("destroy left cloud-init snippets on the node: %v", names)
	}
}

// checkSharedVMs checks the reference layouts' VMs: the template converted,
// each clone running with the cloud-init hostname and address of its
// definition and the template's provisioned software.
func checkSharedVMs(t *testing.T, sim *testSim, vms []int) {
	t.Helper()
	if c := sim.config(t, vms[0]); c["template"] != "1" {
		t.Errorf("VM %d is not a template: %v", vms[0], c)
	}
	want := map[int][2]string{8001: {"docker-vm-01", "10.0.0.101/24"}, 8002: {"docker-vm-02", "10.0.0.102/24"}}
	for _, id := range vms[1:] {
		if got := sim.guestFile(t, id, "etc/hostname"); got != want[id][0]+"\n" {
			t.Errorf("VM %d hostname %q, want %q", id, got, want[id][0])
		}
		if got := sim.guestFile(t, id, "etc/netplan/50-cloud-init.yaml"); !strings.Contains(got, want[id][1]) {
			t.Errorf("VM %d network config lacks %s:\n%s", id, want[id][1], got)
		}
		if sim.guestFile(t, id, "var/lib/phoenix/markers/docker") == "" {
			t.Errorf("VM %d lacks its docker marker", id)
		}
		if sim.guestFile(t, id, "usr/sbin/qemu-ga") == "" {
			t.Errorf("VM %d lacks the guest agent its template installed", id)
		}
		// The seed layout's template runs base_setup; its clones inherit it.
		if len(vms) == 3 && sim.guestFile(t, id, "var/lib/phoenix/markers/base_setup") == "" {
			t.Errorf("VM %d lacks the base_setup marker of its template", id)
		}
	}
}

// snippetFiles lists the phoenix snippets left on the node's local storage.
func snippetFiles(t *testing.T, sim *testSim) []string {
	t.Helper()
	root, err := sim.srv.NodeRoot("pve")
	if err != nil {
		t.Fatal(err)
	}
	names, _ := filepath.Glob(filepath.Join(root, "var/lib/vz/snippets/phoenix-*"))
	return names
}
