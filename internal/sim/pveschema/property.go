package pveschema

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// PropertyError is a failed property-string parse as pve-common raises it:
// either a plain message ("invalid key in comma-separated list property:
// foo\n") or "format error\n" with per-key errors ("net0.bridge" -> msg).
type PropertyError struct {
	Msg    string
	Errors map[string]string
}

// Error renders the exception as PVE::Exception stringifies it (keys in
// sorted order where Perl would use hash order).
func (e *PropertyError) Error() string {
	var b strings.Builder
	b.WriteString(e.Msg)
	keys := make([]string, 0, len(e.Errors))
	for k := range e.Errors {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "%s: %s\n", k, e.Errors[k])
	}
	return b.String()
}

var reBoolTrue, reBoolFalse = regexp.MustCompile(`(?i)^(1|on|yes|true)$`), regexp.MustCompile(`(?i)^(0|off|no|false)$`)

// ParseBoolean is pve-common's parse_boolean: 1/on/yes/true and
// 0/off/no/false, case-insensitive.
func ParseBoolean(v string) (bool, bool) {
	switch {
	case reBoolTrue.MatchString(v):
		return true, true
	case reBoolFalse.MatchString(v):
		return false, true
	}
	return false, false
}

func normBool(p *Param, v string) string {
	if p != nil && p.Type == "boolean" {
		if b, ok := ParseBoolean(v); ok {
			if b {
				return "1"
			}
			return "0"
		}
	}
	return v
}

var (
	reKV     = regexp.MustCompile(`(?s)^([^=]+)=(.+)$`)
	reBlank  = regexp.MustCompile(`^\s*$`)
	reSplitC = regexp.MustCompile(`,`)
)

// perlSplitComma is Perl's split(/,/, $s): trailing empty fields dropped.
func perlSplitComma(s string) []string {
	parts := reSplitC.Split(s, -1)
	for len(parts) > 0 && parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	}
	return parts
}

