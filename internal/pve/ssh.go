package pve

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/crypto/ssh/knownhosts"
)

// SSHConfig is how to reach the nodes' shells.
type SSHConfig struct {
	Username   string
	Password   string
	PrivateKey string
	Agent      bool
	Port       int
	// NodeAddresses overrides the address per node ("host" or "host:port").
	NodeAddresses map[string]string
	// DefaultHost is used for nodes without an override (the API endpoint's host).
	DefaultHost string
	KnownHosts  string
	HostKey     string // authorized_keys format, trusted for every node
	// InsecureIgnoreHostKey accepts any host key: an explicit opt-out.
	InsecureIgnoreHostKey bool
}

// Shell runs commands on PVE nodes over SSH, one connection per node reused
// across commands.
type Shell struct {
	cfg   SSHConfig
	auth  []ssh.AuthMethod
	hkcb  ssh.HostKeyCallback
	mu    sync.Mutex
	conns map[string]*ssh.Client
}

// NewShell validates the SSH settings. It does not connect.
func NewShell(cfg SSHConfig) (*Shell, error) {
	if cfg.Username == "" {
		cfg.Username = "root"
	}
	if cfg.Port == 0 {
		cfg.Port = 22
	}
	s := &Shell{cfg: cfg, conns: map[string]*ssh.Client{}}
	if cfg.PrivateKey != "" {
		signer, err := ssh.ParsePrivateKey([]byte(cfg.PrivateKey))
		if err != nil {
			return nil, fmt.Errorf("ssh private_key: %w", err)
		}
		s.auth = append(s.auth, ssh.PublicKeys(signer))
	}
	if cfg.Agent {
		sock := os.Getenv("SSH_AUTH_SOCK")
		if sock == "" {
			return nil, errors.New("ssh agent = true but SSH_AUTH_SOCK is not set")
		}
		s.auth = append(s.auth, ssh.PublicKeysCallback(func() ([]ssh.Signer, error) {
			conn, err := net.Dial("unix", sock)
			if err != nil {
				return nil, err
			}
			return agent.NewClient(conn).Signers()
		}))
	}
	if cfg.Password != "" {
		s.auth = append(s.auth, ssh.Password(cfg.Password))
	}
	if len(s.auth) == 0 {
		return nil, errors.New("no SSH credentials: set ssh.private_key, ssh.password or ssh.agent (PROXMOX_VE_SSH_PRIVATE_KEY, PROXMOX_VE_SSH_PASSWORD)")
	}
	switch {
	case cfg.InsecureIgnoreHostKey:
		s.hkcb = ssh.InsecureIgnoreHostKey() //nolint:gosec // explicit opt-out by the user
	case cfg.HostKey != "":
		pk, _, _, _, err := ssh.ParseAuthorizedKey([]byte(cfg.HostKey))
		if err != nil {
			return nil, fmt.Errorf("ssh host_key: %w", err)
		}
		s.hkcb = ssh.FixedHostKey(pk)
	default:
		path := cfg.KnownHosts
		if path == "" {
			home, _ := os.UserHomeDir()
			path = filepath.Join(home, ".ssh", "known_hosts")
		}
		cb, err := knownhosts.New(path)
		if err != nil {
			return nil, fmt.Errorf("ssh host keys: cannot read known_hosts %s (%v); set ssh.known_hosts or ssh.host_key, or opt out with ssh.insecure_ignore_host_key", path, err)
		}
		s.hkcb = cb
	}
	return s, nil
}

func (s *Shell) addr(node string) string {
	a := s.cfg.NodeAddresses[node]
	if a == "" {
		a = s.cfg.DefaultHost
	}
	if a == "" {
		a = node
	}
	if _, _, err := net.SplitHostPort(a); err != nil {
		a = net.JoinHostPort(a, strconv.Itoa(s.cfg.Port))
	}
	return a
}

func (s *Shell) client(ctx context.Context, node string) (*ssh.Client, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.conns[node]; c != nil {
		return c, nil
	}
	addr := s.addr(node)
	d := net.Dialer{}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("ssh to node %s (%s): %w", node, addr, err)
	}
	var refused ssh.PublicKey // the host key the callback refused
	hkcb := func(host string, remote net.Addr, key ssh.PublicKey) error {
		err := s.hkcb(host, remote, key)
		if err != nil {
			refused = key
		}
		return err
	}
	cc, chans, reqs, err := ssh.NewClientConn(conn, addr, &ssh.ClientConfig{User: s.cfg.Username, Auth: s.auth, HostKeyCallback: hkcb})
	if err != nil {
		_ = conn.Close()
		if refused != nil {
			return nil, s.hostKeyError(node, addr, refused, err)
		}
		if strings.Contains(err.Error(), "unable to authenticate") {
			return nil, fmt.Errorf("ssh to node %s (%s): %w: check ssh.username and ssh.password or ssh.private_key "+
				"(PROXMOX_VE_SSH_USERNAME, PROXMOX_VE_SSH_PASSWORD, PROXMOX_VE_SSH_PRIVATE_KEY); the key must be in the node's /root/.ssh/authorized_keys", node, addr, err)
		}
		return nil, fmt.Errorf("ssh to node %s (%s): %w", node, addr, err)
	}
	c := ssh.NewClient(cc, chans, reqs)
	s.conns[node] = c
	return c, nil
}

