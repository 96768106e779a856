package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"unicode"

	"github.com/hashicorp/terraform-plugin-framework/schema/validator"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/phoenix"
)

// apiTokenRe is PVE's API token form: USER@REALM!TOKENID=SECRET.
var apiTokenRe = regexp.MustCompile(`^[^@\s!=]+@[^@\s!=]+![A-Za-z][A-Za-z0-9._-]*=\S+$`)

// urlValidator checks an http(s) URL with a host.
type urlValidator struct{}

func (urlValidator) Description(context.Context) string { return "must be an http(s) URL with a host" }
func (v urlValidator) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

func (urlValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if msg := checkURL(req.ConfigValue.ValueString()); msg != "" {
		resp.Diagnostics.AddAttributeError(req.Path, "Unable to use the provider endpoint", msg)
	}
}

// stringRule is one of PVE's rules for a string attribute: check returns why
// a value breaks it, or "". Unknown values are checked once known.
type stringRule struct {
	label string // what the attribute is, for the summary
	desc  string // the rule, for docs
	check func(string) string
}

func (r stringRule) Description(context.Context) string { return r.desc }
func (r stringRule) MarkdownDescription(ctx context.Context) string {
	return r.Description(ctx)
}

func (r stringRule) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if why := r.check(req.ConfigValue.ValueString()); why != "" {
		resp.Diagnostics.AddAttributeError(req.Path, "Unable to accept the "+r.label, req.Path.String()+": "+why)
	}
}

// expect builds a rule from a predicate: "expected <what>, got <value>".
func expect(label, what string, ok func(string) bool) stringRule {
	return stringRule{label: label, desc: "must be " + what, check: func(v string) string {
		if ok(v) {
			return ""
		}
		return fmt.Sprintf("expected %s, got %q", what, v)
	}}
}

// intRule is an integer range from PVE's schema.
type intRule struct {
	label    string
	min, max int64 // max < 0: no upper bound
}

func (r intRule) Description(context.Context) string {
	if r.max < 0 {
		return fmt.Sprintf("must be at least %d", r.min)
	}
	return fmt.Sprintf("must be from %d to %d", r.min, r.max)
}
func (r intRule) MarkdownDescription(ctx context.Context) string { return r.Description(ctx) }

func (r intRule) ValidateInt64(ctx context.Context, req validator.Int64Request, resp *validator.Int64Response) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if v := req.ConfigValue.ValueInt64(); v < r.min || (r.max >= 0 && v > r.max) {
		resp.Diagnostics.AddAttributeError(req.Path, "Unable to accept the "+r.label,
			fmt.Sprintf("%s: expected an integer %s (as PVE requires), got %d", req.Path, strings.TrimPrefix(r.Description(ctx), "must be "), v))
	}
}

func atLeast(label string, min int64) intRule      { return intRule{label: label, min: min, max: -1} }
func between(label string, min, max int64) intRule { return intRule{label: label, min: min, max: max} }

// oneOf accepts exactly the given values.
func oneOf(label string, values ...string) stringRule {
	quoted := make([]string, len(values))
	for i, v := range values {
		quoted[i] = strconv.Quote(v)
	}
	what := "one of " + strings.Join(quoted, ", ")
	return expect(label, what, func(v string) bool {
		for _, x := range values {
			if v == x {
				return true
			}
		}
		return false
	})
}

