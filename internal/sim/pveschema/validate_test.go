package pveschema

import (
	"reflect"
	"strings"
	"testing"
)

const (
	lxcConfig  = "/nodes/{node}/lxc/{vmid}/config"
	qemuConfig = "/nodes/{node}/qemu/{vmid}/config"
	unknownMsg = "property is not defined in schema and the schema does not allow additional properties"
	missingMsg = "property is missing and it is not optional"
)

func endpoint(t *testing.T, method, path string) *Endpoint {
	t.Helper()
	e, ok := Lookup(method, path)
	if !ok {
		t.Fatalf("no endpoint %s %s", method, path)
	}
	return e
}

// vals builds Values with the path variables of a guest endpoint.
func vals(kv ...string) Values {
	v := Values{"node": {"pve"}, "vmid": {"100"}}
	for i := 0; i+1 < len(kv); i += 2 {
		v[kv[i]] = append(v[kv[i]], kv[i+1])
	}
	return v
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name         string
		method, path string
		v            Values
		want         map[string]string
	}{
		{"valid lxc config", "PUT", lxcConfig,
			vals("cores", "2", "onboot", "1", "net0", "name=eth0,bridge=vmbr0,ip=dhcp,firewall=yes", "rootfs", "local-lvm:8"),
			map[string]string{}},
		{"unknown param", "PUT", lxcConfig, vals("foo", "1"), map[string]string{"foo": unknownMsg}},
		{"missing required", "POST", "/nodes/{node}/lxc", vals(), map[string]string{"ostemplate": missingMsg}},
		{"missing path variable", "GET", lxcConfig, Values{"vmid": {"100"}}, map[string]string{"node": missingMsg}},
		{"empty string is a defined value", "POST", "/nodes/{node}/lxc", vals("ostemplate", ""),
			map[string]string{}},
		{"bad integer", "PUT", lxcConfig, vals("cores", "x"), map[string]string{"cores": "type check ('integer') failed - got 'x'"}},
		{"bad vmid type", "GET", lxcConfig, Values{"node": {"pve"}, "vmid": {"abc"}},
			map[string]string{"vmid": "type check ('integer') failed - got 'abc'"}},
		// The format is checked before the bounds, so a short VMID fails as format.
		{"vmid below minimum", "GET", lxcConfig, Values{"node": {"pve"}, "vmid": {"99"}},
			map[string]string{"vmid": "invalid format - value does not look like a valid VM ID\n"}},
		{"cores below minimum", "PUT", lxcConfig, vals("cores", "0"),
			map[string]string{"cores": "value must have a minimum value of 1"}},
		{"cores above maximum", "PUT", lxcConfig, vals("cores", "8193"),
			map[string]string{"cores": "value must have a maximum value of 8192"}},
		{"vmid above maximum", "GET", lxcConfig, Values{"node": {"pve"}, "vmid": {"1000000000"}},
			map[string]string{"vmid": "invalid format - value does not look like a valid VM ID\n"}},
		{"bad node name", "GET", lxcConfig, Values{"node": {"bad_node"}, "vmid": {"100"}},
			map[string]string{"node": "invalid format - value does not look like a valid node name\n"}},
		{"enum miss", "PUT", lxcConfig, vals("arch", "sparc"),
			map[string]string{"arch": "value 'sparc' does not have a value in the enumeration 'amd64, i386, arm64, armhf, riscv32, riscv64'"}},
		{"boolean only 1 or 0 at top level", "PUT", lxcConfig, vals("onboot", "true"),
			map[string]string{"onboot": "type check ('boolean') failed - got 'true'"}},
		{"bad MAC in net0", "PUT", lxcConfig, vals("net0", "name=eth0,hwaddr=01:00:00:00:00:00"),
			map[string]string{"net0": "invalid format - format error\nnet0.hwaddr: invalid format - value does not look like a valid unicast MAC address\n\n"}},
		{"unknown key inside net0", "PUT", lxcConfig, vals("net0", "name=eth0,foo=bar"),
			map[string]string{"net0": "invalid format - invalid key in comma-separated list property: foo\n"}},
		{"net0 without name", "PUT", lxcConfig, vals("net0", "bridge=vmbr0"),
			map[string]string{"net0": "invalid format - format error\nnet0.name: " + missingMsg + "\n"}},
		{"net0 bad bridge pattern", "PUT", lxcConfig, vals("net0", "name=eth0,bridge=vm br0"),
			map[string]string{"net0": "invalid format - format error\nnet0.bridge: value does not match the regex pattern\n"}},
		{"net0 empty value", "PUT", lxcConfig, vals("net0", "name=eth0,bridge="),
			map[string]string{"net0": "invalid format - missing key in comma-separated list property\n"}},
		{"net0 duplicate key", "PUT", lxcConfig, vals("net0", "name=eth0,name=eth1"),
			map[string]string{"net0": "invalid format - duplicate key in comma-separated list property: name\n"}},
		{"net31 accepted", "PUT", lxcConfig, vals("net31", "name=eth31"), map[string]string{}},
		{"net32 rejected", "PUT", lxcConfig, vals("net32", "name=eth0"), map[string]string{"net32": unknownMsg}},
		{"net01 rejected", "PUT", lxcConfig, vals("net01", "name=eth0"), map[string]string{"net01": unknownMsg}},
		{"mp0 without mp", "PUT", lxcConfig, vals("mp0", "local-lvm:8"),
			map[string]string{"mp0": "invalid format - format error\nmp0.mp: " + missingMsg + "\n"}},
		{"mp0 path traversal", "PUT", lxcConfig, vals("mp0", "local-lvm:8,mp=/mnt/../etc"),
			map[string]string{"mp0": "invalid format - format error\nmp0.mp: invalid format - /mnt/../etc contains illegal character sequences\n\n"}},
		{"startup", "PUT", lxcConfig, vals("startup", "order=1,up=5"), map[string]string{}},
		{"bad startup", "PUT", lxcConfig, vals("startup", "order=x"),
			map[string]string{"startup": "invalid format - unable to parse startup options\n"}},
		{"features", "PUT", lxcConfig, vals("features", "nesting=1,keyctl=1"), map[string]string{}},
		{"bad feature boolean", "PUT", lxcConfig, vals("features", "nesting=maybe"),
			map[string]string{"features": "invalid format - format error\nfeatures.nesting: type check ('boolean') failed - got 'maybe'\n"}},
		{"delete list from several values", "PUT", lxcConfig, vals("delete", "mp0", "delete", "net1"), map[string]string{}},
		{"bad delete entry", "PUT", lxcConfig, vals("delete", "mp0,1x"),
			map[string]string{"delete": "invalid format - invalid configuration ID '1x'\n"}},
		{"several values for a scalar", "PUT", lxcConfig, vals("cores", "1", "cores", "2"),
			map[string]string{"cores": "type check ('integer') failed - got ARRAY"}},
		{"scsi0 import", "POST", qemuConfig, vals("scsi0", "local-lvm:0,import-from=local:import/x.qcow2"), map[string]string{}},
		{"scsi31 rejected", "POST", qemuConfig, vals("scsi31", "local-lvm:1"), map[string]string{"scsi31": unknownMsg}},
		{"scsi0 bad volume", "POST", qemuConfig, vals("scsi0", "nostorage"),
			map[string]string{"scsi0": "invalid format - format error\nscsi0.file: invalid format - unable to parse volume ID 'nostorage'\n\n"}},
		{"ipconfig0", "PUT", qemuConfig, vals("ipconfig0", "ip=10.0.0.5/24,gw=10.0.0.1"), map[string]string{}},
		{"ipconfig0 bad CIDR", "PUT", qemuConfig, vals("ipconfig0", "ip=10.0.0.5/33"),
			map[string]string{"ipconfig0": "invalid format - format error\nipconfig0.ip: invalid format - value does not look like a valid ipv4 network configuration\n\n"}},
		{"ipconfig0 gateway needs ip", "PUT", qemuConfig, vals("ipconfig0", "gw=10.0.0.1"),
			map[string]string{"ipconfig0": "invalid format - format error\nipconfig0.ip: missing property required by 'ipconfig0.gw'\n"}},
		{"ipconfig32 rejected", "PUT", qemuConfig, vals("ipconfig32", "ip=dhcp"), map[string]string{"ipconfig32": unknownMsg}},
		{"qemu net0 model=mac", "POST", qemuConfig, vals("net0", "virtio=BC:24:11:00:00:01,bridge=vmbr0"), map[string]string{}},
		{"qemu net0 bad model", "POST", qemuConfig, vals("net0", "model=foo"),
			map[string]string{"net0": "invalid format - format error\nnet0.model: value 'foo' does not have a value in the enumeration " +
				"'e1000, e1000-82540em, e1000-82544gc, e1000-82545em, e1000e, i82551, i82557b, i82559er, ne2k_isa, ne2k_pci, pcnet, rtl8139, virtio, vmxnet3'\n"}},
		{"agent", "POST", qemuConfig, vals("agent", "1,freeze-fs-on-backup=0"), map[string]string{}},
		{"cicustom", "PUT", qemuConfig, vals("cicustom", "user=local:snippets/u.yaml"), map[string]string{}},
		{"cicustom unknown key", "PUT", qemuConfig, vals("cicustom", "foo=local:snippets/u.yaml"),
			map[string]string{"cicustom": "invalid format - invalid key in comma-separated list property: foo\n"}},
		{"sshkeys must be urlencoded", "PUT", qemuConfig, vals("sshkeys", "ssh-ed25519 AAAA"),
			map[string]string{"sshkeys": "invalid format - invalid urlencoded string: ssh-ed25519 AAAA\n"}},
		{"snapshot name format", "POST", "/nodes/{node}/lxc/{vmid}/snapshot", vals("snapname", "1st"),
			map[string]string{"snapname": "invalid format - invalid configuration ID '1st'\n"}},
		{"snapshot name length", "POST", "/nodes/{node}/qemu/{vmid}/snapshot", vals("snapname", "s"+strings.Repeat("x", 40)),
			map[string]string{"snapname": "value may only be 40 characters long"}},
		{"agent exec array", "POST", "/nodes/{node}/qemu/{vmid}/agent/exec", vals("command", "ls", "command", "-l"), map[string]string{}},
		{"agent exec missing command", "POST", "/nodes/{node}/qemu/{vmid}/agent/exec", vals(),
			map[string]string{"command": missingMsg}},
		{"requires at top level", "POST", "/access/ticket", Values{"username": {"root@pam"}, "password": {"x"}, "path": {"/"}},
			map[string]string{"privs": "missing property required by 'path'"}},
		{"several errors", "PUT", lxcConfig, Values{"node": {"pve"}, "vmid": {"x"}, "cores": {"y"}, "bogus": {"1"}},
			map[string]string{"vmid": "type check ('integer') failed - got 'x'", "cores": "type check ('integer') failed - got 'y'", "bogus": unknownMsg}},
		{"resize size pattern", "PUT", "/nodes/{node}/lxc/{vmid}/resize", vals("disk", "rootfs", "size", "+1X"),
			map[string]string{"size": "value does not match the regex pattern"}},
		{"resize ok", "PUT", "/nodes/{node}/lxc/{vmid}/resize", vals("disk", "rootfs", "size", "+1G"), map[string]string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := endpoint(t, tc.method, tc.path).Validate(tc.v)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Validate() =\n%#v\nwant\n%#v", got, tc.want)
			}
		})
	}
}

