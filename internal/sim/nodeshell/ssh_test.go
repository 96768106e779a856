package nodeshell

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

func timeString(sec int64) string { return time.Unix(sec, 0).Format("2006-01-02 15:04:05") }

func newKey(t *testing.T) ssh.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// startSSH starts a server whose known_hosts file holds its key for every
// node address, as a provider's known_hosts would.
func startSSH(t *testing.T, stateDir string, userKey ssh.Signer) (*Server, *fakeCluster, ssh.HostKeyCallback) {
	t.Helper()
	s, f := newTestServer(t)
	s.cfg.StateDir = stateDir
	signer, err := loadHostKey(stateDir)
	if err != nil {
		t.Fatal(err)
	}
	s.hostKey = signer
	if userKey != nil {
		s.AddAuthorizedKey(userKey.PublicKey())
	}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	kh := filepath.Join(t.TempDir(), "known_hosts")
	var lines []string
	for _, n := range []string{"pve1", "pve2"} {
		lines = append(lines, knownhosts.Line([]string{knownhosts.Normalize(s.Addr(n))}, s.HostKey()))
	}
	if err := os.WriteFile(kh, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cb, err := knownhosts.New(kh)
	if err != nil {
		t.Fatal(err)
	}
	return s, f, cb
}

func dial(addr string, cb ssh.HostKeyCallback, auth ...ssh.AuthMethod) (*ssh.Client, error) {
	return ssh.Dial("tcp", addr, &ssh.ClientConfig{User: "root", Auth: auth, HostKeyCallback: cb, Timeout: 10 * time.Second})
}

func sshRun(t *testing.T, c *ssh.Client, cmd, stdin string) (string, string, error) {
	t.Helper()
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	var out, errb bytes.Buffer
	sess.Stdout, sess.Stderr, sess.Stdin = &out, &errb, strings.NewReader(stdin)
	err = sess.Run(cmd)
	return out.String(), errb.String(), err
}

func TestSSHExecExact(t *testing.T) {
	key := newKey(t)
	s, f, cb := startSSH(t, "", key)
	for _, auth := range []ssh.AuthMethod{ssh.Password("secret"), ssh.PublicKeys(key)} {
		c, err := dial(s.Addr("pve1"), cb, auth)
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		out, errOut, err := sshRun(t, c, "pct exec 950 -- echo hi", "")
		if err != nil || out != "hi\n" || errOut != "" {
			t.Fatalf("echo: %v %q %q", err, out, errOut)
		}
		out, errOut, err = sshRun(t, c, "pct exec 950 -- fail 7 out err", "")
		var ee *ssh.ExitError
		if !errors.As(err, &ee) || ee.ExitStatus() != 7 || out != "out" || errOut != "err" {
			t.Fatalf("fail: %v %q %q", err, out, errOut)
		}
		// stdin streams into the guest command
		out, _, err = sshRun(t, c, "pct exec 950 -- cat", "piped\x00bytes")
		if err != nil || out != "piped\x00bytes" {
			t.Fatalf("cat stdin: %v %q", err, out)
		}
		c.Close()
	}
	// The listen address selects the node: 960 lives on pve2 only.
	c2, err := dial(s.Addr("pve2"), cb, ssh.Password("secret"))
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if out, _, err := sshRun(t, c2, "pct status 960", ""); err != nil || out != "status: running\n" {
		t.Fatalf("pve2: %v %q", err, out)
	}
	_, errOut, err := sshRun(t, c2, "pct status 950", "")
	var ee *ssh.ExitError
	if !errors.As(err, &ee) || ee.ExitStatus() != 255 || errOut != "Configuration file 'nodes/pve2/lxc/950.conf' does not exist\n" {
		t.Fatalf("950 on pve2: %v %q", err, errOut)
	}
	if len(f.execs) != 6 {
		t.Errorf("guest execs: %d", len(f.execs))
	}
	if host, _, _ := net.SplitHostPort(s.Addr("pve1")); host != "127.0.0.1" {
		t.Errorf("listening on %s", host)
	}
}

func TestSSHAuthRefused(t *testing.T) {
	key := newKey(t)
	s, _, cb := startSSH(t, "", key)
	other := newKey(t)
	for name, auth := range map[string]ssh.AuthMethod{
		"wrong password": ssh.Password("Secret"),
		"wrong key":      ssh.PublicKeys(other),
	} {
		if c, err := dial(s.Addr("pve1"), cb, auth); err == nil {
			c.Close()
			t.Errorf("%s accepted", name)
		} else if !strings.Contains(err.Error(), "unable to authenticate") {
			t.Errorf("%s: %v", name, err)
		}
	}
	if c, err := ssh.Dial("tcp", s.Addr("pve1"), &ssh.ClientConfig{User: "admin", Auth: []ssh.AuthMethod{ssh.Password("secret")}, HostKeyCallback: cb}); err == nil {
		c.Close()
		t.Error("non-root user accepted")
	}
	s.RefuseAuth(true)
	if c, err := dial(s.Addr("pve1"), cb, ssh.PublicKeys(key)); err == nil {
		c.Close()
		t.Error("RefuseAuth: accepted")
	}
	s.RefuseAuth(false)
	c, err := dial(s.Addr("pve1"), cb, ssh.PublicKeys(key))
	if err != nil {
		t.Fatalf("after RefuseAuth(false): %v", err)
	}
	c.Close()
}

func TestSSHHostKeyStableAndChangeDetected(t *testing.T) {
	state := t.TempDir()
	s, _, cb := startSSH(t, state, nil)
	fp := s.Fingerprint()
	if !strings.HasPrefix(fp, "SHA256:") || !strings.HasPrefix(s.AuthorizedHostKey(), "ssh-ed25519 AAAA") {
		t.Fatalf("fingerprint %q key %q", fp, s.AuthorizedHostKey())
	}
	// persisted: a new server on the same state dir has the same key
	s2, err := New(Config{Cluster: newFake(t), StateDir: state})
	if err != nil || s2.Fingerprint() != fp {
		t.Fatalf("reloaded key %q, want %q (%v)", s2.Fingerprint(), fp, err)
	}
	pub, err := os.ReadFile(filepath.Join(state, HostKeyFile+".pub"))
	if err != nil || strings.TrimSpace(string(pub)) != s.AuthorizedHostKey() {
		t.Fatalf("pub file %q %v", pub, err)
	}

	if err := s.ChangeHostKey(); err != nil {
		t.Fatal(err)
	}
	if s.Fingerprint() == fp {
		t.Fatal("host key unchanged")
	}
	_, err = dial(s.Addr("pve1"), cb, ssh.Password("secret"))
	var ke *knownhosts.KeyError
	if !errors.As(err, &ke) || len(ke.Want) == 0 {
		t.Fatalf("changed key not reported as a mismatch: %v", err)
	}
	s3, _ := New(Config{Cluster: newFake(t), StateDir: state})
	if s3.Fingerprint() != s.Fingerprint() {
		t.Error("changed key not persisted")
	}
}

func TestSSHDropMidCommand(t *testing.T) {
	s, f, cb := startSSH(t, "", nil)
	c, err := dial(s.Addr("pve1"), cb, ssh.Password("secret"))
	if err != nil {
		t.Fatal(err)
	}
	s.DropNextCommands(1)
	_, _, err = sshRun(t, c, "pct exec 950 -- echo side-effect", "")
	var ee *ssh.ExitError
	if err == nil || errors.As(err, &ee) {
		t.Fatalf("dropped command returned %v", err)
	}
	if len(f.execs) != 1 {
		t.Fatalf("command did not run before the drop: %d", len(f.execs))
	}
	c.Close()
	c, err = dial(s.Addr("pve1"), cb, ssh.Password("secret"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if out, _, err := sshRun(t, c, "pct exec 950 -- echo again", ""); err != nil || out != "again\n" {
		t.Fatalf("after drop: %v %q", err, out)
	}
}

func TestListenLoopbackOnly(t *testing.T) {
	f := newFake(t, "pve1")
	s, err := New(Config{Cluster: f, Nodes: []string{"pve1"}, Addrs: map[string]string{"pve1": "0.0.0.0:0"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); err == nil {
		s.Close()
		t.Fatal("non-loopback address accepted")
	}
}

func TestSSHShellAndEnv(t *testing.T) {
	s, f, cb := startSSH(t, "", nil)
	f.nodeFn = func(ctx context.Context, root string, req ExecRequest) (ExecResult, error) {
		in, _ := io.ReadAll(req.Stdin)
		env := strings.Join(req.Env, ",")
		fmt.Fprintf(req.Stdout, "argv=%q stdin=%q lang=%v foo=%v", req.Argv, in,
			strings.Contains(env, "LANG=C.UTF-8"), strings.Contains(env, "FOO="))
		return ExecResult{ExitCode: 5}, nil
	}
	c, err := dial(s.Addr("pve1"), cb, ssh.Password("secret"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	if err := sess.Setenv("LANG", "C.UTF-8"); err != nil {
		t.Errorf("LANG refused: %v", err)
	}
	if err := sess.Setenv("FOO", "bar"); err == nil {
		t.Error("FOO accepted (sshd's AcceptEnv is LANG LC_*)")
	}
	var out bytes.Buffer
	sess.Stdout, sess.Stdin = &out, strings.NewReader("echo in shell\n")
	if err := sess.Shell(); err != nil {
		t.Fatal(err)
	}
	err = sess.Wait()
	var ee *ssh.ExitError
	if !errors.As(err, &ee) || ee.ExitStatus() != 5 {
		t.Fatalf("shell exit: %v", err)
	}
	if want := `argv=["/bin/bash"] stdin="echo in shell\n" lang=true foo=false`; out.String() != want {
		t.Errorf("shell: %q want %q", out.String(), want)
	}
}
