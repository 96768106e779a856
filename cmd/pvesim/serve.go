//go:build linux

package main

import (
	"debug/elf"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/guestroot"
	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/pvesim"
)

// Info is the JSON line printed on start. Every field is described in
// infoFields (serve --help and docs/simulator.md).
type Info struct {
	Endpoint    string   `json:"endpoint"`
	APIToken    string   `json:"api_token"`
	Username    string   `json:"username"`
	Password    string   `json:"password"`
	CACertFile  string   `json:"ca_cert_file"`
	Fingerprint string   `json:"fingerprint"`
	Nodes       []string `json:"nodes"`
	// SSH: the node shell (first node's address; SSHNodes has every node's).
	SSHAddress            string            `json:"ssh_address,omitempty"`
	SSHNodes              map[string]string `json:"ssh_nodes,omitempty"`
	SSHUser               string            `json:"ssh_user,omitempty"`
	SSHPassword           string            `json:"ssh_password,omitempty"`
	SSHPrivateKeyFile     string            `json:"ssh_private_key_file,omitempty"`
	SSHHostKey            string            `json:"ssh_host_key,omitempty"`
	SSHHostKeyFingerprint string            `json:"ssh_host_key_fingerprint,omitempty"`
	SSHServing            bool              `json:"ssh_serving"`
	RealGuests            bool              `json:"real_guests"`
	sshPrivateKey         string
}

// infoFields documents Info's JSON fields, in order.
var infoFields = []struct{ name, doc string }{
	{"endpoint", "API base URL, https://HOST:PORT/api2/json (PROXMOX_VE_ENDPOINT)"},
	{"api_token", `API token of root@pam, "root@pam!phoenix=SECRET" (PROXMOX_VE_API_TOKEN); a secret`},
	{"username", `"root@pam" (PROXMOX_VE_USERNAME)`},
	{"password", "root@pam's password, for tickets (PROXMOX_VE_PASSWORD); a secret"},
	{"ca_cert_file", "PEM file of the CA that signed the API's certificate (PROXMOX_VE_CA_CERT_FILE)"},
	{"fingerprint", "SHA-256 fingerprint of the API's certificate, AA:BB:... as PVE shows it"},
	{"nodes", "the cluster's node names"},
	{"ssh_address", "node shell of the first node, HOST:PORT (PROXMOX_VE_SSH_ADDRESS/PORT); only with ssh_serving"},
	{"ssh_nodes", "node shell address of every node, by node name; only with ssh_serving"},
	{"ssh_user", `node shell login, "root"; only with ssh_serving`},
	{"ssh_password", "root's password on the nodes (the same as password); a secret; only with ssh_serving"},
	{"ssh_private_key_file", "OpenSSH private key file that may log in as root; only with ssh_serving"},
	{"ssh_host_key", `the nodes' host key, "ssh-ed25519 AAAA..." (a known_hosts key); only with ssh_serving`},
	{"ssh_host_key_fingerprint", `that host key's "SHA256:..." fingerprint; only with ssh_serving`},
	{"ssh_serving", "whether the node shell (SSH with pct and qm) is served: --ssh-listen was given and real guests run"},
	{"real_guests", "whether guests run commands (pct exec, the guest agent, feature scripts); false when they hold configuration only"},
}

type serveFlags struct {
	fs                                               *flag.FlagSet
	listen, sshListen, guestRootDir, nodes, stateDir *string
	phoenixDir, envFile                              *string
	realGuests                                       *bool
	bootDelay, taskDur, lockTimeout                  *time.Duration
}

func newServeFlags(out io.Writer) *serveFlags {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(out)
	f := &serveFlags{fs: fs}
	f.listen = fs.String("listen", "127.0.0.1:8006", "HTTPS listen `address` of the API (port 0 picks a free port)")
	f.sshListen = fs.String("ssh-listen", "", "serve the node shell (SSH with pct and qm); the first node listens on this `address`, the others on free ports (needs real guests)")
	f.realGuests = fs.Bool("real-guests", true, "give guests real root directories where pct exec, the guest agent and scripts run (needs Linux, root, bash-static and busybox-static); when not given explicitly and those are missing, pvesim warns and runs without")
	f.guestRootDir = fs.String("guest-root-dir", "", "where guest roots live (default STATE_DIR/guestroot, or a temporary `directory` removed on exit)")
	f.bootDelay = fs.Duration("agent-boot-delay", pvesim.DefaultAgentBootDelay, "how long a started VM boots before its QEMU guest agent answers")
	f.nodes = fs.String("nodes", "pve", "comma-separated node `names`")
	f.stateDir = fs.String("state-dir", "", "persist state (guests, credentials, certificate, keys) in this `directory` across restarts; default: in memory")
	f.phoenixDir = fs.String("phoenix-config-dir", "", "seed storages, the bridge and OS templates from this phoenix config `directory`")
	f.envFile = fs.String("env-file", "", "write PROXMOX_VE_* shell exports (endpoint, credentials, SSH settings) to this `file`, mode 0600")
	f.taskDur = fs.Duration("task-duration", 200*time.Millisecond, "how long each worker task runs")
	f.lockTimeout = fs.Duration("lock-timeout", 10*time.Second, "config lock (flock) timeout; PVE's is 10s")
	return f
}

