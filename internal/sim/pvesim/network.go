//go:build linux

package pvesim

import (
	"context"
	"fmt"
	"math/bits"
	"sort"
	"strconv"
	"strings"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/pveschema"
)

// The node's network configuration as pve-manager's API2/Network.pm serves
// it: changes go to /etc/network/interfaces.new (pending) and apply on
// PUT /nodes/{node}/network (ifreload), DELETE reverts them. Every node
// starts with a physical NIC and the cluster's bridges.

// NodeNetwork is one node's /etc/network/interfaces and, while changes are
// pending, interfaces.new; an interface is its options as PVE parses them.
type NodeNetwork struct {
	Active  map[string]map[string]any `json:"active"`
	Pending map[string]map[string]any `json:"pending,omitempty"`
}

// nodeNetwork returns node's network, seeding it on first use (caller holds
// s.mu).
func (s *Server) nodeNetwork(node string) *NodeNetwork {
	if s.st.Network == nil {
		s.st.Network = map[string]*NodeNetwork{}
	}
	n := s.st.Network[node]
	if n == nil {
		n = &NodeNetwork{Active: map[string]map[string]any{
			"nic0": {"type": "eth", "method": "manual", "method6": "manual", "families": []any{"inet"}, "exists": 1, "active": 1},
		}}
		for i, b := range s.st.Bridges {
			br := map[string]any{"type": "bridge", "method": "manual", "method6": "manual", "families": []any{"inet"},
				"autostart": 1, "active": 1, "bridge_ports": "", "bridge_stp": "off", "bridge_fd": "0"}
			if i == 0 {
				br["method"], br["bridge_ports"] = "static", "nic0"
				br["address"], br["netmask"], br["cidr"], br["gateway"] = "192.168.100.2", "24", "192.168.100.2/24", "192.168.100.1"
			}
			n.Active[b] = br
		}
		s.st.Network[node] = n
	}
	return n
}

// current is the configuration PVE reads: interfaces.new when it exists.
func (n *NodeNetwork) current() map[string]map[string]any {
	if n.Pending != nil {
		return n.Pending
	}
	return n.Active
}

// edit returns the pending configuration, starting it from the active one.
func (n *NodeNetwork) edit() map[string]map[string]any {
	if n.Pending == nil {
		n.Pending = map[string]map[string]any{}
		for k, v := range n.Active {
			c := map[string]any{}
			for a, b := range v {
				if a != "active" {
					c[a] = b
				}
			}
			n.Pending[k] = c
		}
	}
	return n.Pending
}

// networkIndex is GET /nodes/{node}/network; pending changes show as the
// "changes" diff beside the data.
func (s *Server) networkIndex(r *request) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.nodeNetwork(r.vars["node"])
	cur := n.current()
	out := []map[string]any{}
	for _, name := range sortedKeys(cur) {
		d := cur[name]
		typ, _ := d["type"].(string)
		isBridge := typ == "bridge" || typ == "OVSBridge"
		if f := r.str("type"); f != "" && f != "include_sdn" && f != typ && !(isBridge && strings.HasPrefix(f, "any_")) {
			continue
		}
		e := map[string]any{"iface": name}
		for k, v := range d {
			e[k] = v
		}
		out = append(out, e)
	}
	if n.Pending != nil {
		if diff := unifiedDiff(interfacesText(n.Active), interfacesText(n.Pending)); diff != "" {
			return withAttrs{data: out, attrs: map[string]any{"changes": diff}}, nil
		}
	}
	return out, nil
}

// networkGet is GET /nodes/{node}/network/{iface}.
func (s *Server) networkGet(r *request) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.nodeNetwork(r.vars["node"]).current()[r.vars["iface"]]
	if d == nil {
		return nil, paramErr(map[string]string{"iface": "interface does not exist"})
	}
	return d, nil
}

// networkCreate is POST /nodes/{node}/network (create_network).
func (s *Server) networkCreate(r *request) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.nodeNetwork(r.vars["node"])
	iface := r.str("iface")
	if n.current()[iface] != nil {
		return nil, paramErr(map[string]string{"iface": "interface already exists"})
	}
	d := netParams(r)
	if err := checkNetParams(n.current(), iface, d); err != nil {
		return nil, err
	}
	if strings.HasPrefix(r.str("type"), "OVS") {
		return nil, die("Open VSwitch is not installed (need package 'openvswitch-switch')")
	}
	families := []any{}
	if d["address"] != nil {
		families = append(families, "inet")
	}
	if d["address6"] != nil {
		families = append(families, "inet6")
	}
	if len(families) == 0 {
		families = []any{"inet"}
	}
	d["families"] = families
	d["method"], d["method6"] = "manual", "manual"
	if d["address"] != nil {
		d["method"] = "static"
	}
	if d["address6"] != nil {
		d["method6"] = "static"
	}
	n.edit()[iface] = normalizeIface(d)
	go s.persist()
	return nil, nil
}

