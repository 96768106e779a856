package pveschema

import (
	"bufio"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// A formatCheck is a registered code format: it returns the text PVE's
// verifier dies with (ending in "\n", as PVE's messages do), or "".
type formatCheck func(v string) string

// Address regexes as pve-common's ParseUtils.pm builds them.
var (
	ipv4Octet = `(?:25[0-5]|(?:2[0-4]|1[0-9]|[1-9])?[0-9])`
	ipv4RE    = `(?:(?:` + ipv4Octet + `\.){3}` + ipv4Octet + `)`
	ipv6H16   = `(?:[0-9a-fA-F]{1,4})`
	ipv6LS32  = `(?:(?:` + ipv4RE + `|` + ipv6H16 + `:` + ipv6H16 + `))`
	ipv6RE    = `(?:` +
		`(?:(?:(?:` + ipv6H16 + `:){6})` + ipv6LS32 + `)|` +
		`(?:(?:::(?:` + ipv6H16 + `:){5})` + ipv6LS32 + `)|` +
		`(?:(?:(?:` + ipv6H16 + `)?::(?:` + ipv6H16 + `:){4})` + ipv6LS32 + `)|` +
		`(?:(?:(?:(?:` + ipv6H16 + `:){0,1}` + ipv6H16 + `)?::(?:` + ipv6H16 + `:){3})` + ipv6LS32 + `)|` +
		`(?:(?:(?:(?:` + ipv6H16 + `:){0,2}` + ipv6H16 + `)?::(?:` + ipv6H16 + `:){2})` + ipv6LS32 + `)|` +
		`(?:(?:(?:(?:` + ipv6H16 + `:){0,3}` + ipv6H16 + `)?::(?:` + ipv6H16 + `:){1})` + ipv6LS32 + `)|` +
		`(?:(?:(?:(?:` + ipv6H16 + `:){0,4}` + ipv6H16 + `)?::)` + ipv6LS32 + `)|` +
		`(?:(?:(?:(?:` + ipv6H16 + `:){0,5}` + ipv6H16 + `)?::)` + ipv6H16 + `)|` +
		`(?:(?:(?:(?:` + ipv6H16 + `:){0,6}` + ipv6H16 + `)?::)))`

	reIPv4     = full(ipv4RE)
	reIPv6     = full(ipv6RE)
	reIP       = full(`(?:` + ipv4RE + `|` + ipv6RE + `)`)
	reCIDRv4   = full(`(?:` + ipv4RE + `)(?:/(\d+))`)
	reCIDRv6   = full(`(?:` + ipv6RE + `)(?:/(\d+))`)
	reConfigID = full(`(?i)[a-z][a-z0-9_-]+`)
	reStoreID  = full(`(?i)[a-z][a-z0-9\-_.]*[a-z0-9]`)
	reNode     = full(`[a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?`)
	reDNSName  = full(`(([a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?)\.)*([a-zA-Z0-9]([a-zA-Z0-9\-]*[a-zA-Z0-9])?)`)
	reSize     = full(`(\d+(\.\d+)?)([KMGT](?:iB)?)?`)
)

// full anchors re the way Perl's m/^re$/ does ($ also matches before a
// final newline).
func full(re string) *regexp.Regexp { return regexp.MustCompile(`^(?:` + re + `)\n?\z`) }

func cidrOK(re *regexp.Regexp, v string, max int) bool {
	m := re.FindStringSubmatch(v)
	if m == nil {
		return false
	}
	n, err := strconv.Atoi(m[1])
	return err == nil && n > 7 && n <= max
}

func check(ok bool, msg string) string {
	if ok {
		return ""
	}
	return msg + "\n"
}

// parseID is pve-common's parse_id (storage IDs).
func parseID(id, kind string) string {
	if len([]rune(id)) < 2 {
		return fmt.Sprintf("%s ID '%s' cannot be shorter than 2 characters\n", kind, id)
	}
	return check(reStoreID.MatchString(id), fmt.Sprintf("%s ID '%s' contains illegal characters", kind, id))
}

// ParseSize is pve-common's parse_size: "8G" -> 8589934592.
func ParseSize(v string) (int64, bool) {
	m := reSize.FindStringSubmatch(v)
	if m == nil {
		return 0, false
	}
	f, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return 0, false
	}
	switch m[3] {
	case "K", "KiB":
		f *= 1 << 10
	case "M", "MiB":
		f *= 1 << 20
	case "G", "GiB":
		f *= 1 << 30
	case "T", "TiB":
		f *= 1 << 40
	}
	return int64(f), true
}

