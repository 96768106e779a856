package pveschema

import (
	"reflect"
	"testing"
)

func param(t *testing.T, method, path, name string) *Param {
	t.Helper()
	p, ok := endpoint(t, method, path).ParamFor(name)
	if !ok {
		t.Fatalf("no parameter %s on %s %s", name, method, path)
	}
	return p
}

func TestParseProperty(t *testing.T) {
	tests := []struct {
		name, method, path, param, value string
		want                             map[string]string
		wantErr                          string
	}{
		{"lxc net0", "PUT", lxcConfig, "net0", "name=eth0,bridge=vmbr0,ip=dhcp,firewall=on",
			map[string]string{"name": "eth0", "bridge": "vmbr0", "ip": "dhcp", "firewall": "1"}, ""},
		{"rootfs new volume", "PUT", lxcConfig, "rootfs", "local-lvm:8",
			map[string]string{"volume": "local-lvm:8"}, ""},
		{"mp0", "PUT", lxcConfig, "mp0", "local-lvm:8,mp=/data,backup=no",
			map[string]string{"volume": "local-lvm:8", "mp": "/data", "backup": "0"}, ""},
		{"mp0 without mp", "PUT", lxcConfig, "mp0", "local-lvm:8", nil,
			"format error\nmp0.mp: property is missing and it is not optional\n"},
		{"startup", "PUT", lxcConfig, "startup", "order=1,up=5",
			map[string]string{"order": "1", "up": "5"}, ""},
		{"startup bare order", "PUT", lxcConfig, "startup", "3,down=7",
			map[string]string{"order": "3", "down": "7"}, ""},
		{"features", "PUT", lxcConfig, "features", "nesting=1,keyctl=1",
			map[string]string{"nesting": "1", "keyctl": "1"}, ""},
		{"scsi0 import", "POST", qemuConfig, "scsi0", "local-lvm:0,import-from=local:import/x.qcow2",
			map[string]string{"file": "local-lvm:0", "import-from": "local:import/x.qcow2"}, ""},
		{"scsi0 alias volume", "POST", qemuConfig, "scsi0", "volume=local-lvm:vm-100-disk-0,discard=on",
			map[string]string{"file": "local-lvm:vm-100-disk-0", "discard": "on"}, ""},
		{"ipconfig0", "PUT", qemuConfig, "ipconfig0", "ip=10.0.0.5/24,gw=10.0.0.1",
			map[string]string{"ip": "10.0.0.5/24", "gw": "10.0.0.1"}, ""},
		{"ipconfig0 bad CIDR", "PUT", qemuConfig, "ipconfig0", "ip=10.0.0.5/7", nil,
			"format error\nipconfig0.ip: invalid format - value does not look like a valid ipv4 network configuration\n\n"},
		{"qemu net0 model alias", "POST", qemuConfig, "net0", "virtio=BC:24:11:00:00:01,bridge=vmbr0,firewall=1",
			map[string]string{"model": "virtio", "macaddr": "BC:24:11:00:00:01", "bridge": "vmbr0", "firewall": "1"}, ""},
		{"qemu net0 default key", "POST", qemuConfig, "net0", "e1000,bridge=vmbr1",
			map[string]string{"model": "e1000", "bridge": "vmbr1"}, ""},
		{"agent default key boolean", "POST", qemuConfig, "agent", "yes,fstrim_cloned_disks=1",
			map[string]string{"enabled": "1", "fstrim_cloned_disks": "1"}, ""},
		{"agent alias", "POST", qemuConfig, "agent", "1,guest-fsfreeze=0",
			map[string]string{"enabled": "1", "freeze-fs": "0"}, ""},
		{"two bare values", "PUT", lxcConfig, "rootfs", "local-lvm:8,local-lvm:9", nil,
			"duplicate key in comma-separated list property: volume\n"},
		{"bare value without default key", "PUT", lxcConfig, "net0", "eth0", nil,
			"value without key, but schema does not define a default key\n"},
		{"unknown key", "PUT", lxcConfig, "net0", "name=eth0,speed=10", nil,
			"invalid key in comma-separated list property: speed\n"},
		{"alias and target", "POST", qemuConfig, "scsi0", "file=local:1,volume=local:2", nil,
			"key 'file' is already defined (via alias)\n"},
		{"bad startup", "PUT", lxcConfig, "startup", "first", nil, "unable to parse startup options\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := param(t, tc.method, tc.path, tc.param)
			got, err := ParsePropertyAt(p, tc.param, tc.value)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("error = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %#v, want %#v", got, tc.want)
			}
		})
	}
}

