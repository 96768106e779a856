//go:build linux

// Package pvesim is an in-process Proxmox VE 9.1 API simulator: HTTPS under
// /api2/json with PVE's auth, parameter validation (package pveschema), task
// UPIDs, config locks and error texts, plus /_sim/ endpoints for fault
// injection and request counting. Start one with Start(Options{...}).
//
// The API it serves (routes.go): version and tickets; nodes, node status,
// network (/nodes/{node}/network: interfaces.new, apply, revert) and
// query-url-metadata; cluster status, resources (guests, storages, nodes,
// pools) and nextid; pools (/pools); cluster mappings (/cluster/mapping/
// {dir,pci,usb}); storage.cfg (GET /storage, GET/PUT /storage/{storage});
// storage status and contents (list, info, delete, alloc, upload,
// download-url, aplinfo); tasks; containers and VMs (create, config,
// pending, status, power, resize, template, clone, snapshots, cloud-init,
// the guest agent); and the firewall of the cluster (options, rules,
// security groups, IPSets, aliases, refs, macros), of each node (options,
// rules) and of each guest (options, rules, IPSets, aliases, refs), the
// guest's for any VMID, as PVE reads an absent .fw file as empty.
//
// Each node has a root filesystem (NodeRoot; with Options.RealGuests the
// node shell's root). Storages with a path are directories in it: their
// iso, vztmpl, backup, snippets and import volumes are its files, so a file
// written over SSH or sftp is listed by GET .../storage/{storage}/content
// and an upload lands on disk. VolumePath resolves a volume ID as
// PVE::Storage::path does and ReadNodeFile reads a node file (cloud-init
// cicustom snippets). Unprivileged containers run in PVE's user namespace
// map (0 100000 65536 or their lxc.idmap lines) over roots owned by the
// mapped ids.
package pvesim

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/nodeshell"
)

// Options configure a simulator.
type Options struct {
	// Listen is the HTTPS address (default "127.0.0.1:0": a free port).
	Listen string
	// Nodes are the cluster's node names (default ["pve"]).
	Nodes []string
	// StateDir persists state (state.json) and the TLS certificate across
	// restarts; empty keeps state in memory.
	StateDir string
	// PhoenixConfigDir seeds storages, bridge and template volumes from a
	// phoenix configuration directory.
	PhoenixConfigDir string
	// TaskDuration is how long each worker task runs before its work is done
	// (0: tasks finish at once).
	TaskDuration time.Duration
	// TaskDurations overrides TaskDuration per task type (vzclone, qmclone,
	// vzcreate, vzstart, vzsnapshot...); RealisticTaskDurations holds the
	// times of a real host.
	TaskDurations map[string]time.Duration
	// TaskScale multiplies every task duration (0 means 1), so benchmarks
	// keep a real host's proportions at a fraction of its time.
	TaskScale float64
	// TicketLifetime is how long a login ticket is valid (default 2 h, as
	// PVE's); tests shorten it to see expiry.
	TicketLifetime time.Duration
	// LockTimeout is the flock wait before "got timeout" (default 10s, PVE's).
	LockTimeout time.Duration
	// Password of root@pam and TokenSecret of root@pam!phoenix; generated
	// (or taken from StateDir) when empty.
	Password    string
	TokenSecret string
	// Runtime receives guest lifecycle hooks (default NopRuntime). Ignored
	// when RealGuests is set.
	Runtime GuestRuntime
	// RealGuests gives every guest a real root directory (internal/sim/guestroot,
	// built from bash-static and busybox-static) in which pct exec, the guest
	// agent and the node shell run commands isolated from the host.
	RealGuests bool
	// GuestRootDir holds the guest roots (default StateDir/guestroot, else a
	// temp dir removed on Close).
	GuestRootDir string
	// AgentBootDelay is how long a started VM boots before its QEMU guest
	// agent answers (0: at once; pvesim serve uses DefaultAgentBootDelay).
	AgentBootDelay time.Duration
	// SSHListen starts the node shell (SSH with pct/qm) with the first
	// node's listener on this loopback address ("127.0.0.1:0" picks a port;
	// other nodes always get a free port). Needs RealGuests.
	SSHListen string
	// SSHClientBinary is a static pvesim binary (CGO_ENABLED=0) that the node
	// sandbox runs as pct and qm (it dispatches on argv[0]); without it only
	// plain `pct ...`/`qm ...` command lines work, not scripts calling them.
	SSHClientBinary string
}