// networkUpdate is PUT /nodes/{node}/network/{iface} (update_network).
func (s *Server) networkUpdate(r *request) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.nodeNetwork(r.vars["node"])
	iface := r.vars["iface"]
	if n.current()[iface] == nil {
		return nil, paramErr(map[string]string{"iface": "interface does not exist"})
	}
	cfg := n.edit()
	d := cfg[iface]
	for _, k := range splitList(r.str("delete")) {
		delete(d, k)
		switch k {
		case "cidr":
			delete(d, "address")
			delete(d, "netmask")
		case "cidr6":
			delete(d, "address6")
			delete(d, "netmask6")
		}
	}
	p := netParams(r)
	if err := checkNetParams(cfg, iface, p); err != nil {
		return nil, err
	}
	for k, v := range p {
		d[k] = v
	}
	d["families"], d["method"], d["method6"] = []any{"inet"}, "manual", "manual"
	if p["address"] != nil {
		d["method"] = "static"
	}
	if p["address6"] != nil {
		d["method6"] = "static"
		d["families"] = append(d["families"].([]any), "inet6")
	}
	cfg[iface] = normalizeIface(d)
	go s.persist()
	return nil, nil
}

// networkDelete is DELETE /nodes/{node}/network/{iface}.
func (s *Server) networkDelete(r *request) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.nodeNetwork(r.vars["node"])
	if n.current()[r.vars["iface"]] == nil {
		return nil, paramErr(map[string]string{"iface": "interface does not exist"})
	}
	delete(n.edit(), r.vars["iface"])
	go s.persist()
	return nil, nil
}

// networkRevert is DELETE /nodes/{node}/network: interfaces.new goes.
func (s *Server) networkRevert(r *request) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nodeNetwork(r.vars["node"]).Pending = nil
	go s.persist()
	return nil, nil
}

// networkReload is PUT /nodes/{node}/network: an srvreload worker moves
// interfaces.new into place (ifreload -a).
func (s *Server) networkReload(r *request) (any, error) {
	node := r.vars["node"]
	return s.tasks.start(taskSpec{Node: node, Type: "srvreload", ID: "networking", User: r.user,
		Work: func(ctx context.Context, t *Task) error {
			s.mu.Lock()
			defer s.mu.Unlock()
			n := s.nodeNetwork(node)
			if n.Pending != nil {
				for _, d := range n.Pending {
					d["active"] = 1
				}
				n.Active, n.Pending = n.Pending, nil
			}
			return nil
		}}).UPID, nil
}

// netParams are the request's interface options (json_config_properties),
// cidr split into address and netmask.
func netParams(r *request) map[string]any {
	ep, _ := pveschema.Lookup("POST", "/nodes/{node}/network")
	d := map[string]any{}
	for k := range r.params {
		if k == "node" || k == "iface" || k == "delete" || !r.has(k) {
			continue
		}
		v := r.str(k)
		if p := ep.Params[k]; p != nil && (p.Type == "integer" || p.Type == "boolean") {
			n, _ := strconv.Atoi(v)
			d[k] = n
			continue
		}
		d[k] = v
	}
	if k := "bridge_vids"; d[k] != nil {
		d[k] = strings.Join(splitList(d[k].(string)), " ")
	}
	return d
}

// checkNetParams are create/update_network's checks: cidr against
// address/netmask, one default gateway, a port on one interface only.
func checkNetParams(cfg map[string]map[string]any, iface string, d map[string]any) error {
	for _, six := range []string{"", "6"} {
		if c, ok := d["cidr"+six].(string); ok {
			if d["address"+six] != nil {
				return paramErr(map[string]string{"address" + six: "address" + six + " conflicts with cidr" + six})
			}
			if d["netmask"+six] != nil {
				return paramErr(map[string]string{"netmask" + six: "netmask" + six + " conflicts with cidr" + six})
			}
			addr, mask, _ := strings.Cut(c, "/")
			d["address"+six], d["netmask"+six] = addr, mask
			delete(d, "cidr"+six)
		}
	}
	for _, gw := range []string{"gateway", "gateway6"} {
		if d[gw] == nil {
			continue
		}
		for _, other := range sortedKeys(cfg) {
			if other != iface && cfg[other][gw] != nil {
				name := "Default gateway"
				if gw == "gateway6" {
					name = "Default ipv6 gateway"
				}
				return paramErr(map[string]string{gw: fmt.Sprintf("%s already exists on interface '%s'.", name, other)})
			}
		}
	}
	for _, pk := range []string{"bridge_ports", "ovs_ports", "slaves", "ovs_bonds"} {
		ports, _ := d[pk].(string)
		for _, p := range splitList(ports) {
			for _, other := range sortedKeys(cfg) {
				if other == iface {
					continue
				}
				for _, ok := range []string{"bridge_ports", "ovs_ports", "slaves", "ovs_bonds"} {
					used, _ := cfg[other][ok].(string)
					if containsStr(splitList(used), p) {
						return paramErr(map[string]string{pk: fmt.Sprintf("%s is already used on interface '%s'.", p, other)})
					}
				}
			}
		}
	}
	return nil
}

