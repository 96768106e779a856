//go:build linux

package pvesim

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/pvetext"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/pveschema"
)

// The guest config file as pmxcfs holds it (/etc/pve/nodes/N/lxc/ID.conf,
// .../qemu-server/ID.conf): rendered for the node shell, and parsed back when
// a session edited it. Rendering follows write_pct_config/write_vm_config,
// parsing parse_pct_config/parse_vm_config (non-strict: bad lines are warned
// about and skipped, as PVE does).

// confText renders g's config file (caller holds s.mu).
func confText(g *Guest) string {
	var b strings.Builder
	b.WriteString(confSection(g.Kind, g.Config, g.LXC, false))
	if len(g.Pending) > 0 || len(g.PendingDelete) > 0 {
		pend := copyMap(g.Pending)
		if len(g.PendingDelete) > 0 {
			pend["delete"] = strings.Join(g.PendingDelete, ",")
		}
		if g.Kind == "lxc" {
			b.WriteString("\n[pve:pending]\n")
		} else {
			b.WriteString("\n[PENDING]\n")
		}
		b.WriteString(confSection(g.Kind, pend, nil, true))
	}
	for _, name := range sortedKeys(g.Snapshots) {
		sn := g.Snapshots[name]
		fmt.Fprintf(&b, "\n[%s]\n", name)
		b.WriteString(confSection(g.Kind, sn.Config, sn.LXC, false))
	}
	return b.String()
}

func confSection(kind string, cfg map[string]string, lxc [][2]string, pending bool) string {
	var b strings.Builder
	if d, ok := cfg["description"]; ok {
		if d != "" {
			for _, line := range strings.Split(strings.TrimSuffix(d, "\n"), "\n") {
				b.WriteString("#" + pvetext.Encode(line) + "\n")
			}
		} else if pending && kind == "qemu" {
			b.WriteString("#\n")
		}
	}
	for _, k := range sortedKeys(cfg) {
		switch k {
		case "digest", "description", "env":
			continue
		}
		fmt.Fprintf(&b, "%s: %s\n", k, cfg[k])
	}
	if env := cfg["env"]; env != "" && kind == "lxc" {
		for _, v := range strings.Split(env, "\x00") {
			if v != "" {
				fmt.Fprintf(&b, "lxc.environment.runtime: %s\n", v)
			}
		}
	}
	for _, kv := range lxc {
		if kv[0] != "lxc.environment.runtime" {
			fmt.Fprintf(&b, "%s: %s\n", kv[0], kv[1])
		}
	}
	return b.String()
}

var (
	confLXCLineRE  = regexp.MustCompile(`^(lxc\.[a-z0-9_\-.]+)(:|\s*=)\s*(.*?)\s*$`)
	confKeyLineRE  = regexp.MustCompile(`^([a-z][a-z_]*\d*):\s*(\S.*?)\s*$`)
	confDescLineRE = regexp.MustCompile(`^(description):\s*(.*\S)\s*$`)
	confSectionRE  = regexp.MustCompile(`^\[([a-z][a-z0-9_\-]+)\]\s*$`)
	confSpecialRE  = regexp.MustCompile(`^\[special:[a-z]+\]\s*$`)
	confPendingRE  = regexp.MustCompile(`(?i)^\[(pve:pending|pending)\]\s*$`)
)

// confInternalKeys are written by PVE itself and are not API options.
var confInternalKeys = map[string]bool{"lock": true, "digest": true, "parent": true, "snaptime": true,
	"snapstate": true, "vmstate": true, "runningmachine": true, "runningcpu": true, "meta": true, "template": true,
	"unprivileged": true, "arch": true, "ostype": true, "delete": true}

// lxcKeyValidity is is_valid_lxc_conf_key: "" valid, else the warning.
func lxcKeyValidity(vmid int, key string) (ok bool, warning string) {
	switch key {
	case "lxc.rootfs.path":
		return false, fmt.Sprintf("vm %d - %s: lxc.rootfs.path is auto generated from rootfs", vmid, key)
	case "lxc.rootfs.options":
		return false, fmt.Sprintf("vm %d - %s: lxc.rootfs.options is not supported, please use mount point options in the \"rootfs\" key", vmid, key)
	}
	if strings.HasPrefix(key, "lxc.limit.") {
		return true, fmt.Sprintf("vm %d - %s: lxc.limit.* was renamed to lxc.prlimit.*", vmid, key)
	}
	if strings.HasPrefix(key, "lxc.cgroup.") {
		return true, fmt.Sprintf("vm %d - %s is deprecated, this will be a hard error in the future!", vmid, key)
	}
	if validLXCKeys[key] || strings.HasPrefix(key, "lxc.cgroup2.") || strings.HasPrefix(key, "lxc.prlimit.") ||
		strings.HasPrefix(key, "lxc.net.") {
		return true, ""
	}
	return false, ""
}