// FormatSize is pve-common's format_size: 8589934592 -> "8G".
func FormatSize(size int64) string {
	units := []string{"K", "M", "G", "T"}
	unit := ""
	for _, u := range units {
		if size%1024 != 0 || size == 0 {
			break
		}
		size /= 1024
		unit = u
	}
	return strconv.FormatInt(size, 10) + unit
}

// ParseStartupOrder is pve-common's pve_parse_startup_order.
func ParseStartupOrder(v string) (map[string]string, bool) {
	if v == "" || v == "0" {
		return nil, false
	}
	res := map[string]string{}
	for _, p := range strings.Split(v, ",") {
		if strings.TrimSpace(p) == "" {
			continue
		}
		if m := regexp.MustCompile(`^(order=)?(\d+)$`).FindStringSubmatch(p); m != nil {
			res["order"] = m[2]
		} else if m := regexp.MustCompile(`^(up|down)=(\d+)$`).FindStringSubmatch(p); m != nil {
			res[m[1]] = m[2]
		} else {
			return nil, false
		}
	}
	return res, true
}

var (
	zoneOnce sync.Once
	zones    map[string]bool
)

// validTimezone mirrors pve_verify_timezone, which reads zone.tab; without
// that file Go's zone database decides.
func validTimezone(tz string) bool {
	if tz == "UTC" {
		return true
	}
	zoneOnce.Do(func() {
		zones = map[string]bool{}
		if f, err := os.Open("/usr/share/zoneinfo/zone.tab"); err == nil {
			sc := bufio.NewScanner(f)
			for sc.Scan() {
				line := sc.Text()
				if strings.HasPrefix(strings.TrimSpace(line), "#") {
					continue
				}
				if fs := strings.Split(line, "\t"); len(fs) > 2 {
					zones[fs[2]] = true
				}
			}
			f.Close()
		}
	})
	if len(zones) > 0 {
		return zones[tz]
	}
	_, err := time.LoadLocation(tz)
	return err == nil && tz != "" && tz != "Local"
}

func volumeID(v string) string {
	return check(regexp.MustCompile(`(?i)^([a-z][a-z0-9\-_.]*[a-z0-9]):(.+)$`).MatchString(v),
		fmt.Sprintf("unable to parse volume ID '%s'", v))
}

func isDriveName(v string) bool {
	m := regexp.MustCompile(`^(ide|sata|scsi|virtio)(0|[1-9]\d*)$`).FindStringSubmatch(v)
	if m == nil {
		return v == "efidisk0" || v == "tpmstate0"
	}
	n, _ := strconv.Atoi(m[2])
	return n <= indexMax[m[1]]
}

