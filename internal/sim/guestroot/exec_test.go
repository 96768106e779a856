//go:build linux

package guestroot

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestScriptRunsInsideItsGuestOnly(t *testing.T) {
	m := newGuest(t, 100)
	if err := m.Create(101, "debian-12-standard_12.7-1_amd64.tar.zst"); err != nil {
		t.Fatal(err)
	}
	marker := "phoenix-marker-" + randHex(t)
	if _, err := os.Stat("/root/" + marker); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("host already has /root/%s", marker)
	}
	script := "#!/bin/bash\nset -e\necho \"feature ran as $(id -u) in $PWD\" > /root/" + marker + "\necho done\n"
	if err := m.WriteFile(100, "/root/feature.sh", []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	res := run(t, m, 100, ExecRequest{Argv: []string{"/root/feature.sh"}, Dir: "/tmp"})
	if res.ExitCode != 0 || string(res.Stdout) != "done\n" || len(res.Stderr) != 0 {
		t.Fatalf("script: %+v", res)
	}
	if got := readHost(t, filepath.Join(m.Root(100), "root", marker)); got != "feature ran as 0 in /tmp\n" {
		t.Fatalf("marker in guest = %q", got)
	}
	if _, err := os.Stat("/root/" + marker); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("script wrote the host's /root/%s", marker)
	}
	if _, err := os.Stat(filepath.Join(m.Root(101), "root", marker)); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("script's file appeared in another guest")
	}
}

func TestExitCodesAndStreamsExact(t *testing.T) {
	m := newGuest(t, 100)
	for _, code := range []int{0, 1, 42, 255} {
		res := sh(t, m, 100, fmt.Sprintf("printf 'out\\x00%d\\n'; printf 'err %d' >&2; exit %d", code, code, code))
		if res.ExitCode != code || res.Signal != 0 || res.TimedOut {
			t.Fatalf("exit %d: got %+v", code, res)
		}
		if want := fmt.Sprintf("out\x00%d\n", code); string(res.Stdout) != want {
			t.Fatalf("stdout = %q, want %q", res.Stdout, want)
		}
		if want := fmt.Sprintf("err %d", code); string(res.Stderr) != want {
			t.Fatalf("stderr = %q, want %q", res.Stderr, want)
		}
	}
	res := sh(t, m, 100, "echo before; kill -TERM $$; echo after")
	if res.Signal != int(syscall.SIGTERM) || res.ExitCode != -1 || string(res.Stdout) != "before\n" {
		t.Fatalf("signalled command: %+v", res)
	}
	// A script without #! runs under /bin/sh, as execvp and qemu-ga do.
	if err := m.WriteFile(100, "/usr/local/bin/noshebang", []byte("echo plain $1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	res = run(t, m, 100, ExecRequest{Argv: []string{"noshebang", "x"}})
	if string(res.Stdout) != "plain x\n" || res.ExitCode != 0 {
		t.Fatalf("no-shebang script: %+v", res)
	}
}

func TestEnvStdinDirPassed(t *testing.T) {
	m := newGuest(t, 100)
	env := []string{"PATH=/usr/bin:/bin", "FEATURE=a b=c", "EMPTY="}
	res := run(t, m, 100, ExecRequest{Argv: []string{"env"}, Env: env})
	got := strings.Split(strings.TrimSuffix(string(res.Stdout), "\n"), "\n")
	sort.Strings(got)
	want := append([]string(nil), env...)
	sort.Strings(want)
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("env = %q, want exactly %q", got, want)
	}
	// nil Env: a root login environment, never the host's.
	os.Setenv("PHOENIX_HOST_ONLY", "leak")
	defer os.Unsetenv("PHOENIX_HOST_ONLY")
	res = run(t, m, 100, ExecRequest{Argv: []string{"env"}})
	if strings.Contains(string(res.Stdout), "PHOENIX_HOST_ONLY") || strings.Contains(string(res.Stdout), initEnv) ||
		!strings.Contains(string(res.Stdout), "HOME=/root\n") {
		t.Fatalf("default env = %q", res.Stdout)
	}

	input := make([]byte, 300<<10) // larger than a pipe buffer
	if _, err := rand.Read(input); err != nil {
		t.Fatal(err)
	}
	res = run(t, m, 100, ExecRequest{Argv: []string{"cat"}, Stdin: bytes.NewReader(input)})
	if !bytes.Equal(res.Stdout, input) || res.StdoutTruncated {
		t.Fatalf("stdin round trip: got %d bytes, want %d", len(res.Stdout), len(input))
	}
	res = run(t, m, 100, ExecRequest{Argv: []string{"sh", "-c", "wc -c"}})
	if strings.TrimSpace(string(res.Stdout)) != "0" {
		t.Fatalf("nil stdin should be empty, wc -c = %q", res.Stdout)
	}
	res = run(t, m, 100, ExecRequest{Argv: []string{"pwd"}, Dir: "/var/log"})
	if string(res.Stdout) != "/var/log\n" {
		t.Fatalf("pwd = %q", res.Stdout)
	}
}

func TestStartErrors(t *testing.T) {
	m := newGuest(t, 100)
	for _, req := range []ExecRequest{
		{Argv: []string{"no-such-command"}},
		{Argv: []string{"/usr/bin/missing"}},
		{Argv: []string{"true"}, Dir: "/no/such/dir"},
	} {
		_, err := m.Exec(context.Background(), 100, req)
		var se *StartError
		if !errors.As(err, &se) || se.Argv0 != req.Argv[0] {
			t.Fatalf("%+v: want StartError, got %v", req, err)
		}
	}
	if _, err := m.Exec(context.Background(), 999, ExecRequest{Argv: []string{"true"}}); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("exec in missing guest: %v", err)
	}
	if _, err := ExecIn(context.Background(), "/", ExecRequest{Argv: []string{"true"}}); err == nil {
		t.Fatal("ExecIn accepted the host's / as a root")
	}
}

