//go:build linux

package guestroot

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
)

// execTimeoutRunCmd bounds one runcmd line, so a hung line cannot hang a boot.
const execTimeoutRunCmd = 2 * time.Minute

// Packages in simulated guests: installing one records it where dpkg would
// (/var/lib/dpkg/info/<name>.list) and installs the files of the packages the
// simulator gives meaning to. The guest agent is the one that matters: cloud
// images ship without it, and PVE's agent API answers only once it runs.

// AgentBinary is qemu-ga's path in Debian's and Ubuntu's package.
const AgentBinary = "/usr/sbin/qemu-ga"

// AgentPackage is the package that installs the guest agent.
const AgentPackage = "qemu-guest-agent"

var packageFiles = map[string][]baseFile{
	AgentPackage: {
		{"usr/sbin/qemu-ga", 0o755, "#!/bin/sh\n# Stand-in for QEMU's guest agent: the simulator answers agent calls once this is installed.\necho 'QEMU Guest Agent 8.2.2'\n"},
		{"lib/systemd/system/qemu-guest-agent.service", 0o644, "[Unit]\nDescription=QEMU Guest Agent\n\n[Service]\nExecStart=/usr/sbin/qemu-ga\n"},
	},
}

// validPackage is Debian's package name syntax (Policy 5.6.1), plus an
// optional =version as apt and cloud-init accept.
func validPackage(p string) bool {
	name, _, _ := strings.Cut(p, "=")
	if len(name) < 2 || !(name[0] >= 'a' && name[0] <= 'z' || name[0] >= '0' && name[0] <= '9') {
		return false
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.ContainsRune("+-.", c)) {
			return false
		}
	}
	return true
}

// InstallPackagesIn installs pkgs into root.
func InstallPackagesIn(root string, pkgs []string) error {
	for _, p := range pkgs {
		if !validPackage(p) {
			return fmt.Errorf("guestroot: invalid package name %q", p)
		}
		name, _, _ := strings.Cut(p, "=")
		var list []string
		for _, f := range packageFiles[name] {
			if err := MkdirAllIn(root, "/"+parentDir(f.path), 0o755); err != nil {
				return err
			}
			if err := WriteFileIn(root, "/"+f.path, []byte(f.data), f.mode); err != nil {
				return err
			}
			list = append(list, "/"+f.path)
		}
		if err := MkdirAllIn(root, "/var/lib/dpkg/info", 0o755); err != nil {
			return err
		}
		if err := WriteFileIn(root, "/var/lib/dpkg/info/"+name+".list", []byte(strings.Join(list, "\n")+"\n"), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func parentDir(p string) string {
	if i := strings.LastIndexByte(p, '/'); i > 0 {
		return p[:i]
	}
	return ""
}

// InstallPackages installs pkgs into guest id.
func (m *Manager) InstallPackages(id int, pkgs ...string) error {
	root, err := m.existing(id)
	if err != nil {
		return err
	}
	return InstallPackagesIn(root, pkgs)
}

// HasAgent reports whether guest id has the guest agent installed.
func (m *Manager) HasAgent(id int) bool {
	root, err := m.existing(id)
	if err != nil {
		return false
	}
	_, _, err = ReadFileIn(root, AgentBinary, 1)
	return err == nil
}

// runCommands runs cloud-init's runcmd lines in guest id, each with /bin/sh,
// appending their output to /var/log/cloud-init-output.log. As cloud-init
// does, a failing line is logged and the others still run.
func (m *Manager) runCommands(ctx context.Context, id int, lines []string) error {
	if len(lines) == 0 {
		return nil
	}
	var log strings.Builder
	for _, line := range lines {
		res, err := m.Exec(ctx, id, ExecRequest{Argv: []string{"/bin/sh", "-c", line}, Timeout: execTimeoutRunCmd})
		if err != nil {
			fmt.Fprintf(&log, "runcmd %q: %v\n", line, err)
			continue
		}
		log.Write(res.Stdout)
		log.Write(res.Stderr)
		if res.ExitCode != 0 {
			fmt.Fprintf(&log, "runcmd %q exited %d\n", line, res.ExitCode)
		}
	}
	root := m.Root(id)
	old, _, err := ReadFileIn(root, "/var/log/cloud-init-output.log", 0)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return WriteFileIn(root, "/var/log/cloud-init-output.log", append(old, log.String()...), 0o644)
}
