package pveconf

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseContainer(t *testing.T) {
	text := `#line one
#caf%C3%A9  
arch: amd64
hostname: web
memory: notanumber
lxc.environment.runtime: A=1
lxc.apparmor.profile: unconfined
lxc.rootfs.path: /x
lxc.environment.runtime: B=2
lxc.cgroup.devices.allow: a
bogus line
delete: memory

[pve:pending]
memory: 1024
delete: swap

[before]
#snap
hostname: old
snaptime: 1700000000
`
	f, warnings := Parse("lxc", 100, text)
	want := map[string]string{"description": "line one\ncafé  \n", "arch": "amd64", "hostname": "web",
		"memory": "notanumber", "env": "A=1\x00B=2"}
	if !reflect.DeepEqual(f.Main.Keys, want) {
		t.Fatalf("main = %q", f.Main.Keys)
	}
	if wantLXC := [][2]string{{"lxc.apparmor.profile", "unconfined"}, {"lxc.cgroup.devices.allow", "a"}}; !reflect.DeepEqual(f.Main.LXC, wantLXC) {
		t.Fatalf("lxc = %q", f.Main.LXC)
	}
	if f.Pending == nil || f.Pending.Keys["memory"] != "1024" || f.Pending.Keys["delete"] != "swap" {
		t.Fatalf("pending = %+v", f.Pending)
	}
	if s := f.Snapshots["before"]; s == nil || s.Keys["description"] != "snap\n" || s.Keys["hostname"] != "old" {
		t.Fatalf("snapshot = %+v", f.Snapshots)
	}
	wantW := []string{
		"vm 100 - unable to parse value of 'memory' - type check ('integer') failed - got 'notanumber'",
		"vm 100 - lxc.rootfs.path: lxc.rootfs.path is auto generated from rootfs",
		"vm 100 - lxc.cgroup.devices.allow is deprecated, this will be a hard error in the future!",
		"vm 100 - unable to parse config: bogus line",
		"vm 100 - property 'delete' is only allowed in [pve:pending]",
	}
	if !reflect.DeepEqual(warnings, wantW) {
		t.Fatalf("warnings:\n%s", strings.Join(warnings, "\n"))
	}
}

func TestParseVM(t *testing.T) {
	text := `#Trailing whitespace goes  
#
cores: 2
sockets: lots
cdrom: none
lxc.apparmor.profile: x

[special:cloudinit]
name: ci

[PENDING]
#
cores: 4

[weird section]
cores: 8
`
	f, warnings := Parse("qemu", 200, text)
	// qemu-server trims the description's trailing whitespace (newlines included)
	want := map[string]string{"description": "Trailing whitespace goes", "cores": "2", "ide2": "none"}
	if !reflect.DeepEqual(f.Main.Keys, want) {
		t.Fatalf("main = %q", f.Main.Keys)
	}
	// an emptied description in [PENDING] stays set, as the empty string
	if d, ok := f.Pending.Keys["description"]; !ok || d != "" || f.Pending.Keys["cores"] != "4" {
		t.Fatalf("pending = %q", f.Pending.Keys)
	}
	if len(f.Snapshots) != 0 {
		t.Fatalf("special and unknown sections became snapshots: %v", f.Snapshots)
	}
	wantW := []string{
		"vm 200 - unable to parse value of 'sockets' - type check ('integer') failed - got 'lots'",
		"vm 200 - unable to parse config: lxc.apparmor.profile: x",
		"vm 200 - skipping unknown section: 'weird section'",
	}
	if !reflect.DeepEqual(warnings, wantW) {
		t.Fatalf("warnings:\n%s", strings.Join(warnings, "\n"))
	}
}

func TestRenderRoundTrip(t *testing.T) {
	f := &File{
		Main: &Section{Keys: map[string]string{"description": "two\nlines\n\n", "hostname": "web", "env": "A=1\x00\x00B=2"},
			LXC: [][2]string{{"lxc.idmap", "u 0 100000 65536"}}},
		Pending:   &Section{Keys: map[string]string{"memory": "1024", "delete": "swap"}},
		Snapshots: map[string]*Section{"s2": {Keys: map[string]string{"hostname": "b"}}, "s1": {Keys: map[string]string{"hostname": "a"}}},
	}
	text := Render("lxc", f)
	want := "#two\n#lines\nhostname: web\nlxc.environment.runtime: A=1\nlxc.environment.runtime: B=2\nlxc.idmap: u 0 100000 65536\n" +
		"\n[pve:pending]\ndelete: swap\nmemory: 1024\n\n[s1]\nhostname: a\n\n[s2]\nhostname: b\n"
	if text != want {
		t.Fatalf("render:\n%s\nwant:\n%s", text, want)
	}
	back, warnings := Parse("lxc", 100, text)
	if len(warnings) != 0 || back.Main.Keys["description"] != "two\nlines\n" || back.Main.Keys["env"] != "A=1\x00B=2" ||
		back.Snapshots["s2"].Keys["hostname"] != "b" || back.Current(false).Keys["memory"] != "1024" {
		t.Fatalf("parsed back %+v %v", back.Main, warnings)
	}
	if _, ok := back.Current(false).Keys["swap"]; ok {
		t.Fatal("pending delete not applied")
	}
	vm := Render("qemu", &File{Main: NewSection(), Pending: &Section{Keys: map[string]string{"description": ""}}})
	if vm != "\n[PENDING]\n#\n" {
		t.Fatalf("qemu pending description: %q", vm)
	}
}
