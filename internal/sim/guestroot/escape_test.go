//go:build linux

package guestroot

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// hostSecret makes a host directory (outside every guest) holding a file the
// guests will try to reach, and returns the directory and file.
func hostSecret(t *testing.T) (string, string) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret")
	if err := os.WriteFile(secret, []byte("host secret\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, secret
}

func TestCommandsCannotTouchHostFiles(t *testing.T) {
	m := newGuest(t, 100)
	dir, secret := hostSecret(t)
	hostPasswd := readHost(t, "/etc/passwd")

	res := sh(t, m, 100, fmt.Sprintf(`
cat %[1]s && echo READ-HOST
echo pwned > %[1]s && echo WROTE-ABS
cd / && echo pwned > ../../../..%[1]s && echo WROTE-DOTDOT
ls /../../.. | grep -qx proc && echo SAME-ROOT
mkdir -p %[2]s && echo guest > %[1]s && echo GUEST-COPY
echo 'evil:x:0:0::/root:/bin/bash' >> /etc/passwd && echo PASSWD
ls /proc/1/root/ >/dev/null 2>&1 || echo NO-INIT-ROOT
`, secret, dir))
	out := string(res.Stdout)
	for _, bad := range []string{"READ-HOST", "WROTE-ABS", "WROTE-DOTDOT"} {
		if strings.Contains(out, bad) {
			t.Errorf("guest command succeeded at %s: %q", bad, out)
		}
	}
	for _, good := range []string{"SAME-ROOT", "GUEST-COPY", "PASSWD", "NO-INIT-ROOT"} {
		if !strings.Contains(out, good) {
			t.Errorf("expected %s in %q (stderr %q)", good, out, res.Stderr)
		}
	}
	if got := readHost(t, secret); got != "host secret\n" {
		t.Fatalf("host file changed to %q", got)
	}
	if got := readHost(t, "/etc/passwd"); got != hostPasswd {
		t.Fatal("host /etc/passwd changed")
	}
	if got := readHost(t, filepath.Join(m.Root(100), secret)); got != "guest\n" {
		t.Fatalf("guest's copy of the path = %q", got)
	}
	if !strings.HasSuffix(readHost(t, filepath.Join(m.Root(100), "etc/passwd")), "evil:x:0:0::/root:/bin/bash\n") {
		t.Fatal("the write to /etc/passwd did not land in the guest's copy")
	}
}

func TestFileAccessCannotEscapeRoot(t *testing.T) {
	m := newGuest(t, 100)
	dir, secret := hostSecret(t)
	root := m.Root(100)
	// Guest-planted links a naive filepath.Join(root, p) would follow out.
	for name, target := range map[string]string{
		"etc/abs":   secret,
		"etc/rel":   "../../../../../../../../.." + secret,
		"etc/up":    "../../../../../../../../..",
		"etc/slash": "/",
	} {
		if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{"/etc/abs", "/etc/rel", "/etc/up" + secret, "/etc/slash" + secret, "../../../.." + secret, secret} {
		data, _, err := m.ReadFile(100, p, 0)
		if err == nil || strings.Contains(string(data), "host secret") {
			t.Errorf("ReadFile(%q) = %q, %v; want not-found inside the guest", p, data, err)
		}
		if err := m.WriteFile(100, p, []byte("x"), 0o644); err == nil {
			t.Errorf("WriteFile(%q) succeeded although its directory does not exist in the guest", p)
		}
	}
	// With the directories present in the guest, every spelling lands in the guest's copy.
	if err := os.MkdirAll(filepath.Join(root, dir), 0o755); err != nil {
		t.Fatal(err)
	}
	for i, p := range []string{"/etc/abs", "/etc/rel", "/etc/up" + secret, "/etc/slash" + secret, "../../../.." + secret} {
		want := fmt.Sprintf("guest %d", i)
		if err := m.WriteFile(100, p, []byte(want), 0o600); err != nil {
			t.Fatalf("WriteFile(%q): %v", p, err)
		}
		if got := readHost(t, filepath.Join(root, secret)); got != want {
			t.Fatalf("WriteFile(%q) wrote %q to the guest's copy, want %q", p, got, want)
		}
		data, truncated, err := m.ReadFile(100, p, 0)
		if err != nil || string(data) != want || truncated {
			t.Fatalf("ReadFile(%q) = %q %v %v", p, data, truncated, err)
		}
	}
	if got := readHost(t, secret); got != "host secret\n" {
		t.Fatalf("host file changed to %q", got)
	}
	// A FIFO planted by the guest must not hang a read.
	if err := syscall.Mkfifo(filepath.Join(root, "run/fifo"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := m.ReadFile(100, "/run/fifo", 0); err == nil {
		t.Error("ReadFile of a FIFO should fail")
	}
	// Read limits.
	if err := m.WriteFile(100, "/tmp/big", []byte("0123456789"), 0o644); err != nil {
		t.Fatal(err)
	}
	if data, truncated, _ := m.ReadFile(100, "/tmp/big", 4); string(data) != "0123" || !truncated {
		t.Fatalf("limited read = %q truncated=%v", data, truncated)
	}
	if data, truncated, _ := m.ReadFile(100, "/tmp/big", 10); string(data) != "0123456789" || truncated {
		t.Fatalf("exact read = %q truncated=%v", data, truncated)
	}
}

func TestBindTargetsStayInRoot(t *testing.T) {
	m := newGuest(t, 100)
	hostDir := t.TempDir()
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "tool"), []byte("#!/bin/sh\necho tool \"$@\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	// The guest points /mnt/link at a host path; the mount point is still made inside the guest.
	if err := os.Symlink(hostDir, filepath.Join(m.Root(100), "mnt/link")); err != nil {
		t.Fatal(err)
	}
	res := run(t, m, 100, ExecRequest{
		Argv:  []string{"sh", "-c", "/mnt/link/bin/tool hi; echo x > /mnt/link/bin/tool || echo read-only"},
		Binds: []Bind{{Source: src, Target: "/mnt/link/bin", ReadOnly: true}},
	})
	if string(res.Stdout) != "tool hi\nread-only\n" {
		t.Fatalf("bound tool: %q %q", res.Stdout, res.Stderr)
	}
	if entries, _ := os.ReadDir(hostDir); len(entries) != 0 {
		t.Fatalf("bind created %d entries in the host directory the guest pointed at", len(entries))
	}
	if _, err := os.Stat(filepath.Join(m.Root(100), hostDir, "bin")); err != nil {
		t.Fatalf("mount point not created inside the guest: %v", err)
	}
	if got := readHost(t, filepath.Join(src, "tool")); !strings.HasPrefix(got, "#!/bin/sh") {
		t.Fatal("read-only bind was written")
	}
}