// normalizeIface is the interface as read back from the file: a netmask as
// a prefix length and cidr from address and netmask.
func normalizeIface(d map[string]any) map[string]any {
	for _, six := range []string{"", "6"} {
		addr, _ := d["address"+six].(string)
		mask, _ := d["netmask"+six].(string)
		if addr == "" || mask == "" {
			delete(d, "cidr"+six)
			continue
		}
		if strings.Contains(mask, ".") { // get_netmask_bits
			n := 0
			for _, part := range strings.Split(mask, ".") {
				v, _ := strconv.Atoi(part)
				n += bits.OnesCount8(uint8(v))
			}
			mask = strconv.Itoa(n)
			d["netmask"+six] = mask
		}
		d["cidr"+six] = addr + "/" + mask
	}
	return d
}

// interfacesText renders the configuration roughly as PVE writes
// /etc/network/interfaces, for the changes diff.
func interfacesText(cfg map[string]map[string]any) string {
	var b strings.Builder
	b.WriteString("auto lo\niface lo inet loopback\n")
	names := sortedKeys(cfg)
	sort.SliceStable(names, func(i, j int) bool { return ifaceOrder(cfg[names[i]]) < ifaceOrder(cfg[names[j]]) })
	for _, name := range names {
		d := cfg[name]
		b.WriteString("\n")
		if d["autostart"] == 1 {
			b.WriteString("auto " + name + "\n")
		}
		fmt.Fprintf(&b, "iface %s inet %v\n", name, d["method"])
		if c, ok := d["cidr"].(string); ok {
			b.WriteString("\taddress " + c + "\n")
		}
		if g, ok := d["gateway"].(string); ok {
			b.WriteString("\tgateway " + g + "\n")
		}
		if d["type"] == "bridge" {
			ports, _ := d["bridge_ports"].(string)
			if ports == "" {
				ports = "none"
			}
			fmt.Fprintf(&b, "\tbridge-ports %s\n\tbridge-stp off\n\tbridge-fd 0\n", ports)
			if d["bridge_vlan_aware"] == 1 {
				b.WriteString("\tbridge-vlan-aware yes\n")
			}
		}
		if c, ok := d["comments"].(string); ok {
			b.WriteString("#" + c + "\n")
		}
	}
	b.WriteString("\nsource /etc/network/interfaces.d/*\n")
	return b.String()
}

func ifaceOrder(d map[string]any) int {
	switch d["type"] {
	case "eth":
		return 0
	case "bond":
		return 1
	case "vlan":
		return 2
	case "bridge":
		return 3
	}
	return 4
}

// unifiedDiff is `diff -u` of the two files as one hunk ("" when equal).
func unifiedDiff(a, b string) string {
	if a == b {
		return ""
	}
	x, y := strings.SplitAfter(a, "\n"), strings.SplitAfter(b, "\n")
	x, y = x[:len(x)-1], y[:len(y)-1]
	// longest common subsequence, then walk it
	l := make([][]int, len(x)+1)
	for i := range l {
		l[i] = make([]int, len(y)+1)
	}
	for i := len(x) - 1; i >= 0; i-- {
		for j := len(y) - 1; j >= 0; j-- {
			if x[i] == y[j] {
				l[i][j] = l[i+1][j+1] + 1
			} else {
				l[i][j] = max(l[i+1][j], l[i][j+1])
			}
		}
	}
	var out strings.Builder
	fmt.Fprintf(&out, "--- /etc/network/interfaces\n+++ /etc/network/interfaces.new\n@@ -1,%d +1,%d @@\n", len(x), len(y))
	i, j := 0, 0
	for i < len(x) || j < len(y) {
		switch {
		case i < len(x) && j < len(y) && x[i] == y[j]:
			out.WriteString(" " + x[i])
			i, j = i+1, j+1
		case j < len(y) && (i == len(x) || l[i][j+1] >= l[i+1][j]):
			out.WriteString("+" + y[j])
			j++
		default:
			out.WriteString("-" + x[i])
			i++
		}
	}
	return out.String()
}
