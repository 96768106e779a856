package nodeshell

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/pveconf"
	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/pvetext"
)

// printConfig is the `pct config` / `qm config` output formatter.
func printConfig(w io.Writer, s *pveconf.Section, withLXC bool) {
	keys := make([]string, 0, len(s.Keys))
	for k := range s.Keys {
		if k != "digest" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := s.Keys[k]
		if k == "description" {
			v = pvetext.Encode(v)
		}
		fmt.Fprintf(w, "%s: %s\n", k, v)
	}
	if withLXC {
		for _, kv := range s.LXC {
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
	_, _ = io.WriteString(w, b.String())
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
