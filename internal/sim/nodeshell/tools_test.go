package nodeshell

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
)

var errNoent = syscall.ENOENT

const ct950 = `#web front%3A nginx
arch: amd64
hostname: ct950
memory: 2048
net0: name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:00:01,ip=dhcp,type=veth
ostype: debian
rootfs: local-lvm:vm-950-disk-0,size=8G
unprivileged: 1
lxc.cgroup2.devices.allow: c 195:* rwm

[pve:pending]
memory: 4096

[before]
hostname: old
memory: 1024
snaptime: 1700000000
`

func newTestServer(t *testing.T) (*Server, *fakeCluster) {
	t.Helper()
	f := newFake(t, "pve1", "pve2")
	f.add(950, "pve1", "lxc", "running", ct950)
	f.add(951, "pve1", "lxc", "stopped", "hostname: ct951\n")
	f.add(960, "pve2", "lxc", "running", "hostname: ct960\n")
	f.add(100, "pve1", "qemu", "running", "agent: 1\nname: vm100\nscsi0: local-lvm:vm-100-disk-0,size=32G\n")
	s, err := New(Config{Cluster: f, Nodes: []string{"pve1", "pve2"}, Password: "secret"})
	if err != nil {
		t.Fatal(err)
	}
	return s, f
}

// run executes a command line on pve1 through Server.Run.
func run(t *testing.T, s *Server, line, stdin string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := s.Run(context.Background(), "pve1", line, strings.NewReader(stdin), &out, &errb)
	return out.String(), errb.String(), code
}

func TestPctErrorsAsPVE(t *testing.T) {
	s, _ := newTestServer(t)
	cases := []struct {
		line, stderr string
		code         int
	}{
		{"pct exec 951 -- echo hi", "container '951' not running!\n", 255},
		{"pct exec 960 -- echo hi", "Configuration file 'nodes/pve1/lxc/960.conf' does not exist\n", 255},
		{"pct exec 100 -- echo hi", "Configuration file 'nodes/pve1/lxc/100.conf' does not exist\n", 255},
		{"pct exec 950", "missing command at /usr/share/perl5/PVE/CLI/pct.pm line 246.\n", 255},
		{"pct exec", "400 not enough arguments\npct exec <vmid> [<extra-args>] [OPTIONS]\n", 255},
		{"pct exec abc -- true", "400 Parameter verification failed.\nvmid: type check ('integer') failed - got 'abc'\npct exec <vmid> [<extra-args>] [OPTIONS]\n", 255},
		{"pct status 99", "400 Parameter verification failed.\nvmid: value must have a minimum value of 100\npct status <vmid> [OPTIONS]\n", 255},
		{"pct exec 950 --bogus -- true", "Unknown option: bogus\n400 unable to parse option\npct exec <vmid> [<extra-args>] [OPTIONS]\n", 255},
		{"pct status 950 extra", "400 too many arguments\npct status <vmid> [OPTIONS]\n", 255},
		{"pct push 951 /a /b", "can only push files to a running CT\n", 255},
		{"pct pull 951 /a /b", "can only pull files from a running VM at /usr/share/perl5/PVE/CLI/pct.pm line 664.\n", 255},
		{"pct start 950", "CT 950 already running\n", 255},
		{"pct config 950 --current --snapshot before", "400 Parameter verification failed.\ncurrent: cannot use 'snapshot' parameter with 'current'\nsnapshot: cannot use 'snapshot' parameter with 'current'\npct config <vmid> [OPTIONS]\n", 255},
		{"pct config 950 --snapshot nope", "snapshot 'nope' does not exist\n", 255},
		{"pct fsck 950", "nodeshell: 'pct fsck' is not simulated\n", 255},
	}
	for _, tc := range cases {
		out, errOut, code := run(t, s, tc.line, "")
		if errOut != tc.stderr || code != tc.code || out != "" {
			t.Errorf("%s:\n got  (%d) %q stdout %q\n want (%d) %q", tc.line, code, errOut, out, tc.code, tc.stderr)
		}
	}
}