func (s *Shell) drop(node string, c *ssh.Client) {
	s.mu.Lock()
	if s.conns[node] == c {
		delete(s.conns, node)
	}
	s.mu.Unlock()
	_ = c.Close()
}

// Close ends every connection.
func (s *Shell) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for n, c := range s.conns {
		_ = c.Close()
		delete(s.conns, n)
	}
}

// Result is a finished command.
type Result struct {
	ExitCode int
	Stdout   []byte
	Stderr   []byte
}

// ErrConnectionLost means the command's outcome is unknown: the connection
// dropped before an exit status arrived.
var ErrConnectionLost = errors.New("ssh connection lost before the command finished")

// Run runs a command line on a node. Output is copied to stdout/stderr when
// given, and kept in the Result either way. A context that ends kills the
// session.
func (s *Shell) Run(ctx context.Context, node, cmdline string, stdin []byte, stdout, stderr io.Writer) (Result, error) {
	c, err := s.client(ctx, node)
	if err != nil {
		return Result{ExitCode: -1}, err
	}
	sess, err := c.NewSession()
	if err != nil {
		// A stale pooled connection: reconnect once.
		s.drop(node, c)
		if c, err = s.client(ctx, node); err != nil {
			return Result{ExitCode: -1}, err
		}
		if sess, err = c.NewSession(); err != nil {
			s.drop(node, c)
			return Result{ExitCode: -1}, fmt.Errorf("ssh session on node %s: %w", node, err)
		}
	}
	defer sess.Close()
	var out, errb bytes.Buffer
	sess.Stdout = teeOrBuf(&out, stdout)
	sess.Stderr = teeOrBuf(&errb, stderr)
	if stdin != nil {
		sess.Stdin = bytes.NewReader(stdin)
	}
	done := make(chan error, 1)
	go func() { done <- sess.Run(cmdline) }()
	select {
	case <-ctx.Done():
		_ = sess.Signal(ssh.SIGKILL)
		_ = sess.Close()
		return Result{ExitCode: -1, Stdout: out.Bytes(), Stderr: errb.Bytes()}, ctx.Err()
	case err = <-done:
	}
	res := Result{Stdout: out.Bytes(), Stderr: errb.Bytes()}
	var exitErr *ssh.ExitError
	var missing *ssh.ExitMissingError
	switch {
	case err == nil:
	case errors.As(err, &exitErr):
		res.ExitCode = exitErr.ExitStatus()
	case errors.As(err, &missing), errors.Is(err, io.EOF):
		s.drop(node, c)
		res.ExitCode = -1
		return res, fmt.Errorf("node %s: %w", node, ErrConnectionLost)
	default:
		s.drop(node, c)
		res.ExitCode = -1
		return res, fmt.Errorf("node %s: %w", node, err)
	}
	return res, nil
}

func teeOrBuf(buf *bytes.Buffer, w io.Writer) io.Writer {
	if w == nil {
		return buf
	}
	return io.MultiWriter(buf, w)
}

// hostKeyError explains a refused host key and how to fix it: a key that
// differs from the trusted one is never accepted silently.
func (s *Shell) hostKeyError(node, addr string, key ssh.PublicKey, err error) error {
	fp := ssh.FingerprintSHA256(key)
	host, port, _ := net.SplitHostPort(addr)
	entry := host
	if port != "22" {
		entry = "[" + host + "]:" + port
	}
	var keyErr *knownhosts.KeyError
	if errors.As(err, &keyErr) && len(keyErr.Want) == 0 {
		return fmt.Errorf("ssh to node %s (%s): its host key (%s %s) is not in known_hosts, so it is refused: check that fingerprint on the node's "+
			"console (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub), then add it (ssh-keyscan -p %s %s >> known_hosts) or set ssh.host_key",
			node, addr, key.Type(), fp, port, host)
	}
	return fmt.Errorf("ssh to node %s (%s): HOST KEY CHANGED: the node presents %s %s, which is not the trusted key (ssh.host_key or known_hosts), "+
		"so the connection is refused (%v). If the node was reinstalled or its key replaced, check that fingerprint on the node's console "+
		"(ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub), then update ssh.host_key (PROXMOX_VE_SSH_HOST_KEY) or known_hosts "+
		"(ssh-keygen -R '%s'; ssh-keyscan -p %s %s >> known_hosts); otherwise something else answers for the node",
		node, addr, key.Type(), fp, err, entry, port, host)
}