// An undefined value (form "k=" or JSON null) of a required parameter is
// missing, of an optional one ignored.
func TestValidateUndefined(t *testing.T) {
	e := endpoint(t, "POST", "/nodes/{node}/lxc")
	got := e.Validate(Values{"node": {"pve"}, "vmid": {"100"}, "ostemplate": nil, "hostname": nil})
	want := map[string]string{"ostemplate": missingMsg}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %#v, want %#v", got, want)
	}
}

func TestErrorSetJoinsWithLiteralBackslashN(t *testing.T) {
	es := errorSet{}
	es.add("a", "one")
	es.add("a", "two")
	es.add("", "root")
	if es["a"] != `one\ntwo` || es["_root"] != "root" {
		t.Fatalf("got %#v", es)
	}
}

func TestParamFor(t *testing.T) {
	lxc := endpoint(t, "PUT", lxcConfig)
	qemu := endpoint(t, "POST", qemuConfig)
	for _, tc := range []struct {
		e    *Endpoint
		name string
		want string // "" = unknown
	}{
		{lxc, "net0", "net[n]"}, {lxc, "net31", "net[n]"}, {lxc, "net32", ""},
		{lxc, "mp255", "mp[n]"}, {lxc, "mp256", ""}, {lxc, "dev0", "dev[n]"},
		{lxc, "unused255", "unused[n]"}, {lxc, "rootfs", "rootfs"}, {lxc, "scsi0", ""},
		{qemu, "scsi30", "scsi[n]"}, {qemu, "scsi31", ""}, {qemu, "ide3", "ide[n]"}, {qemu, "ide4", ""},
		{qemu, "sata5", "sata[n]"}, {qemu, "virtio15", "virtio[n]"}, {qemu, "virtio16", ""},
		{qemu, "ipconfig31", "ipconfig[n]"}, {qemu, "net[n]", ""}, {qemu, "net007", ""},
	} {
		p, ok := tc.e.ParamFor(tc.name)
		got := ""
		if ok {
			got = p.Name
		}
		if got != tc.want {
			t.Errorf("%s %s: ParamFor(%q) = %q, want %q", tc.e.Method, tc.e.Path, tc.name, got, tc.want)
		}
	}
}

