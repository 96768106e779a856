//go:build linux

package pvesim

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"

	"golang.org/x/crypto/ssh"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/nodeshell"
)

// ClientKeyFile is the SSH client key's file name (in StateDir or the
// simulator's temp dir); its public half may log in as root.
const ClientKeyFile = "ssh_client_ed25519_key"

// startSSH starts the node shell (one listener per node; Options.SSHListen
// fixes the first node's address) with root's password and a client key.
func (s *Server) startSSH(keyDir string) error {
	if s.guests == nil {
		return errors.New("pvesim: SSHListen needs real guest roots (Options.RealGuests)")
	}
	if s.opts.SSHClientBinary != "" {
		if _, err := os.Stat(s.opts.SSHClientBinary); err != nil {
			return fmt.Errorf("pvesim: SSH client binary: %w", err)
		}
	}
	keyPath := filepath.Join(keyDir, ClientKeyFile)
	signer, pemBytes, err := loadOrCreateClientKey(keyPath)
	if err != nil {
		return err
	}
	addrs := map[string]string{s.opts.Nodes[0]: s.opts.SSHListen}
	srv, err := nodeshell.New(nodeshell.Config{
		Cluster:        shellCluster{s},
		Nodes:          s.opts.Nodes,
		Addrs:          addrs,
		StateDir:       s.opts.StateDir,
		Password:       s.auth.password,
		AuthorizedKeys: []ssh.PublicKey{signer.PublicKey()},
		ClientBinary:   s.opts.SSHClientBinary,
	})
	if err != nil {
		return err
	}
	if err := srv.Start(); err != nil {
		return err
	}
	s.ssh, s.sshKeyFile, s.sshKeyPEM = srv, keyPath, pemBytes
	return nil
}

func loadOrCreateClientKey(p string) (ssh.Signer, []byte, error) {
	if b, err := os.ReadFile(p); err == nil {
		signer, err := ssh.ParsePrivateKey(b)
		return signer, b, err
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, nil, err
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	block, err := ssh.MarshalPrivateKey(priv, "pvesim client")
	if err != nil {
		return nil, nil, err
	}
	pemBytes := pem.EncodeToMemory(block)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return nil, nil, err
	}
	if err := os.WriteFile(p, pemBytes, 0o600); err != nil {
		return nil, nil, err
	}
	signer, err := ssh.ParsePrivateKey(pemBytes)
	return signer, pemBytes, err
}

// SSHAddr is the node shell's host:port for node ("" for the first node;
// "" when SSH is not served).
func (s *Server) SSHAddr(node string) string {
	if s.ssh == nil {
		return ""
	}
	if node == "" {
		node = s.opts.Nodes[0]
	}
	return s.ssh.Addr(node)
}

// SSHUser is the node shell's login ("root", PAM's root like root@pam).
func (s *Server) SSHUser() string { return "root" }

// SSHPassword is root's password on the nodes (root@pam's).
func (s *Server) SSHPassword() string { return s.auth.password }

// SSHPrivateKeyFile is the path of the client key that may log in as root.
func (s *Server) SSHPrivateKeyFile() string { return s.sshKeyFile }

// SSHPrivateKey is that key in OpenSSH PEM form.
func (s *Server) SSHPrivateKey() []byte { return append([]byte(nil), s.sshKeyPEM...) }

// SSHHostKey is the nodes' host key in authorized_keys format ("ssh-ed25519 AAAA...").
func (s *Server) SSHHostKey() string {
	if s.ssh == nil {
		return ""
	}
	return s.ssh.AuthorizedHostKey()
}

// SSHHostKeyFingerprint is the host key's "SHA256:..." fingerprint.
func (s *Server) SSHHostKeyFingerprint() string {
	if s.ssh == nil {
		return ""
	}
	return s.ssh.Fingerprint()
}

// NodeShell is the node shell server (nil without SSHListen).
func (s *Server) NodeShell() *nodeshell.Server { return s.ssh }

// GuestRoot is the host directory of a guest's root ("" without real guest roots).
func (s *Server) GuestRoot(vmid int) string {
	if s.guests == nil {
		return ""
	}
	return s.guests.m.Root(vmid)
}

// DropSSHCommands makes the next n SSH commands run, send their output and
// then lose the connection without an exit status (fault).
func (f *Faults) DropSSHCommands(n int) error {
	if f.s.ssh == nil {
		return errors.New("SSH is not served")
	}
	f.s.ssh.DropNextCommands(n)
	return nil
}

// ChangeSSHHostKey gives the nodes a new host key (fault): clients that
// pinned the old one must refuse to connect.
func (f *Faults) ChangeSSHHostKey() error {
	if f.s.ssh == nil {
		return errors.New("SSH is not served")
	}
	return f.s.ssh.ChangeHostKey()
}

// serveSimGuests serves the /_sim/ endpoints of guest and SSH faults:
//
//	POST /_sim/agent  {"vmid": 100, "down": true, "exec_hang": true}
//	POST /_sim/ssh    {"drop_next": 1, "change_host_key": true}
//
// It reports whether it handled the path.
func (s *Server) serveSimGuests(w http.ResponseWriter, r *http.Request, p string) bool {
	reply := func(v any, err error) {
		if err != nil {
			writeError(w, &apiError{Status: 400, Msg: err.Error()})
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"data": v})
	}
	switch {
	case p == "/agent" && r.Method == http.MethodPost:
		var req struct {
			VMID     int   `json:"vmid"`
			Down     *bool `json:"down"`
			ExecHang *bool `json:"exec_hang"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.VMID == 0 {
			reply(nil, fmt.Errorf("want {\"vmid\": N, \"down\": bool, \"exec_hang\": bool}: %v", err))
			return true
		}
		if req.Down != nil {
			s.faults.SetAgentDown(req.VMID, *req.Down)
		}
		if req.ExecHang != nil {
			s.faults.SetAgentExecHang(req.VMID, *req.ExecHang)
		}
		reply(nil, nil)
	case p == "/ssh" && r.Method == http.MethodPost:
		var req struct {
			DropNext      int  `json:"drop_next"`
			ChangeHostKey bool `json:"change_host_key"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			reply(nil, err)
			return true
		}
		var err error
		if req.DropNext > 0 {
			err = s.faults.DropSSHCommands(req.DropNext)
		}
		if err == nil && req.ChangeHostKey {
			err = s.faults.ChangeSSHHostKey()
		}
		reply(map[string]string{"host_key": s.SSHHostKey(), "fingerprint": s.SSHHostKeyFingerprint()}, err)
	default:
		return false
	}
	return true
}
