package guestconf

import (
	"reflect"
	"testing"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/phoenix"
)

func i64(n int64) *int64 { return &n }
func b(v bool) *bool     { return &v }

func guest() *phoenix.Guest {
	return &phoenix.Guest{Kind: phoenix.KindLXC, ID: 950, Name: "web", Cores: i64(2), MemoryMB: i64(2048), DiskSizeGB: i64(32),
		StartAtBoot: b(true), BootOrder: i64(3), BootDelay: i64(5), PctOptions: []string{"nesting=1", "keyctl=1"},
		Network:     phoenix.Network{Name: "eth0", Bridge: "vmbr0", IP: "10.0.0.150/24", Gateway: "10.0.0.1"},
		MountPoints: []phoenix.MountPoint{{Type: "volume", Storage: "tank", SizeGB: 10, Path: "/data"}, {Type: "bind", HostPath: "/srv/certs", Path: "/certs"}},
	}
}

// actual is what PVE holds once the guest matches guest().
func actual() map[string]string {
	return map[string]string{"hostname": "web", "cores": "2", "memory": "2048", "onboot": "1", "startup": "order=3,up=5",
		"features": "keyctl=1,nesting=1", "net0": "name=eth0,bridge=vmbr0,gw=10.0.0.1,hwaddr=BC:24:11:00:00:01,ip=10.0.0.150/24,type=veth",
		"rootfs": "local-lvm:vm-950-disk-0,size=32G", "mp0": "tank:subvol-950-disk-1,mp=/data,size=10G", "mp1": "/srv/certs,mp=/certs",
		"unprivileged": "1", "swap": "512"}
}

func TestDiffContainerConverged(t *testing.T) {
	if ch := DiffContainer(guest(), actual()); len(ch.Keys()) > 0 || len(ch.Replace) > 0 {
		t.Fatalf("a matching guest must need no changes, got %+v", ch)
	}
}

func TestDiffContainerChanges(t *testing.T) {
	a := actual()
	a["cores"] = "1"
	a["features"] = "nesting=1"
	delete(a, "mp0")
	a["mp2"] = "tank:subvol-950-disk-3,mp=/old,size=1G"
	a["net0"] = "name=eth0,bridge=vmbr1,hwaddr=BC:24:11:00:00:01,ip=10.0.0.150/24,type=veth,tag=5"
	ch := DiffContainer(guest(), a)
	if ch.Set["cores"] != "2" || ch.Set["features"] != "keyctl=1,nesting=1" {
		t.Errorf("cores/features: %v", ch.Set)
	}
	// The generated MAC and the VLAN tag the model does not set are kept.
	if ch.Set["net0"] != "name=eth0,bridge=vmbr0,gw=10.0.0.1,hwaddr=BC:24:11:00:00:01,ip=10.0.0.150/24,tag=5,type=veth" {
		t.Errorf("net0 = %q", ch.Set["net0"])
	}
	if ch.Set["mp0"] != "tank:10,mp=/data" {
		t.Errorf("missing mount point must be added on a free index: %v", ch.Set)
	}
	if !reflect.DeepEqual(ch.Delete, []string{"mp2"}) {
		t.Errorf("unknown mount point must be removed: %v", ch.Delete)
	}
}

func TestDiffContainerDisks(t *testing.T) {
	g := guest()
	g.DiskSizeGB = i64(40)
	g.MountPoints[0].SizeGB = 20
	ch := DiffContainer(g, actual())
	want := []Resize{{Disk: "mp0", Size: "20G"}, {Disk: "rootfs", Size: "40G"}}
	if len(ch.Resize) != 2 || !containsResize(ch.Resize, want[0]) || !containsResize(ch.Resize, want[1]) {
		t.Errorf("resizes: %v", ch.Resize)
	}
	g.DiskSizeGB = i64(16)
	if ch := DiffContainer(g, actual()); len(ch.Replace) != 1 {
		t.Errorf("a shrinking rootfs must be a replacement, got %+v", ch)
	}
	g = guest()
	g.Unprivileged = b(false)
	if ch := DiffContainer(g, actual()); len(ch.Replace) != 1 {
		t.Errorf("changing unprivileged must be a replacement, got %+v", ch)
	}
}

func containsResize(rs []Resize, r Resize) bool {
	for _, x := range rs {
		if x == r {
			return true
		}
	}
	return false
}

func TestObserveContainerDrift(t *testing.T) {
	a := actual()
	a["cores"] = "6"
	delete(a, "mp1")
	a["mp5"] = "tank:subvol-950-disk-9,mp=/extra,size=3G"
	g := guest()
	g.SwapMB = nil // unset: PVE's 512 must not show up
	ObserveContainer(g, Observed{Config: a})
	if *g.Cores != 6 {
		t.Errorf("cores drift not observed: %d", *g.Cores)
	}
	if g.SwapMB != nil {
		t.Errorf("a value the model leaves unset must stay unset, got %d", *g.SwapMB)
	}
	var paths []string
	for _, mp := range g.MountPoints {
		paths = append(paths, mp.Path)
	}
	if !reflect.DeepEqual(paths, []string{"/data", "/extra"}) {
		t.Errorf("mount points: %v", paths)
	}
	// Observing a converged guest changes nothing.
	g2 := guest()
	ObserveContainer(g2, Observed{Config: actual()})
	if !reflect.DeepEqual(g2, guest()) {
		t.Errorf("observing a matching guest changed it:\n%+v\n%+v", g2, guest())
	}
}

func TestDesiredRawLXC(t *testing.T) {
	g := guest()
	g.LXCOptions = []string{"lxc.cgroup2.devices.allow=a", "lxc.apparmor.profile=unconfined"}
	g.AppArmorProfile = "unconfined"
	g.GPUs = []string{"0"}
	lines := DesiredRawLXC(g, false)
	want := []RawLXCLine{{"lxc.cgroup2.devices.allow", "a"}, {"lxc.apparmor.profile", "unconfined"},
		{"lxc.cgroup2.devices.allow", "c 195:* rwm"}, {"lxc.cgroup2.devices.allow", "c 509:* rwm"},
		{"lxc.mount.entry", "/dev/nvidia0 dev/nvidia0 none bind,optional,create=file"},
		{"lxc.mount.entry", "/dev/nvidiactl dev/nvidiactl none bind,optional,create=file"},
		{"lxc.mount.entry", "/dev/nvidia-uvm dev/nvidia-uvm none bind,optional,create=file"},
		{"lxc.mount.entry", "/dev/nvidia-uvm-tools dev/nvidia-uvm-tools none bind,optional,create=file"}}
	if !reflect.DeepEqual(lines, want) {
		t.Fatalf("raw lines:\n%v\nwant\n%v", lines, want)
	}
	if devs := DesiredRawLXC(g, true); len(devs) != 2 {
		t.Errorf("with devN passthrough only the options remain, got %v", devs)
	}
	if !SameRawLXC(lines[:2], [][2]string{{"lxc.apparmor.profile", "unconfined"}, {"lxc.cgroup2.devices.allow", "a"}}) {
		t.Error("raw lines compare as a multiset")
	}
}