// Requests as clients send them pass: a wrong rejection breaks users as much
// as a wrong acceptance.
func TestValidateTypicalRequests(t *testing.T) {
	tests := []struct {
		method, path string
		v            Values
	}{
		{"POST", "/nodes/{node}/lxc", vals("ostemplate", "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst",
			"hostname", "web1", "rootfs", "local-lvm:8", "memory", "1024", "swap", "512", "cores", "2",
			"net0", "name=eth0,bridge=vmbr0,ip=10.0.0.5/24,gw=10.0.0.1,ip6=auto,tag=10,firewall=1",
			"features", "nesting=1,mount=nfs;cifs", "unprivileged", "1", "start", "1", "password", "secret123",
			"ssh-public-keys", "ssh-ed25519 AAAA x@y", "tags", "web;prod", "nameserver", "1.1.1.1 8.8.8.8",
			"searchdomain", "example.com", "timezone", "host", "mp0", "local-lvm:4,mp=/srv,backup=1",
			"onboot", "1", "startup", "order=2", "description", "a container", "pool", "prod", "storage", "local-lvm")},
		{"POST", "/nodes/{node}/qemu", vals("name", "vm1", "memory", "2048", "cores", "2", "sockets", "1",
			"cpu", "x86-64-v2-AES,flags=+aes", "scsihw", "virtio-scsi-single", "ostype", "l26",
			"scsi0", "local-lvm:0,import-from=local:import/debian.qcow2,discard=on,iothread=1,ssd=1",
			"ide2", "local-lvm:cloudinit", "boot", "order=scsi0;net0", "agent", "enabled=1,fstrim_cloned_disks=1",
			"net0", "virtio,bridge=vmbr0,firewall=1", "serial0", "socket", "vga", "serial0",
			"ipconfig0", "ip=dhcp,ip6=auto", "ciuser", "debian", "sshkeys", "ssh-ed25519%20AAAA%20x%40y",
			"cicustom", "user=local:snippets/user.yaml", "smbios1", "uuid=6a0f2a5e-3c5b-4d2a-9a7e-2f1f0c1d2e3f",
			"rng0", "source=/dev/urandom", "watchdog", "model=i6300esb,action=reset", "efidisk0", "local-lvm:1,efitype=4m",
			"bios", "ovmf", "machine", "q35", "tags", "db", "hotplug", "network,disk,usb", "numa", "0")},
		{"POST", "/nodes/{node}/qemu/{vmid}/clone", vals("newid", "101", "name", "clone1", "full", "1", "target", "pve", "storage", "local-lvm")},
		{"POST", "/nodes/{node}/lxc/{vmid}/clone", vals("newid", "201", "hostname", "c2", "full", "0")},
		{"PUT", "/nodes/{node}/qemu/{vmid}/resize", vals("disk", "scsi0", "size", "+2G")},
		{"POST", "/nodes/{node}/qemu/{vmid}/agent/file-write", vals("file", "/etc/motd", "content", "aGk=", "encode", "0")},
		{"GET", "/nodes/{node}/qemu/{vmid}/agent/exec-status", vals("pid", "42")},
		{"GET", "/nodes/{node}/qemu/{vmid}/cloudinit/dump", vals("type", "user")},
		{"GET", "/nodes/{node}/tasks/{upid}/log", Values{"node": {"pve"}, "upid": {"UPID:pve:00001234:00005678:65000000:vzcreate:100:root@pam:"}, "start": {"0"}, "limit": {"50"}}},
		{"GET", "/cluster/resources", Values{"type": {"vm"}}},
		{"POST", "/access/ticket", Values{"username": {"root@pam"}, "password": {"secret"}}},
		{"GET", "/nodes/{node}/storage/{storage}/content", Values{"node": {"pve"}, "storage": {"local"}, "content": {"vztmpl"}}},
		{"POST", "/nodes/{node}/lxc/{vmid}/status/stop", vals("skiplock", "1")},
		{"DELETE", "/nodes/{node}/qemu/{vmid}", vals("purge", "1", "destroy-unreferenced-disks", "1")},
		{"POST", "/nodes/{node}/qemu/{vmid}/snapshot", vals("snapname", "before_upgrade", "vmstate", "0", "description", "x")},
	}
	for _, tc := range tests {
		if errs := endpoint(t, tc.method, tc.path).Validate(tc.v); len(errs) > 0 {
			t.Errorf("%s %s rejected: %#v", tc.method, tc.path, errs)
		}
	}
}