var validLXCKeys = func() map[string]bool {
	m := map[string]bool{}
	for _, k := range strings.Fields(`lxc.apparmor.profile lxc.apparmor.allow_incomplete lxc.apparmor.allow_nesting
		lxc.apparmor.raw lxc.selinux.context lxc.include lxc.arch lxc.uts.name lxc.signal.halt lxc.signal.reboot
		lxc.signal.stop lxc.init.cmd lxc.init.cwd lxc.init.uid lxc.init.gid lxc.init.groups lxc.pty.max
		lxc.console.logfile lxc.console.path lxc.tty.max lxc.devtty.dir lxc.hook.autodev lxc.autodev lxc.kmsg
		lxc.mount.fstab lxc.mount.entry lxc.mount.auto lxc.rootfs.mount lxc.cap.drop lxc.cap.keep
		lxc.seccomp.profile lxc.seccomp.notify.proxy lxc.seccomp.notify.cookie lxc.idmap lxc.hook.pre-start
		lxc.hook.pre-mount lxc.hook.mount lxc.hook.start lxc.hook.stop lxc.hook.post-stop lxc.hook.clone
		lxc.hook.destroy lxc.hook.version lxc.log.level lxc.log.file lxc.start.auto lxc.start.delay
		lxc.start.order lxc.group lxc.environment lxc.environment.runtime lxc.environment.hooks`) {
		m[k] = true
	}
	for _, k := range strings.Fields(`fs.mqueue kernel.msgmax kernel.msgmnb kernel.msgmni kernel.sem kernel.shmall
		kernel.shmmax kernel.shmmni kernel.shm_rmid_forced`) {
		m["lxc.sysctl."+k] = true
	}
	return m
}()

type parsedSection struct {
	cfg map[string]string
	lxc [][2]string
}

// parseConfText parses an edited config file of g. It returns the sections
// and the warnings PVE's parser would print.
func parseConfText(kind string, vmid int, text string) (main, pending *parsedSection, snaps map[string]*parsedSection, warnings []string) {
	newSec := func() *parsedSection { return &parsedSection{cfg: map[string]string{}} }
	main, snaps = newSec(), map[string]*parsedSection{}
	cur, descr, ignore := main, "", false
	finish := func() {
		if cur != nil && descr != "" {
			cur.cfg["description"] = descr
		}
		descr = ""
	}
	warn := func(format string, args ...any) { warnings = append(warnings, fmt.Sprintf(format, args...)) }
	for _, line := range strings.Split(text, "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		switch {
		case confPendingRE.MatchString(line):
			finish()
			pending, ignore = newSec(), false
			cur = pending
			continue
		case confSpecialRE.MatchString(line):
			finish()
			cur, ignore = newSec(), true
			continue
		case confSectionRE.MatchString(line):
			finish()
			cur, ignore = newSec(), false
			snaps[confSectionRE.FindStringSubmatch(line)[1]] = cur
			continue
		}
		if ignore {
			continue
		}
		if strings.HasPrefix(line, "#") {
			descr += pvetext.Decode(line[1:]) + "\n"
			continue
		}
		if m := confLXCLineRE.FindStringSubmatch(line); m != nil && kind == "lxc" {
			ok, w := lxcKeyValidity(vmid, m[1])
			switch {
			case w != "":
				warn("%s", w)
			case !ok:
				warn("vm %d - unable to parse config: %s", vmid, line)
			}
			if !ok {
				continue
			}
			if m[1] == "lxc.environment.runtime" {
				if e, had := cur.cfg["env"]; had {
					cur.cfg["env"] = e + "\x00" + m[3]
				} else {
					cur.cfg["env"] = m[3]
				}
				continue
			}
			cur.lxc = append(cur.lxc, [2]string{m[1], m[3]})
			continue
		}
		if m := confDescLineRE.FindStringSubmatch(line); m != nil {
			descr += pvetext.Decode(m[2])
			continue
		}
		m := confKeyLineRE.FindStringSubmatch(line)
		if m == nil {
			warn("vm %d - unable to parse config: %s", vmid, line)
			continue
		}
		key, value := m[1], m[2]
		if msg := checkConfValue(kind, key, value); msg != "" {
			warn("vm %d - unable to parse value of '%s' - %s", vmid, key, msg)
			if kind == "qemu" {
				continue // parse_vm_config drops it; parse_pct_config keeps it
			}
		}
		cur.cfg[key] = value
	}
	finish()
	return main, pending, snaps, warnings
}

// checkConfValue is check_type: the option must exist and its value match
// the schema; "" when fine.
func checkConfValue(kind, key, value string) string {
	if confInternalKeys[key] {
		return ""
	}
	if !optionExists(kind, key) {
		return fmt.Sprintf("unknown setting '%s'", key)
	}
	errs := configEndpoint(kind).Validate(pveschema.Values{key: {value}})
	if msg, bad := errs[key]; bad {
		return msg
	}
	return ""
}

// setConfText replaces g's config with an edited file's content, as editing
// /etc/pve/.../ID.conf does on PVE (no API checks, only the parser's
// warnings). Caller holds s.mu.
func setConfText(g *Guest, text string) error {
	main, pending, snaps, warnings := parseConfText(g.Kind, g.VMID, text)
	g.Config, g.LXC = main.cfg, main.lxc
	g.Pending, g.PendingDelete = nil, nil
	if pending != nil {
		if d, ok := pending.cfg["delete"]; ok {
			g.PendingDelete = splitList(d)
			delete(pending.cfg, "delete")
		}
		if len(pending.cfg) > 0 {
			g.Pending = pending.cfg
		}
	}
	g.Snapshots = nil
	for _, name := range sortedKeys(snaps) {
		if g.Snapshots == nil {
			g.Snapshots = map[string]*Snapshot{}
		}
		g.Snapshots[name] = &Snapshot{Config: snaps[name].cfg, LXC: snaps[name].lxc}
	}
	if len(warnings) == 0 {
		return nil
	}
	return errors.New(strings.Join(warnings, "\n"))
}
