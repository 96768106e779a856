// Command pvesim runs the Proxmox VE API simulator in the foreground:
//
//	pvesim serve --listen 127.0.0.1:8006 [--ssh-listen 127.0.0.1:2222] [--nodes pve1,pve2]
//	             [--state-dir DIR] [--phoenix-config-dir DIR] [--env-file F]
//	             [--real-guests=true] [--agent-boot-delay 3s]
//
// On start it prints one JSON line with the endpoint, credentials, CA file and
// TLS fingerprint (and the node shell's address, user, password, client key
// file and host key); it runs until SIGTERM/SIGINT and then persists state.
// Called as pct or qm (argv[0]), it is the node shell's in-sandbox client;
// build it with CGO_ENABLED=0 so that works in the libc-less sandbox.
package main

import (
	"debug/elf"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/guestroot"
	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/nodeshell"
	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/pvesim"
)

func main() {
	// Inside a node sandbox this binary is bind-mounted as /usr/sbin/pct and
	// /usr/sbin/qm: forward the call to the node shell.
	if nodeshell.IsClientName(os.Args[0]) {
		os.Exit(nodeshell.ClientMain(os.Args))
	}
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "pvesim:", err)
		os.Exit(1)
	}
}

// Info is the JSON line printed on start.
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

func run(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "serve" {
		return fmt.Errorf("usage: pvesim serve [--listen ADDR] [--ssh-listen ADDR] [--nodes a,b] [--state-dir DIR] [--phoenix-config-dir DIR] [--env-file F]")
	}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:8006", "HTTPS listen address (port 0 picks a free port)")
	sshListen := fs.String("ssh-listen", "", "node shell (SSH with pct/qm) listen address of the first node; other nodes get free ports")
	realGuests := fs.Bool("real-guests", true, "give guests real root directories where pct exec, the guest agent and scripts run (needs root, bash-static, busybox-static)")
	guestRootDir := fs.String("guest-root-dir", "", "where guest roots live (default STATE_DIR/guestroot or a temp dir)")
	bootDelay := fs.Duration("agent-boot-delay", 3*time.Second, "how long a started VM boots before its guest agent answers")
	nodes := fs.String("nodes", "pve", "comma-separated node names")
	stateDir := fs.String("state-dir", "", "persist state here across restarts")
	phoenixDir := fs.String("phoenix-config-dir", "", "seed storages and templates from this phoenix config directory")
	envFile := fs.String("env-file", "", "write PROXMOX_VE_* exports to this file")
	taskDur := fs.Duration("task-duration", 200*time.Millisecond, "how long each worker task runs")
	lockTimeout := fs.Duration("lock-timeout", 10*time.Second, "flock timeout (PVE: 10s)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	opts := pvesim.Options{Listen: *listen, Nodes: strings.Split(*nodes, ","), StateDir: *stateDir,
		PhoenixConfigDir: *phoenixDir, TaskDuration: *taskDur, LockTimeout: *lockTimeout,
		RealGuests: *realGuests, GuestRootDir: *guestRootDir, AgentBootDelay: *bootDelay, SSHListen: *sshListen}
	if *realGuests {
		if err := guestroot.CheckDeps(); err != nil {
			return fmt.Errorf("%v\n(run scripts/install-deps.sh as root, or pass --real-guests=false)", err)
		}
		if err := guestroot.Supported(); err != nil {
			fmt.Fprintf(stderr, "pvesim: warning: guest commands will be refused: %v\n", err)
		}
	}
	if *sshListen != "" {
		opts.SSHClientBinary = clientBinary(stderr)
	}
	srv, err := pvesim.Start(opts)
	if err != nil {
		return err
	}
	info := Info{Endpoint: srv.Endpoint(), APIToken: srv.APIToken(), Username: srv.Username(), Password: srv.Password(),
		CACertFile: srv.CACertFile(), Fingerprint: srv.Fingerprint(), Nodes: srv.Nodes(), RealGuests: *realGuests}
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
	if *envFile != "" {
		if err := writeEnvFile(*envFile, info); err != nil {
			srv.Close()
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

// clientBinary is this executable when it can serve as pct/qm inside node
// sandboxes, which have no libc: it must be statically linked.
func clientBinary(stderr io.Writer) string {
	exe, err := os.Executable()
	if err == nil {
		err = requireStatic(exe)
	}
	if err != nil {
		fmt.Fprintf(stderr, "pvesim: warning: scripts in the node shell cannot call pct/qm (%v); build pvesim with CGO_ENABLED=0\n", err)
		return ""
	}
	return exe
}

func requireStatic(p string) error {
	f, err := elf.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			return fmt.Errorf("%s is dynamically linked", p)
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
