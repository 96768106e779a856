//go:build linux

package pvesim

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"
)

var ciKeyRE = regexp.MustCompile(`^(cicustom|cipassword|citype|ciupgrade|ciuser|nameserver|searchdomain|sshkeys|ipconfig\d+)$`)

// cloudinitGet lists cloud-init keys with their pending values.
func (s *Server) cloudinitGet(r *request) (any, error) {
	return s.withGuest(r, func(g *Guest) (any, error) {
		out := []map[string]any{}
		keys := map[string]bool{}
		for k := range g.Config {
			if ciKeyRE.MatchString(k) {
				keys[k] = true
			}
		}
		for k := range g.Pending {
			if ciKeyRE.MatchString(k) {
				keys[k] = true
			}
		}
		for _, k := range sortedKeys(keys) {
			e := map[string]any{"key": k}
			if v, ok := g.Config[k]; ok {
				e["value"] = s.displayValue(g, k, v)
			}
			if v, ok := g.Pending[k]; ok {
				e["pending"] = s.displayValue(g, k, v)
			}
			out = append(out, e)
		}
		return out, nil
	})
}

// cloudinitRegenerate is PUT .../cloudinit: the drive is rebuilt from the
// current config (nothing to store here).
func (s *Server) cloudinitRegenerate(r *request) (any, error) {
	return s.withGuestFlock(r, func(g *Guest) (any, error) {
		if err := g.checkLock(); err != nil {
			return nil, err
		}
		for k, v := range g.Pending {
			if ciKeyRE.MatchString(k) {
				g.Config[k] = v
				delete(g.Pending, k)
			}
		}
		return nil, nil
	})
}

func (s *Server) cloudinitDump(r *request) (any, error) {
	return s.withGuest(r, func(g *Guest) (any, error) {
		switch r.str("type") {
		case "user":
			return ciUserData(g), nil
		case "network":
			return ciNetworkData(g), nil
		default:
			sum := sha1.Sum([]byte(ciUserData(g) + ciNetworkData(g)))
			return "instance-id: " + hex.EncodeToString(sum[:]) + "\n", nil
		}
	})
}

func ciUserData(g *Guest) string {
	c := g.Config
	name := c["name"]
	if name == "" {
		name = fmt.Sprintf("VM%d", g.VMID)
	}
	var b strings.Builder
	b.WriteString("#cloud-config\n")
	fmt.Fprintf(&b, "hostname: %s\nmanage_etc_hosts: true\n", name)
	fqdn := name
	if sd := c["searchdomain"]; sd != "" {
		fqdn += "." + strings.Fields(sd)[0]
	}
	fmt.Fprintf(&b, "fqdn: %s\n", fqdn)
	if u := c["ciuser"]; u != "" {
		fmt.Fprintf(&b, "user: %s\n", u)
	}
	if p := c["cipassword"]; p != "" {
		fmt.Fprintf(&b, "password: %s\n", p)
	}
	if k := c["sshkeys"]; k != "" {
		keys, _ := url.QueryUnescape(strings.ReplaceAll(k, "+", "%2B"))
		b.WriteString("ssh_authorized_keys:\n")
		for _, line := range strings.Split(keys, "\n") {
			if strings.TrimSpace(line) != "" {
				fmt.Fprintf(&b, "  - %s\n", strings.TrimSpace(line))
			}
		}
	}
	b.WriteString("chpasswd:\n  expire: False\nusers:\n  - default\n")
	if c["ciupgrade"] != "0" {
		b.WriteString("package_upgrade: true\n")
	}
	return b.String()
}

func ciNetworkData(g *Guest) string {
	var b strings.Builder
	b.WriteString("version: 1\nconfig:\n")
	for i := 0; i < 32; i++ {
		ipc, ok := g.Config[fmt.Sprintf("ipconfig%d", i)]
		netv, hasNet := g.Config[fmt.Sprintf("net%d", i)]
		if !ok || !hasNet {
			continue
		}
		nm, _ := parseProp("qemu", fmt.Sprintf("net%d", i), netv)
		mac := nm["macaddr"]
		for _, model := range []string{"virtio", "e1000", "e1000e", "rtl8139", "vmxnet3"} {
			if v := nm[model]; v != "" {
				mac = v
			}
		}
		fmt.Fprintf(&b, "    - type: physical\n      name: eth%d\n      mac_address: '%s'\n      subnets:\n", i, strings.ToLower(mac))
		m := splitProps(ipc, "")
		switch ip := m["ip"]; {
		case ip == "dhcp":
			b.WriteString("      - type: dhcp4\n")
		case ip != "":
			addr, ipn, err := net.ParseCIDR(ip)
			if err == nil {
				fmt.Fprintf(&b, "      - type: static\n        address: '%s'\n        netmask: '%s'\n", addr, net.IP(ipn.Mask))
				if gw := m["gw"]; gw != "" {
					fmt.Fprintf(&b, "        gateway: '%s'\n", gw)
				}
			}
		}
		switch ip6 := m["ip6"]; {
		case ip6 == "dhcp":
			b.WriteString("      - type: dhcp6\n")
		case ip6 == "auto":
			b.WriteString("      - type: ipv6_slaac\n")
		case ip6 != "":
			fmt.Fprintf(&b, "      - type: static6\n        address: '%s'\n", ip6)
			if gw := m["gw6"]; gw != "" {
				fmt.Fprintf(&b, "        gateway: '%s'\n", gw)
			}
		}
	}
	ns, sd := g.Config["nameserver"], g.Config["searchdomain"]
	if ns != "" || sd != "" {
		b.WriteString("    - type: nameserver\n      address:\n")
		for _, n := range strings.Fields(ns) {
			fmt.Fprintf(&b, "      - '%s'\n", n)
		}
		b.WriteString("      search:\n")
		for _, d := range strings.Fields(sd) {
			fmt.Fprintf(&b, "      - '%s'\n", d)
		}
	}
	return b.String()
}
