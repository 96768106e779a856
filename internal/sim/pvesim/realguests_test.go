//go:build linux

package pvesim_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	proxmox "github.com/luthermonson/go-proxmox"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/pvesim"
	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/pvesimtest"
)

func requireGuests(t *testing.T) { pvesimtest.RequireGuests(t) }

func clientBinary(t *testing.T) string { return pvesimtest.ClientBinary(t) }

func TestMain(m *testing.M) {
	code := m.Run()
	pvesimtest.Cleanup()
	os.Exit(code)
}

// newGuestEnv is a simulator with real guest roots and the node shell.
func newGuestEnv(t *testing.T, opts pvesim.Options) *env {
	t.Helper()
	requireGuests(t)
	opts.RealGuests = true
	if opts.SSHListen == "" {
		opts.SSHListen = "127.0.0.1:0"
	}
	opts.SSHClientBinary = clientBinary(t)
	return newEnv(t, opts)
}

// knownHosts writes a known_hosts file pinning the simulator's host key for
// its SSH address and returns the host key callback that verifies with it.
func (e *env) knownHosts() ssh.HostKeyCallback {
	e.t.Helper()
	p := filepath.Join(e.t.TempDir(), "known_hosts")
	line := knownhosts.Line([]string{knownhosts.Normalize(e.srv.SSHAddr(""))}, mustParseKey(e.t, e.srv.SSHHostKey()))
	if err := os.WriteFile(p, []byte(line+"\n"), 0o600); err != nil {
		e.t.Fatal(err)
	}
	cb, err := knownhosts.New(p)
	if err != nil {
		e.t.Fatal(err)
	}
	return cb
}

func mustParseKey(t *testing.T, authorized string) ssh.PublicKey {
	t.Helper()
	k, _, _, _, err := ssh.ParseAuthorizedKey([]byte(authorized))
	if err != nil {
		t.Fatalf("host key %q: %v", authorized, err)
	}
	return k
}

// dialSSH logs in as root with the simulator's client key file.
func (e *env) dialSSH(cb ssh.HostKeyCallback) (*ssh.Client, error) {
	e.t.Helper()
	pemBytes, err := os.ReadFile(e.srv.SSHPrivateKeyFile())
	if err != nil {
		e.t.Fatal(err)
	}
	signer, err := ssh.ParsePrivateKey(pemBytes)
	if err != nil {
		e.t.Fatal(err)
	}
	return ssh.Dial("tcp", e.srv.SSHAddr(""), &ssh.ClientConfig{User: e.srv.SSHUser(),
		Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)}, HostKeyCallback: cb, Timeout: 10 * time.Second})
}

func (e *env) sshClient() *ssh.Client {
	e.t.Helper()
	c, err := e.dialSSH(e.knownHosts())
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { c.Close() })
	return c
}

type sshResult struct {
	stdout, stderr string
	code           int
	err            error // transport errors (not exit statuses)
}

// run runs one command line on the node over SSH.
func run(c *ssh.Client, line, stdin string) sshResult {
	sess, err := c.NewSession()
	if err != nil {
		return sshResult{err: err}
	}
	defer sess.Close()
	var out, errb bytes.Buffer
	sess.Stdout, sess.Stderr, sess.Stdin = &out, &errb, strings.NewReader(stdin)
	err = sess.Run(line)
	res := sshResult{stdout: out.String(), stderr: errb.String()}
	var ee *ssh.ExitError
	switch {
	case errors.As(err, &ee):
		res.code = ee.ExitStatus()
	case err != nil:
		res.err = err
	}
	return res
}

func (e *env) mustRun(c *ssh.Client, line, stdin string) sshResult {
	e.t.Helper()
	r := run(c, line, stdin)
	if r.err != nil {
		e.t.Fatalf("%q: %v (stderr %q)", line, r.err, r.stderr)
	}
	return r
}

// guestFile reads a file of a guest's root from the host side.
func (e *env) guestFile(vmid int, p string) (string, bool) {
	e.t.Helper()
	data, err := os.ReadFile(filepath.Join(e.srv.GuestRoot(vmid), p))
	if errors.Is(err, os.ErrNotExist) {
		return "", false
	}
	if err != nil {
		e.t.Fatal(err)
	}
	return string(data), true
}

func (e *env) startCT(vmid int) *proxmox.Container {
	e.t.Helper()
	e.createCT(vmid)
	ct, err := e.node().Container(e.ctx, vmid)
	if err != nil {
		e.t.Fatal(err)
	}
	e.wait(ct.Start(e.ctx))
	return ct
}

// simPost posts JSON to a /_sim/ endpoint and returns its data object.
func (e *env) simPost(path, body string) map[string]any {
	e.t.Helper()
	req, _ := http.NewRequest("POST", "https://"+e.srv.Addr()+path, strings.NewReader(body))
	req.Header.Set("Authorization", "PVEAPIToken="+e.srv.APIToken())
	req.Header.Set("Content-Type", "application/json")
	res, err := e.c2http().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	var out struct {
		Data map[string]any `json:"data"`
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil || res.StatusCode != 200 {
		e.t.Fatalf("%s: status %d: %v", path, res.StatusCode, err)
	}
	return out.Data
}
