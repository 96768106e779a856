// Package pveconf reads and writes PVE guest config files
// (/etc/pve/nodes/N/lxc/ID.conf, .../qemu-server/ID.conf) as pve-container's
// parse_pct_config/write_pct_config and qemu-server's
// parse_vm_config/write_vm_config do. It is the one implementation the
// simulator (pvesim renders and reads back the files its node shell shows)
// and the node shell (nodeshell prints `pct config`/`qm config` from them)
// share; it knows nothing of either.
//
// A file is a main section, an optional pending section ([pve:pending] for
// containers, [PENDING] for VMs, holding "delete" as written) and snapshot
// sections. The description is the '#' comment lines, decoded; raw lxc.*
// lines of a container keep their order, lxc.environment.runtime lines are
// joined with NUL under "env" as PVE does.
package pveconf

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/pveschema"
	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/pvetext"
)

// Section is one section of a config file.
type Section struct {
	Keys map[string]string
	LXC  [][2]string // raw lxc.* lines, in file order (containers only)
}

// File is a parsed config file.
type File struct {
	Main      *Section
	Pending   *Section // nil when the file has no pending section
	Snapshots map[string]*Section
}

// NewSection returns an empty section.
func NewSection() *Section { return &Section{Keys: map[string]string{}} }

var (
	lxcLineRE     = regexp.MustCompile(`^(lxc\.[a-z0-9_\-.]+)(:|\s*=)\s*(.*?)\s*$`)
	ctKeyLineRE   = regexp.MustCompile(`^([a-z][a-z_]*\d*):\s*(.+?)\s*$`)
	vmKeyLineRE   = regexp.MustCompile(`^([a-z][a-z_\-]*\d*):\s*(.+?)\s*$`)
	descLineRE    = regexp.MustCompile(`^(description):\s*(.*\S)\s*$`)
	snapstateRE   = regexp.MustCompile(`snapstate:\s*(prepare|delete)\s*$`)
	argsLineRE    = regexp.MustCompile(`^(args):\s*(.*\S)\s*$`)
	deleteLineRE  = regexp.MustCompile(`^delete:\s*(.*\S)\s*$`)
	sectionRE     = regexp.MustCompile(`(?i)^\[([a-z][a-z0-9_\-]+)\]\s*$`)
	ctPendingRE   = regexp.MustCompile(`(?i)^\[pve:pending\]\s*$`)
	vmPendingRE   = regexp.MustCompile(`(?i)^\[PENDING\]\s*$`)
	vmSpecialRE   = regexp.MustCompile(`(?i)^\[special:(cloudinit|fleecing)\]\s*$`)
	vmUnknownSecR = regexp.MustCompile(`^\[([^\]]*)\]\s*$`)
)

// parser is the state of one parse.
type parser struct {
	kind     string
	vmid     int
	f        *File
	cur      *Section // nil: inside a section whose lines are skipped
	special  bool     // a VM's [special:...] section: kept out of File
	pending  bool
	descr    string
	hasDescr bool // qemu's $descr is undef until a comment or description line
	warnings []string
}

func (p *parser) warn(format string, args ...any) {
	p.warnings = append(p.warnings, fmt.Sprintf(format, args...))
}

// finish ends a section's description: a VM's loses trailing whitespace and
// is kept even when empty; a container's is kept when non-empty, as is.
func (p *parser) finish() {
	if p.cur != nil {
		switch {
		case p.kind == "qemu" && p.hasDescr:
			p.cur.Keys["description"] = strings.TrimRightFunc(p.descr, isPerlSpace)
		case p.kind != "qemu" && p.descr != "" && p.descr != "0":
			p.cur.Keys["description"] = p.descr
		}
	}
	p.descr, p.hasDescr = "", false
}

func isPerlSpace(r rune) bool {
	return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\f' || r == '\v'
}

// Parse reads a config file of guest vmid of kind "lxc" or "qemu" the
// non-strict way PVE reads it: lines it cannot use are skipped, and the
// warnings PVE would print come back one message each.
func Parse(kind string, vmid int, text string) (*File, []string) {
	p := &parser{kind: kind, vmid: vmid, f: &File{Main: NewSection(), Snapshots: map[string]*Section{}}}
	p.cur = p.f.Main
	for _, line := range strings.Split(text, "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		if p.section(line) {
			continue
		}
		if p.cur == nil {
			continue
		}
		if strings.HasPrefix(line, "#") {
			p.descr += pvetext.Decode(line[1:]) + "\n"
			p.hasDescr = true
			continue
		}
		p.line(line)
	}
	p.finish()
	delete(p.f.Main.Keys, "snapstate")
	return p.f, p.warnings
}

