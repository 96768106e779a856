//go:build linux

package pvesim

import (
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
)

// verify_rule of pve-firewall's Firewall.pm: the first problem is raised as
// a parameter exception (400) naming the parameter, as the API calls it
// without noerr. Protocol and port names come from small excerpts of
// /etc/protocols and /etc/services; macros are checked by name only.

var (
	fwEnvTypes = map[string][]string{"ct": {"in", "out", "group"}, "vm": {"in", "out", "group"},
		"group": {"in", "out", "forward"}, "cluster": {"in", "out", "forward", "group"}, "host": {"in", "out", "forward", "group"}}
	fwNameRE     = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9\-_]+$`)
	fwIPSetRefRE = regexp.MustCompile(`^\+(guest/|dc/|sdn/)?([A-Za-z][A-Za-z0-9\-_]+)$`)
	fwAliasRefRE = regexp.MustCompile(`^(guest/|dc/)?([A-Za-z][A-Za-z0-9\-_]+)$`)
	// PROTOCOLS_WITH_PORTS
	fwPortProtos = map[string]bool{"udp": true, "17": true, "udplite": true, "136": true, "tcp": true, "6": true,
		"dccp": true, "33": true, "sctp": true, "132": true}
	// an excerpt of /etc/protocols (Debian netbase), by name and number
	fwProtocols = map[string]bool{"ip": true, "icmp": true, "igmp": true, "ggp": true, "ipencap": true, "st": true,
		"tcp": true, "egp": true, "igp": true, "pup": true, "udp": true, "hmp": true, "xns-idp": true, "rdp": true,
		"iso-tp4": true, "dccp": true, "xtp": true, "ddp": true, "idpr-cmtp": true, "ipv6": true, "ipv6-route": true,
		"ipv6-frag": true, "idrp": true, "rsvp": true, "gre": true, "esp": true, "ah": true, "skip": true,
		"ipv6-icmp": true, "icmpv6": true, "ipv6-nonxt": true, "ipv6-opts": true, "rspf": true, "vmtp": true,
		"eigrp": true, "ospf": true, "ax.25": true, "ipip": true, "etherip": true, "encap": true, "pim": true,
		"ipcomp": true, "vrrp": true, "l2tp": true, "isis": true, "sctp": true, "fc": true, "mobility-header": true,
		"udplite": true, "mpls-in-ip": true, "manet": true, "hip": true, "shim6": true, "wesp": true, "rohc": true}
	// an excerpt of /etc/services: the names rules commonly use
	fwServices = map[string]bool{"ftp-data": true, "ftp": true, "ssh": true, "telnet": true, "smtp": true,
		"domain": true, "http": true, "www": true, "kerberos": true, "pop3": true, "sunrpc": true, "auth": true,
		"ntp": true, "netbios-ns": true, "netbios-dgm": true, "netbios-ssn": true, "imap2": true, "imap": true,
		"snmp": true, "snmp-trap": true, "bgp": true, "ldap": true, "https": true, "microsoft-ds": true,
		"submission": true, "ldaps": true, "imaps": true, "pop3s": true, "openvpn": true, "mysql": true,
		"postgresql": true, "rsync": true, "syslog": true, "tftp": true, "bootps": true, "bootpc": true,
		"rdp": true, "ms-wbt-server": true, "nfs": true, "x11": true, "git": true, "svn": true, "dhcpv6-client": true,
		"dhcpv6-server": true, "sip": true, "xmpp-client": true, "redis": true, "http-alt": true}
	// icmp type names accepted in dport and icmp-type
	fwICMPTypes = map[string]bool{"any": true, "echo-reply": true, "destination-unreachable": true,
		"network-unreachable": true, "host-unreachable": true, "protocol-unreachable": true, "port-unreachable": true,
		"fragmentation-needed": true, "source-route-failed": true, "network-unknown": true, "host-unknown": true,
		"network-prohibited": true, "host-prohibited": true, "TOS-network-unreachable": true,
		"TOS-host-unreachable": true, "communication-prohibited": true, "host-precedence-violation": true,
		"precedence-cutoff": true, "source-quench": true, "redirect": true, "network-redirect": true,
		"host-redirect": true, "TOS-network-redirect": true, "TOS-host-redirect": true, "echo-request": true,
		"router-advertisement": true, "router-solicitation": true, "time-exceeded": true, "ttl-zero-during-transit": true,
		"ttl-zero-during-reassembly": true, "parameter-problem": true, "ip-header-bad": true,
		"required-option-missing": true, "timestamp-request": true, "timestamp-reply": true,
		"address-mask-request": true, "address-mask-reply": true}
	fwICMPv6Types = map[string]bool{"destination-unreachable": true, "no-route": true, "communication-prohibited": true,
		"beyond-scope": true, "address-unreachable": true, "port-unreachable": true, "failed-policy": true,
		"reject-route": true, "packet-too-big": true, "time-exceeded": true, "ttl-zero-during-transit": true,
		"ttl-zero-during-reassembly": true, "parameter-problem": true, "bad-header": true,
		"unknown-header-type": true, "unknown-option": true, "echo-request": true, "echo-reply": true,
		"router-solicitation": true, "router-advertisement": true, "neighbor-solicitation": true,
		"neighbour-solicitation": true, "neighbor-advertisement": true, "neighbour-advertisement": true,
		"redirect": true}
)

func ruleStr(rule map[string]any, k string) string {
	v, _ := rule[k].(string)
	return v
}

// verifyRule checks rule for rule_env env, with fw the level's file (caller
// holds s.mu); it sets ipversion as PVE does.
func (s *Server) verifyRule(rule map[string]any, env string, fw *Firewall) error {
	cluster := s.clusterFW()
	if env == "cluster" || env == "group" {
		fw = cluster
	}
	bad := func(param, format string, args ...any) error {
		return paramErr(map[string]string{param: strings.TrimSuffix(fmt.Sprintf(format, args...), "\n")})
	}
	typ, action := ruleStr(rule, "type"), ruleStr(rule, "action")
	if typ == "" {
		return bad("type", "missing property")
	}
	if action == "" {
		return bad("action", "missing property")
	}
	if !containsStr(fwEnvTypes[env], typ) {
		return bad("type", "invalid rule type '%s' for rule_env '%s'", typ, env)
	}
	switch typ {
	case "in", "out", "forward":
		if typ == "forward" && action == "REJECT" {
			return bad("action", "cannot define REJECT rules on forward chain")
		}
		if action != "ACCEPT" && action != "DROP" && action != "REJECT" {
			return bad("action", "unknown action '%s'", action)
		}
	case "group":
		if env == "group" {
			return bad("type", "security groups not allowed")
		}
		if !fwNameRE.MatchString(action) {
			return bad("action", "invalid characters in security group name")
		}
	}
	if iface := ruleStr(rule, "iface"); iface != "" {
		if env == "group" {
			return bad("type", "parameter -i not allowed for this rule type")
		}
		if (env == "vm" || env == "ct") && !netKeyRE.MatchString(iface) {
			return bad("iface", `value does not match the regex pattern 'net\d+'`)
		}
	}
	if m := ruleStr(rule, "macro"); m != "" {
		name := fwMacroName(m)
		if name == "" {
			return bad("macro", "unknown macro '%s'", m)
		}
		rule["macro"] = name
	}
	return s.verifyRulePorts(rule, cluster, fw, bad)
}

// verifyRulePorts checks protocol, ports, ICMP type and addresses.
func (s *Server) verifyRulePorts(rule map[string]any, cluster, fw *Firewall, bad func(string, string, ...any) error) error {
	proto := ruleStr(rule, "proto")
	isICMP := proto == "icmp" || proto == "icmpv6" || proto == "ipv6-icmp"
	ipversion := 0
	setVersion := func(v int) error {
		if v != 0 && ipversion != 0 && v != ipversion {
			return fmt.Errorf("detected mixed ipv4/ipv6 addresses in rule")
		}
		if v != 0 {
			ipversion = v
		}
		return nil
	}
	if proto != "" {
		if n, err := strconv.Atoi(proto); !fwProtocols[proto] && !(err == nil && n >= 0 && n <= 255) {
			return bad("proto", "unknown protocol '%s'", proto)
		}
		switch proto {
		case "icmp":
			_ = setVersion(4)
		case "icmpv6", "ipv6-icmp":
			_ = setVersion(6)
		}
	}
	ports := func(k string) error {
		v := ruleStr(rule, k)
		if v == "" {
			return nil
		}
		if msg := checkPorts(v, k == "dport" && isICMP); msg != "" {
			return bad(k, "%s", msg)
		}
		if proto == "" {
			return bad("proto", "missing property - '%s' requires this property", k)
		}
		if !fwPortProtos[proto] && !(k == "dport" && isICMP) {
			return bad(k, "protocol '%s' does not support ports", proto)
		}
		return nil
	}
	if err := ports("dport"); err != nil {
		return err
	}
	if it := ruleStr(rule, "icmp-type"); it != "" {
		switch {
		case !isICMP:
			return bad("proto", "missing property - 'icmp-type' requires this property")
		case ruleStr(rule, "dport") != "":
			return bad("icmp-type", "'icmp-type' cannot be specified together with 'dport'")
		case proto == "icmp" && !fwICMPTypes[it]:
			return bad("icmp-type", "invalid icmp-type '%s' for proto 'icmp'", it)
		case proto != "icmp" && !fwICMPv6Types[it]:
			return bad("icmp-type", "invalid icmp-type '%s' for proto '%s'", it, proto)
		}
	}
	if err := ports("sport"); err != nil {
		return err
	}
	for _, k := range []string{"source", "dest"} {
		v := ruleStr(rule, k)
		if v == "" {
			continue
		}
		ver, err := parseAddressList(v)
		if err == nil {
			err = setVersion(ver)
		}
		if err != nil {
			return bad(k, "%s", err.Error())
		}
		if err := checkRuleRef(v, cluster, fw, setVersion); err != nil {
			return bad(k, "%s", err.Error())
		}
	}
	delete(rule, "ipversion")
	if ipversion != 0 {
		rule["ipversion"] = ipversion
	}
	return nil
}

// checkRuleRef is check_ipset_or_alias_property: a named IPSet or alias
// must exist at the guest/host level or in cluster.fw.
func checkRuleRef(v string, cluster, fw *Firewall, setVersion func(int) error) error {
	if strings.HasPrefix(v, "+") {
		m := fwIPSetRefRE.FindStringSubmatch(v)
		if m == nil {
			return fmt.Errorf("invalid ipset name '%s'", v)
		}
		if cluster.IPSets[m[2]] == nil && fw.IPSets[m[2]] == nil {
			return fmt.Errorf("no such ipset '%s'", m[2])
		}
		return nil
	}
	m := fwAliasRefRE.FindStringSubmatch(v)
	if m == nil {
		return nil
	}
	name := strings.ToLower(m[2])
	if cluster.Aliases[name] == nil && fw.Aliases[name] == nil {
		return fmt.Errorf("no such alias '%s'", v)
	}
	a := fw.Aliases[name]
	if m[1] == "dc/" || a == nil {
		a = cluster.Aliases[name]
	}
	if a != nil {
		return setVersion(a.IPVersion)
	}
	return nil
}

// parseAddressList is parse_address_list: an IPSet or alias reference, or
// IPs, CIDRs and ranges of one IP version.
func parseAddressList(str string) (int, error) {
	if strings.HasPrefix(str, "+") || fwAliasRefRE.MatchString(str) {
		return 0, nil
	}
	elems := strings.Split(str, ",")
	version, ranges := 0, false
	for _, e := range elems {
		if e == "" {
			return 0, fmt.Errorf("extraneous commas in list")
		}
		first := e
		if a, _, ok := strings.Cut(e, "-"); ok {
			first, ranges = a, true
		}
		first, _, _ = strings.Cut(first, "/")
		ip, err := netip.ParseAddr(first)
		if err != nil {
			return 0, fmt.Errorf("invalid IP address: Invalid IP %s", e)
		}
		v := 4
		if ip.Is6() {
			v = 6
		}
		if version != 0 && v != version {
			return 0, fmt.Errorf("detected mixed ipv4/ipv6 addresses in address list '%s'", str)
		}
		version = v
	}
	if ranges && len(elems) > 1 {
		return 0, fmt.Errorf("you can't use a range in a list")
	}
	return version, nil
}

// checkPorts is parse_port_name_number_or_range.
func checkPorts(str string, icmp bool) string {
	count, icmpPort := 0, false
	elems := strings.Split(str, ",")
	for _, e := range elems {
		if e == "" {
			return "extraneous commas in list"
		}
		if a, b, ok := strings.Cut(e, ":"); ok {
			p1, err1 := strconv.Atoi(a)
			p2, err2 := strconv.Atoi(b)
			if err1 == nil && err2 == nil {
				count += 2
				switch {
				case p1 > 65535:
					return fmt.Sprintf("invalid port '%s'", a)
				case p2 > 65535:
					return fmt.Sprintf("invalid port '%s'", b)
				case p1 > p2:
					return fmt.Sprintf("backwards range '%s:%s' not allowed, did you mean '%s:%s'?", a, b, b, a)
				}
				continue
			}
		}
		if p, err := strconv.Atoi(e); err == nil && strings.Trim(e, "0123456789") == "" {
			count++
			if p > 65535 {
				return fmt.Sprintf("invalid port '%s'", e)
			}
			continue
		}
		switch {
		case icmp && (fwICMPTypes[e] || fwICMPv6Types[e]):
			icmpPort = true
		case !fwServices[e]:
			return fmt.Sprintf("invalid port '%s'", e)
		}
	}
	if icmpPort && count > 0 {
		return "ICMP ports not allowed in port range"
	}
	if count > 15 {
		return "too many entries in port list (> 15 numbers)"
	}
	return ""
}

// fwMacroName is $pve_fw_preferred_macro_names: the macro's name as PVE
// spells it, "" for an unknown one.
func fwMacroName(m string) string {
	for name := range fwMacros {
		if strings.EqualFold(name, m) {
			return name
		}
	}
	return ""
}
