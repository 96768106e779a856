package provision

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"testing"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/phoenix"
)

// The stand-in features_dirs and the estates they serve.
var (
	estateBin   = filepath.Join("..", "..", "examples", "estate", "phoenix", "bin")
	estateEtc   = filepath.Join("..", "..", "examples", "estate", "phoenix", "etc")
	standinsBin = filepath.Join("..", "..", "examples", "standins", "bin")
)

// seedLayout is the reference estate the stand-ins are written for, skipped
// (as in internal/phoenix) when ../shared is not checked out.
func seedLayout(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("PHOENIX_SHARED_DIR")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared")
	}
	dir = filepath.Join(dir, "phoenix", "seed-layout")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("skipped: shared reference configs not found at %s (set PHOENIX_SHARED_DIR)", dir)
	}
	return dir
}

func shellScripts(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && filepath.Ext(p) == ".sh" {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, rel)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

func TestStandInsParse(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		estateBin: {
			"apps/portainer.sh",
			"lxc_setup/phoenix_hypervisor_feature_install_base_setup.sh",
			"lxc_setup/phoenix_hypervisor_feature_install_docker.sh",
			"lxc_setup/phoenix_hypervisor_feature_install_model_server.sh",
			"lxc_setup/phoenix_hypervisor_feature_install_nginx.sh",
			"phoenix_hypervisor_common_utils.sh",
			"tests/model_server/check_up.sh",
			"vm_features/feature_install_base_setup.sh",
			"vm_features/feature_install_docker.sh",
		},
		standinsBin: {
			"lxc_setup/phoenix_hypervisor_feature_install_base_setup.sh",
			"lxc_setup/phoenix_hypervisor_feature_install_docker.sh",
			"lxc_setup/phoenix_hypervisor_feature_install_nvidia.sh",
			"lxc_setup/phoenix_hypervisor_feature_install_ollama.sh",
			"lxc_setup/phoenix_hypervisor_feature_install_vllm.sh",
			"phoenix_hypervisor_common_utils.sh",
			"phoenix_hypervisor_lxc_952.sh", "phoenix_hypervisor_lxc_953.sh", "phoenix_hypervisor_lxc_954.sh",
			"phoenix_hypervisor_lxc_955.sh", "phoenix_hypervisor_lxc_956.sh", "phoenix_hypervisor_lxc_957.sh",
			"phoenix_hypervisor_lxc_960.sh", "phoenix_hypervisor_lxc_vllm.sh",
			"tests/docker/check_dns_resolution.sh",
			"tests/docker/check_docker_service.sh",
			"tests/docker/check_network_access.sh",
			"tests/health_checks/dummy_fail.sh",
			"tests/health_checks/dummy_pass.sh",
			"vm_features/feature_install_base_setup.sh",
			"vm_features/feature_install_docker.sh",
		},
	}
	for dir, files := range want {
		got := shellScripts(t, dir)
		if len(got) != len(files) {
			t.Errorf("%s holds %q, want %q", dir, got, files)
		}
		for _, f := range files {
			p := filepath.Join(dir, f)
			// bash -n parses without running anything.
			if out, err := exec.Command(bash, "-n", p).CombinedOutput(); err != nil {
				t.Errorf("bash -n %s: %v\n%s", p, err, out)
			}
		}
	}
	a, errA := os.ReadFile(filepath.Join(estateBin, CommonUtilsName))
	b, errB := os.ReadFile(filepath.Join(standinsBin, CommonUtilsName))
	if errA != nil || errB != nil || !bytes.Equal(a, b) {
		t.Errorf("the two copies of %s differ (%v, %v): keep them identical", CommonUtilsName, errA, errB)
	}
}

// Every script the estates name exists where phoenix.ResolveScripts looks.
func TestStandInsCoverTheEstates(t *testing.T) {
	check := func(t *testing.T, etc, bin string) {
		e, err := phoenix.Load(phoenix.Sources{Dir: etc})
		if err != nil {
			t.Fatal(err)
		}
		scripts, probs := phoenix.ResolveScripts(e, bin)
		if len(probs) > 0 {
			t.Fatalf("missing stand-ins:\n%v", probs)
		}
		n := 0
		for _, s := range scripts {
			n += len(s.Features) + len(s.HealthChecks)
			if s.Application != nil {
				n++
			}
		}
		if n == 0 {
			t.Fatal("no scripts resolved")
		}
	}
	t.Run("example estate", func(t *testing.T) { check(t, estateEtc, estateBin) })
	t.Run("seed layout", func(t *testing.T) { check(t, seedLayout(t), standinsBin) })
}
