//go:build linux

// Command pvesim runs the Proxmox VE 9.1 API simulator in the foreground:
//
//	pvesim serve [--listen 127.0.0.1:8006] [--ssh-listen 127.0.0.1:2222] [--nodes pve1,pve2]
//	             [--state-dir DIR] [--phoenix-config-dir DIR] [--env-file F] ...
//
// On start it prints one JSON line (see serveHelp) and runs until
// SIGTERM/SIGINT, then persists state. Called as pct or qm (argv[0]), it is
// the node shell's in-sandbox client; it is built with CGO_ENABLED=0 so that
// works in the libc-less sandbox.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/nodeshell"
)

func main() {
	// Inside a node sandbox this binary is bind-mounted as /usr/sbin/pct and
	// /usr/sbin/qm: forward the call to the node shell.
	if nodeshell.IsClientName(os.Args[0]) {
		os.Exit(nodeshell.ClientMain(os.Args))
	}
	err := run(os.Args[1:], os.Stdout, os.Stderr)
	var ue usageError
	switch {
	case err == nil:
	case errors.As(err, &ue):
		fmt.Fprintf(os.Stderr, "pvesim: %s\n\n%s", ue.msg, ue.usage)
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "pvesim:", err)
		os.Exit(1)
	}
}

// usageError is a command line mistake: main prints it with the usage and
// exits 2.
type usageError struct{ msg, usage string }

func (e usageError) Error() string { return e.msg }

const mainHelp = `Usage: pvesim <command> [flags]

pvesim simulates a Proxmox VE 9.1 cluster for tests and demos: the HTTPS API
under /api2/json (API tokens and root@pam tickets, parameter validation from
the official API schema, worker tasks, config locks, PVE's error texts), an
SSH node shell per node with pct and qm, and containers and VMs whose
commands run for real in isolated root directories (Linux, as root).

Commands:
  serve   run the simulator in the foreground until SIGINT or SIGTERM;
          it prints one JSON line with its endpoint and credentials
  help    print this text ('pvesim help serve' for serve's flags)

Run 'pvesim serve --help' for every flag and each field of the JSON line.
See docs/simulator.md for the /_sim/ control API (faults, counters, locks).
`

// run executes one pvesim command line (without argv[0]). Help goes to
// stdout and returns nil; mistakes return a usageError.
func run(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError{"no command given", mainHelp}
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		if len(args) > 1 && args[0] == "help" && args[1] == "serve" {
			_, err := io.WriteString(stdout, serveHelp(newServeFlags(io.Discard).fs))
			return err
		}
		_, err := io.WriteString(stdout, mainHelp)
		return err
	case "serve":
		return serve(args[1:], stdout, stderr)
	}
	return usageError{fmt.Sprintf("unknown command %q", args[0]), mainHelp}
}