// Server is a running simulator.
// DefaultAgentBootDelay is pvesim serve's boot time of a VM before its agent
// answers: a cloud image's boot to qemu-ga, roughly, on a fast host.
const DefaultAgentBootDelay = 3 * time.Second

type Server struct {
	opts    Options
	mu      sync.Mutex // guards st
	st      *State
	tasks   *taskEngine
	locks   *lockManager
	faults  *Faults
	runtime GuestRuntime
	auth    *authenticator
	routes  []*route
	agent   *agentState
	guests  *guestRoots // nil without Options.RealGuests
	// seedFiles are node files a phoenix config names by absolute path.
	seedFiles []string
	// nodeFSDir holds the nodes' roots without real guests (nodefs.go).
	nodeFSDir string

	ssh        *nodeshell.Server // nil without Options.SSHListen
	sshKeyFile string
	sshKeyPEM  []byte

	ln      net.Listener
	httpSrv *http.Server
	tlsInfo *tlsInfo
	tmpDir  string
	closed  chan struct{}
	once    sync.Once
}

// Start creates the simulator and starts serving HTTPS.
func Start(opts Options) (*Server, error) {
	if opts.Listen == "" {
		opts.Listen = "127.0.0.1:0"
	}
	if len(opts.Nodes) == 0 {
		opts.Nodes = []string{"pve"}
	}
	if opts.LockTimeout <= 0 {
		opts.LockTimeout = 10 * time.Second
	}
	s := &Server{opts: opts, locks: newLockManager(), runtime: opts.Runtime, closed: make(chan struct{}), agent: newAgentState()}
	if s.runtime == nil {
		s.runtime = NopRuntime{}
	}
	s.tasks = newTaskEngine(s)
	s.faults = newFaults(s)

	if err := s.initState(); err != nil {
		return nil, err
	}
	s.auth = newAuthenticator(s.st.Password, s.st.Token, opts.TicketLifetime)

	certDir := opts.StateDir
	if certDir == "" {
		d, err := os.MkdirTemp("", "pvesim-")
		if err != nil {
			return nil, err
		}
		s.tmpDir, certDir = d, d
	}
	if opts.RealGuests {
		g, err := newGuestRoots(rootDir(opts, certDir))
		if err != nil {
			s.cleanup()
			return nil, err
		}
		s.guests, s.runtime = g, g
	} else {
		s.nodeFSDir = filepath.Join(certDir, "nodes")
	}
	if err := s.initNodeFS(); err != nil {
		s.cleanup()
		return nil, err
	}
	s.runtime = agentRuntime{GuestRuntime: s.runtime, a: s.agent}
	ti, err := loadOrCreateCert(certDir, opts.Nodes)
	if err != nil {
		s.cleanup()
		return nil, err
	}
	s.tlsInfo = ti
	s.routes = s.buildRoutes()
	s.buildAgentRoutes()
	if opts.SSHListen != "" {
		if err := s.startSSH(certDir); err != nil {
			s.cleanup()
			return nil, err
		}
	}

	ln, err := net.Listen("tcp", opts.Listen)
	if err != nil {
		if s.ssh != nil {
			s.ssh.Close()
		}
		s.cleanup()
		return nil, err
	}
	s.ln = ln
	s.httpSrv = &http.Server{
		Handler:   s,
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{ti.cert}, MinVersion: tls.VersionTLS12},
		// HTTP/1.1 only, like pveproxy; it also lets error responses carry
		// PVE's message as the reason phrase.
		TLSNextProto:      map[string]func(*http.Server, *tls.Conn, http.Handler){},
		ReadHeaderTimeout: 30 * time.Second,
	}
	go func() { _ = s.httpSrv.ServeTLS(ln, "", "") }()
	return s, nil
}