// formats are the code formats of the served endpoints, each mirroring
// the named verifier in pve-common, pve-storage, qemu-server,
// pve-container or pve-access-control. Formats missing here are accepted
// unchecked (see lenientFormats).
var formats = map[string]formatCheck{
	"string": func(string) string { return "" },
	"urlencoded": func(v string) string {
		return check(regexp.MustCompile(`^[-%a-zA-Z0-9_.!~*'()]*$`).MatchString(v), "invalid urlencoded string: "+v)
	},
	"pve-configid": func(v string) string {
		return check(reConfigID.MatchString(v), fmt.Sprintf("invalid configuration ID '%s'", v))
	},
	"pve-storage-id": func(v string) string { return parseID(v, "storage") },
	"pve-bridge-id": func(v string) string {
		return check(full(`[-_.\w\d]+`).MatchString(v), fmt.Sprintf("invalid bridge ID '%s'", v))
	},
	"pve-vmid": func(v string) string {
		return check(full(`[1-9][0-9]{2,8}`).MatchString(v), "value does not look like a valid VM ID")
	},
	"pve-node": func(v string) string {
		return check(reNode.MatchString(v), "value does not look like a valid node name")
	},
	"mac-addr": func(v string) string {
		return check(full(`(?i)[a-f0-9][02468ace](?::[a-f0-9]{2}){5}`).MatchString(v),
			"value does not look like a valid unicast MAC address")
	},
	"ipv4": func(v string) string {
		return check(reIPv4.MatchString(v), "value does not look like a valid IPv4 address")
	},
	"ipv6": func(v string) string {
		return check(reIPv6.MatchString(v), "value does not look like a valid IPv6 address")
	},
	"ip": func(v string) string {
		return check(reIP.MatchString(v), "value does not look like a valid IP address")
	},
	"CIDRv4": func(v string) string {
		return check(cidrOK(reCIDRv4, v, 32), "value does not look like a valid IPv4 CIDR network")
	},
	"CIDRv6": func(v string) string {
		return check(cidrOK(reCIDRv6, v, 128), "value does not look like a valid IPv6 CIDR network")
	},
	"CIDR": func(v string) string {
		return check(cidrOK(reCIDRv4, v, 32) || cidrOK(reCIDRv6, v, 128), "value does not look like a valid CIDR network")
	},
	"pve-ipv4-config": func(v string) string {
		return check(v == "dhcp" || v == "manual" || cidrOK(reCIDRv4, v, 32),
			"value does not look like a valid ipv4 network configuration")
	},
	"pve-ipv6-config": func(v string) string {
		return check(v == "auto" || v == "dhcp" || v == "manual" || cidrOK(reCIDRv6, v, 128),
			"value does not look like a valid ipv6 network configuration")
	},
	"dns-name": func(v string) string {
		return check(reDNSName.MatchString(v), "value does not look like a valid DNS name")
	},
	"address": func(v string) string {
		return check(reIP.MatchString(v) || reDNSName.MatchString(v), "value does not look like a valid address: "+v)
	},
	"timezone": func(v string) string {
		return check(validTimezone(v), fmt.Sprintf("invalid time zone '%s'", v))
	},
	"pve-iface": func(v string) string {
		return check(full(`(?i)[a-z][a-z0-9_]{1,20}([:.]\d+)?`).MatchString(v), fmt.Sprintf("invalid network interface name '%s'", v))
	},
	"disk-size": func(v string) string {
		_, ok := ParseSize(v)
		return check(ok, "value does not look like a valid disk size: "+v)
	},
	"pve-startup-order": func(v string) string {
		_, ok := ParseStartupOrder(v)
		return check(ok, "unable to parse startup options")
	},
	"pve-tag": func(v string) string {
		return check(full(`(?i)[a-z0-9_][a-z0-9_\-+.]*`).MatchString(v), "invalid characters in tag")
	},
	"pve-task-status-type": func(v string) string {
		return check(full(`(?i)(ok|error|warning|unknown)`).MatchString(v), fmt.Sprintf("invalid status '%s'", v))
	},
	"storage-pair": idPair,
	// pve-storage Plugin.pm
	"pve-storage-path": func(v string) string {
		return check(regexp.MustCompile(`^/[^;()]+`).MatchString(v), "value does not look like a valid absolute path")
	},
	"pve-storage-server": func(v string) string {
		return check(reIP.MatchString(v) || reDNSName.MatchString(v), "value does not look like a valid server name or IP address")
	},
	"pve-storage-vgname": func(v string) string {
		return check(full(`(?i)[a-z0-9][a-z0-9\-_.]*[a-z0-9]`).MatchString(v),
			fmt.Sprintf("lvm name '%s' contains illegal characters", v))
	},
	"pve-storage-portal-dns": func(v string) string {
		ok := full(`(`+ipv4RE+`|[[:alnum:]\-.]+)(?::(\d+))?`).MatchString(v) ||
			full(`\[(`+ipv6RE+`|`+ipv4RE+`|[[:alnum:]\-.]+)\](?::(\d+))?`).MatchString(v) ||
			full(`(`+ipv6RE+`)(?:\.(\d+))?`).MatchString(v)
		return check(ok, "value does not look like a valid portal address")
	},
	"pve-storage-content": func(v string) string {
		ok := map[string]bool{"import": true, "images": true, "rootdir": true, "vztmpl": true,
			"iso": true, "backup": true, "snippets": true, "none": true}[v]
		return check(ok, fmt.Sprintf("invalid content type '%s'", v))
	},
	"pve-storage-options": func(v string) string {
		return check(full(`\S+`).MatchString(v), fmt.Sprintf("invalid options '%s'", v))
	},
	"pve-volume-id": volumeID,
	// qemu-server
	"pve-volume-id-or-absolute-path": func(v string) string {
		if strings.HasPrefix(v, "/") {
			return ""
		}
		return volumeID(v)
	},
	"pve-volume-id-or-qm-path": func(v string) string {
		if v == "none" || v == "cdrom" || strings.HasPrefix(v, "/") {
			return ""
		}
		return volumeID(v)
	},
	"pve-cpuset": func(v string) string {
		for _, part := range strings.Split(v, ",") {
			m := regexp.MustCompile(`^\s*(\d+)(?:-(\d+))?\s*$`).FindStringSubmatch(part)
			if m == nil {
				return "unable to parse cpuset option\n"
			}
			if m[2] != "" {
				a, _ := strconv.Atoi(m[1])
				b, _ := strconv.Atoi(m[2])
				if b < a {
					return "unable to parse cpuset option\n"
				}
			}
		}
		return ""
	},
	"pve-qm-bootdisk": func(v string) string {
		return check(isDriveName(v), fmt.Sprintf("invalid boot disk '%s'", v))
	},
	"pve-qm-bootdev": func(v string) string {
		special := strings.HasPrefix(v, "efidisk") || strings.HasPrefix(v, "tpmstate")
		if isDriveName(v) && !special {
			return ""
		}
		m := regexp.MustCompile(`^(net|usb|hostpci)(0|[1-9]\d*)$`).FindStringSubmatch(v)
		if m != nil {
			if n, _ := strconv.Atoi(m[2]); n <= indexMax[m[1]] {
				return ""
			}
		}
		return fmt.Sprintf("invalid boot device '%s'\n", v)
	},
	"pve-hotplug-features": func(v string) string {
		if v == "0" || v == "1" {
			return ""
		}
		for _, f := range splitList(v) {
			if !full(`network|disk|cpu|memory|usb|cloudinit`).MatchString(f) {
				return "unable to parse hotplug option\n"
			}
		}
		return ""
	},
	// pve-container LXC/Config.pm
	"pve-lxc-mp-string": func(v string) string {
		bad := regexp.MustCompile(`/\.\.?/`).MatchString(v) || regexp.MustCompile(`/\.\.?$`).MatchString(v) ||
			strings.HasPrefix(v, "../")
		return check(!bad, v+" contains illegal character sequences")
	},
	"pve-lxc-dev-string": func(v string) string {
		bad := regexp.MustCompile(`/\.\.?(?:/|$)`).MatchString(v) || !strings.HasPrefix(v, "/dev/")
		return check(!bad, v+" is not a valid device path")
	},
	"pve-ct-timezone": func(v string) string {
		if v == "host" {
			return ""
		}
		return check(validTimezone(v), fmt.Sprintf("invalid time zone '%s'", v))
	},
	"lxc-ip-with-ll-iface": func(v string) string {
		if m := regexp.MustCompile(`^(fe80:[^%]+)%(.*)$`).FindStringSubmatch(v); m != nil {
			if reIP.MatchString(m[1]) && full(`(?i)[a-z][a-z0-9_]{1,20}([:.]\d+)?`).MatchString(m[2]) {
				return ""
			}
		}
		return check(reIP.MatchString(v), "value does not look like a valid IP address")
	},
	// pve-firewall Firewall.pm
	"IPorCIDR": ipOrCIDR,
	"IPorCIDRorAlias": func(v string) string {
		if full(`(?:dc/|guest/)?[A-Za-z][A-Za-z0-9\-_]+`).MatchString(v) {
			return ""
		}
		return ipOrCIDR(v)
	},
	// pve-common JSONSchema.pm
	"ipv4mask": func(v string) string {
		return check(ipv4Masks[v], "value does not look like a valid IP netmask")
	},
	"pve-vlan-id-or-range": vlanIDOrRange,
	// pve-access-control
	"pve-poolid": func(v string) string {
		if len(strings.Split(v, "/")) > 3 {
			return fmt.Sprintf("pool name '%s' nested too deeply (max levels = 3)\n", v)
		}
		return check(full(`[A-Za-z0-9.\-_]+(?:/[A-Za-z0-9.\-_]+){0,2}`).MatchString(v),
			fmt.Sprintf("pool name '%s' contains invalid characters", v))
	},
	"pve-realm": func(v string) string {
		return check(full(`[A-Za-z][A-Za-z0-9.\-_]+`).MatchString(v), "value does not look like a valid realm")
	},
}

