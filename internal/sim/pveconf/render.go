package pveconf

import (
	"sort"
	"strings"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/pvetext"
)

// Render writes f as write_pct_config (kind "lxc") or write_vm_config
// ("qemu") do: description comments, sorted keys, a container's
// environment and raw lxc.* lines, then the pending section (when it holds
// anything) and the snapshots in name order.
func Render(kind string, f *File) string {
	var b strings.Builder
	b.WriteString(renderSection(kind, f.Main, false))
	if f.Pending != nil && len(f.Pending.Keys) > 0 {
		if kind == "lxc" {
			b.WriteString("\n[pve:pending]\n")
		} else {
			b.WriteString("\n[PENDING]\n")
		}
		b.WriteString(renderSection(kind, f.Pending, true))
	}
	names := make([]string, 0, len(f.Snapshots))
	for n := range f.Snapshots {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		b.WriteString("\n[" + n + "]\n")
		b.WriteString(renderSection(kind, f.Snapshots[n], false))
	}
	return b.String()
}

func renderSection(kind string, s *Section, pending bool) string {
	var b strings.Builder
	if d, ok := s.Keys["description"]; ok {
		lines := perlSplitLines(d)
		for _, l := range lines {
			b.WriteString("#" + pvetext.Encode(l) + "\n")
		}
		if len(lines) == 0 && d == "" && pending && kind == "qemu" {
			b.WriteString("#\n") // an emptied description stays set in [PENDING]
		}
	}
	keys := make([]string, 0, len(s.Keys))
	for k := range s.Keys {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		switch k {
		case "digest", "description":
			continue
		case "env":
			if kind == "lxc" {
				continue
			}
		}
		b.WriteString(k + ": " + s.Keys[k] + "\n")
	}
	if env := s.Keys["env"]; env != "" && kind == "lxc" {
		for _, v := range strings.Split(env, "\x00") {
			if v != "" { // split /\0+/
				b.WriteString("lxc.environment.runtime: " + v + "\n")
			}
		}
	}
	for _, kv := range s.LXC {
		if kv[0] != "lxc.environment.runtime" {
			b.WriteString(kv[0] + ": " + kv[1] + "\n")
		}
	}
	return b.String()
}

// perlSplitLines is Perl's split(/\n/, $s): trailing empty fields dropped.
func perlSplitLines(s string) []string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}
