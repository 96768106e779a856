//go:build linux

package provider

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
)

func ids(xs ...int64) knownvalue.Check {
	checks := make([]knownvalue.Check, len(xs))
	for i, x := range xs {
		checks[i] = knownvalue.Int64Exact(x)
	}
	return knownvalue.ListExact(checks)
}

func TestAccConfigDataSource_seedLayout(t *testing.T) {
	dir := filepath.Join(sharedDir(t), "phoenix", "seed-layout")
	const ds = "data.phoenix_config.estate"
	guest := func(id string) tfjsonpath.Path { return tfjsonpath.New("guests").AtMapKey(id) }
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: fmt.Sprintf(`data "phoenix_config" "estate" { config_dir = %q }`, dir),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("lxc_ids"), ids(900, 901, 902, 903, 910, 920, 950, 951, 952, 953, 954, 955, 956, 957, 960)),
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("vm_ids"), ids(8000, 8001, 8002)),
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("guests"), knownvalue.MapSizeExact(18)),
				statecheck.ExpectKnownValue(ds, guest("950").AtMapKey("kind"), knownvalue.StringExact("lxc")),
				statecheck.ExpectKnownValue(ds, guest("8001").AtMapKey("kind"), knownvalue.StringExact("vm")),
				// vm_defaults merged under VMs that omit a value.
				statecheck.ExpectKnownValue(ds, guest("8002").AtMapKey("cores"), knownvalue.Int64Exact(4)),
				statecheck.ExpectKnownValue(ds, guest("8002").AtMapKey("disk_size_gb"), knownvalue.Int64Exact(100)),
				statecheck.ExpectKnownValue(ds, guest("8002").AtMapKey("memory_mb"), knownvalue.Int64Exact(16384)),
				statecheck.ExpectKnownValue(ds, guest("8002").AtMapKey("storage"), knownvalue.StringExact("quickOS-vm-disks")),
				statecheck.ExpectKnownValue(ds, guest("8002").AtMapKey("network").AtMapKey("bridge"), knownvalue.StringExact("vmbr0")),
				// Clone chain 900 -> 901 -> 920 -> 950 with the source's snapshot.
				statecheck.ExpectKnownValue(ds, guest("950").AtMapKey("clone_from"), knownvalue.Int64Exact(920)),
				statecheck.ExpectKnownValue(ds, guest("950").AtMapKey("clone_snapshot"), knownvalue.StringExact("pre-configured")),
				statecheck.ExpectKnownValue(ds, guest("900").AtMapKey("os_template"),
					knownvalue.StringExact("fastData-shared-iso:vztmpl/ubuntu-24.04-standard_24.04-2_amd64.tar.zst")),
				// zfs_volumes and shared_volumes name the same dataset at /vllm_models: one bind mount.
				statecheck.ExpectKnownValue(ds, guest("950").AtMapKey("mount_points"), knownvalue.ListSizeExact(1)),
				statecheck.ExpectKnownValue(ds, guest("950").AtMapKey("mount_points").AtSliceIndex(0).AtMapKey("host_path"),
					knownvalue.StringExact("/mnt/pve/fastData/shared-bulk-data/vllm_models")),
				statecheck.ExpectKnownValue(ds, guest("910").AtMapKey("mount_points").AtSliceIndex(0).AtMapKey("type"), knownvalue.StringExact("volume")),
				statecheck.ExpectKnownValue(ds, guest("950").AtMapKey("extra_json"), knownvalue.StringRegexp(regexp.MustCompile(`"vllm_model":"Qwen/Qwen2.5-7B-Instruct-AWQ"`))),
				statecheck.ExpectKnownValue(ds, guest("953").AtMapKey("dependencies"), knownvalue.Null()),
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("tiers"), knownvalue.ListExact([]knownvalue.Check{
					ids(900, 8000), ids(901, 902, 953, 8002), ids(903, 910, 920, 952, 954, 955, 957, 8001), ids(950, 951, 956, 960),
				})),
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("storage_ids").AtMapKey("quickos_lxc"), knownvalue.StringExact("quickOS-lxc-disks")),
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("network").AtMapKey("bridge"), knownvalue.StringExact("vmbr0")),
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("warnings"), knownvalue.ListSizeExact(1)),
			},
		}},
	})
}