// lenientFormats are used by served endpoints but not reproduced: values
// pass unchecked. Firewall specs need /etc/protocols and port tables;
// privilege names need the role table.
var lenientFormats = map[string]bool{
	"pve-fw-addr-spec": true, "pve-fw-dport-spec": true, "pve-fw-sport-spec": true,
	"pve-fw-protocol-spec": true, "pve-fw-icmp-type-spec": true, "pve-priv": true,
	"pve-dir-override": true, "pve-fw-conntrack-helper": true, "pve-storage-path-in-property-string": true,
}

// ipOrCIDR is pve_verify_ip_or_cidr (Net::IP's own complaints reduced to
// the prefix length).
func ipOrCIDR(v string) string {
	ip, prefix, hasPrefix := strings.Cut(v, "/")
	if !reIP.MatchString(ip) || hasPrefix && !full(`\d+`).MatchString(prefix) {
		return "value does not look like a valid IP address or CIDR network\n"
	}
	maxLen := 32
	if reIPv6.MatchString(ip) {
		maxLen = 128
	}
	if n, _ := strconv.Atoi(prefix); hasPrefix && n > maxLen {
		return fmt.Sprintf("Invalid prefix length /%s\n", prefix)
	}
	return ""
}

// ipv4Masks are the contiguous IPv4 netmasks ($ipv4_mask_hash).
var ipv4Masks = func() map[string]bool {
	m := map[string]bool{}
	for bits := 0; bits <= 32; bits++ {
		mask := uint32(0)
		if bits > 0 {
			mask = ^uint32(0) << (32 - bits)
		}
		m[fmt.Sprintf("%d.%d.%d.%d", mask>>24, mask>>16&0xff, mask>>8&0xff, mask&0xff)] = true
	}
	return m
}()

