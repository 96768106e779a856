package nodeshell

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// sandboxSocket finds the host path of the tool socket bound into req.
func sandboxSocket(t *testing.T, req ExecRequest) string {
	for _, b := range req.Binds {
		if b.Target == SocketDir {
			return filepath.Join(b.Source, socketName)
		}
	}
	t.Fatalf("no socket bind in %+v", req.Binds)
	return ""
}

func TestSandboxConfEditAndNestedPct(t *testing.T) {
	s, f := newTestServer(t)
	s.cfg.ClientBinary = "/opt/pvesim/pvesim"
	// Appending to a conf that ends in a snapshot section would land in
	// that snapshot (as on PVE), so this CT has none.
	f.guests[950].conf = ct950[:strings.Index(ct950, "\n[pve:pending]")+1]
	script := "cat >> /etc/pve/lxc/950.conf <<'EOF'\nlxc.apparmor.profile: unconfined\n" +
		"lxc.mount.entry: /dev/net dev/net none bind,create=dir\nEOF\npct config 950 | tail -n 3\n"
	f.nodeFn = func(ctx context.Context, root string, req ExecRequest) (ExecResult, error) {
		if !reflect.DeepEqual(req.Argv, []string{"/bin/bash", "-c", script}) || req.Dir != "/root" {
			t.Errorf("sandbox argv %q dir %q", req.Argv, req.Dir)
		}
		if !strings.Contains(strings.Join(req.Env, "\n"), SocketEnv+"=/run/pve-nodeshell/nodeshell.sock") {
			t.Errorf("env lacks the socket: %q", req.Env)
		}
		wantBin := []Bind{{Source: "/opt/pvesim/pvesim", Target: "/usr/sbin/pct", ReadOnly: true}, {Source: "/opt/pvesim/pvesim", Target: "/usr/sbin/qm", ReadOnly: true},
			{Source: "/opt/pvesim/pvesim", Target: "/usr/sbin/pvesm", ReadOnly: true}}
		if !reflect.DeepEqual(req.Binds[1:], wantBin) {
			t.Errorf("binds %+v", req.Binds)
		}
		// What the script does: append through the /etc/pve/lxc link, then
		// call the in-sandbox pct client.
		conf := filepath.Join(root, "etc/pve/lxc/950.conf")
		fh, err := os.OpenFile(conf, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			return ExecResult{}, err
		}
		_, _ = io.WriteString(fh, "lxc.apparmor.profile: unconfined\nlxc.mount.entry: /dev/net dev/net none bind,create=dir\n")
		fh.Close()
		var out bytes.Buffer
		code := RunClient(sandboxSocket(t, req), []string{"pct", "config", "950"}, nil, &out, req.Stderr)
		lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
		_, _ = io.WriteString(req.Stdout, strings.Join(lines[len(lines)-3:], "\n")+"\n")
		return ExecResult{ExitCode: code}, nil
	}
	out, errOut, code := run(t, s, script, "")
	want := "lxc.cgroup2.devices.allow: c 195:* rwm\nlxc.apparmor.profile: unconfined\nlxc.mount.entry: /dev/net dev/net none bind,create=dir\n"
	if code != 0 || out != want || errOut != "" {
		t.Fatalf("script: %d %q %q", code, out, errOut)
	}
	if len(f.setTexts) != 1 || !strings.HasSuffix(f.setTexts[0], "lxc.apparmor.profile: unconfined\nlxc.mount.entry: /dev/net dev/net none bind,create=dir\n") {
		t.Fatalf("conf parsed back %d times: %q", len(f.setTexts), f.setTexts)
	}
	// the fast path sees the same config
	out, _, _ = run(t, s, "pct config 950", "")
	if !strings.HasSuffix(out, want) {
		t.Errorf("pct config after edit: %q", out)
	}
	// /etc/pve layout of a PVE node: per-node dirs and this node's links
	root := f.roots["pve1"]
	for link, target := range map[string]string{"etc/pve/lxc": "nodes/pve1/lxc", "etc/pve/qemu-server": "nodes/pve1/qemu-server", "etc/pve/local": "nodes/pve1"} {
		if got, err := os.Readlink(filepath.Join(root, link)); err != nil || got != target {
			t.Errorf("%s -> %q (%v)", link, got, err)
		}
	}
	if b, err := os.ReadFile(filepath.Join(root, "etc/pve/nodes/pve2/lxc/960.conf")); err != nil || string(b) != "hostname: ct960\n" {
		t.Errorf("other node's conf: %q %v", b, err)
	}
	if b, err := os.ReadFile(filepath.Join(root, "etc/pve/qemu-server/100.conf")); err != nil || !strings.Contains(string(b), "agent: 1") {
		t.Errorf("vm conf: %q %v", b, err)
	}
	// a pct set between sessions is rendered into the file for the next one
	f.guests[951].conf = "hostname: renamed\n"
	f.nodeFn = func(ctx context.Context, root string, req ExecRequest) (ExecResult, error) {
		b, _ := os.ReadFile(filepath.Join(root, "etc/pve/lxc/951.conf"))
		_, _ = req.Stdout.Write(b)
		return ExecResult{}, nil
	}
	if out, _, _ := run(t, s, "cat /etc/pve/lxc/951.conf", ""); out != "hostname: renamed\n" {
		t.Errorf("re-rendered conf: %q", out)
	}
	if len(f.setTexts) != 1 {
		t.Errorf("unchanged files parsed back: %d", len(f.setTexts))
	}
}

