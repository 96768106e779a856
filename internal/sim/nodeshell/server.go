package nodeshell

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/subtle"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"golang.org/x/crypto/ssh"
)

// HostKeyFile is the host key's file name in Config.StateDir.
const HostKeyFile = "ssh_host_ed25519_key"

// Config configures a cluster's SSH server.
type Config struct {
	Cluster Cluster
	// Nodes gets one listener each; the address a client connects to
	// selects the node its shell runs on.
	Nodes []string
	// Addrs optionally fixes a node's listen address; it must be a
	// loopback address. Default "127.0.0.1:0".
	Addrs map[string]string
	// StateDir, when set, holds the host key so it survives restarts.
	StateDir string
	// Password is root's password; empty disables password auth.
	Password string
	// AuthorizedKeys may log in as root.
	AuthorizedKeys []ssh.PublicKey
	// ClientBinary is a host path of a static executable that runs
	// ClientMain when called as pct or qm; it is bind-mounted read-only at
	// /usr/sbin/pct and /usr/sbin/qm in the sandbox. Empty: the sandbox
	// already provides them.
	ClientBinary string
	// Logf receives connection-level errors; nil discards them.
	Logf func(format string, args ...any)
}

// Server is a simulated cluster's SSH side.
type Server struct {
	cfg Config

	mu         sync.Mutex
	hostKey    ssh.Signer
	password   string
	authorized map[string]bool // marshalled public keys
	refuseAuth bool
	dropNext   int
	listeners  map[string]net.Listener
	conns      map[net.Conn]bool
	fsByNode   map[string]*pveFS
	closed     bool
	wg         sync.WaitGroup
}

// New loads (or creates and, with a StateDir, persists) the host key.
func New(cfg Config) (*Server, error) {
	if cfg.Cluster == nil {
		return nil, errors.New("nodeshell: Config.Cluster is nil")
	}
	s := &Server{
		cfg:        cfg,
		password:   cfg.Password,
		authorized: map[string]bool{},
		listeners:  map[string]net.Listener{},
		conns:      map[net.Conn]bool{},
		fsByNode:   map[string]*pveFS{},
	}
	for _, k := range cfg.AuthorizedKeys {
		s.authorized[string(k.Marshal())] = true
	}
	signer, err := loadHostKey(cfg.StateDir)
	if err != nil {
		return nil, err
	}
	s.hostKey = signer
	return s, nil
}

func loadHostKey(dir string) (ssh.Signer, error) {
	if dir != "" {
		if b, err := os.ReadFile(filepath.Join(dir, HostKeyFile)); err == nil {
			return ssh.ParsePrivateKey(b)
		} else if !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
	}
	return newHostKey(dir)
}

func newHostKey(dir string) (ssh.Signer, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		return nil, err
	}
	if dir != "" {
		block, err := ssh.MarshalPrivateKey(priv, "")
		if err != nil {
			return nil, err
		}
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(dir, HostKeyFile), pem.EncodeToMemory(block), 0o600); err != nil {
			return nil, err
		}
		pub := ssh.MarshalAuthorizedKey(signer.PublicKey())
		if err := os.WriteFile(filepath.Join(dir, HostKeyFile+".pub"), pub, 0o644); err != nil {
			return nil, err
		}
	}
	return signer, nil
}

// Start opens one listener per node.
func (s *Server) Start() error {
	for _, node := range s.cfg.Nodes {
		addr := s.cfg.Addrs[node]
		if addr == "" {
			addr = "127.0.0.1:0"
		}
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return err
		}
		if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
			return fmt.Errorf("nodeshell: node %s: %s is not a loopback address", node, addr)
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			s.Close()
			return err
		}
		s.mu.Lock()
		s.listeners[node] = ln
		s.mu.Unlock()
		s.wg.Add(1)
		go s.acceptLoop(node, ln)
	}
	return nil
}

// Addr is the host:port of node's listener ("" before Start).
func (s *Server) Addr(node string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ln := s.listeners[node]; ln != nil {
		return ln.Addr().String()
	}
	return ""
}

// Close stops the listeners and drops every connection.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	for _, ln := range s.listeners {
		ln.Close()
	}
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return nil
}

// HostKey is the current host public key.
func (s *Server) HostKey() ssh.PublicKey {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hostKey.PublicKey()
}

// AuthorizedHostKey is the host key in authorized_keys format, without the
// trailing newline ("ssh-ed25519 AAAA...").
func (s *Server) AuthorizedHostKey() string {
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(s.HostKey())))
}

// Fingerprint is the host key's "SHA256:..." fingerprint.
func (s *Server) Fingerprint() string { return ssh.FingerprintSHA256(s.HostKey()) }

// SetPassword changes root's password ("" disables password auth).
func (s *Server) SetPassword(pw string) {
	s.mu.Lock()
	s.password = pw
	s.mu.Unlock()
}

// AddAuthorizedKey lets key log in as root.
func (s *Server) AddAuthorizedKey(key ssh.PublicKey) {
	s.mu.Lock()
	s.authorized[string(key.Marshal())] = true
	s.mu.Unlock()
}

// Fault hooks.

// RefuseAuth makes every authentication attempt fail while on.
func (s *Server) RefuseAuth(on bool) {
	s.mu.Lock()
	s.refuseAuth = on
	s.mu.Unlock()
}

// DropNextCommands makes the next n exec/shell requests run their command
// and send its output, then close the TCP connection without an exit status:
// the client sees the connection die mid-command, after side effects.
func (s *Server) DropNextCommands(n int) {
	s.mu.Lock()
	s.dropNext = n
	s.mu.Unlock()
}

// ChangeHostKey replaces the host key (persisted when a StateDir is set);
// new connections present the new key.
func (s *Server) ChangeHostKey() error {
	signer, err := newHostKey(s.cfg.StateDir)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.hostKey = signer
	s.mu.Unlock()
	return nil
}

func (s *Server) takeDrop() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dropNext > 0 {
		s.dropNext--
		return true
	}
	return false
}

// sshConfig is built per connection so host key and auth changes apply to
// the next connection.
func (s *Server) sshConfig() *ssh.ServerConfig {
	s.mu.Lock()
	key := s.hostKey
	s.mu.Unlock()
	cfg := &ssh.ServerConfig{
		PasswordCallback: func(meta ssh.ConnMetadata, pw []byte) (*ssh.Permissions, error) {
			s.mu.Lock()
			want, refuse := s.password, s.refuseAuth
			s.mu.Unlock()
			if refuse || meta.User() != "root" || want == "" ||
				subtle.ConstantTimeCompare(pw, []byte(want)) != 1 {
				return nil, errors.New("permission denied")
			}
			return nil, nil
		},
		PublicKeyCallback: func(meta ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			s.mu.Lock()
			ok, refuse := s.authorized[string(key.Marshal())], s.refuseAuth
			s.mu.Unlock()
			if refuse || meta.User() != "root" || !ok {
				return nil, errors.New("permission denied")
			}
			return nil, nil
		},
		ServerVersion: "SSH-2.0-OpenSSH_10.0p2 Debian-7",
	}
	cfg.AddHostKey(key)
	return cfg
}

func (s *Server) logf(format string, args ...any) {
	if s.cfg.Logf != nil {
		s.cfg.Logf(format, args...)
	}
}

func (s *Server) acceptLoop(node string, ln net.Listener) {
	defer s.wg.Done()
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			c.Close()
			return
		}
		s.conns[c] = true
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer func() {
				s.mu.Lock()
				delete(s.conns, c)
				s.mu.Unlock()
				c.Close()
			}()
			s.serveSSH(node, c)
		}()
	}
}
