//go:build linux

package pvesim

import (
	"crypto/rand"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/pveschema"
)

// configEndpoint is the schema endpoint whose parameters describe a guest's
// config keys (PUT config for both kinds).
func configEndpoint(kind string) *pveschema.Endpoint {
	ep, _ := pveschema.Lookup("PUT", "/nodes/{node}/"+kind+"/{vmid}/config")
	return ep
}

func configParam(kind, key string) *pveschema.Param {
	if ep := configEndpoint(kind); ep != nil {
		if p, ok := ep.ParamFor(key); ok {
			return p
		}
	}
	return nil
}

// optionExists is PVE's option_exists for delete/revert lists.
func optionExists(kind, key string) bool { return configParam(kind, key) != nil }

// parseProp parses a config value that is a property string.
func parseProp(kind, key, value string) (map[string]string, error) {
	p := configParam(kind, key)
	if p == nil || p.Props == nil {
		return splitProps(value, ""), nil
	}
	return pveschema.ParseProperty(p, value)
}

// printProp prints a property string in PVE's canonical order.
func printProp(kind, key string, m map[string]string) string {
	p := configParam(kind, key)
	if p == nil || p.Props == nil {
		return joinProps(m, "")
	}
	return pveschema.FormatProperty(p, m)
}

// splitProps is a plain property-string split, for values the schema does
// not describe as property strings.
func splitProps(value, defaultKey string) map[string]string {
	out := map[string]string{}
	for _, part := range strings.Split(value, ",") {
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			out[defaultKey] = part
			continue
		}
		out[k] = v
	}
	return out
}

func joinProps(m map[string]string, defaultKey string) string {
	var parts []string
	if v, ok := m[defaultKey]; ok {
		parts = append(parts, v)
	}
	for _, k := range sortedKeys(m) {
		if k != defaultKey {
			parts = append(parts, k+"="+m[k])
		}
	}
	return strings.Join(parts, ",")
}

// randomMAC is PVE's random_ether_addr with the Proxmox OUI BC:24:11.
func randomMAC() string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return fmt.Sprintf("BC:24:11:%02X:%02X:%02X", b[0], b[1], b[2])
}

const (
	kib = int64(1024)
	mib = kib * 1024
	gib = mib * 1024
	tib = gib * 1024
)

// formatSize is PVE's format_size for disk size= values.
func formatSize(b int64) string {
	switch {
	case b%tib == 0 && b > 0:
		return fmt.Sprintf("%dT", b/tib)
	case b%gib == 0:
		return fmt.Sprintf("%dG", b/gib)
	case b%mib == 0:
		return fmt.Sprintf("%dM", b/mib)
	case b%kib == 0:
		return fmt.Sprintf("%dK", b/kib)
	}
	return strconv.FormatInt(b, 10)
}

var sizeRE = regexp.MustCompile(`^(\+)?(\d+(?:\.\d+)?)([KMGT])?$`)

// parseSize parses "8G", "512M", "+1G"; plus reports a leading '+'.
func parseSize(s string) (int64, bool, bool) {
	m := sizeRE.FindStringSubmatch(s)
	if m == nil {
		return 0, false, false
	}
	f, _ := strconv.ParseFloat(m[2], 64)
	mult := map[string]float64{"": 1, "K": float64(kib), "M": float64(mib), "G": float64(gib), "T": float64(tib)}[m[3]]
	return int64(math.Round(f * mult)), m[1] == "+", true
}

var indexedKeyRE = regexp.MustCompile(`^([a-z]+)(\d+)$`)

// nextFreeKey returns prefix<N> for the lowest N not used in cfg.
func nextFreeKey(cfg map[string]string, prefix string) string {
	for i := 0; ; i++ {
		k := fmt.Sprintf("%s%d", prefix, i)
		if _, ok := cfg[k]; !ok {
			return k
		}
	}
}

var tagSepRE = regexp.MustCompile(`[;, ]+`)

// tagsList normalizes tags like get_unique_tags: split on ; , or space,
// drop duplicates, sorted.
func tagsList(v string) string {
	seen := map[string]bool{}
	var out []string
	for _, t := range tagSepRE.Split(v, -1) {
		if t != "" && !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	sort.Strings(out)
	return strings.Join(out, ";")
}

// typedValue converts a stored config string to the JSON type the schema
// gives the key (PVE returns integers and booleans as numbers).
func typedValue(kind, key, v string) any {
	t := ""
	switch key {
	case "snaptime":
		t = "integer"
	case "digest", "parent", "lock", "description":
		t = "string"
	default:
		if p := configParam(kind, key); p != nil {
			t = p.Type
		}
	}
	switch t {
	case "integer", "boolean":
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			return n
		}
		if t == "boolean" {
			if parseBool(v) {
				return 1
			}
			return 0
		}
	case "number":
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			return f
		}
	}
	return v
}

func typedConfig(kind string, cfg map[string]string) map[string]any {
	out := make(map[string]any, len(cfg))
	for k, v := range cfg {
		out[k] = typedValue(kind, k, v)
	}
	return out
}