// parsePropertyString is pve-common's parse_property_string for p.Props,
// reporting nested errors under path ("net0.bridge").
func parsePropertyString(p *Param, path, data string) (map[string]string, error) {
	format := p.Props
	res := map[string]string{}
	defaultKey := ""
	for _, part := range perlSplitComma(data) {
		if reBlank.MatchString(part) {
			continue
		}
		if m := reKV.FindStringSubmatch(part); m != nil {
			k, v := m[1], m[2]
			if _, dup := res[k]; dup {
				return nil, &PropertyError{Msg: "duplicate key in comma-separated list property: " + k + "\n"}
			}
			schema := format[k]
			if schema != nil && schema.Alias != "" {
				if ka := schema.KeyAlias; ka != "" {
					if _, dup := res[ka]; dup {
						return nil, &PropertyError{Msg: fmt.Sprintf("key alias '%s' is already defined\n", ka)}
					}
					res[ka] = k
				}
				k = schema.Alias
				schema = format[k]
				if _, dup := res[k]; dup {
					return nil, &PropertyError{Msg: fmt.Sprintf("key '%s' is already defined (via alias)\n", k)}
				}
			}
			if schema == nil {
				return nil, &PropertyError{Msg: "invalid key in comma-separated list property: " + k + "\n"}
			}
			res[k] = normBool(schema, v)
		} else if !strings.Contains(part, "=") {
			if defaultKey != "" {
				return nil, &PropertyError{Msg: "duplicate key in comma-separated list property: " + defaultKey + "\n"}
			}
			if p.DefaultKey == "" {
				return nil, &PropertyError{Msg: "value without key, but schema does not define a default key\n"}
			}
			defaultKey = p.DefaultKey
			if perlTrue(res[defaultKey]) {
				return nil, &PropertyError{Msg: "duplicate key in comma-separated list property: " + defaultKey + "\n"}
			}
			res[defaultKey] = normBool(format[defaultKey], part)
		} else {
			return nil, &PropertyError{Msg: "missing key in comma-separated list property\n"}
		}
	}

	errs := errorSet{}
	sub := func(k string) string {
		if path == "" {
			return k
		}
		return path + "." + k
	}
	keys := make([]string, 0, len(format))
	for k := range format {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if v, ok := res[k]; ok {
			checkScalar(format[k], sub(k), v, errs)
		} else {
			checkMissing(format[k], sub(k), errs)
		}
	}
	for _, k := range sortedKeys(res) {
		if s := format[k]; s != nil && s.Requires != "" {
			if _, ok := res[s.Requires]; !ok {
				errs.add(sub(s.Requires), fmt.Sprintf("missing property required by '%s'", sub(k)))
			}
		}
	}
	if len(errs) > 0 {
		return nil, &PropertyError{Msg: "format error\n", Errors: errs}
	}
	return res, nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// ParseProperty parses a property string such as net0's
// "name=eth0,bridge=vmbr0,ip=dhcp" against p (a parameter such as
// "net[n]", "rootfs", "scsi[n]", "startup" or a key of one), resolving the
// default key and aliases and normalising booleans to "1"/"0". Errors carry
// PVE's text (a *PropertyError for property-string formats).
func ParseProperty(p *Param, value string) (map[string]string, error) {
	return ParsePropertyAt(p, p.Name, value)
}

// ParsePropertyAt is ParseProperty with the parameter's concrete name
// ("net3") used as the prefix of nested error keys.
func ParsePropertyAt(p *Param, path, value string) (map[string]string, error) {
	if p.Props != nil {
		return parsePropertyString(p, path, value)
	}
	if p.Format == "pve-startup-order" {
		if m, ok := ParseStartupOrder(value); ok {
			return m, nil
		}
		return nil, &PropertyError{Msg: "unable to parse startup options\n"}
	}
	return nil, &PropertyError{Msg: fmt.Sprintf("parameter '%s' is not a property string\n", p.Name)}
}

// FormatProperty prints m as PVE's print_property_string does: the default
// key first without "key=" (combined with its key alias, e.g. qemu net
// "virtio=<mac>"), then the required keys, then the rest, each group in
// sorted order; disk sizes in bytes are printed as format_size does.
func FormatProperty(p *Param, m map[string]string) string {
	if p.Props == nil {
		if p.Format == "pve-startup-order" {
			var parts []string
			for _, k := range []string{"order", "up", "down"} {
				if v, ok := m[k]; ok {
					parts = append(parts, k+"="+v)
				}
			}
			return strings.Join(parts, ",")
		}
		return ""
	}
	format := p.Props
	keyAliasProps := map[string]string{} // "model" -> "macaddr"
	for _, kp := range format {
		if kp.Alias != "" && kp.KeyAlias != "" {
			keyAliasProps[kp.KeyAlias] = kp.Alias
		}
	}
	done := map[string]bool{}
	var parts []string
	value := func(kp *Param, v string) string {
		if kp != nil && kp.Format == "disk-size" {
			if n, ok := ParseSize(v); ok {
				return FormatSize(n)
			}
		}
		return v
	}
	add := func(k string, isDefault bool) {
		if done[k] {
			return
		}
		done[k] = true
		v, ok := m[k]
		if !ok {
			return
		}
		kp := format[k]
		if combine, ok := keyAliasProps[k]; ok {
			if cv, ok := m[combine]; ok {
				parts = append(parts, value(kp, v)+"="+value(format[combine], cv))
				done[combine] = true
				return
			}
		}
		if kp != nil && kp.Alias != "" {
			kp = format[kp.Alias]
		}
		if kp == nil {
			return
		}
		if isDefault {
			parts = append(parts, value(kp, v))
		} else {
			parts = append(parts, k+"="+value(kp, v))
		}
	}
	if p.DefaultKey != "" {
		add(p.DefaultKey, true)
	}
	keys := sortedKeys(m)
	for _, k := range keys {
		if kp := format[k]; kp != nil && !kp.Optional {
			add(k, false)
		}
	}
	for _, k := range keys {
		add(k, false)
	}
	return strings.Join(parts, ",")
}
