package main

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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

// The real binary, built static, as `pvesim serve`: a host-side script in
// the node shell calls pct (this same binary, dispatched by argv[0]) which
// runs its command inside the container's root.
func TestServeBinaryNodeShellRunsHostScripts(t *testing.T) {
	requireGuests(t)
	dir := t.TempDir()
	bin := filepath.Join(dir, "pvesim")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	roots := filepath.Join(dir, "roots")
	cmd := exec.Command(bin, "serve", "--listen", "127.0.0.1:0", "--ssh-listen", "127.0.0.1:0",
		"--task-duration", "10ms", "--agent-boot-delay", "0s", "--guest-root-dir", roots)
	stdout, _ := cmd.StdoutPipe()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			t.Error("pvesim did not stop on SIGTERM")
		}
	}()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	go func() { exited <- cmd.Wait() }()
	if err != nil {
		t.Fatalf("no start line: %v (stderr %q)", err, stderr.String())
	}
	var info Info
	if err := json.Unmarshal([]byte(line), &info); err != nil || !info.SSHServing {
		t.Fatalf("line %q: %v", line, err)
	}
	if strings.Contains(stderr.String(), "cannot call pct") {
		t.Fatalf("static binary not used as client: %s", stderr.String())
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