func TestTimeoutKillsWholeProcessTree(t *testing.T) {
	m := newGuest(t, 100)
	// Each sleeper signals through its own host FIFO (bound into the guest)
	// once it runs, so the test knows the tree is up without sleeping.
	fifos := t.TempDir()
	for _, name := range []string{"orphan", "child"} {
		if err := syscall.Mkfifo(filepath.Join(fifos, name), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	token := "phoenix-hang-" + randHex(t)
	// The token reaches the sleepers through the environment, so only they carry it.
	script := `(setsid bash -c 'echo up > /run/ready/orphan; sleep 1000; true' "$TOKEN-orphan" &)
bash -c 'echo up > /run/ready/child; sleep 1000; true' "$TOKEN-child" &
echo partial
wait`
	// Held open read-write, the FIFOs never report EOF and can be unblocked
	// by the test itself should the guest never write.
	var pipes []*os.File
	for _, name := range []string{"orphan", "child"} {
		f, err := os.OpenFile(filepath.Join(fifos, name), os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		pipes = append(pipes, f)
	}
	ready := make(chan []string, 1)
	go func() {
		for _, f := range pipes {
			buf := make([]byte, 16)
			if n, _ := f.Read(buf); string(buf[:n]) != "up\n" {
				ready <- nil
				return
			}
		}
		ready <- hostProcsWith(t, token)
	}()
	start := time.Now()
	res, err := m.Exec(context.Background(), 100, ExecRequest{
		Argv:    []string{"bash", "-c", script},
		Env:     []string{"TOKEN=" + token},
		Timeout: 2 * time.Second,
		Binds:   []Bind{{Source: fifos, Target: "/run/ready"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range pipes {
		_, _ = f.Write([]byte("late\n")) // releases the reader if a sleeper never started
	}
	running := <-ready
	joined := strings.Join(running, "\n")
	if !strings.Contains(joined, token+"-orphan") || !strings.Contains(joined, token+"-child") {
		t.Fatalf("while the command ran, the host should see the orphan and the child: %q", running)
	}
	if !res.TimedOut || res.Signal != int(syscall.SIGKILL) || res.ExitCode != -1 {
		t.Fatalf("want a timed-out, SIGKILLed result, got %+v", res)
	}
	if string(res.Stdout) != "partial\n" {
		t.Fatalf("output before the kill lost: %q", res.Stdout)
	}
	if left := hostProcsWith(t, token); len(left) != 0 {
		t.Fatalf("processes survived the timeout: %q", left)
	}
	if time.Since(start) > 20*time.Second {
		t.Fatalf("timeout took %v", time.Since(start))
	}

	// Cancelling the context kills the same way and reports the context's error.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := m.Exec(ctx, 100, ExecRequest{Argv: []string{"sleep", "1000"}}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled exec: %v", err)
	}
}

func TestBackgroundProcessesDieWithTheCommand(t *testing.T) {
	m := newGuest(t, 100)
	token := "phoenix-bg-" + randHex(t)
	res := sh(t, m, 100, fmt.Sprintf("(setsid bash -c 'sleep 1000; true' %s &); echo started", token))
	if res.ExitCode != 0 || string(res.Stdout) != "started\n" {
		t.Fatalf("%+v", res)
	}
	if left := hostProcsWith(t, token); len(left) != 0 {
		t.Fatalf("a daemon outlived its exec: %q", left)
	}
}

func TestOutputTruncationFlagged(t *testing.T) {
	m := newGuest(t, 100)
	res := run(t, m, 100, ExecRequest{
		Argv:      []string{"bash", "-c", "for i in $(seq 1 2000); do echo line$i; done; echo short >&2"},
		MaxOutput: 1000,
	})
	var want strings.Builder
	for i := 1; i <= 2000; i++ {
		fmt.Fprintf(&want, "line%d\n", i)
	}
	if !res.StdoutTruncated || string(res.Stdout) != want.String()[:1000] {
		t.Fatalf("stdout: truncated=%v len=%d", res.StdoutTruncated, len(res.Stdout))
	}
	if res.StderrTruncated || string(res.Stderr) != "short\n" || res.ExitCode != 0 {
		t.Fatalf("stderr: %+v", res)
	}
	// Default cap: qemu-ga's 16 MiB per stream.
	res = run(t, m, 100, ExecRequest{Argv: []string{"head", "-c", fmt.Sprint(DefaultMaxOutput + 10), "/dev/zero"}})
	if len(res.Stdout) != DefaultMaxOutput || !res.StdoutTruncated || res.ExitCode != 0 {
		t.Fatalf("default cap: len=%d truncated=%v exit=%d", len(res.Stdout), res.StdoutTruncated, res.ExitCode)
	}
	res = run(t, m, 100, ExecRequest{Argv: []string{"head", "-c", "4096", "/dev/zero"}, MaxOutput: 4096})
	if len(res.Stdout) != 4096 || res.StdoutTruncated {
		t.Fatalf("exactly MaxOutput bytes is not truncation: len=%d truncated=%v", len(res.Stdout), res.StdoutTruncated)
	}
}

func TestNamespaceView(t *testing.T) {
	m := newGuest(t, 100)
	if err := m.WriteFile(100, "/etc/hostname", []byte("ct100\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	hostName, _ := os.Hostname()
	res := sh(t, m, 100, "hostname; echo $$; ls /sys; cat /proc/1/cmdline | tr '\\0' ' '; echo; ip -o link | cut -d: -f2")
	lines := strings.Split(string(res.Stdout), "\n")
	if len(lines) < 4 || lines[0] != "ct100" || lines[1] == "1" || lines[2] != "phoenix-guest-init " ||
		strings.TrimSpace(lines[3]) != "lo" || res.ExitCode != 0 {
		t.Fatalf("guest view (hostname, pid, /sys, init, links): %q stderr %q", res.Stdout, res.Stderr)
	}
	res = run(t, m, 100, ExecRequest{Argv: []string{"hostname"}, Hostname: "override"})
	if string(res.Stdout) != "override\n" {
		t.Fatalf("hostname override: %q", res.Stdout)
	}
	if now, _ := os.Hostname(); now != hostName {
		t.Fatalf("host name changed from %q to %q", hostName, now)
	}
	// Capabilities that would reach the host are gone, even for guest root.
	res = sh(t, m, 100, "mknod /tmp/disk b 254 0 || echo mknod-denied; mount -t sysfs sysfs /sys || echo mount-denied; "+
		"cat /proc/1/exe > /dev/null || echo exe-denied")
	if string(res.Stdout) != "mknod-denied\nmount-denied\nexe-denied\n" {
		t.Fatalf("privileged operations: %q %q", res.Stdout, res.Stderr)
	}
	if _, err := os.Lstat(filepath.Join(m.Root(100), "tmp/disk")); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("guest created a device node")
	}
}

// An unprivileged guest's commands run in a user namespace mapped as PVE
// maps unprivileged containers (0 100000 65536, or its lxc.idmap lines),
// over a root whose owners MapOwners shifted into that range.
func TestUnprivilegedUsesUserNamespace(t *testing.T) {
	m := newGuest(t, 100)
	if err := m.MapOwners(100, DefaultIDMap); err != nil {
		t.Fatal(err)
	}
	var st syscall.Stat_t
	if err := syscall.Lstat(filepath.Join(m.Root(100), "root"), &st); err != nil || st.Uid != 100000 || st.Gid != 100000 {
		t.Fatalf("/root after MapOwners: %d:%d %v", st.Uid, st.Gid, err)
	}
	res := run(t, m, 100, ExecRequest{Argv: []string{"sh", "-c", "id -u; cat /proc/self/uid_map /proc/self/gid_map; touch /root/owned"}, Unprivileged: true})
	if UserNamespacesSupported() != nil {
		if res.UserNamespace || !strings.HasPrefix(string(res.Stdout), "0\n") {
			t.Fatalf("fallback should run as root without a user namespace: %+v", res)
		}
		return
	}
	if f := strings.Fields(string(res.Stdout)); !res.UserNamespace || strings.Join(f, " ") != "0 0 100000 65536 0 100000 65536" {
		t.Fatalf("unprivileged: %q %q", res.Stdout, res.Stderr)
	}
	if err := syscall.Lstat(filepath.Join(m.Root(100), "root/owned"), &st); err != nil || st.Uid != 100000 {
		t.Fatalf("a file the guest's root made is host uid %d (%v), want 100000", st.Uid, err)
	}
	// lxc.idmap lines replace the default map
	custom := []IDMap{{'u', 0, 100000, 1000}, {'u', 1000, 1000, 1}, {'u', 1001, 101001, 64535}, {'g', 0, 100000, 65536}}
	res = run(t, m, 100, ExecRequest{Argv: []string{"cat", "/proc/self/uid_map"}, IDMap: custom})
	if f := strings.Fields(string(res.Stdout)); strings.Join(f, " ") != "0 100000 1000 1000 1000 1 1001 101001 64535" {
		t.Fatalf("lxc.idmap: %q %q", res.Stdout, res.Stderr)
	}
	res = run(t, m, 100, ExecRequest{Argv: []string{"cat", "/proc/self/uid_map"}})
	if res.UserNamespace || !strings.Contains(string(res.Stdout), "4294967295") {
		t.Fatalf("privileged exec should not be in a user namespace: %q", res.Stdout)
	}
	// a root left unshifted is not the namespace root's to write
	m2 := newGuest(t, 101)
	res2, err := m2.Exec(context.Background(), 101, ExecRequest{Argv: []string{"touch", "/root/x"}, Unprivileged: true})
	if err != nil || res2.ExitCode == 0 {
		t.Fatalf("unshifted root writable from the user namespace: %+v %v", res2, err)
	}
}

func TestNoMountLeaksToHost(t *testing.T) {
	m := newGuest(t, 100)
	run(t, m, 100, ExecRequest{Argv: []string{"true"}, Binds: []Bind{{Source: t.TempDir(), Target: "/mnt/x"}}})
	mounts := readHost(t, "/proc/self/mountinfo")
	if strings.Contains(mounts, m.Dir) {
		t.Fatalf("a guest mount is visible on the host:\n%s", mounts)
	}
}

func randHex(t testing.TB) string {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}
