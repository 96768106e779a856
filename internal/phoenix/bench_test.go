package phoenix

import (
	"fmt"
	"strings"
	"testing"
)

// generateEstate builds an estate of n guests shaped like the phoenix configs:
// mostly containers in clone chains, a tenth VMs, with volumes, firewall rules,
// dependencies and app-specific keys.
func generateEstate(n int) Input {
	var lxc, vms []string
	for i := 0; i < n; i++ {
		id := 1000 + i
		if i%10 == 9 {
			clone := ""
			if i > 19 {
				clone = fmt.Sprintf(`,"clone_from_vmid":%d`, 1000+9)
			}
			vms = append(vms, fmt.Sprintf(`{"vmid":%d,"name":"vm-%d","template_image":"noble.img","memory_mb":4096,
"network_config":{"ip":"10.%d.%d.%d/16","gw":"10.%d.0.1","nameservers":["10.0.0.1"]},"cloud_init":{"username":"u"},"features":["docker"]%s}`,
				id, id, i/65536%256, i/256%256, i%256, i/65536%256, clone))
			continue
		}
		origin := `"template":"/fastData/shared-iso/template/cache/ubuntu.tar.zst","template_snapshot_name":"pre-configured"`
		if i%50 != 0 {
			origin = fmt.Sprintf(`"clone_from_ctid":"%d"`, 1000+i/50*50)
		}
		deps := ""
		if i > 100 && i%7 == 0 {
			deps = fmt.Sprintf(`,"dependencies":["%d"]`, 1000+i/100*50)
		}
		lxc = append(lxc, fmt.Sprintf(`"%d":{"name":"ct-%d","memory_mb":2048,"cores":2,"storage_pool":"quickOS-lxc-disks","storage_size_gb":32,
"network_config":{"name":"eth0","bridge":"vmbr0","ip":"10.%d.%d.%d/16","gw":"10.0.0.1"},"mac_address":"52:54:00:%02X:%02X:%02X",
"gpu_assignment":"none","unprivileged":true,"features":["base_setup","docker"],"pct_options":["nesting=1","keyctl=1"],
"lxc_options":["lxc.apparmor.profile=unconfined"],"apparmor_profile":"unconfined","start_at_boot":true,"boot_order":3,"boot_delay":5,
"volumes":[{"name":"data","pool":"quickOS-shared-prod-data-volumes","size_gb":10,"mount_point":"/data"}],
"firewall":{"enabled":true,"rules":[{"type":"in","action":"ACCEPT","source":"10.0.0.153","proto":"tcp","port":"8000"}]},
"vllm_model":"Qwen/Qwen2.5-7B","vllm_args":["--max-model-len","32768"],%s%s}`,
			id, id, i/65536%256, i/256%256, i%256, i/65536%256, i/256%256, i%256, origin, deps))
	}
	hyp := `{"network":{"interfaces":{"name":"vmbr0","address":"10.0.0.13/24","gateway":"10.0.0.1"}},
"zfs":{"datasets":[{"name":"lxc-disks","pool":"quickOS","proxmox_storage_type":"zfspool","proxmox_content_type":"rootdir"},
{"name":"shared-iso","pool":"fastData","proxmox_storage_type":"dir","proxmox_content_type":"iso,vztmpl"},
{"name":"shared-prod-data-volumes","pool":"quickOS","proxmox_storage_type":"zfspool","proxmox_content_type":"images,rootdir"}]},
"vm_defaults":{"cores":4,"memory_mb":8192,"disk_size_gb":100,"storage_pool":"quickOS-lxc-disks","network_bridge":"vmbr0"},
"vms":[` + strings.Join(vms, ",") + `]}`
	return Input{Hypervisor: []byte(hyp), LXC: []byte(`{"lxc_configs":{` + strings.Join(lxc, ",") + `}}`)}
}

func TestGeneratedEstateIsValid(t *testing.T) {
	e, err := Parse(generateEstate(5000))
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Guests) != 5000 {
		t.Fatalf("want 5000 guests, got %d", len(e.Guests))
	}
	checkTiers(t, e)
}

// BenchmarkIngest5000 ingests and validates a 5,000-guest estate.
// Target: under 50 ms and 50 MB allocated per op.
func BenchmarkIngest5000(b *testing.B) {
	in := generateEstate(5000)
	b.SetBytes(int64(len(in.Hypervisor) + len(in.LXC)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(in); err != nil {
			b.Fatal(err)
		}
	}
}