// ParseProperty names nested errors after the parameter itself.
func TestParsePropertyUsesParamName(t *testing.T) {
	p := param(t, "PUT", lxcConfig, "rootfs")
	_, err := ParseProperty(p, "local-lvm:8,size=big")
	want := "format error\nrootfs.size: invalid format - value does not look like a valid disk size: big\n\n"
	if err == nil || err.Error() != want {
		t.Fatalf("error = %v, want %q", err, want)
	}
}

func TestFormatProperty(t *testing.T) {
	tests := []struct {
		name, method, path, param string
		in                        map[string]string
		want                      string
	}{
		{"lxc net: required key first, then sorted", "PUT", lxcConfig, "net0",
			map[string]string{"type": "veth", "ip": "dhcp", "hwaddr": "BC:24:11:AA:BB:CC", "bridge": "vmbr0", "name": "eth0"},
			"name=eth0,bridge=vmbr0,hwaddr=BC:24:11:AA:BB:CC,ip=dhcp,type=veth"},
		{"rootfs default key bare, size in bytes", "PUT", lxcConfig, "rootfs",
			map[string]string{"volume": "local-lvm:vm-100-disk-0", "size": "8589934592"},
			"local-lvm:vm-100-disk-0,size=8G"},
		{"mount point", "PUT", lxcConfig, "mp0",
			map[string]string{"volume": "local-lvm:vm-100-disk-1", "mp": "/data", "backup": "1", "size": "512M"},
			"local-lvm:vm-100-disk-1,mp=/data,backup=1,size=512M"},
		{"qemu net: model combined with mac", "POST", qemuConfig, "net0",
			map[string]string{"model": "virtio", "macaddr": "BC:24:11:00:00:01", "bridge": "vmbr0", "firewall": "1"},
			"virtio=BC:24:11:00:00:01,bridge=vmbr0,firewall=1"},
		{"scsi drive", "POST", qemuConfig, "scsi0",
			map[string]string{"file": "local-lvm:vm-100-disk-0", "size": "34359738368", "discard": "on"},
			"local-lvm:vm-100-disk-0,discard=on,size=32G"},
		{"ipconfig", "PUT", qemuConfig, "ipconfig0",
			map[string]string{"ip": "10.0.0.5/24", "gw": "10.0.0.1"}, "gw=10.0.0.1,ip=10.0.0.5/24"},
		{"startup", "PUT", lxcConfig, "startup", map[string]string{"up": "5", "order": "1"}, "order=1,up=5"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := param(t, tc.method, tc.path, tc.param)
			if got := FormatProperty(p, tc.in); got != tc.want {
				t.Fatalf("FormatProperty = %q, want %q", got, tc.want)
			}
			// What PVE prints parses back to the same keys (sizes normalised).
			back, err := ParsePropertyAt(p, tc.param, tc.want)
			if err != nil {
				t.Fatalf("printed value does not parse: %v", err)
			}
			if again := FormatProperty(p, back); again != tc.want {
				t.Fatalf("round trip = %q, want %q", again, tc.want)
			}
		})
	}
}

func TestSizes(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		ok   bool
	}{{"8G", 8 << 30, true}, {"512M", 512 << 20, true}, {"1.5G", 3 << 29, true}, {"10KiB", 10 << 10, true},
		{"100", 100, true}, {"8g", 0, false}, {"-1G", 0, false}} {
		got, ok := ParseSize(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("ParseSize(%q) = %d, %v; want %d, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
	for in, want := range map[int64]string{8 << 30: "8G", 1 << 40: "1T", 1536: "1536", 1024: "1K", 0: "0", 3 << 29: "1536M"} {
		if got := FormatSize(in); got != want {
			t.Errorf("FormatSize(%d) = %q, want %q", in, got, want)
		}
	}
}

func TestParseBoolean(t *testing.T) {
	for in, want := range map[string]bool{"1": true, "on": true, "YES": true, "True": true, "0": false, "off": false, "No": false, "false": false} {
		got, ok := ParseBoolean(in)
		if !ok || got != want {
			t.Errorf("ParseBoolean(%q) = %v, %v", in, got, ok)
		}
	}
	if _, ok := ParseBoolean("2"); ok {
		t.Error("ParseBoolean(2) accepted")
	}
}