func TestPctUnknownCommandUsage(t *testing.T) {
	s, _ := newTestServer(t)
	_, errOut, code := run(t, s, "pct frobnicate 950", "")
	if code != 255 {
		t.Fatalf("exit %d", code)
	}
	want := "ERROR: unknown command 'pct frobnicate'\nUSAGE: pct <COMMAND> [ARGS] [OPTIONS]\n\n" +
		"       pct clone <vmid> <newid> [OPTIONS]\n"
	if !strings.HasPrefix(errOut, want) {
		t.Fatalf("usage starts %q", errOut[:min(len(errOut), 200)])
	}
	// classes are separated by a blank line; help (PVE::CLIHandler) is last
	for _, frag := range []string{
		"       pct template <vmid>\n\n       pct config <vmid> [OPTIONS]\n",
		"       pct exec <vmid> [<extra-args>] [OPTIONS]\n",
		"       pct list \n",
		"       pct unmount <vmid>\n\n       pct help [<extra-args>] [OPTIONS]\n",
	} {
		if !strings.Contains(errOut, frag) {
			t.Errorf("usage lacks %q", frag)
		}
	}
	if !strings.HasSuffix(errOut, "pct help [<extra-args>] [OPTIONS]\n") {
		t.Errorf("usage does not end with help")
	}
	// Unique prefixes expand like CLIHandler; ambiguous ones are unknown.
	if out, _, code := run(t, s, "pct stat 950", ""); code != 0 || out != "status: running\n" {
		t.Errorf("pct stat: %d %q", code, out)
	}
	if _, errOut, _ := run(t, s, "pct st 950", ""); !strings.HasPrefix(errOut, "ERROR: unknown command 'pct st'\n") {
		t.Errorf("pct st: %q", errOut)
	}
}

func TestPctExecExitCodeAndEnv(t *testing.T) {
	s, f := newTestServer(t)
	out, errOut, code := run(t, s, "pct exec 950 -- fail 3 partial 'went wrong'", "")
	if out != "partial" || errOut != "went wrong" || code != 3 {
		t.Fatalf("got %q %q %d", out, errOut, code)
	}
	env := strings.Join(f.execEnv[0], "\n")
	if !strings.Contains(env, "HOME=/root") || !strings.Contains(env, "container=lxc") {
		t.Errorf("keep-env (default) env: %q", env)
	}
	run(t, s, "pct exec 950 --keep-env 0 -- echo x", "")
	env = strings.Join(f.execEnv[1], "\n")
	if strings.Contains(env, "HOME=/root") || !strings.Contains(env, "PATH=") {
		t.Errorf("--keep-env 0 env: %q", env)
	}
}

func TestShellMetacharactersPassedVerbatim(t *testing.T) {
	s, f := newTestServer(t)
	line := `pct exec 950 -- bash -c 'echo "a;b" | tr a b > /x; $HOME' "two words" it\'s \$PATH`
	run(t, s, line, "")
	want := []string{"bash", "-c", `echo "a;b" | tr a b > /x; $HOME`, "two words", "it's", "$PATH"}
	if len(f.execs) != 1 || !reflect.DeepEqual(f.execs[0], want) {
		t.Fatalf("argv %q, want %q", f.execs, want)
	}
	if len(f.nodeRuns) != 0 {
		t.Fatalf("plain pct command went to the sandbox")
	}
}

func TestPushThenExecCat(t *testing.T) {
	s, f := newTestServer(t)
	writeNodeFile(t, f.roots["pve1"], "root/setup.sh", "#!/bin/sh\necho 'set up'\n")
	f.guests[950].files["/etc/passwd"] = fakeFile{data: []byte("root:x:0:0::/root:/bin/sh\nwww-data:x:33:33::/var/www:/usr/sbin/nologin\n")}
	f.guests[950].files["/etc/group"] = fakeFile{data: []byte("root:x:0:\nwww-data:x:33:\n")}

	// relative source: the login cwd is /root on the node
	if _, errOut, code := run(t, s, "pct push 950 setup.sh /usr/local/bin/setup.sh --perms 755 --user www-data --group 33", ""); code != 0 || errOut != "" {
		t.Fatalf("push: %d %q", code, errOut)
	}
	got := f.guests[950].files["/usr/local/bin/setup.sh"]
	if got.perm != 0o755 || got.uid != 33 || got.gid != 33 {
		t.Errorf("pushed perm %o uid %d gid %d", got.perm, got.uid, got.gid)
	}
	out, _, code := run(t, s, "pct exec 950 -- cat /usr/local/bin/setup.sh", "")
	if code != 0 || out != "#!/bin/sh\necho 'set up'\n" {
		t.Fatalf("cat: %d %q", code, out)
	}

	// worker failures print the error but pct push exits 0, as in PVE
	cases := map[string]string{
		"pct push 950 /root/missing /x":                  "failed to open /root/missing for reading\n",
		"pct push 950 /root/setup.sh /x --user nobody":   "failed to get uid for: nobody\n",
		"pct push 950 /root/setup.sh /x --perms 9z":      "invalid mode: '09z'\n",
		"pct push 950 /root/setup.sh /nonexistent/dir/x": "failed to create file: /nonexistent/dir/x: No such file or directory\n",
	}
	for line, want := range cases {
		if _, errOut, code := run(t, s, line, ""); code != 0 || errOut != want {
			t.Errorf("%s: %d %q want %q", line, code, errOut, want)
		}
	}
}