func TestAccConfigDataSource_splitLayout(t *testing.T) {
	dir := filepath.Join(sharedDir(t), "phoenix", "split-layout")
	const ds = "data.phoenix_config.estate"
	guest := func(id string) tfjsonpath.Path { return tfjsonpath.New("guests").AtMapKey(id) }
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: fmt.Sprintf(`data "phoenix_config" "estate" {
  hypervisor_config_file = %q
  lxc_config_file        = %q
  vm_config_file         = %q
}`, filepath.Join(dir, "phoenix_hypervisor_config.json"), filepath.Join(dir, "phoenix_lxc_configs.json"), filepath.Join(dir, "phoenix_vm_configs.json")),
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("vm_ids"), ids(8000, 8001)),
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("lxc_ids"), knownvalue.ListSizeExact(15)),
				statecheck.ExpectKnownValue(ds, guest("8000").AtMapKey("cores"), knownvalue.Int64Exact(4)),
				statecheck.ExpectKnownValue(ds, guest("8000").AtMapKey("memory_mb"), knownvalue.Int64Exact(8192)),
				statecheck.ExpectKnownValue(ds, guest("8000").AtMapKey("cloud_init").AtMapKey("username"), knownvalue.StringExact("phoenix_user")),
				// user_config carries a key the model lacks: kept verbatim.
				statecheck.ExpectKnownValue(ds, guest("8000").AtMapKey("extra_json"), knownvalue.StringRegexp(regexp.MustCompile(`"user_config":\{"username":"phoenix_user","gw":"10.0.0.1"\}`))),
				statecheck.ExpectKnownValue(ds, guest("8001").AtMapKey("template_snapshot_name"), knownvalue.StringExact("initial")),
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("tiers"), knownvalue.ListExact([]knownvalue.Check{
					ids(900, 8000), ids(901, 902, 953, 8001), ids(903, 910, 920, 952, 954, 955, 957), ids(950, 951, 956, 960),
				})),
				statecheck.ExpectKnownValue(ds, tfjsonpath.New("warnings"), knownvalue.ListSizeExact(0)),
			},
		}},
	})
}

func TestAccConfigDataSource_featuresDir(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("etc/phoenix_hypervisor_config.json", `{"network":{"interfaces":{"name":"vmbr0"}}}`)
	write("etc/phoenix_lxc_configs.json", `{"lxc_configs":{"200":{"name":"web","cores":1,"memory_mb":512,
	  "template":"local:vztmpl/debian.tar.zst","storage_pool":"local-lvm","storage_size_gb":8,
	  "features":["base_setup"],"application_script":"app.sh","tests":{"health_checks":[{"name":"up","path":"web/up.sh"}]}}}}`)
	write("bin/lxc_setup/phoenix_hypervisor_feature_install_base_setup.sh", "#!/bin/bash\n")
	write("bin/app.sh", "#!/bin/bash\n")
	write("bin/tests/web/up.sh", "#!/bin/bash\n")
	const ds = "data.phoenix_config.estate"
	g := tfjsonpath.New("guests").AtMapKey("200")
	cfg := fmt.Sprintf(`data "phoenix_config" "estate" {
  config_dir   = %q
  features_dir = %q
}`, filepath.Join(dir, "etc"), filepath.Join(dir, "bin"))
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: cfg,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(ds, g.AtMapKey("features").AtSliceIndex(0).AtMapKey("path"),
						knownvalue.StringExact(filepath.Join(dir, "bin/lxc_setup/phoenix_hypervisor_feature_install_base_setup.sh"))),
					statecheck.ExpectKnownValue(ds, g.AtMapKey("application_script"), knownvalue.StringExact(filepath.Join(dir, "bin/app.sh"))),
					statecheck.ExpectKnownValue(ds, g.AtMapKey("health_checks").AtSliceIndex(0).AtMapKey("path"), knownvalue.StringExact(filepath.Join(dir, "bin/tests/web/up.sh"))),
					statecheck.ExpectKnownValue(ds, g.AtMapKey("os_template"), knownvalue.StringExact("local:vztmpl/debian.tar.zst")),
				},
			},
			{
				PreConfig: func() {
					if err := os.Remove(filepath.Join(dir, "bin/app.sh")); err != nil {
						t.Fatal(err)
					}
				},
				Config:      cfg,
				ExpectError: msgRe("application script: script not found at " + filepath.Join(dir, "bin/app.sh")),
			},
		},
	})
}