// vlanIDOrRange is pve_verify_vlan_id_or_range.
func vlanIDOrRange(v string) string {
	m := regexp.MustCompile(`^(\d+)(?:-(\d+))?$`).FindStringSubmatch(v)
	if m == nil {
		return fmt.Sprintf("invalid VLAN configuration '%s'\n", v)
	}
	start, _ := strconv.Atoi(m[1])
	for _, t := range m[1:] {
		if n, _ := strconv.Atoi(t); t != "" && (n < 2 || n > 4094) {
			return fmt.Sprintf("invalid VLAN tag '%s'\n", t)
		}
	}
	if end, _ := strconv.Atoi(m[2]); m[2] != "" && start >= end {
		return fmt.Sprintf("VLAN range must go from lower to higher tag '%s'\n", v)
	}
	return ""
}

// idPair is the storage-pair check (pve-common parse_idmap on one entry).
func idPair(entry string) string {
	if entry == "1" {
		return ""
	}
	ids := []string{entry}
	if m := regexp.MustCompile(`^([^:]+):([^:]+)$`).FindStringSubmatch(entry); m != nil {
		ids = m[1:]
	}
	for _, id := range ids {
		if msg := parseID(id, "storage"); msg != "" {
			return fmt.Sprintf("entry '%s' contains invalid ID - %s\n\n", entry, msg)
		}
	}
	return ""
}

// splitList is pve-common's split_list.
func splitList(v string) []string {
	if strings.Contains(v, "\x00") {
		return strings.Split(v, "\x00")
	}
	v = strings.NewReplacer(",", " ", ";", " ").Replace(v)
	return strings.Fields(v)
}

// checkCodeFormat applies a named code format, with pve-common's "-list"
// (each list element) and "-opt" (only when set) suffixes.
func checkCodeFormat(format, v string) string {
	name, kind := format, ""
	if n, ok := strings.CutSuffix(format, "-list"); ok {
		name, kind = n, "list"
	} else if n, ok := strings.CutSuffix(format, "-opt"); ok {
		name, kind = n, "opt"
	}
	f, ok := formats[name]
	if !ok {
		if lenientFormats[name] || format == "regex" {
			return ""
		}
		return fmt.Sprintf("undefined format '%s'\n", format)
	}
	switch kind {
	case "list":
		for _, el := range splitList(v) {
			if msg := f(el); msg != "" {
				return msg
			}
		}
		return ""
	case "opt":
		if !perlTrue(v) {
			return ""
		}
	}
	return f(v)
}

// perlTrue is Perl's truth of a defined string.
func perlTrue(v string) bool { return v != "" && v != "0" }