func TestPullCreatesDestinationOnNode(t *testing.T) {
	s, f := newTestServer(t)
	f.guests[950].files["/etc/hostname"] = fakeFile{data: []byte("ct950\n")}
	writeNodeFile(t, f.roots["pve1"], "tmp/.keep", "")
	if _, errOut, code := run(t, s, "pct pull 950 /etc/hostname /tmp/h --perms 0600", ""); code != 0 || errOut != "" {
		t.Fatalf("pull: %d %q", code, errOut)
	}
	p := filepath.Join(f.roots["pve1"], "tmp/h")
	st, err := os.Stat(p)
	if err != nil {
		t.Fatalf("stat: %v", err)
	}
	b, _ := os.ReadFile(p)
	if string(b) != "ct950\n" || st.Mode().Perm() != 0o600 {
		t.Errorf("pulled %q mode %o", b, st.Mode().Perm())
	}
	// missing source: destination is created first (empty), exit 0
	_, errOut, code := run(t, s, "pct pull 950 /nope /tmp/empty", "")
	if code != 0 || errOut != "failed to open /nope: No such file or directory\n" {
		t.Errorf("pull missing: %d %q", code, errOut)
	}
	if b, err := os.ReadFile(filepath.Join(f.roots["pve1"], "tmp/empty")); err != nil || len(b) != 0 {
		t.Errorf("empty destination: %q %v", b, err)
	}
	// a path escaping the node root stays inside it
	run(t, s, "pct pull 950 /etc/hostname ../../../../escape", "")
	if _, err := os.Stat(filepath.Join(f.roots["pve1"], "escape")); err != nil {
		t.Errorf("escape path not confined to the node root: %v", err)
	}
}

func TestPctConfigFormat(t *testing.T) {
	s, _ := newTestServer(t)
	out, _, code := run(t, s, "pct config 950", "")
	want := "arch: amd64\ndescription: web front%3A nginx%0A\nhostname: ct950\nmemory: 4096\n" +
		"net0: name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:00:01,ip=dhcp,type=veth\nostype: debian\n" +
		"rootfs: local-lvm:vm-950-disk-0,size=8G\nunprivileged: 1\nlxc.cgroup2.devices.allow: c 195:* rwm\n"
	if code != 0 || out != want {
		t.Fatalf("pct config:\n%s\nwant:\n%s", out, want)
	}
	out, _, _ = run(t, s, "pct config 950 --current", "")
	if !strings.Contains(out, "memory: 2048\n") {
		t.Errorf("--current shows pending value: %q", out)
	}
	out, _, _ = run(t, s, "pct config 950 --snapshot before", "")
	if out != "hostname: old\nmemory: 1024\nsnaptime: 1700000000\n" {
		t.Errorf("--snapshot: %q", out)
	}
}

func TestPctSetSnapshotStartStop(t *testing.T) {
	s, f := newTestServer(t)
	if _, errOut, code := run(t, s, "pct set 950 -onboot -memory 512 --delete mp0,mp1 -net1 name=eth1,bridge=vmbr1", ""); code != 0 {
		t.Fatalf("set: %d %q", code, errOut)
	}
	wantOpts := map[string]string{"onboot": "1", "memory": "512", "net1": "name=eth1,bridge=vmbr1"}
	if !reflect.DeepEqual(f.setOpts[0], wantOpts) || !reflect.DeepEqual(f.setDel[0], []string{"mp0", "mp1"}) {
		t.Errorf("set got %v del %v", f.setOpts[0], f.setDel[0])
	}
	f.setErr = fakeParamErr{"memory": "value must have a minimum value of 16"}
	_, errOut, code := run(t, s, "pct set 950 -memory 1", "")
	if code != 255 || errOut != "400 Parameter verification failed.\nmemory: value must have a minimum value of 16\npct set <vmid> [OPTIONS]\n" {
		t.Errorf("set param error: %d %q", code, errOut)
	}

	if _, errOut, code := run(t, s, "pct stop 950", ""); code != 0 || errOut != "" {
		t.Fatalf("stop: %d %q", code, errOut)
	}
	if out, _, _ := run(t, s, "pct status 950", ""); out != "status: stopped\n" {
		t.Errorf("status after stop: %q", out)
	}
	run(t, s, "pct snapshot 950 first --description 'one\ntwo'", "")
	run(t, s, "pct snapshot 950 second", "")
	out, _, code := run(t, s, "pct listsnapshot 950", "")
	t1 := timeString(1700000000)
	t2 := timeString(1700000060)
	// printf("%s %-${len}s %-23s %s\n") with len = 30 - length(prefix)
	sp := strings.Repeat(" ", 1)
	want := "`->" + sp + "first" + strings.Repeat(" ", 27-5) + sp + t1 + strings.Repeat(" ", 23-19) + sp + "one\n" +
		" `->" + sp + "second" + strings.Repeat(" ", 26-6) + sp + t2 + strings.Repeat(" ", 4) + sp + "no-description\n" +
		"  `->" + sp + "current" + strings.Repeat(" ", 25-7) + sp + strings.Repeat(" ", 23) + sp + "You are here!\n"
	if code != 0 || out != want {
		t.Errorf("listsnapshot:\n%q\nwant\n%q", out, want)
	}
}