func TestAccConfigDataSource_invalid(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "phoenix_hypervisor_config.json"), []byte(`{}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "phoenix_lxc_configs.json"), []byte(`{"lxc_configs":{"950":{"name":"a","memory_mb":"72G","cores":2,
	  "storage_pool":"s","storage_size_gb":8,"clone_from_ctid":"901"}}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config:      fmt.Sprintf(`data "phoenix_config" "x" { config_dir = %q }`, dir),
				ExpectError: msgRe(`phoenix_lxc_configs.json: lxc_configs."950".memory_mb: expected an integer, got "72G"`),
			},
			{
				Config:      fmt.Sprintf(`data "phoenix_config" "x" { config_dir = %q }`, dir),
				ExpectError: msgRe(`phoenix_lxc_configs.json: lxc_configs."950".clone_from_ctid: clone source 901 is not defined`),
			},
			{
				Config:      `data "phoenix_config" "x" {}`,
				ExpectError: msgRe(`At least one of these attributes must be configured`),
			},
		},
	})
}

// writeFiles writes a phoenix config directory.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func idEstate(gw, port, user string) map[string]string {
	return map[string]string{
		"phoenix_hypervisor_config.json": `{"network":{"interfaces":{"name":"vmbr0"}},
		  "vms":[{"vmid":8000,"name":"vm","template_image":"x.img","cloud_init":{"username":"` + user + `"}}]}`,
		"phoenix_lxc_configs.json": `{"lxc_configs":{"950":{"name":"web","cores":1,"memory_mb":512,"storage_pool":"local-lvm",
		  "storage_size_gb":8,"template":"local:vztmpl/debian.tar.zst","network_config":{"name":"eth0","bridge":"vmbr0","ip":"10.0.0.5/24","gw":"` + gw + `"},
		  "firewall":{"enabled":true,"rules":[{"type":"in","action":"ACCEPT","proto":"tcp","port":"` + port + `"}]}}}}`,
	}
}

// phoenix_config's id is a digest of a canonical encoding: two reads of the
// same files give the same id (so a trigger fed from it is stable and plans
// are empty), and an edit inside network_config, firewall or cloud_init
// changes it.
func TestAccConfigDataSource_stableID(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, idEstate("10.0.0.1", "80", "ops"))
	cfg := fmt.Sprintf(`
data "phoenix_config" "x" { config_dir = %q }
resource "terraform_data" "trigger" { triggers_replace = data.phoenix_config.x.id }
`, dir)
	same, differ := statecheck.CompareValue(compare.ValuesSame()), statecheck.CompareValue(compare.ValuesDiffer())
	id := tfjsonpath.New("id")
	edit := func(gw, port, user string) func() {
		return func() { writeFiles(t, dir, idEstate(gw, port, user)) }
	}
	resource.Test(t, resource.TestCase{
		PreCheck:                 func() { testAccPreCheck(t) },
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: cfg, ConfigStateChecks: []statecheck.StateCheck{same.AddStateValue("data.phoenix_config.x", id)}},
			{
				Config:            cfg,
				ConfigPlanChecks:  resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
				ConfigStateChecks: []statecheck.StateCheck{same.AddStateValue("data.phoenix_config.x", id), differ.AddStateValue("data.phoenix_config.x", id)},
			},
			{PreConfig: edit("10.0.0.254", "80", "ops"), Config: cfg, ConfigStateChecks: []statecheck.StateCheck{differ.AddStateValue("data.phoenix_config.x", id)},
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction("terraform_data.trigger", plancheck.ResourceActionReplace)}}},
			{PreConfig: edit("10.0.0.254", "443", "ops"), Config: cfg, ConfigStateChecks: []statecheck.StateCheck{differ.AddStateValue("data.phoenix_config.x", id)}},
			{PreConfig: edit("10.0.0.254", "443", "admin"), Config: cfg, ConfigStateChecks: []statecheck.StateCheck{differ.AddStateValue("data.phoenix_config.x", id)}},
		},
	})
}

