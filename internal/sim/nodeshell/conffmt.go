package nodeshell

import (
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/pvetext"
)

// confSection is one section of a guest conf file as PVE parses it.
type confSection struct {
	keys  map[string]string
	descr string
	lxc   [][2]string
}

type confFile struct {
	main      *confSection
	pending   *confSection
	snapshots map[string]*confSection
}

var (
	lxcLineRe  = regexp.MustCompile(`^(lxc\.[a-z0-9_\-.]+)(:|\s*=)\s*(.*?)\s*$`)
	keyLineRe  = regexp.MustCompile(`^([a-z][a-z_]*\d*):\s*(.+?)\s*$`)
	descLineRe = regexp.MustCompile(`^(description):\s*(.*\S)\s*$`)
	sectionRe  = regexp.MustCompile(`^\[([a-z][a-z0-9_\-]+)\]\s*$`)
	specialRe  = regexp.MustCompile(`^\[special:[a-z]+\]\s*$`)
	pendingRe  = regexp.MustCompile(`(?i)^\[(pve:pending|pending)\]\s*$`)
)

// parseConf follows parse_pct_config / parse_vm_config closely enough to
// print `pct config` / `qm config`: '#' lines form the description, raw
// lxc.* lines keep their order, sections split pending and snapshots.
// Unparsable lines are skipped, as PVE's non-strict parser warns and skips.
func parseConf(text string) *confFile {
	newSec := func() *confSection { return &confSection{keys: map[string]string{}} }
	cf := &confFile{main: newSec(), snapshots: map[string]*confSection{}}
	cur := cf.main
	var ignore bool
	finish := func() {
		if cur != nil && cur.descr != "" {
			cur.keys["description"] = cur.descr
		}
	}
	for _, line := range strings.Split(text, "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		switch {
		case pendingRe.MatchString(line):
			finish()
			cf.pending, ignore = newSec(), false
			cur = cf.pending
			continue
		case specialRe.MatchString(line):
			finish()
			cur, ignore = newSec(), true
			continue
		case sectionRe.MatchString(line):
			finish()
			cur, ignore = newSec(), false
			cf.snapshots[sectionRe.FindStringSubmatch(line)[1]] = cur
			continue
		}
		if ignore {
			continue
		}
		if strings.HasPrefix(line, "#") {
			cur.descr += pvetext.Decode(line[1:]) + "\n"
		} else if m := lxcLineRe.FindStringSubmatch(line); m != nil {
			if m[1] == "lxc.environment.runtime" {
				if e, ok := cur.keys["env"]; ok {
					cur.keys["env"] = e + "\x00" + m[3]
				} else {
					cur.keys["env"] = m[3]
				}
			} else {
				cur.lxc = append(cur.lxc, [2]string{m[1], m[3]})
			}
		} else if m := descLineRe.FindStringSubmatch(line); m != nil {
			cur.descr += pvetext.Decode(m[2])
		} else if m := keyLineRe.FindStringSubmatch(line); m != nil {
			cur.keys[m[1]] = m[2]
		}
	}
	finish()
	return cf
}

// current applies pending values unless onlyCurrent (load_current_config).
func (cf *confFile) current(onlyCurrent bool) *confSection {
	out := &confSection{keys: map[string]string{}, lxc: cf.main.lxc}
	for k, v := range cf.main.keys {
		out.keys[k] = v
	}
	if !onlyCurrent && cf.pending != nil {
		for k, v := range cf.pending.keys {
			if k != "delete" {
				out.keys[k] = v
			}
		}
		for _, d := range strings.FieldsFunc(cf.pending.keys["delete"], func(r rune) bool { return r == ',' || r == ';' || r == ' ' }) {
			delete(out.keys, strings.TrimPrefix(d, "!"))
		}
	}
	return out
}

// printConfig is the `pct config` / `qm config` output formatter.
func printConfig(w io.Writer, s *confSection, withLXC bool) {
	keys := make([]string, 0, len(s.keys))
	for k := range s.keys {
		if k != "digest" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := s.keys[k]
		if k == "description" {
			v = pvetext.Encode(v)
		}
		fmt.Fprintf(w, "%s: %s\n", k, v)
	}
	if withLXC {
		for _, kv := range s.lxc {
			fmt.Fprintf(w, "%s: %s\n", kv[0], kv[1])
		}
	}
}

// printSnapshotTree is PVE::GuestHelpers::print_snapshot_tree.
func printSnapshotTree(w io.Writer, list []SnapshotInfo) {
	byName := map[string]*SnapshotInfo{}
	children := map[string][]string{}
	for i := range list {
		byName[list[i].Name] = &list[i]
	}
	var roots []string
	for _, e := range list {
		if e.Parent != "" && byName[e.Parent] != nil {
			children[e.Parent] = append(children[e.Parent], e.Name)
		} else {
			roots = append(roots, e.Name)
		}
	}
	// by snaptime, "current" (no snaptime) last
	sortByTime := func(names []string) {
		sort.SliceStable(names, func(i, j int) bool {
			a, b := byName[names[i]].SnapTime, byName[names[j]].SnapTime
			if a == 0 || b == 0 {
				return b == 0 && a != 0
			}
			return a < b
		})
	}
	var walk func(prefix, name string)
	walk = func(prefix, name string) {
		e := byName[name]
		descr := e.Description
		if descr == "" {
			descr = "no-description"
		}
		descr, _, _ = strings.Cut(descr, "\n")
		ts := ""
		if e.SnapTime != 0 {
			ts = time.Unix(e.SnapTime, 0).Format("2006-01-02 15:04:05")
		}
		width := max(30-len(prefix), 0)
		fmt.Fprintf(w, "%s %-*s %-23s %s\n", prefix, width, name, ts, descr)
		kids := children[name]
		sortByTime(kids)
		for _, k := range kids {
			walk(" "+prefix, k)
		}
	}
	sortByTime(roots)
	for _, r := range roots {
		walk("`->", r)
	}
}

// perlJSON prints a flat object as perl's JSON->pretty->canonical does:
// three-space indent, " : " separators, sorted keys, trailing newline.
func perlJSON(w io.Writer, obj map[string]any) {
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString("{\n")
	for i, k := range keys {
		fmt.Fprintf(&b, "   %s : ", jsonString(k))
		switch v := obj[k].(type) {
		case string:
			b.WriteString(jsonString(v))
		case int:
			b.WriteString(strconv.Itoa(v))
		default:
			fmt.Fprintf(&b, "%v", v)
		}
		if i < len(keys)-1 {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	b.WriteString("}\n")
	io.WriteString(w, b.String())
}

// jsonString escapes as JSON::XS does with utf8 output: only '"', '\\' and
// control characters; '/' and non-ASCII stay as they are.
func jsonString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\f':
			b.WriteString(`\f`)
		case '\b':
			b.WriteString(`\b`)
		default:
			if c < 0x20 {
				fmt.Fprintf(&b, `\u%04x`, c)
			} else {
				b.WriteByte(c)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}