func TestQm(t *testing.T) {
	s, f := newTestServer(t)
	out, errOut, code := run(t, s, "qm guest exec 100 -- echo 'a \"q\"' 'tab\there'", "")
	want := "{\n   \"exitcode\" : 0,\n   \"exited\" : 1,\n   \"out-data\" : \"a \\\"q\\\" tab\\there\\n\"\n}\n"
	if code != 0 || out != want || errOut != "" {
		t.Fatalf("qm guest exec: %d %q %q\nwant %q", code, out, errOut, want)
	}
	// the command's failure is in the JSON; qm itself exits 0
	out, _, code = run(t, s, "qm guest exec 100 fail 2 '' oops", "")
	if code != 0 || out != "{\n   \"err-data\" : \"oops\",\n   \"exitcode\" : 2,\n   \"exited\" : 1\n}\n" {
		t.Errorf("failing command: %d %q", code, out)
	}
	out, _, _ = run(t, s, "qm guest exec 100 --pass-stdin 1", "from stdin")
	if !strings.Contains(out, `"out-data" : "from stdin"`) {
		t.Errorf("pass-stdin: %q", out)
	}
	out, errOut, code = run(t, s, "qm guest exec 100 --synchronous 0 -- sleep 100", "")
	if code != 0 || out != "{\n   \"pid\" : 4242\n}\n" || errOut != "" {
		t.Errorf("async: %d %q %q", code, out, errOut)
	}
	if _, errOut, _ := run(t, s, "qm guest exec 100 --synchronous 0 --timeout 5 -- true", ""); !strings.Contains(errOut, "synchronous: needs to be set for 'timeout'\n") {
		t.Errorf("timeout without sync: %q", errOut)
	}
	if _, errOut, code := run(t, s, "qm guest exec 100", ""); code != 255 || errOut != "command or input-data (or both) required\n" {
		t.Errorf("no command: %d %q", code, errOut)
	}
	f.guests[100].conf = "name: vm100\n"
	if _, errOut, code := run(t, s, "qm guest exec 100 -- echo", ""); code != 255 || errOut != "No QEMU guest agent configured\n" {
		t.Errorf("no agent: %d %q", code, errOut)
	}
	if _, errOut, _ := run(t, s, "qm guest exec 950 -- echo", ""); errOut != "Configuration file 'nodes/pve1/qemu-server/950.conf' does not exist\n" {
		t.Errorf("qm on a CT: %q", errOut)
	}
	if out, _, _ := run(t, s, "qm status 100", ""); out != "status: running\n" {
		t.Errorf("qm status: %q", out)
	}
	if out, _, _ := run(t, s, "qm config 100", ""); out != "name: vm100\n" {
		t.Errorf("qm config: %q", out)
	}
	_, errOut, _ = run(t, s, "qm guest", "")
	want = "ERROR: incomplete command 'qm guest'\nUSAGE: qm <COMMAND> [ARGS] [OPTIONS]\n\n" +
		"       qm guest cmd <vmid> <command>\n       qm guest exec-status <vmid> <pid>\n" +
		"       qm guest passwd <vmid> <username> [OPTIONS]\n       qm guest exec <vmid> [<extra-args>] [OPTIONS]\n"
	if errOut != want {
		t.Errorf("qm guest:\n%q\nwant\n%q", errOut, want)
	}
}