// section handles a section header line; it reports whether line was one.
func (p *parser) section(line string) bool {
	pendingRE := ctPendingRE
	if p.kind == "qemu" {
		pendingRE = vmPendingRE
	}
	switch {
	case pendingRE.MatchString(line):
		p.finish()
		if p.f.Pending != nil && p.kind == "qemu" {
			p.warn("vm %d - duplicate section: pending", p.vmid)
		}
		p.f.Pending = NewSection()
		p.cur, p.special, p.pending = p.f.Pending, false, true
	case p.kind == "qemu" && vmSpecialRE.MatchString(line):
		p.finish()
		p.cur, p.special, p.pending = NewSection(), true, false
	case sectionRE.MatchString(line):
		p.finish()
		name := sectionRE.FindStringSubmatch(line)[1]
		if _, dup := p.f.Snapshots[name]; dup && p.kind == "qemu" {
			p.warn("vm %d - duplicate snapshot section: %s", p.vmid, name)
		}
		p.cur, p.special, p.pending = NewSection(), false, false
		p.f.Snapshots[name] = p.cur
	case p.kind == "qemu" && vmUnknownSecR.MatchString(line):
		p.finish()
		p.warn("vm %d - skipping unknown section: '%s'", p.vmid, vmUnknownSecR.FindStringSubmatch(line)[1])
		p.cur = nil
	default:
		return false
	}
	return true
}

// line handles one key line of the current section.
func (p *parser) line(line string) {
	keyRE, pendingName := ctKeyLineRE, "[pve:pending]"
	if p.kind == "qemu" {
		keyRE, pendingName = vmKeyLineRE, "[PENDING]"
	}
	if m := lxcLineRE.FindStringSubmatch(line); m != nil && p.kind == "lxc" {
		p.lxcLine(line, m[1], m[3])
		return
	}
	if m := descLineRE.FindStringSubmatch(line); m != nil {
		p.descr += pvetext.Decode(m[2])
		p.hasDescr = true
		return
	}
	if m := snapstateRE.FindStringSubmatch(line); m != nil {
		p.cur.Keys["snapstate"] = m[1]
		return
	}
	if m := argsLineRE.FindStringSubmatch(line); m != nil && p.kind == "qemu" {
		p.cur.Keys["args"] = m[2]
		return
	}
	if m := deleteLineRE.FindStringSubmatch(line); m != nil {
		if p.pending {
			p.cur.Keys["delete"] = m[1]
		} else {
			p.warn("vm %d - property 'delete' is only allowed in %s", p.vmid, pendingName)
		}
		return
	}
	m := keyRE.FindStringSubmatch(line)
	if m == nil {
		p.warn("vm %d - unable to parse config: %s", p.vmid, line)
		return
	}
	key, value := m[1], m[2]
	if p.special {
		p.cur.Keys[key] = value // informative only, not validated
		return
	}
	if p.kind == "qemu" && key == "cdrom" {
		key = "ide2"
	}
	if msg := checkValue(p.kind, key, value); msg != "" {
		p.warn("vm %d - unable to parse value of '%s' - %s", p.vmid, key, msg)
		if p.kind == "qemu" {
			return // parse_vm_config drops it; parse_pct_config keeps it
		}
	}
	p.cur.Keys[key] = value
}

func (p *parser) lxcLine(line, key, value string) {
	if key == "lxc.environment.runtime" {
		if e, had := p.cur.Keys["env"]; had {
			p.cur.Keys["env"] = e + "\x00" + value
		} else {
			p.cur.Keys["env"] = value
		}
		return
	}
	ok, msg := lxcKeyValidity(p.vmid, key)
	switch {
	case msg != "":
		p.warn("%s", msg)
	case !ok:
		p.warn("vm %d - unable to parse config: %s", p.vmid, line)
	}
	if ok {
		p.cur.LXC = append(p.cur.LXC, [2]string{key, value})
	}
}

// internalKeys are written by PVE itself and are not API options.
var internalKeys = map[string]bool{"lock": true, "digest": true, "parent": true, "snaptime": true,
	"snapstate": true, "vmstate": true, "runningmachine": true, "runningcpu": true, "meta": true, "template": true,
	"unprivileged": true, "arch": true, "ostype": true, "delete": true}

// checkValue is check_type against the guest config schema (the PUT
// config endpoint's parameters): "" when the value is fine.
func checkValue(kind, key, value string) string {
	if internalKeys[key] {
		return ""
	}
	ep, ok := pveschema.Lookup("PUT", "/nodes/{node}/"+kind+"/{vmid}/config")
	if !ok {
		return ""
	}
	if _, known := ep.ParamFor(key); !known {
		return fmt.Sprintf("unknown setting '%s'", key)
	}
	if msg, bad := ep.Validate(pveschema.Values{key: {value}})[key]; bad {
		return msg
	}
	return ""
}

// Current is load_current_config: the main section with the pending values
// applied, unless onlyCurrent.
func (f *File) Current(onlyCurrent bool) *Section {
	out := &Section{Keys: map[string]string{}, LXC: f.Main.LXC}
	for k, v := range f.Main.Keys {
		out.Keys[k] = v
	}
	if !onlyCurrent && f.Pending != nil {
		for k, v := range f.Pending.Keys {
			if k != "delete" {
				out.Keys[k] = v
			}
		}
		for _, d := range strings.FieldsFunc(f.Pending.Keys["delete"], func(r rune) bool { return r == ',' || r == ';' || r == ' ' }) {
			delete(out.Keys, strings.TrimPrefix(d, "!"))
		}
	}
	return out
}
