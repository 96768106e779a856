package provider

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
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