// serveHelp is `pvesim serve --help`.
func serveHelp(fs *flag.FlagSet) string {
	var b strings.Builder
	b.WriteString(`Usage: pvesim serve [flags]

Runs the simulator in the foreground. Once it serves, it prints one JSON line
on stdout (and writes --env-file), then runs until SIGINT or SIGTERM, when it
stops guests and persists state to --state-dir. Warnings go to stderr.
Exit status: 0 after a signal, 1 when it cannot start, 2 for a usage error.

Flags:
`)
	fs.SetOutput(&b)
	fs.PrintDefaults()
	b.WriteString("\nThe JSON line has these fields (secrets included: keep it out of logs;\n--env-file holds the same values):\n")
	for _, f := range infoFields {
		fmt.Fprintf(&b, "  %-25s %s\n", f.name, f.doc)
	}
	b.WriteString(`
Example:
  pvesim serve --listen 127.0.0.1:0 --ssh-listen 127.0.0.1:0 --env-file sim.env >sim.json &
  . ./sim.env   # then terraform plan, curl --cacert "$PROXMOX_VE_CA_CERT_FILE" ...
`)
	return b.String()
}

func serve(args []string, stdout, stderr io.Writer) error {
	f := newServeFlags(io.Discard)
	if err := f.fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			_, err := io.WriteString(stdout, serveHelp(f.fs))
			return err
		}
		return usageError{err.Error(), "Run 'pvesim serve --help' for the flags.\n"}
	}
	if f.fs.NArg() > 0 {
		return usageError{fmt.Sprintf("serve takes no arguments, got %q", f.fs.Args()), "Run 'pvesim serve --help' for the flags.\n"}
	}
	explicit := map[string]bool{}
	f.fs.Visit(func(fl *flag.Flag) { explicit[fl.Name] = true })
	if err := decideRealGuests(f, explicit, stderr); err != nil {
		return err
	}
	opts := pvesim.Options{Listen: *f.listen, Nodes: strings.Split(*f.nodes, ","), StateDir: *f.stateDir,
		PhoenixConfigDir: *f.phoenixDir, TaskDuration: *f.taskDur, LockTimeout: *f.lockTimeout,
		RealGuests: *f.realGuests, GuestRootDir: *f.guestRootDir, AgentBootDelay: *f.bootDelay, SSHListen: *f.sshListen}
	if opts.SSHListen != "" {
		bin, cleanup := clientBinary(stderr)
		defer cleanup()
		opts.SSHClientBinary = bin
	}
	srv, err := pvesim.Start(opts)
	if err != nil {
		return err
	}
	info := newInfo(srv, opts.RealGuests)
	if *f.envFile != "" {
		if err := writeEnvFile(*f.envFile, info); err != nil {
			_ = srv.Close()
			return err
		}
	}
	// Listen for signals before announcing readiness, so a supervisor that
	// stops us right after the line is printed gets a clean exit.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sig)
	line, _ := json.Marshal(info)
	fmt.Fprintln(stdout, string(line))
	<-sig
	return srv.Close()
}

