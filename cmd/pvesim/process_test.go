//go:build linux

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	proxmox "github.com/luthermonson/go-proxmox"
	"golang.org/x/crypto/ssh"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/guestroot"
)

// requireGuests fails (never skips) when real guests cannot run here.
func requireGuests(t *testing.T) {
	t.Helper()
	if os.Getenv("PHOENIX_SKIP_GUEST_EXEC") == "1" {
		t.Skip("PHOENIX_SKIP_GUEST_EXEC=1")
	}
	if err := guestroot.CheckDeps(); err != nil {
		t.Fatalf("%v\nfix: run scripts/install-deps.sh as root (or set PHOENIX_SKIP_GUEST_EXEC=1)", err)
	}
	if err := guestroot.Supported(); err != nil {
		t.Fatalf("%v\nfix: run the tests as root on a kernel with namespaces (or set PHOENIX_SKIP_GUEST_EXEC=1)", err)
	}
}

var (
	binOnce sync.Once
	binDir  string
	binErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// buildPvesim builds this command statically, as every build path does
// (make build, the demo, the test harness), once per test binary, into a
// directory anybody may read (the non-root test runs it as nobody).
func buildPvesim(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		if binDir, binErr = os.MkdirTemp("", "pvesim-bin-"); binErr != nil {
			return
		}
		if binErr = os.Chmod(binDir, 0o755); binErr != nil {
			return
		}
		build := exec.Command("go", "build", "-o", filepath.Join(binDir, "pvesim"), ".")
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			binErr = errors.New(string(out) + err.Error())
		}
	})
	if binErr != nil {
		t.Fatalf("build: %v", binErr)
	}
	return filepath.Join(binDir, "pvesim")
}

// startBinary runs bin with args and returns the parsed JSON line and the
// stderr collected so far; the process gets SIGTERM when the test ends.
func startBinary(t *testing.T, cmd *exec.Cmd) (Info, *syncBuilder) {
	t.Helper()
	stdout, _ := cmd.StdoutPipe()
	stderr := &syncBuilder{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("pvesim exited with %v after SIGTERM, want status 0", err)
			}
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			t.Error("pvesim did not stop on SIGTERM")
		}
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	go func() { exited <- cmd.Wait() }()
	if err != nil {
		t.Fatalf("no start line: %v (stderr %q)", err, stderr.String())
	}
	var info Info
	if err := json.Unmarshal([]byte(line), &info); err != nil {
		t.Fatalf("line %q: %v", line, err)
	}
	return info, stderr
}