// Diagnostics as a user needs them: a malformed file is reported first and
// alone, warnings come with errors, and a likely typo names the intended key.
func TestAccConfigDataSource_diagnostics(t *testing.T) {
	dir := t.TempDir()
	tf := newTFRunner(t, t.TempDir(), fmt.Sprintf(`
terraform {
  required_providers {
    phoenix = { source = "registry.terraform.io/phoenix-hypervisor/phoenix" }
  }
}
provider "phoenix" {}
data "phoenix_config" "x" { config_dir = %q }
output "extra" { value = data.phoenix_config.x.guests["950"].extra_json }
`, dir))
	entry := func(extra string) string {
		return `{"lxc_configs":{"950":{"name":"web","storage_pool":"local-lvm","storage_size_gb":8,
		  "template":"local:vztmpl/debian.tar.zst"` + extra + `}}}`
	}
	// The hypervisor file is broken; 950 relies on its proxmox_defaults for
	// cores and memory: only the syntax error is reported.
	writeFiles(t, dir, map[string]string{
		"phoenix_hypervisor_config.json": "{\n  \"proxmox_defaults\": {\"lxc\": {\"cores\": 2, \"memory_mb\": 512}},\n}",
		"phoenix_lxc_configs.json":       entry(""),
	})
	code, out := tf.run("plan", "-no-color", "-input=false")
	if code == 0 || strings.Count(out, "Error: Unable to read the phoenix configuration") != 1 ||
		!strings.Contains(out, "phoenix_hypervisor_config.json: line 3, column 1: malformed JSON") {
		t.Fatalf("want the syntax error alone:\n%s", out)
	}
	// A typo (a warning naming the intended key) together with an error.
	writeFiles(t, dir, map[string]string{
		"phoenix_hypervisor_config.json": `{"proxmox_defaults": {"lxc": {"cores": 2}}}`,
		"phoenix_lxc_configs.json":       entry(`,"memroy_mb":512,"cores":"two"`),
	})
	code, out = tf.run("plan", "-no-color", "-input=false")
	if code == 0 || !msgRe(`lxc_configs."950".memroy_mb: unknown key "memroy_mb": did you mean "memory_mb"?`).MatchString(out) ||
		!msgRe(`lxc_configs."950".cores: expected an integer, got "two"`).MatchString(out) || !strings.Contains(out, "Warning: Phoenix configuration warning") {
		t.Fatalf("want the typo warning together with the errors:\n%s", out)
	}
	// The typo alone is a warning; the key stays in extra_json.
	writeFiles(t, dir, map[string]string{"phoenix_lxc_configs.json": entry(`,"memroy_mb":512,"memory_mb":512,"vllm_model":"q"`)})
	out = tf.must("apply", "-auto-approve", "-no-color", "-input=false")
	if !msgRe(`did you mean "memory_mb"?`).MatchString(out) || strings.Contains(out, "vllm_model: unknown key") ||
		!strings.Contains(out, `extra = "{\"memroy_mb\":512,\"vllm_model\":\"q\"}"`) {
		t.Fatalf("want one typo warning and the key kept in extra_json:\n%s", out)
	}
}