func TestClientSocketStdinIsLazy(t *testing.T) {
	s, _ := newTestServer(t)
	ss, err := s.listenSession(context.Background(), "pve1")
	if err != nil {
		t.Fatal(err)
	}
	defer ss.close()
	sock := filepath.Join(ss.dir, socketName)

	// pct config does not read stdin: a `while read` loop keeps its input
	in := strings.NewReader("next line\n")
	var out, errb bytes.Buffer
	if code := RunClient(sock, []string{"/usr/sbin/pct", "status", "950"}, in, &out, &errb); code != 0 || out.String() != "status: running\n" {
		t.Fatalf("status: %d %q %q", code, out.String(), errb.String())
	}
	if in.Len() != len("next line\n") {
		t.Errorf("stdin consumed by a command that does not read it")
	}
	// pct exec forwards stdin and the guest command's exit code
	out.Reset()
	if code := RunClient(sock, []string{"pct", "exec", "950", "--", "cat"}, strings.NewReader("via socket"), &out, &errb); code != 0 || out.String() != "via socket" {
		t.Fatalf("exec cat: %d %q", code, out.String())
	}
	out.Reset()
	errb.Reset()
	if code := RunClient(sock, []string{"pct", "exec", "950", "--", "fail", "4", "o", "e"}, nil, &out, &errb); code != 4 || out.String() != "o" || errb.String() != "e" {
		t.Fatalf("exec fail: %d %q %q", code, out.String(), errb.String())
	}
	errb.Reset()
	if code := RunClient(sock, []string{"pct", "exec", "951", "--", "true"}, nil, &out, &errb); code != 255 || errb.String() != "container '951' not running!\n" {
		t.Fatalf("stopped: %d %q", code, errb.String())
	}
	// the simulator binary may also be called as `pvesim qm ...`
	out.Reset()
	if code := RunClient(sock, []string{"pvesim", "qm", "status", "100"}, nil, &out, &errb); code != 0 || out.String() != "status: running\n" {
		t.Fatalf("qm via argv[1]: %d %q", code, out.String())
	}
}

// TestClientMain runs the real entry point in-process with its stdio
// redirected to files.
func TestClientMain(t *testing.T) {
	s, _ := newTestServer(t)
	ss, err := s.listenSession(context.Background(), "pve1")
	if err != nil {
		t.Fatal(err)
	}
	defer ss.close()
	dir := t.TempDir()
	outF, _ := os.Create(filepath.Join(dir, "out"))
	errF, _ := os.Create(filepath.Join(dir, "err"))
	oldOut, oldErr := os.Stdout, os.Stderr
	os.Stdout, os.Stderr = outF, errF
	t.Setenv(SocketEnv, filepath.Join(ss.dir, socketName))
	code := ClientMain([]string{"/usr/sbin/pct", "exec", "950", "--", "echo", "from", "main"})
	t.Setenv(SocketEnv, filepath.Join(dir, "missing.sock"))
	code2 := ClientMain([]string{"qm", "status", "100"})
	os.Stdout, os.Stderr = oldOut, oldErr
	outF.Close()
	errF.Close()
	out, _ := os.ReadFile(filepath.Join(dir, "out"))
	errOut, _ := os.ReadFile(filepath.Join(dir, "err"))
	if code != 0 || string(out) != "from main\n" {
		t.Errorf("ClientMain: %d %q", code, out)
	}
	if code2 != 255 || !strings.HasPrefix(string(errOut), "qm: cannot reach the node shell: ") {
		t.Errorf("ClientMain without server: %d %q", code2, errOut)
	}
	if !IsClientName("/usr/sbin/qm") || IsClientName("/usr/bin/pvesim") {
		t.Error("IsClientName")
	}
}

func TestSessionEndDropsToolCalls(t *testing.T) {
	s, f := newTestServer(t)
	var sock string
	f.nodeFn = func(ctx context.Context, root string, req ExecRequest) (ExecResult, error) {
		sock = sandboxSocket(t, req)
		return ExecResult{}, nil
	}
	run(t, s, "true; true", "")
	var errb bytes.Buffer
	if code := RunClient(sock, []string{"pct", "status", "950"}, nil, io.Discard, &errb); code != 255 {
		t.Errorf("socket of a finished command still answers: %d", code)
	}
	if _, err := os.Stat(filepath.Dir(sock)); !os.IsNotExist(err) {
		t.Errorf("socket dir left behind: %v", err)
	}
}