type syncBuilder struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuilder) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuilder) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// The real binary, built static, as `pvesim serve`: a host-side script in
// the node shell calls pct (this same binary, dispatched by argv[0]) which
// runs its command inside the container's root. The simulator runs pct from
// its own copy: removing (or rebuilding) the binary it was started from must
// not break its node shell.
func TestServeBinaryNodeShellRunsHostScripts(t *testing.T) {
	requireGuests(t)
	dir := t.TempDir()
	bin := filepath.Join(dir, "pvesim")
	if err := copyExecutable(buildPvesim(t), bin); err != nil {
		t.Fatal(err)
	}
	roots := filepath.Join(dir, "roots")
	info, stderr := startBinary(t, exec.Command(bin, "serve", "--listen", "127.0.0.1:0", "--ssh-listen", "127.0.0.1:0",
		"--task-duration", "10ms", "--agent-boot-delay", "0s", "--guest-root-dir", roots))
	if !info.SSHServing || !info.RealGuests {
		t.Fatalf("info %+v", info)
	}
	if strings.Contains(stderr.String(), "cannot call pct") {
		t.Fatalf("static binary not used as client: %s", stderr.String())
	}
	if err := os.Remove(bin); err != nil {
		t.Fatal(err)
	}

	ctx := context.Background()
	id, secret, _ := strings.Cut(info.APIToken, "=")
	c := proxmox.NewClient(info.Endpoint, proxmox.WithAPIToken(id, secret), proxmox.WithRootCAFile(info.CACertFile))
	node, err := c.Node(ctx, "pve")
	if err != nil {
		t.Fatal(err)
	}
	task, err := node.NewContainer(ctx, 100, proxmox.ContainerOption{Name: "ostemplate", Value: "local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst"},
		proxmox.ContainerOption{Name: "hostname", Value: "feature-ct"}, proxmox.ContainerOption{Name: "rootfs", Value: "local-lvm:4"})
	if err == nil {
		err = task.Wait(ctx, 10*time.Millisecond, 10*time.Second)
	}
	if err != nil || task.ExitStatus != "OK" {
		t.Fatalf("create: %v %q", err, task.ExitStatus)
	}
	ct, err := node.Container(ctx, 100)
	if err == nil {
		task, err = ct.Start(ctx)
	}
	if err == nil {
		err = task.Wait(ctx, 10*time.Millisecond, 10*time.Second)
	}
	if err != nil {
		t.Fatal(err)
	}

	hostKey, _, _, _, _ := ssh.ParseAuthorizedKey([]byte(info.SSHHostKey))
	sc, err := ssh.Dial("tcp", info.SSHAddress, &ssh.ClientConfig{User: info.SSHUser,
		Auth: []ssh.AuthMethod{ssh.Password(info.SSHPassword)}, HostKeyCallback: ssh.FixedHostKey(hostKey)})
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	sess, _ := sc.NewSession()
	var out, errOut strings.Builder
	sess.Stdout, sess.Stderr = &out, &errOut
	err = sess.Run(`bash -c 'ctid=$1; pct exec "$ctid" -- bash -c "grep -q ^ID=debian /etc/os-release && echo ok > /root/feature"; pct exec "$ctid" -- hostname' _ 100`)
	sess.Close()
	if err != nil || out.String() != "feature-ct\n" {
		t.Fatalf("host script: %v stdout %q stderr %q", err, out.String(), errOut.String())
	}
	m, err := guestroot.New(roots)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(filepath.Join(m.Root(100), "root/feature")); err != nil || string(got) != "ok\n" {
		t.Fatalf("guest file %q %v", got, err)
	}
}

// asNonRoot runs cmd as nobody when the test runs as root.
func asNonRoot(cmd *exec.Cmd) {
	if os.Geteuid() == 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	}
	cmd.Env = append(os.Environ(), "TMPDIR=/tmp")
}

// Without root, guests cannot run commands: the JSON line says so (and that
// no node shell is served) after one warning, and the API still serves.
func TestServeAsNonRootReportsNoRealGuests(t *testing.T) {
	cmd := exec.Command(buildPvesim(t), "serve", "--listen", "127.0.0.1:0", "--ssh-listen", "127.0.0.1:0")
	asNonRoot(cmd)
	info, stderr := startBinary(t, cmd)
	if info.RealGuests || info.SSHServing || info.SSHAddress != "" || info.SSHPassword != "" {
		t.Fatalf("non-root info claims guests or SSH: %+v", info)
	}
	if n := strings.Count(stderr.String(), "warning: running without real guests ("); n != 1 {
		t.Fatalf("want one warning, stderr %q", stderr.String())
	}
	if !strings.Contains(stderr.String(), "the node shell (--ssh-listen) is not served") {
		t.Fatalf("warning does not name the node shell: %q", stderr.String())
	}
	id, secret, _ := strings.Cut(info.APIToken, "=")
	c := proxmox.NewClient(info.Endpoint, proxmox.WithAPIToken(id, secret), proxmox.WithRootCAFile(info.CACertFile))
	if nodes, err := c.Nodes(context.Background()); err != nil || len(nodes) != 1 {
		t.Fatalf("API without real guests: %+v %v", nodes, err)
	}
}

// Asked for explicitly, real guests that cannot run are an error.
func TestServeAsNonRootRefusesExplicitRealGuests(t *testing.T) {
	cmd := exec.Command(buildPvesim(t), "serve", "--listen", "127.0.0.1:0", "--real-guests=true")
	asNonRoot(cmd)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(string(out), "pvesim: --real-guests: ") {
		t.Fatalf("want exit 1 naming --real-guests, got %v: %s", err, out)
	}
}
