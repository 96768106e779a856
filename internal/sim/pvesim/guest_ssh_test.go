//go:build linux

package pvesim_test

import (
	"errors"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/pvesim"
)

// A pct exec over real SSH (host key pinned in known_hosts) runs its script
// inside the container's root; exit code and both streams come back.
func TestPctExecOverSSHRunsInGuestRoot(t *testing.T) {
	e := newGuestEnv(t, pvesim.Options{})
	e.startCT(100)
	c := e.sshClient()
	r := e.mustRun(c, `pct exec 100 -- bash -c 'echo "written by $(hostname)" > /root/from-ssh; echo out; echo err >&2; exit 3'`, "")
	if r.code != 3 || r.stdout != "out\n" || r.stderr != "err\n" {
		t.Fatalf("exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	if got, _ := e.guestFile(100, "root/from-ssh"); got != "written by ct100\n" {
		t.Fatalf("guest file %q", got)
	}
	// stdin reaches the guest command
	r = e.mustRun(c, "pct exec 100 -- tee /root/from-stdin", "piped\n")
	if got, _ := e.guestFile(100, "root/from-stdin"); r.code != 0 || got != "piped\n" || r.stdout != "piped\n" {
		t.Fatalf("stdin: exit %d out %q file %q", r.code, r.stdout, got)
	}
	// a stopped container refuses, as PVE's pct does
	e.createCT(101)
	r = e.mustRun(c, "pct exec 101 -- true", "")
	if r.code != 255 || r.stderr != "container '101' not running!\n" {
		t.Fatalf("stopped CT: exit %d stderr %q", r.code, r.stderr)
	}
}

// phoenix's LXC feature scripts run on the host with the CTID as argument
// and call pct exec themselves; that must work unchanged in the node shell.
func TestHostScriptCallingPctExec(t *testing.T) {
	e := newGuestEnv(t, pvesim.Options{})
	e.startCT(100)
	c := e.sshClient()
	script := `#!/bin/bash
set -euo pipefail
CTID="$1"
log() { echo "[feature] $*"; }
log "installing into CT $CTID"
pct exec "$CTID" -- bash -c 'mkdir -p /opt/feature && printf "version=1\n" > /opt/feature/installed'
pct push "$CTID" /root/app.conf /etc/app.conf --perms 0600
name=$(pct exec "$CTID" -- cat /etc/hostname)
log "hostname is $name"
pct exec "$CTID" -- bash -c 'echo "probe failed" >&2; exit 7' || log "probe exited $?"
pct exec "$CTID" -- test -f /opt/feature/installed
`
	e.mustRun(c, "cat > /root/feature.sh && chmod +x /root/feature.sh && echo key=value > /root/app.conf", script)
	r := e.mustRun(c, "/root/feature.sh 100", "")
	want := "[feature] installing into CT 100\n[feature] hostname is ct100\n[feature] probe exited 7\n"
	if r.code != 0 || r.stdout != want || r.stderr != "probe failed\n" {
		t.Fatalf("exit %d\nstdout %q\nwant   %q\nstderr %q", r.code, r.stdout, want, r.stderr)
	}
	if got, _ := e.guestFile(100, "opt/feature/installed"); got != "version=1\n" {
		t.Fatalf("installed marker %q", got)
	}
	if got, _ := e.guestFile(100, "etc/app.conf"); got != "key=value\n" {
		t.Fatalf("pushed file %q", got)
	}
	// A failing pct exec inside `set -e` fails the script with its status.
	r = e.mustRun(c, `bash -c 'set -e; pct exec 100 -- bash -c "exit 5"; echo unreachable'`, "")
	if r.code != 5 || r.stdout != "" {
		t.Fatalf("set -e: exit %d stdout %q", r.code, r.stdout)
	}
}

// Raw lxc.* lines appended to /etc/pve/lxc/ID.conf in the shell take effect:
// pct config shows them and GET config returns them as PVE's lxc pairs.
func TestRawLXCLinesThroughTheShell(t *testing.T) {
	e := newGuestEnv(t, pvesim.Options{})
	e.createCT(100)
	c := e.sshClient()
	r := e.mustRun(c, `echo 'lxc.mount.entry: /srv/data srv/data none bind,create=dir 0 0' >> /etc/pve/lxc/100.conf
echo 'lxc.cgroup2.devices.allow: c 10:200 rwm' >> /etc/pve/lxc/100.conf
pct config 100 | grep ^lxc`, "")
	want := "lxc.mount.entry: /srv/data srv/data none bind,create=dir 0 0\nlxc.cgroup2.devices.allow: c 10:200 rwm\n"
	if r.code != 0 || r.stdout != want {
		t.Fatalf("pct config: exit %d %q stderr %q", r.code, r.stdout, r.stderr)
	}
	got := e.raw("GET", "/nodes/pve/lxc/100/config", nil).body["data"].(map[string]any)["lxc"]
	pairs, _ := got.([]any)
	if len(pairs) != 2 || pairs[0].([]any)[0] != "lxc.mount.entry" || pairs[1].([]any)[1] != "c 10:200 rwm" {
		t.Fatalf("GET config lxc = %#v", got)
	}
	// PVE's parser warns about and skips keys it refuses
	r = e.mustRun(c, `echo 'lxc.rootfs.path: /elsewhere' >> /etc/pve/lxc/100.conf; pct config 100 | grep -c ^lxc`, "")
	if r.stdout != "2\n" || !strings.Contains(r.stderr, "vm 100 - lxc.rootfs.path: lxc.rootfs.path is auto generated from rootfs\n") {
		t.Fatalf("refused lxc key: %q %q", r.stdout, r.stderr)
	}
	// pct set goes through the API's validation
	r = e.mustRun(c, "pct set 100 --memory 2048 && pct config 100 | grep ^memory", "")
	if r.code != 0 || r.stdout != "memory: 2048\n" {
		t.Fatalf("pct set: %d %q %q", r.code, r.stdout, r.stderr)
	}
	if cfg, _ := e.srv.GuestConfig(100); cfg["memory"] != "2048" {
		t.Fatalf("memory after pct set: %v", cfg)
	}
	r = e.mustRun(c, "pct set 100 --memory lots", "")
	if r.code != 255 || !strings.Contains(r.stderr, "memory: type check ('integer') failed - got 'lots'") {
		t.Fatalf("bad pct set: %d %q", r.code, r.stderr)
	}
}

// Faults: an SSH connection dropped mid-command (after its side effects) and
// a changed host key that a pinned known_hosts refuses.
func TestSSHFaults(t *testing.T) {
	e := newGuestEnv(t, pvesim.Options{})
	e.startCT(100)
	cb := e.knownHosts()
	c, err := e.dialSSH(cb)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := e.srv.Faults().DropSSHCommands(1); err != nil {
		t.Fatal(err)
	}
	r := run(c, "pct exec 100 -- bash -c 'echo done > /root/dropped'", "")
	var ee *ssh.ExitError
	if r.err == nil || errors.As(r.err, &ee) {
		t.Fatalf("dropped command returned %+v, want a transport error", r)
	}
	if got, _ := e.guestFile(100, "root/dropped"); got != "done\n" {
		t.Fatalf("side effect of the dropped command: %q", got)
	}
	// through /_sim/ as the demo would
	old := e.srv.SSHHostKey()
	resp := e.simPost("/_sim/ssh", `{"change_host_key": true}`)
	if resp["host_key"] == "" || resp["host_key"] == old || resp["host_key"] != e.srv.SSHHostKey() {
		t.Fatalf("host key after change: %v", resp)
	}
	_, err = e.dialSSH(cb)
	var ke *knownhosts.KeyError
	if !errors.As(err, &ke) || len(ke.Want) != 1 {
		t.Fatalf("dial with the old pinned key: %v", err)
	}
	// a client that pins the new key gets in again
	c2, err := e.dialSSH(e.knownHosts())
	if err != nil {
		t.Fatal(err)
	}
	c2.Close()
}
