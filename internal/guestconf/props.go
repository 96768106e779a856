// Package guestconf translates between the phoenix guest model and PVE
// configuration maps: the desired map for a guest, the changes that bring an
// actual map there (the same function serves plan and apply), and the
// observed model read back from PVE for drift detection.
package guestconf

import (
	"sort"
	"strconv"
	"strings"
)

// parseProps splits a PVE property string ("name=eth0,bridge=vmbr0") into a
// map. A part without '=' is the default key's value (e.g. a volume).
func parseProps(s, defaultKey string) map[string]string {
	m := map[string]string{}
	if s == "" {
		return m
	}
	for _, part := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			m[defaultKey] = part
			continue
		}
		m[k] = v
	}
	return m
}

// formatProps renders a property map with first keys in order, then the
// rest sorted, as PVE prints them; the default key is written bare.
func formatProps(m map[string]string, defaultKey string, first ...string) string {
	var parts []string
	seen := map[string]bool{}
	if v, ok := m[defaultKey]; ok && defaultKey != "" {
		parts = append(parts, v)
		seen[defaultKey] = true
	}
	for _, k := range first {
		if v, ok := m[k]; ok && !seen[k] {
			parts = append(parts, k+"="+v)
			seen[k] = true
		}
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		if !seen[k] {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		parts = append(parts, k+"="+m[k])
	}
	return strings.Join(parts, ",")
}

// sizeGiB parses PVE sizes ("32G", "512M", "1T", "8") into GiB, rounding up.
func sizeGiB(s string) (int64, bool) {
	if s == "" {
		return 0, false
	}
	mult := 1.0
	switch s[len(s)-1] {
	case 'K', 'k':
		mult = 1.0 / (1024 * 1024)
	case 'M', 'm':
		mult = 1.0 / 1024
	case 'G', 'g':
		mult = 1
	case 'T', 't':
		mult = 1024
	default:
		s += "G"
	}
	f, err := strconv.ParseFloat(s[:len(s)-1], 64)
	if err != nil {
		return 0, false
	}
	g := f * mult
	n := int64(g)
	if float64(n) < g {
		n++
	}
	return n, true
}

func boolStr(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

func sameMap(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// optionsMap turns ["nesting=1","keyctl=1"] into a map.
func optionsMap(opts []string) map[string]string {
	m := map[string]string{}
	for _, o := range opts {
		k, v, _ := strings.Cut(o, "=")
		m[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return m
}
