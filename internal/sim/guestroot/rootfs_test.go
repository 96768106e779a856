//go:build linux

package guestroot

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestTemplateOS(t *testing.T) {
	for _, tc := range []struct {
		template                      string
		id, version, codename, pretty string
	}{
		{"local:vztmpl/ubuntu-24.04-standard_24.04-2_amd64.tar.zst", "ubuntu", "24.04", "noble", "Ubuntu 24.04 LTS"},
		{"ubuntu-24.10-standard_24.10-1_amd64.tar.zst", "ubuntu", "24.10", "oracular", "Ubuntu 24.10"},
		{"local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst", "debian", "12", "bookworm", "Debian GNU/Linux 12 (bookworm)"},
		{"nfs:vztmpl/debian-13-standard_13.1-2_amd64.tar.zst", "debian", "13", "trixie", "Debian GNU/Linux 13 (trixie)"},
		{"alpine-3.22-default_20250617_amd64.tar.xz", "alpine", "3.22", "", "Alpine Linux 3.22"},
		{"rockylinux-9-default_20240912_amd64.tar.xz", "rocky", "9", "", "Rocky Linux 9"},
		{"archlinux-base_20240911-1_amd64.tar.zst", "arch", "", "", "Arch Linux"},
		{"", "debian", "13", "trixie", "Debian GNU/Linux 13 (trixie)"},
		{"something-else.tar.gz", "debian", "13", "trixie", "Debian GNU/Linux 13 (trixie)"},
	} {
		r := TemplateOS(tc.template)
		if r.ID != tc.id || r.VersionID != tc.version || r.Codename != tc.codename || r.PrettyName != tc.pretty {
			t.Errorf("TemplateOS(%q) = %+v", tc.template, r)
		}
	}
	got := string(TemplateOS("ubuntu-24.04-standard").File())
	for _, line := range []string{"ID=ubuntu\n", "VERSION_ID=\"24.04\"\n", "VERSION_CODENAME=noble\n", "ID_LIKE=debian\n", "PRETTY_NAME=\"Ubuntu 24.04 LTS\"\n"} {
		if !strings.Contains(got, line) {
			t.Errorf("os-release lacks %q:\n%s", line, got)
		}
	}
}

func TestBaseRootContents(t *testing.T) {
	m := newGuest(t, 100)
	root := m.Root(100)
	if fi, err := os.Stat(filepath.Join(root, "tmp")); err != nil || fi.Mode()&os.ModeSticky == 0 || fi.Mode().Perm() != 0o777 {
		t.Fatalf("/tmp mode: %v %v", fi.Mode(), err)
	}
	if fi, err := os.Stat(filepath.Join(root, "root")); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("/root mode: %v %v", fi.Mode(), err)
	}
	if err := requireStatic(filepath.Join(root, "bin/bash")); err != nil {
		t.Fatal(err)
	}
	var st syscall.Stat_t
	if err := syscall.Lstat(filepath.Join(root, "dev/null"), &st); err == nil {
		t.Fatal("the stored root holds a /dev/null; devices are only bound at exec time")
	}
	// Every tool feature scripts lean on resolves inside the guest.
	tools := "bash sh cat ls mkdir cp mv rm echo grep sed awk tee chmod chown sleep env id touch head tail wc sort " +
		"uniq cut tr find xargs tar gzip ps kill hostname ip mount date stat readlink ln test printf seq cloud-init"
	res := sh(t, m, 100, "for c in "+tools+"; do command -v $c >/dev/null || echo missing $c; done; "+
		"readlink /bin/sh; head -n1 /etc/passwd; stat -c %a /tmp; /usr/bin/env true && echo env-ok")
	want := "busybox\nroot:x:0:0:root:/root:/bin/bash\n1777\nenv-ok\n"
	if string(res.Stdout) != want || res.ExitCode != 0 {
		t.Fatalf("base root check:\n%s\nstderr: %s", res.Stdout, res.Stderr)
	}
	// The base is built once per manager and reused.
	base := filepath.Join(m.Dir, "base", baseVersion)
	before := lstatT(t, base)
	if err := m.Create(101, "debian-12-standard"); err != nil {
		t.Fatal(err)
	}
	if after := lstatT(t, base); after.Ino != before.Ino || after.Ctim != before.Ctim {
		t.Fatal("base root rebuilt for the second guest")
	}
	if got := readHost(t, filepath.Join(m.Root(101), "etc/os-release")); !strings.Contains(got, "VERSION_CODENAME=bookworm\n") {
		t.Fatalf("second guest's os-release:\n%s", got)
	}
}

func lstatT(t *testing.T, p string) syscall.Stat_t { return lstat(t, p) }

func TestNodeRootWithBoundTools(t *testing.T) {
	requireGuestRuntime(t, true)
	m := newManager(t)
	root, err := m.CreateNode("pve1")
	if err != nil {
		t.Fatal(err)
	}
	if again, err := m.CreateNode("pve1"); err != nil || again != root {
		t.Fatalf("CreateNode twice: %q %v", again, err)
	}
	if _, err := m.CreateNode("../evil"); err == nil {
		t.Fatal("bad node name accepted")
	}
	tools := t.TempDir()
	pct := filepath.Join(tools, "pct")
	if err := os.WriteFile(pct, []byte("#!/bin/sh\necho \"pct $*\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(tools, "api.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	shared := t.TempDir()
	res, err := ExecIn(t.Context(), root, ExecRequest{
		Argv: []string{"bash", "-c", "hostname; . /etc/os-release; echo $ID $VERSION_CODENAME; pct list; " +
			"test -S /run/phoenix/api.sock && echo socket; echo out > /var/lib/shared/result"},
		Binds: []Bind{
			{Source: pct, Target: "/usr/sbin/pct", ReadOnly: true},
			{Source: sock, Target: "/run/phoenix/api.sock"},
			{Source: shared, Target: "/var/lib/shared"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if string(res.Stdout) != "pve1\ndebian trixie\npct list\nsocket\n" {
		t.Fatalf("node shell: %q %q", res.Stdout, res.Stderr)
	}
	if got := readHost(t, filepath.Join(shared, "result")); got != "out\n" {
		t.Fatalf("rw bind: %q", got)
	}
	// Only an empty mount point remains in the root once the exec is over.
	if fi, err := os.Stat(filepath.Join(root, "usr/sbin/pct")); err != nil || fi.Size() != 0 {
		t.Fatalf("mount point after exec: %v %v", fi, err)
	}
	if err := m.DestroyNode("pve1"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(root); !os.IsNotExist(err) {
		t.Fatalf("node root left after DestroyNode: %v", err)
	}
}

func TestCheckDepsNamesTheFix(t *testing.T) {
	saved := BashStatic
	defer func() { BashStatic = saved }()
	// Missing, and dynamically linked (no libc inside a guest root).
	for p, why := range map[string]string{"/nonexistent/bash-static": "no such file", "/bin/ls": "dynamically linked"} {
		BashStatic = p
		err := CheckDeps()
		if err == nil || !strings.Contains(err.Error(), "scripts/install-guest-deps.sh") || !strings.Contains(err.Error(), why) {
			t.Errorf("CheckDeps with %s: %v", p, err)
		}
	}
}