// The rules, after PVE's schema formats (pve-common's JSONSchema.pm,
// pve-firewall's Firewall.pm) and phoenix's own.
var (
	guestIDRule = between("guest ID", 100, 999999999)
	dnsNameRule = expect("name", "a DNS name (letters, digits, inner '-', dot-separated labels)", func(v string) bool {
		return len(v) <= 255 && phoenix.ValidDNSName(v)
	})
	dnsListRule  = expect("search domain", "DNS names separated by spaces or commas", phoenix.ValidDNSNameList)
	storageRule  = expect("storage", "a PVE storage ID (letters, digits, '-', '_', '.'; at least 2 characters)", validStorageID)
	snapshotRule = stringRule{label: "snapshot name", desc: "must be a PVE snapshot name (^[a-zA-Z][a-zA-Z0-9_-]+$, at most 40, not current/pending/vzdump)",
		check: func(v string) string {
			if why := phoenix.ValidSnapshotName(phoenix.KindLXC, v); why != "" {
				return why
			}
			return phoenix.ValidSnapshotName(phoenix.KindVM, v)
		}}
	ifaceRule   = expect("interface name", "a name of letters, digits, '-', '_' and '.'", regexp.MustCompile(`^[-_.\w]+$`).MatchString)
	bridgeRule  = expect("bridge", "a bridge name of letters, digits, '-', '_' and '.'", regexp.MustCompile(`^[-_.\w]+$`).MatchString)
	ipConfRule  = expect("address", `"dhcp", "manual" (containers) or an IPv4 address in CIDR notation (e.g. 10.0.0.5/24)`, validIPConfig)
	gatewayRule = expect("gateway", "an IPv4 address", func(v string) bool {
		a, err := netip.ParseAddr(v)
		return err == nil && a.Is4()
	})
	ipRule = expect("address", "an IP address", func(v string) bool {
		_, err := netip.ParseAddr(v)
		return err == nil
	})
	macRule       = expect("MAC address", "a unicast MAC address like 52:54:00:12:34:56", phoenix.ValidMAC)
	pctOptionRule = expect("container feature flag", "a flag like nesting=1 (one of fuse, force_rw_sys, keyctl, mknod, mount, nesting)", phoenix.ValidPctOption)
	lxcOptionRule = expect("raw LXC option", `a raw LXC option "lxc.key=value"`, func(v string) bool {
		k, _, ok := strings.Cut(v, "=")
		return ok && strings.HasPrefix(strings.TrimSpace(k), "lxc.") && !strings.ContainsAny(v, "\n\r")
	})
	gpuRule = expect("GPU index", "a GPU index (digits)", regexp.MustCompile(`^\d{1,3}$`).MatchString)
	// PVE's config file drops a value's trailing blanks, and its mount point
	// format (pve-lxc-mp-string) refuses "." and ".." components.
	absPathRule = expect("path", "an absolute path without commas, line breaks, trailing blanks or . and .. components", func(v string) bool {
		return filepath.IsAbs(v) && !strings.ContainsAny(v, "\n\r,") && strings.TrimRightFunc(v, unicode.IsSpace) == v &&
			!dotComponentRE.MatchString(v)
	})
	fileRule     = expect("file", "a non-empty path", func(v string) bool { return strings.TrimSpace(v) != "" && !strings.ContainsAny(v, "\n\r") })
	singleLine   = expect("value", "a single line", func(v string) bool { return !strings.ContainsAny(v, "\n\r") })
	nonEmptyRule = expect("value", "a non-empty value", func(v string) bool { return v != "" })
	fwTypeRule   = oneOf("firewall rule type", "in", "out", "group")
	fwActionRule = expect("firewall action", "ACCEPT, DROP, REJECT or a security group name", regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]{1,19}$`).MatchString)
	fwAddrRule   = expect("firewall address", "an IP address, CIDR, comma list of them, alias or +ipset", phoenix.ValidFirewallAddress)
	protoRule    = expect("protocol", "a protocol name from /etc/protocols (tcp, udp, icmp...) or number 0-255", phoenix.ValidProtocol)
	fwPortRule   = stringRule{label: "port", desc: "must be ports and ascending ranges a:b, comma-separated, at most 15 numbers", check: phoenix.FirewallPortProblem}
	portMapRule  = expect("port mapping", `"host:guest" ports like "8080:80" (optionally /tcp or /udp)`, phoenix.ValidPortMap)
	featureRule  = expect("feature name", "a plain feature name (letters, digits, '.', '_', '-'); it becomes a file name", phoenix.ValidFeatureName)
	sshKeyRule   = expect("SSH key", "an OpenSSH public key (type, base64 key, optional comment) on one line", func(v string) bool {
		f := strings.Fields(v)
		return len(f) >= 2 && !strings.ContainsAny(v, "\n\r") && (strings.HasPrefix(f[0], "ssh-") || strings.HasPrefix(f[0], "ecdsa-") || strings.HasPrefix(f[0], "sk-"))
	})
	packageRule = expect("package name", "a package name (letters, digits, '+', '-', '.')", regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9+.\-_:]*$`).MatchString)
	userRule    = expect("user name", "a user name without spaces", regexp.MustCompile(`^[a-z_][a-z0-9_.-]*\$?$`).MatchString)
	osTypeRule  = oneOf("OS type", "debian", "devuan", "ubuntu", "centos", "fedora", "opensuse", "archlinux", "alpine", "gentoo",
		"nixos", "unmanaged", "other", "wxp", "w2k", "w2k3", "w2k8", "wvista", "win7", "win8", "win10", "win11", "l24", "l26", "solaris")
	jsonObjectRule = stringRule{label: "extra_json", desc: "must be a JSON object", check: func(v string) string {
		var m map[string]json.RawMessage
		if err := json.Unmarshal([]byte(v), &m); err != nil {
			return "expected a JSON object (jsonencode({...})): " + err.Error()
		}
		return ""
	}}
	templateRule = expect("template", "a template path, volume ID or name on one line (at most 255 characters)", func(v string) bool {
		return v != "" && len(v) <= 255 && !strings.ContainsAny(v, "\n\r")
	})
	volumeRule = expect("OS template", "a PVE volume ID (storage:vztmpl/file) or an absolute path (root@pam only)", func(v string) bool {
		if len(v) > 255 || strings.ContainsAny(v, "\n\r") {
			return false
		}
		sid, rest, ok := strings.Cut(v, ":")
		return filepath.IsAbs(v) || (ok && validStorageID(sid) && rest != "")
	})
)

var dotComponentRE = regexp.MustCompile(`/\.\.?(/|$)`)

var storageIDRe = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9_.-]*[a-zA-Z0-9]$`)

// validStorageID is pve-common's parse_id for storages.
func validStorageID(v string) bool { return storageIDRe.MatchString(v) }

// validIPConfig is pve-ipv4-config: IPv4/CIDR, dhcp or manual. Whether
// manual fits the guest's kind is checked with the kind (ValidateConfig).
func validIPConfig(v string) bool {
	if v == "dhcp" || v == "manual" {
		return true
	}
	p, err := netip.ParsePrefix(v)
	// pve-common's pve_verify_ipv4_cidr: a mask of 8 to 32 bits.
	return err == nil && p.Addr().Is4() && p.Bits() >= 8
}
