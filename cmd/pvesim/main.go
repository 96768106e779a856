// Command pvesim runs the Proxmox VE API simulator in the foreground:
//
//	pvesim serve --listen 127.0.0.1:8006 [--ssh-listen 127.0.0.1:2222] [--nodes pve1,pve2]
//	             [--state-dir DIR] [--phoenix-config-dir DIR] [--env-file F]
//
// On start it prints one JSON line with the endpoint, credentials, CA file and
// TLS fingerprint; it runs until SIGTERM/SIGINT and then persists state.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/pvesim"
)

func main() {
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
	// SSH is served by a later issue; the fields say where it will listen.
	SSHAddress  string `json:"ssh_address,omitempty"`
	SSHUser     string `json:"ssh_user,omitempty"`
	SSHPassword string `json:"ssh_password,omitempty"`
	SSHServing  bool   `json:"ssh_serving"`
}

func run(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "serve" {
		return fmt.Errorf("usage: pvesim serve [--listen ADDR] [--ssh-listen ADDR] [--nodes a,b] [--state-dir DIR] [--phoenix-config-dir DIR] [--env-file F]")
	}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:8006", "HTTPS listen address (port 0 picks a free port)")
	sshListen := fs.String("ssh-listen", "", "SSH listen address (SSH serving comes in a later issue)")
	nodes := fs.String("nodes", "pve", "comma-separated node names")
	stateDir := fs.String("state-dir", "", "persist state here across restarts")
	phoenixDir := fs.String("phoenix-config-dir", "", "seed storages and templates from this phoenix config directory")
	envFile := fs.String("env-file", "", "write PROXMOX_VE_* exports to this file")
	taskDur := fs.Duration("task-duration", 200*time.Millisecond, "how long each worker task runs")
	lockTimeout := fs.Duration("lock-timeout", 10*time.Second, "flock timeout (PVE: 10s)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	srv, err := pvesim.Start(pvesim.Options{Listen: *listen, Nodes: strings.Split(*nodes, ","), StateDir: *stateDir,
		PhoenixConfigDir: *phoenixDir, TaskDuration: *taskDur, LockTimeout: *lockTimeout})
	if err != nil {
		return err
	}
	info := Info{Endpoint: srv.Endpoint(), APIToken: srv.APIToken(), Username: srv.Username(), Password: srv.Password(),
		CACertFile: srv.CACertFile(), Fingerprint: srv.Fingerprint(), Nodes: srv.Nodes()}
	if *sshListen != "" {
		info.SSHAddress, info.SSHUser, info.SSHPassword = *sshListen, "root", srv.Password()
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
	if info.SSHAddress != "" {
		add("PROXMOX_VE_SSH_ADDRESS", info.SSHAddress)
		add("PROXMOX_VE_SSH_USERNAME", info.SSHUser)
		add("PROXMOX_VE_SSH_PASSWORD", info.SSHPassword)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(b.String()), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
