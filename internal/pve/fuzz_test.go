package pve

import (
	"reflect"
	"regexp"
	"strings"
	"testing"
	"unicode"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/pveconf"
)

// Fuzz tests of the command lines and config lines the provider builds for
// the node: a shell splits ShellQuote's line back into exactly its words
// (nothing runs, expands or splits), and ReplaceRawLXC's file reads, as PVE's
// parser (the simulator's pveconf) reads it, with exactly the raw lines
// asked for, every other key and the snapshots untouched.

func FuzzShellQuote(f *testing.F) {
	for _, s := range nasty {
		f.Add(s, "x")
	}
	f.Add("$(touch /tmp/pwned)", "`reboot`")
	f.Add("a'b\"c;d|e&f>g<h", "\n\t ")
	f.Fuzz(func(t *testing.T, a, b string) {
		if strings.ContainsRune(a+b, 0) {
			return // a NUL cannot travel in an argument (see ShellQuote)
		}
		want := []string{a, b, "--", a}
		if got := printfWords(t, "/bin/sh", ShellQuote(want...)); !reflect.DeepEqual(got, want) {
			t.Fatalf("%q came back from the shell as %q", want, got)
		}
	})
}

var rawKeyOK = regexp.MustCompile(`^lxc\.[a-z0-9_\-.]+$`).MatchString

func FuzzReplaceRawLXC(f *testing.F) {
	f.Add("lxc.apparmor.profile", "unconfined", "lxc.cgroup2.devices.allow", "c 195:* rwm")
	f.Add("lxc.mount.entry", "/dev/fuse dev/fuse none bind,create=file", "lxc.cap.drop", "")
	f.Add("lxc.x", "v\n[golden]\nhostname: evil", "lxc.y", "arch: arm64")
	f.Add("lxc.environment", "A=1 # not a comment", "lxc.idmap", "u 0 100000 65536")
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2 string) {
		lines := [][2]string{{k1, v1}, {k2, v2}}
		for _, l := range lines {
			// The provider's rules (lxc_options at plan time, raw values trimmed).
			if !rawKeyOK(l[0]) || strings.ContainsAny(l[1], "\n\r") || strings.TrimFunc(l[1], unicode.IsSpace) != l[1] || l[1] == "" {
				return
			}
		}
		base := &pveconf.File{Main: pveconf.NewSection(), Snapshots: map[string]*pveconf.Section{"golden": pveconf.NewSection()}}
		base.Main.Keys = map[string]string{"arch": "amd64", "hostname": "web", "parent": "golden", "rootfs": "local-lvm:vm-100-disk-0,size=8G"}
		base.Main.LXC = [][2]string{{"lxc.apparmor.profile", "generated"}}
		base.Snapshots["golden"].Keys = map[string]string{"arch": "amd64", "hostname": "old", "snaptime": "1700000000"}
		base.Snapshots["golden"].LXC = [][2]string{{"lxc.cap.drop", "sys_time"}}
		conf := pveconf.Render("lxc", base)
		next := ReplaceRawLXC(conf, lines)
		if again := ReplaceRawLXC(next, lines); again != next {
			t.Fatalf("a second write changes the file:\n%s\n---\n%s", next, again)
		}
		got, warnings := pveconf.Parse("lxc", 100, next)
		for _, w := range warnings {
			if !strings.Contains(w, "unable to parse config: "+k1) && !strings.Contains(w, "unable to parse config: "+k2) {
				t.Fatalf("PVE warns about the written file: %v\n%s", warnings, next)
			}
		}
		if len(warnings) > 0 {
			return // a key PVE does not know: it drops the line, which setRawLXC's read-back reports
		}
		if !reflect.DeepEqual(got.Main.LXC, lines) {
			t.Fatalf("raw lines %q read back as %q\n%s", lines, got.Main.LXC, next)
		}
		if !reflect.DeepEqual(got.Main.Keys, base.Main.Keys) {
			t.Fatalf("other keys changed: %v, want %v\n%s", got.Main.Keys, base.Main.Keys, next)
		}
		if s := got.Snapshots["golden"]; s == nil || !reflect.DeepEqual(s.Keys, base.Snapshots["golden"].Keys) || !reflect.DeepEqual(s.LXC, base.Snapshots["golden"].LXC) {
			t.Fatalf("the snapshot section changed: %+v\n%s", s, next)
		}
	})
}
