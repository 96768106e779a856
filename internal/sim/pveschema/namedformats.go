package pveschema

import (
	"regexp"
	"strings"
)

// The schema names some property-string formats instead of inlining them
// ("format": "pve-qm-ipconfig"), so their keys are not in it. The ones the
// served endpoints use are rebuilt here: the important ones from the
// qemu-server sources (Network.pm, QemuServer.pm), the rest from the
// parameter's typetext, which lists every key with its value kind.

func optStr(name, format, desc string) *Param {
	return &Param{Name: name, Type: "string", Format: format, Optional: true, Description: desc}
}

var handNamedFormats = map[string]func() map[string]*Param{
	"pve-qm-ipconfig": func() map[string]*Param {
		ip := optStr("ip", "pve-ipv4-config", "IPv4 address in CIDR format.")
		ip.Default, ip.FormatDescription = "dhcp", "IPv4Format/CIDR"
		ip6 := optStr("ip6", "pve-ipv6-config", "IPv6 address in CIDR format.")
		ip6.Default, ip6.FormatDescription = "dhcp", "IPv6Format/CIDR"
		gw := optStr("gw", "ipv4", "Default gateway for IPv4 traffic.")
		gw.Requires, gw.FormatDescription = "ip", "GatewayIPv4"
		gw6 := optStr("gw6", "ipv6", "Default gateway for IPv6 traffic.")
		gw6.Requires, gw6.FormatDescription = "ip6", "GatewayIPv6"
		return map[string]*Param{"ip": ip, "ip6": ip6, "gw": gw, "gw6": gw6}
	},
	"pve-qm-cicustom": func() map[string]*Param {
		m := map[string]*Param{}
		for _, k := range []string{"meta", "network", "user", "vendor"} {
			m[k] = optStr(k, "pve-volume-id", "")
			m[k].FormatDescription = "volume"
		}
		return m
	},
	"pve-qm-boot": func() map[string]*Param {
		legacy := optStr("legacy", "", "Boot on floppy (a), hard disk (c), CD-ROM (d), or network (n).")
		legacy.IsDefaultKey, legacy.Pattern, legacy.Default = true, "[acdn]{1,4}", "cdn"
		legacy.FormatDescription = "[acdn]{1,4}"
		order := optStr("order", "pve-qm-bootdev-list", "The guest will attempt to boot from devices in the order they appear here.")
		order.FormatDescription = "device[;device...]"
		return map[string]*Param{"legacy": legacy, "order": order}
	},
	"pve-qm-watchdog": func() map[string]*Param {
		model := optStr("model", "", "Watchdog type to emulate.")
		model.IsDefaultKey, model.Default, model.Enum = true, "i6300esb", []string{"i6300esb", "ib700"}
		action := optStr("action", "", "The action to perform if after activation the guest fails to poll the watchdog in time.")
		action.Enum = []string{"reset", "shutdown", "poweroff", "pause", "debug", "none"}
		return map[string]*Param{"model": model, "action": action}
	},
}

// typetextNamedFormats are hash formats rebuilt from their typetext.
var typetextNamedFormats = map[string]bool{
	"pve-qm-smbios1": true, "pve-qemu-sev-fmt": true, "pve-qemu-tdx-fmt": true,
	"pve-vm-cpu-conf": true, "pve-qm-hostpci": true, "pve-qm-rng": true, "prune-backups": true,
}

// namedHashFormat returns the key table of a named property-string format.
func namedHashFormat(name, typetext string) (map[string]*Param, bool) {
	if f, ok := handNamedFormats[name]; ok {
		return f(), true
	}
	if typetextNamedFormats[name] {
		return propsFromTypetext(typetext), true
	}
	return nil, false
}

var (
	reTTKey  = regexp.MustCompile(`^(\[)?([\w-]+)=(\])?(.*)$`)
	reTTEnum = regexp.MustCompile(`^<([\w./-]+(?:\|[\w./-]+)+)>$`)
)

// propsFromTypetext parses generate_typetext output such as
// "[[host=]<HOSTPCIID>] [,pcie=<1|0>] [,driver=<vfio|keep>]".
func propsFromTypetext(tt string) map[string]*Param {
	props := map[string]*Param{}
	for _, tok := range splitTypetext(tt) {
		p := &Param{Type: "string"}
		if strings.HasPrefix(tok, "[") && strings.HasSuffix(tok, "]") && !strings.HasPrefix(tok, "[[") ||
			strings.HasPrefix(tok, "[[") {
			p.Optional = true
			tok = tok[1 : len(tok)-1]
		}
		tok = strings.TrimPrefix(tok, ",")
		m := reTTKey.FindStringSubmatch(tok)
		if m == nil {
			continue
		}
		p.Name = m[2]
		if m[1] == "[" && m[3] == "]" {
			p.IsDefaultKey = true
		}
		val := m[4]
		switch {
		case val == "<1|0>":
			p.Type = "boolean"
		case val == "<integer>" || val == "<N>":
			p.Type = "integer"
		case val == "<number>":
			p.Type = "number"
		case reTTEnum.MatchString(val):
			p.Enum = strings.Split(reTTEnum.FindStringSubmatch(val)[1], "|")
		}
		if strings.HasPrefix(val, "<") && strings.HasSuffix(val, ">") && p.Enum == nil && p.Type == "string" {
			p.FormatDescription = val[1 : len(val)-1]
		}
		props[p.Name] = p
	}
	return props
}

// splitTypetext splits at spaces outside <...>.
func splitTypetext(tt string) []string {
	var out []string
	depth, start := 0, 0
	for i, c := range tt {
		switch c {
		case '<':
			depth++
		case '>':
			depth--
		case ' ':
			if depth == 0 {
				if s := strings.TrimSpace(tt[start:i]); s != "" {
					out = append(out, s)
				}
				start = i + 1
			}
		}
	}
	if s := strings.TrimSpace(tt[start:]); s != "" {
		out = append(out, s)
	}
	return out
}
