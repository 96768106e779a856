package phoenix

import (
	"os"
	"path/filepath"
	"testing"
)

func sharedPhoenix(t testing.TB, layout string) string {
	t.Helper()
	dir := os.Getenv("PHOENIX_SHARED_DIR")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared")
	}
	dir = filepath.Join(dir, "phoenix", layout)
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("skipped: shared reference configs not found at %s (set PHOENIX_SHARED_DIR)", dir)
	}
	return dir
}

// checkTiers asserts the tier property: every guest's clone source and
// dependencies are in an earlier tier, and every guest is in exactly one tier.
func checkTiers(t *testing.T, e *Estate) {
	t.Helper()
	tierOf := map[int]int{}
	for i, tier := range e.Tiers {
		for _, id := range tier {
			if _, dup := tierOf[id]; dup {
				t.Fatalf("guest %d is in two tiers", id)
			}
			tierOf[id] = i
		}
	}
	if len(tierOf) != len(e.Guests) {
		t.Fatalf("tiers hold %d guests, estate has %d", len(tierOf), len(e.Guests))
	}
	for _, g := range e.Guests {
		before := g.Dependencies
		if g.CloneFrom != nil {
			before = append(append([]int{}, before...), *g.CloneFrom)
		}
		for _, d := range before {
			if tierOf[d] >= tierOf[g.ID] {
				t.Errorf("guest %d (tier %d) waits for %d (tier %d)", g.ID, tierOf[g.ID], d, tierOf[d])
			}
		}
	}
}

func TestSeedLayout(t *testing.T) {
	e, err := Load(Sources{Dir: sharedPhoenix(t, "seed-layout")})
	if err != nil {
		t.Fatalf("seed layout must ingest: %v", err)
	}
	var lxc, vm int
	for _, g := range e.Guests {
		if g.Kind == KindLXC {
			lxc++
		} else {
			vm++
		}
	}
	if lxc != 15 || vm != 3 {
		t.Fatalf("want 15 containers and 3 VMs, got %d and %d", lxc, vm)
	}
	checkTiers(t, e)
	byID := map[int]*Guest{}
	for _, g := range e.Guests {
		byID[g.ID] = g
	}
	// Clone chain 900 -> 901 -> 920 -> 950, each from its source's snapshot.
	for id, src := range map[int]int{901: 900, 920: 901, 950: 920} {
		g := byID[id]
		if g.CloneFrom == nil || *g.CloneFrom != src || g.CloneSnapshot != "pre-configured" {
			t.Errorf("guest %d: want clone of %d@pre-configured, got %v@%q", id, src, g.CloneFrom, g.CloneSnapshot)
		}
	}
	// vm_defaults merged key by key.
	if g := byID[8002]; *g.Cores != 4 || *g.MemoryMB != 16384 || *g.DiskSizeGB != 100 || g.Storage != "quickOS-vm-disks" || g.Network.Bridge != "vmbr0" {
		t.Errorf("8002 defaults not merged: cores=%d mem=%d disk=%d storage=%q bridge=%q", *g.Cores, *g.MemoryMB, *g.DiskSizeGB, g.Storage, g.Network.Bridge)
	}
	// Shared volumes become bind mounts on the containers they name.
	var binds []string
	for _, mp := range byID[953].MountPoints {
		if mp.Type == "bind" {
			binds = append(binds, mp.Path)
		}
	}
	if len(binds) != 3 {
		t.Errorf("953 should get 3 shared bind mounts, got %v", binds)
	}
	// 950 names its model dataset in zfs_volumes and in shared_volumes at the
	// same path: one mount point, the bind mount.
	if mps := byID[950].MountPoints; len(mps) != 1 || mps[0].Type != "bind" || mps[0].Path != "/vllm_models" {
		t.Errorf("950 mount points: %+v", mps)
	}
	if string(byID[950].Extra["vllm_model"]) != `"Qwen/Qwen2.5-7B-Instruct-AWQ"` {
		t.Errorf("unknown keys must be kept verbatim, got %q", byID[950].Extra["vllm_model"])
	}
	if got := byID[901].GPUs; len(got) != 2 || got[0] != "0" || got[1] != "1" {
		t.Errorf(`gpu_assignment "0, 1" should give [0 1], got %v`, got)
	}
	if len(e.Warnings) != 1 || e.Warnings[0].Path != "vms[0].template_snapshot_name" {
		t.Errorf("want one warning on vms[0].template_snapshot_name (is_template with a snapshot), got %v", e.Warnings)
	}
}

func TestSplitLayout(t *testing.T) {
	e, err := Load(Sources{Dir: sharedPhoenix(t, "split-layout")})
	if err != nil {
		t.Fatalf("split layout must ingest: %v", err)
	}
	if len(e.Guests) != 17 || e.Files.VM == "" {
		t.Fatalf("want 17 guests with VMs from %s, got %d", VMFileName, len(e.Guests))
	}
	checkTiers(t, e)
	for _, g := range e.Guests {
		if g.ID == 8000 {
			if g.Source.File != VMFileName || *g.Cores != 4 || g.CloudInit == nil || g.CloudInit.Username != "phoenix_user" {
				t.Errorf("8000 from the split layout: %+v", g)
			}
			if _, ok := g.Extra["user_config"]; !ok {
				t.Errorf("user_config has a key the model lacks (gw); it must be kept in Extra")
			}
		}
	}
}

func TestLXCDefaultsMerge(t *testing.T) {
	e, err := Parse(Input{
		Hypervisor: []byte(`{"network":{"interfaces":{"name":"vmbr9"}},"proxmox_defaults":{"lxc":{"cores":3,"memory_mb":4096,"network_config":"10.0.0.110/24,10.0.0.1,8.8.8.8","features":"nesting=1"}}}`),
		LXC:        []byte(lxcFile(`"950":` + ct(`"cores":-,"memory_mb":-`))),
	})
	if err != nil {
		t.Fatal(err)
	}
	g := e.Guests[0]
	if *g.Cores != 3 || *g.MemoryMB != 4096 || g.Network.IP != "10.0.0.110/24" || g.Network.Gateway != "10.0.0.1" ||
		len(g.Network.Nameservers) != 1 || g.Network.Bridge != "vmbr9" || len(g.PctOptions) != 1 || g.PctOptions[0] != "nesting=1" {
		t.Fatalf("proxmox_defaults.lxc not merged: %+v", g)
	}
}

// The example estate the main job applies must ingest cleanly.
func TestExampleEstate(t *testing.T) {
	e, err := Load(Sources{Dir: filepath.Join("..", "..", "examples", "estate", "phoenix", "etc")})
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Warnings) > 0 {
		t.Fatalf("example estate has warnings: %v", e.Warnings)
	}
	vms := 0
	for _, g := range e.Guests {
		if g.Kind == KindVM {
			vms++
		}
	}
	if len(e.Guests) != 8 || vms != 3 {
		t.Fatalf("want 5 containers and 3 VMs, got %d guests of which %d VMs", len(e.Guests), vms)
	}
	checkTiers(t, e)
}