func (s *Server) initState() error {
	if s.opts.StateDir != "" {
		st, err := loadState(s.opts.StateDir)
		if err == nil {
			s.st = st
			return nil
		}
		if !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	st := newState(s.opts.Nodes)
	st.Password = s.opts.Password
	if st.Password == "" {
		st.Password = randomHex(12)
	}
	st.Token = s.opts.TokenSecret
	if st.Token == "" {
		st.Token = randomUUID()
	}
	seedDefaults(st)
	if s.opts.PhoenixConfigDir != "" {
		files, err := seedPhoenix(st, s.opts.PhoenixConfigDir)
		if err != nil {
			return err
		}
		s.seedFiles = files
	}
	s.st = st
	return s.st.save(s.opts.StateDir)
}

// persist writes state when a state dir is configured.
func (s *Server) persist() {
	if s.opts.StateDir == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_ = s.st.save(s.opts.StateDir)
}

// Close stops serving, lets running tasks finish and persists state.
func (s *Server) Close() error {
	var err error
	s.once.Do(func() {
		close(s.closed)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if e := s.httpSrv.Shutdown(ctx); e != nil {
			_ = s.httpSrv.Close()
		}
		if s.ssh != nil {
			s.ssh.Close()
		}
		if s.guests != nil {
			s.guests.close() // kill guest commands before their roots go
		}
		s.tasks.wait(5 * time.Second)
		s.mu.Lock()
		err = s.st.save(s.opts.StateDir)
		s.mu.Unlock()
		s.cleanup()
	})
	return err
}

func (s *Server) cleanup() {
	if s.tmpDir != "" {
		os.RemoveAll(s.tmpDir)
	}
}

// Addr is the host:port the API listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Endpoint is the API base URL, e.g. https://127.0.0.1:8006/api2/json.
func (s *Server) Endpoint() string { return "https://" + s.Addr() + "/api2/json" }

// Username is the root user.
func (s *Server) Username() string { return "root@pam" }

// Password is root@pam's password.
func (s *Server) Password() string { return s.auth.password }

// TokenID is the API token id (user@realm!tokenid).
func (s *Server) TokenID() string { return tokenID }

// TokenSecret is the API token's secret (a UUID).
func (s *Server) TokenSecret() string { return s.auth.secret() }

// APIToken is "root@pam!phoenix=<secret>", the value of PROXMOX_VE_API_TOKEN.
func (s *Server) APIToken() string { return tokenID + "=" + s.auth.secret() }

// CACertFile is the PEM file of the CA that signed the server certificate.
func (s *Server) CACertFile() string { return s.tlsInfo.caFile }

// CACertPEM is the CA certificate in PEM form.
func (s *Server) CACertPEM() []byte { return s.tlsInfo.caPEM }

// Fingerprint is the server certificate's SHA-256 fingerprint (AA:BB:...).
func (s *Server) Fingerprint() string { return s.tlsInfo.fingerprint }

// TLSConfig returns a client TLS config trusting the simulator's CA.
func (s *Server) TLSConfig() *tls.Config { return s.tlsInfo.clientConfig() }

// Faults gives access to fault injection, the request log and counters.
func (s *Server) Faults() *Faults { return s.faults }

// Nodes are the node names.
func (s *Server) Nodes() []string { return append([]string(nil), s.opts.Nodes...) }

// GuestConfig returns a copy of a guest's config map as its .conf holds it.
func (s *Server) GuestConfig(vmid int) (map[string]string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.st.Guests[vmid]
	if !ok {
		return nil, false
	}
	return copyMap(g.Config), true
}

// WaitTask blocks until the task with upid stops and returns its exit status.
func (s *Server) WaitTask(ctx context.Context, upid string) (string, error) {
	t := s.tasks.get(upid)
	if t == nil {
		return "", fmt.Errorf("no such task %s", upid)
	}
	select {
	case <-t.done:
		return t.ExitStatus(), nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%x", b)
}

func randomUUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = (b[6] & 0x0f) | 0x40
	b[8] = (b[8] & 0x3f) | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
