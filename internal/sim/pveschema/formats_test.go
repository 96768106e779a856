package pveschema

import (
	"strings"
	"testing"
)

func TestFormats(t *testing.T) {
	tests := []struct {
		format, value, want string
	}{
		{"pve-vmid", "100", ""}, {"pve-vmid", "099", "value does not look like a valid VM ID\n"},
		{"pve-node", "pve-1", ""}, {"pve-node", "-pve", "value does not look like a valid node name\n"},
		{"pve-storage-id", "local-lvm", ""}, {"pve-storage-id", "l", "storage ID 'l' cannot be shorter than 2 characters\n"},
		{"pve-storage-id", "1local", "storage ID '1local' contains illegal characters\n"},
		{"mac-addr", "BC:24:11:aa:bb:cc", ""}, {"mac-addr", "BD:24:11:aa:bb:cc", "value does not look like a valid unicast MAC address\n"},
		{"ipv4", "10.0.0.1", ""}, {"ipv4", "10.0.0.256", "value does not look like a valid IPv4 address\n"},
		{"ipv6", "fd00::1", ""}, {"ipv6", "fd00:::1", "value does not look like a valid IPv6 address\n"},
		{"CIDR", "10.0.0.0/8", ""}, {"CIDR", "fd00::/64", ""}, {"CIDR", "10.0.0.0/7", "value does not look like a valid CIDR network\n"},
		{"pve-ipv4-config", "manual", ""}, {"pve-ipv6-config", "auto", ""}, {"pve-ipv6-config", "fd00::5/129",
			"value does not look like a valid ipv6 network configuration\n"},
		{"pve-configid", "mp0", ""}, {"pve-configid-list", "mp0,net1;unused2", ""}, {"pve-configid-list", "", ""},
		{"pve-configid-list", "mp0 9x", "invalid configuration ID '9x'\n"},
		{"pve-tag-list", "web;prod", ""}, {"pve-tag-list", "a,b!", "invalid characters in tag\n"},
		{"dns-name", "example.com", ""}, {"dns-name", "-bad.com", "value does not look like a valid DNS name\n"},
		{"address-list", "1.1.1.1 fd00::1", ""}, {"address-list", "1.1.1.1 bad_name", "value does not look like a valid address: bad_name\n"},
		{"pve-volume-id", "local:iso/x.iso", ""}, {"pve-volume-id", "x.iso", "unable to parse volume ID 'x.iso'\n"},
		{"pve-volume-id-or-qm-path", "none", ""}, {"pve-volume-id-or-absolute-path", "/mnt/x.raw", ""},
		{"pve-lxc-mp-string", "/data", ""}, {"pve-lxc-mp-string", "../x", "../x contains illegal character sequences\n"},
		{"pve-lxc-dev-string", "/dev/null", ""}, {"pve-lxc-dev-string", "/tmp/x", "/tmp/x is not a valid device path\n"},
		{"disk-size", "8G", ""}, {"disk-size", "8X", "value does not look like a valid disk size: 8X\n"},
		{"pve-startup-order", "order=2,up=10,down=5", ""}, {"pve-startup-order", "0", "unable to parse startup options\n"},
		{"urlencoded", "ssh-ed25519%20AAAA", ""},
		{"pve-qm-bootdev-list", "scsi0;net0", ""}, {"pve-qm-bootdev-list", "efidisk0", "invalid boot device 'efidisk0'\n"},
		{"pve-qm-bootdisk", "virtio15", ""}, {"pve-qm-bootdisk", "virtio16", "invalid boot disk 'virtio16'\n"},
		{"pve-hotplug-features", "network,disk,usb", ""}, {"pve-hotplug-features", "network,gpu", "unable to parse hotplug option\n"},
		{"pve-cpuset", "0-3,8", ""}, {"pve-cpuset", "3-1", "unable to parse cpuset option\n"},
		{"pve-poolid", "a/b/c", ""}, {"pve-poolid", "a/b/c/d", "pool name 'a/b/c/d' nested too deeply (max levels = 3)\n"},
		{"pve-ct-timezone", "host", ""}, {"pve-ct-timezone", "Europe/Vienna", ""}, {"pve-ct-timezone", "Mars/Base", "invalid time zone 'Mars/Base'\n"},
		{"storage-pair-list", "local:local-lvm,1", ""},
		// parse_idmap and the pair verifier each append "\n" to the ID error.
		{"storage-pair-list", "local:x", "entry 'local:x' contains invalid ID - storage ID 'x' cannot be shorter than 2 characters\n\n\n"},
		{"no-such-format", "x", "undefined format 'no-such-format'\n"},
		{"pve-fw-addr-spec", "anything", ""},
		{"IPorCIDR", "10.0.0.0/24", ""}, {"IPorCIDR", "fd00::1", ""}, {"IPorCIDR", "myalias", "value does not look like a valid IP address or CIDR network\n"},
		{"IPorCIDR", "10.0.0.0/33", "Invalid prefix length /33\n"},
		{"IPorCIDRorAlias", "dc/myalias", ""}, {"IPorCIDRorAlias", "10.1.0.0/16", ""}, {"IPorCIDRorAlias", "x/y", "value does not look like a valid IP address or CIDR network\n"},
		{"ipv4mask", "255.255.255.0", ""}, {"ipv4mask", "255.0.255.0", "value does not look like a valid IP netmask\n"},
		{"pve-vlan-id-or-range-list", "2-100 200", ""}, {"pve-vlan-id-or-range-list", "1", "invalid VLAN tag '1'\n"},
		{"pve-vlan-id-or-range", "30-20", "VLAN range must go from lower to higher tag '30-20'\n"},
	}
	for _, tc := range tests {
		if got := checkCodeFormat(tc.format, tc.value); got != tc.want {
			t.Errorf("%s %q: got %q, want %q", tc.format, tc.value, got, tc.want)
		}
	}
}

// walkParams visits every parameter and property key of s.
func walkParams(s *Schema, fn func(e *Endpoint, p *Param)) {
	var walk func(e *Endpoint, p *Param)
	walk = func(e *Endpoint, p *Param) {
		fn(e, p)
		for _, k := range p.Props {
			walk(e, k)
		}
		if p.Items != nil {
			walk(e, p.Items)
		}
	}
	for _, e := range s.Endpoints() {
		for _, p := range e.Params {
			walk(e, p)
		}
	}
}

// Every code format of the served endpoints is reproduced or knowingly
// lenient, and every pattern compiles: otherwise valid requests would fail
// with "undefined format" or patterns would silently not apply.
func TestGeneratedFormatsKnown(t *testing.T) {
	walkParams(Generated(), func(e *Endpoint, p *Param) {
		if p.Props == nil && p.Format != "" {
			if msg := checkCodeFormat(p.Format, ""); msg == "undefined format '"+p.Format+"'\n" {
				t.Errorf("%s %s %s: format %s not implemented", e.Method, e.Path, p.Name, p.Format)
			}
		}
		if p.Pattern != "" && compilePattern(p.Pattern) == nil {
			t.Errorf("%s %s %s: pattern %q does not compile", e.Method, e.Path, p.Name, p.Pattern)
		}
		if p.Format != "" && p.Props == nil && p.TypeText != "" && p.Format != "pve-startup-order" &&
			strings.Contains(p.TypeText, "=") {
			t.Errorf("%s %s %s: named format %s looks like a property string but has no key table", e.Method, e.Path, p.Name, p.Format)
		}
	})
}