// decideRealGuests checks that real guests can run. Asked for explicitly, a
// missing prerequisite is an error; by default pvesim warns once and runs
// without them (and without the node shell, which needs them), so the JSON
// line's real_guests and ssh_serving say what really works.
func decideRealGuests(f *serveFlags, explicit map[string]bool, stderr io.Writer) error {
	if !*f.realGuests {
		if *f.sshListen != "" {
			return usageError{"--ssh-listen needs real guests (the node shell runs in a sandbox); drop --real-guests=false", "Run 'pvesim serve --help' for the flags.\n"}
		}
		return nil
	}
	err := guestroot.CheckDeps()
	if err == nil {
		err = guestroot.Supported()
	}
	if err == nil {
		return nil
	}
	if explicit["real-guests"] {
		return fmt.Errorf("--real-guests: %v\n(run scripts/install-deps.sh and pvesim as root, or pass --real-guests=false)", err)
	}
	what := "guests hold configuration only: pct exec, the guest agent and feature scripts are refused"
	if *f.sshListen != "" {
		what += ", and the node shell (--ssh-listen) is not served"
		*f.sshListen = ""
	}
	fmt.Fprintf(stderr, "pvesim: warning: running without real guests (%v); %s. Pass --real-guests=false to run so without this warning.\n", err, what)
	*f.realGuests = false
	return nil
}

func newInfo(srv *pvesim.Server, realGuests bool) Info {
	info := Info{Endpoint: srv.Endpoint(), APIToken: srv.APIToken(), Username: srv.Username(), Password: srv.Password(),
		CACertFile: srv.CACertFile(), Fingerprint: srv.Fingerprint(), Nodes: srv.Nodes(), RealGuests: realGuests}
	if srv.NodeShell() != nil {
		info.SSHServing = true
		info.SSHAddress, info.SSHUser, info.SSHPassword = srv.SSHAddr(""), srv.SSHUser(), srv.SSHPassword()
		info.SSHPrivateKeyFile, info.sshPrivateKey = srv.SSHPrivateKeyFile(), string(srv.SSHPrivateKey())
		info.SSHHostKey, info.SSHHostKeyFingerprint = srv.SSHHostKey(), srv.SSHHostKeyFingerprint()
		info.SSHNodes = map[string]string{}
		for _, n := range srv.Nodes() {
			info.SSHNodes[n] = srv.SSHAddr(n)
		}
	}
	return info
}

// selfExe is the running executable. /proc/self/exe is the file this
// process was started from even after its path was rebuilt or removed.
var selfExe = "/proc/self/exe"

// clientBinary copies the running executable into a private temporary
// directory for the node sandbox's pct and qm, so rebuilding bin/pvesim under
// a running simulator cannot break its node shell. The copy must be static:
// the sandbox has no libc. cleanup removes the copy.
func clientBinary(stderr io.Writer) (path string, cleanup func()) {
	cleanup = func() {}
	warn := func(err error) {
		fmt.Fprintf(stderr, "pvesim: warning: scripts in the node shell cannot call pct/qm (%v); build pvesim with CGO_ENABLED=0 (make build)\n", err)
	}
	if err := requireStatic(selfExe); err != nil {
		warn(err)
		return "", cleanup
	}
	dir, err := os.MkdirTemp("", "pvesim-client-")
	if err != nil {
		warn(err)
		return "", cleanup
	}
	cleanup = func() { _ = os.RemoveAll(dir) }
	path = filepath.Join(dir, "pvesim")
	if err := copyExecutable(selfExe, path); err != nil {
		warn(err)
		cleanup()
		return "", func() {}
	}
	return path, cleanup
}

func copyExecutable(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o555)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		_ = out.Close()
		return err
	}
	return out.Close()
}

func requireStatic(p string) error {
	f, err := elf.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			return fmt.Errorf("this pvesim is dynamically linked")
		}
	}
	return nil
}

// shellQuote quotes s for POSIX sh.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func writeEnvFile(path string, info Info) error {
	var b strings.Builder
	add := func(k, v string) { fmt.Fprintf(&b, "export %s=%s\n", k, shellQuote(v)) }
	add("PROXMOX_VE_ENDPOINT", info.Endpoint)
	add("PROXMOX_VE_API_TOKEN", info.APIToken)
	add("PROXMOX_VE_CA_CERT_FILE", info.CACertFile)
	add("PROXMOX_VE_USERNAME", info.Username)
	add("PROXMOX_VE_PASSWORD", info.Password)
	if info.SSHServing {
		_, port, _ := net.SplitHostPort(info.SSHAddress)
		add("PROXMOX_VE_SSH_ADDRESS", info.SSHAddress)
		add("PROXMOX_VE_SSH_PORT", port)
		add("PROXMOX_VE_SSH_USERNAME", info.SSHUser)
		add("PROXMOX_VE_SSH_PASSWORD", info.SSHPassword)
		add("PROXMOX_VE_SSH_PRIVATE_KEY", info.sshPrivateKey)
		add("PROXMOX_VE_SSH_HOST_KEY", info.SSHHostKey)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(b.String()), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
