//go:build linux

package pvesim_test

import (
	"net/url"
	"testing"

	proxmox "github.com/luthermonson/go-proxmox"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/pvesim"
)

// fw is a small client for the firewall tests.
type fw struct {
	e *env
	t *testing.T
}

func (f fw) ok(method, path string, params url.Values) any {
	f.t.Helper()
	r := f.e.raw(method, path, params)
	if r.status != 200 {
		f.t.Fatalf("%s %s %v: %d %v", method, path, params, r.status, r.body)
	}
	return r.body["data"]
}

func (f fw) list(path string) []map[string]any {
	f.t.Helper()
	var out []map[string]any
	for _, v := range f.ok("GET", path, nil).([]any) {
		out = append(out, v.(map[string]any))
	}
	return out
}

// paramFail asserts a 400 with one parameter's message.
func (f fw) paramFail(method, path string, params url.Values, param, msg string) {
	f.t.Helper()
	r := f.e.raw(method, path, params)
	f.e.expectErr(r, 400, "Parameter verification failed.")
	if errs, _ := r.body["errors"].(map[string]any); errs[param] != msg {
		f.t.Fatalf("%s %s %v: errors %v, want %s: %q", method, path, params, r.body["errors"], param, msg)
	}
}

// A guest's firewall answers for a VMID without a guest: PVE reads an
// absent <vmid>.fw as empty.
func TestGuestFirewallWithoutGuest(t *testing.T) {
	f := fw{newEnv(t, pvesim.Options{}), t}
	for _, p := range []string{"rules", "aliases", "ipset", "refs"} {
		if l := f.ok("GET", "/nodes/pve/qemu/999/firewall/"+p, nil).([]any); len(l) != 0 {
			t.Fatalf("%s = %v", p, l)
		}
	}
	opts := f.ok("GET", "/nodes/pve/lxc/999/firewall/options", nil).(map[string]any)
	if len(opts) != 1 || opts["digest"] == nil {
		t.Fatalf("options = %v", opts)
	}
	if idx := f.list("/nodes/pve/lxc/999/firewall"); len(idx) != 5 || idx[0]["name"] != "rules" {
		t.Fatalf("index = %v", idx)
	}
	f.ok("PUT", "/nodes/pve/qemu/999/firewall/options", url.Values{"enable": {"1"}, "policy_in": {"DROP"}})
	if o := f.ok("GET", "/nodes/pve/qemu/999/firewall/options", nil).(map[string]any); o["enable"] != float64(1) || o["policy_in"] != "DROP" {
		t.Fatalf("options = %v", o)
	}
}

func TestClusterFirewallOptionsAndRules(t *testing.T) {
	f := fw{newEnv(t, pvesim.Options{}), t}
	f.ok("PUT", "/cluster/firewall/options", url.Values{"enable": {"1"}, "policy_in": {"DROP"}})
	o := f.ok("GET", "/cluster/firewall/options", nil).(map[string]any)
	if o["enable"] != float64(1) || o["policy_in"] != "DROP" {
		t.Fatalf("options = %v", o)
	}
	f.paramFail("PUT", "/cluster/firewall/options", url.Values{"delete": {"bogus"}}, "delete", "no such option 'bogus'")
	f.e.expectErr(f.e.raw("PUT", "/cluster/firewall/options", url.Values{"digest": {"0000000000000000000000000000000000000000"}, "enable": {"0"}}),
		500, "detected modified configuration - file changed by other user? Try again.")
	f.ok("PUT", "/cluster/firewall/options", url.Values{"delete": {"policy_in"}, "digest": {o["digest"].(string)}})

	// new rules go first; enable defaults to 0
	f.ok("POST", "/cluster/firewall/rules", url.Values{"type": {"in"}, "action": {"ACCEPT"}, "proto": {"tcp"}, "dport": {"22"}, "enable": {"1"}})
	f.ok("POST", "/cluster/firewall/rules", url.Values{"type": {"forward"}, "action": {"DROP"}, "source": {"10.0.0.0/8"}, "pos": {"1"}})
	rules := f.list("/cluster/firewall/rules")
	if len(rules) != 2 || rules[0]["type"] != "forward" || rules[0]["enable"] != float64(0) || rules[0]["ipversion"] != float64(4) ||
		rules[1]["dport"] != "22" || rules[1]["pos"] != float64(1) || rules[0]["digest"] != rules[1]["digest"] {
		t.Fatalf("rules = %v", rules)
	}
	f.ok("PUT", "/cluster/firewall/rules/1", url.Values{"moveto": {"0"}})
	if r := f.ok("GET", "/cluster/firewall/rules/0", nil).(map[string]any); r["dport"] != "22" || r["pos"] != float64(0) {
		t.Fatalf("after moveto: %v", r)
	}
	f.ok("PUT", "/cluster/firewall/rules/0", url.Values{"comment": {"ssh"}, "delete": {"dport,proto"}})
	if r := f.ok("GET", "/cluster/firewall/rules/0", nil).(map[string]any); r["comment"] != "ssh" || r["dport"] != nil {
		t.Fatalf("after edit: %v", r)
	}
	f.paramFail("PUT", "/cluster/firewall/rules/0", url.Values{"delete": {"type"}}, "delete", "unable to delete required property 'type'")
	f.e.expectErr(f.e.raw("GET", "/cluster/firewall/rules/5", nil), 500, "no rule at position 5")
	f.e.expectErr(f.e.raw("DELETE", "/cluster/firewall/rules/0", url.Values{"digest": {"0000000000000000000000000000000000000000"}}),
		500, "detected modified configuration - file changed by other user? Try again.")
	f.ok("DELETE", "/cluster/firewall/rules/0", nil)

	in := url.Values{"type": {"in"}, "action": {"ACCEPT"}}
	with := func(k, v string) url.Values {
		p := url.Values{}
		for a, b := range in {
			p[a] = b
		}
		p.Set(k, v)
		return p
	}
	f.paramFail("POST", "/cluster/firewall/rules", with("dport", "22"), "proto", "missing property - 'dport' requires this property")
	f.paramFail("POST", "/cluster/firewall/rules", with("action", "ALLOW"), "action", "unknown action 'ALLOW'")
	f.paramFail("POST", "/cluster/firewall/rules", with("source", "+nope"), "source", "no such ipset 'nope'")
	f.paramFail("POST", "/cluster/firewall/rules", with("dest", "nohost"), "dest", "no such alias 'nohost'")
	f.paramFail("POST", "/cluster/firewall/rules", with("macro", "Nope"), "macro", "unknown macro 'Nope'")
	p := with("proto", "udp")
	p.Set("dport", "ssh,80:70")
	f.paramFail("POST", "/cluster/firewall/rules", p, "dport", "backwards range '80:70' not allowed, did you mean '70:80'?")
	p.Set("proto", "gre")
	p.Set("dport", "22")
	f.paramFail("POST", "/cluster/firewall/rules", p, "dport", "protocol 'gre' does not support ports")
	f.paramFail("POST", "/cluster/firewall/rules", with("source", "10.0.0.1,fd00::1"), "source", "detected mixed ipv4/ipv6 addresses in address list '10.0.0.1,fd00::1'")
	// macros are case-insensitive and stored as PVE spells them
	f.ok("POST", "/cluster/firewall/rules", with("macro", "ssh"))
	if r := f.list("/cluster/firewall/rules"); r[0]["macro"] != "SSH" {
		t.Fatalf("macro rule = %v", r[0])
	}
	if m := f.list("/cluster/firewall/macros"); len(m) < 80 {
		t.Fatalf("macros = %d", len(m))
	}
}

func TestSecurityGroupsIPSetsAliases(t *testing.T) {
	f := fw{newEnv(t, pvesim.Options{}), t}
	f.e.createCT(100)

	f.ok("POST", "/cluster/firewall/groups", url.Values{"group": {"web"}, "comment": {"front"}})
	f.paramFail("POST", "/cluster/firewall/groups", url.Values{"group": {"web"}}, "group", "Security group 'web' already exists")
	f.ok("POST", "/cluster/firewall/groups/web", url.Values{"type": {"in"}, "action": {"ACCEPT"}, "proto": {"tcp"}, "dport": {"443"}})
	f.paramFail("POST", "/cluster/firewall/groups/web", url.Values{"type": {"group"}, "action": {"web"}}, "type", "invalid rule type 'group' for rule_env 'group'")
	if g := f.list("/cluster/firewall/groups/web"); len(g) != 1 || g[0]["dport"] != "443" {
		t.Fatalf("group rules = %v", g)
	}
	f.e.expectErr(f.e.raw("GET", "/cluster/firewall/groups/nope", nil), 500, "no such security group 'nope'")
	f.e.expectErr(f.e.raw("DELETE", "/cluster/firewall/groups/web", nil), 500, "Security group 'web' is not empty")
	// a guest uses the group; renaming it follows into the guest's rules
	f.ok("POST", "/nodes/pve/lxc/100/firewall/rules", url.Values{"type": {"group"}, "action": {"web"}, "iface": {"net0"}})
	f.paramFail("POST", "/nodes/pve/lxc/100/firewall/rules", url.Values{"type": {"in"}, "action": {"DROP"}, "iface": {"eth0"}},
		"iface", `value does not match the regex pattern 'net\d+'`)
	f.ok("POST", "/cluster/firewall/groups", url.Values{"group": {"www"}, "rename": {"web"}})
	if r := f.list("/nodes/pve/lxc/100/firewall/rules"); r[0]["action"] != "www" {
		t.Fatalf("renamed group in rule: %v", r)
	}
	if g := f.list("/cluster/firewall/groups"); len(g) != 1 || g[0]["group"] != "www" || g[0]["comment"] != "front" {
		t.Fatalf("groups = %v", g)
	}

	// IPSets: CIDRs are normalized, their slash needs no escaping in the path
	f.ok("POST", "/cluster/firewall/ipset", url.Values{"name": {"mgmt"}, "comment": {"admins"}})
	f.ok("POST", "/cluster/firewall/ipset/mgmt", url.Values{"cidr": {"10.0.0.5/24"}, "comment": {"lan"}})
	f.paramFail("POST", "/cluster/firewall/ipset/mgmt", url.Values{"cidr": {"10.0.0.0/24"}}, "cidr", "address '10.0.0.0/24' already exists")
	if ent := f.ok("GET", "/cluster/firewall/ipset/mgmt/10.0.0.0/24", nil).(map[string]any); ent["cidr"] != "10.0.0.0/24" || ent["comment"] != "lan" {
		t.Fatalf("entry = %v", ent)
	}
	f.ok("PUT", "/cluster/firewall/ipset/mgmt/10.0.0.0%2F24", url.Values{"nomatch": {"1"}})
	if ent := f.list("/cluster/firewall/ipset/mgmt"); ent[0]["nomatch"] != float64(1) || ent[0]["comment"] != nil {
		t.Fatalf("entries = %v", ent)
	}
	f.paramFail("GET", "/cluster/firewall/ipset/mgmt/10.9.9.9", nil, "cidr", "no such IP/Network")
	f.e.expectErr(f.e.raw("DELETE", "/cluster/firewall/ipset/mgmt", nil), 500, "IPSet 'mgmt' is not empty")
	f.e.expectErr(f.e.raw("GET", "/cluster/firewall/ipset/nope", nil), 500, "no such IPSet 'nope'")
	f.ok("POST", "/nodes/pve/lxc/100/firewall/rules", url.Values{"type": {"in"}, "action": {"ACCEPT"}, "source": {"+mgmt"}})

	// aliases, at the cluster and the guest
	f.ok("POST", "/cluster/firewall/aliases", url.Values{"name": {"GW"}, "cidr": {"10.0.0.1/32"}})
	f.paramFail("POST", "/cluster/firewall/aliases", url.Values{"name": {"gw"}, "cidr": {"10.0.0.2"}}, "name", "alias 'gw' already exists")
	if a := f.ok("GET", "/cluster/firewall/aliases/gw", nil).(map[string]any); a["name"] != "GW" || a["cidr"] != "10.0.0.1" || a["ipversion"] != float64(4) {
		t.Fatalf("alias = %v", a)
	}
	f.ok("POST", "/nodes/pve/lxc/100/firewall/aliases", url.Values{"name": {"db"}, "cidr": {"fd00::5"}})
	f.ok("POST", "/nodes/pve/lxc/100/firewall/ipset", url.Values{"name": {"local"}})
	f.ok("POST", "/nodes/pve/lxc/100/firewall/ipset/local", url.Values{"cidr": {"db"}})
	f.paramFail("POST", "/nodes/pve/lxc/100/firewall/rules", url.Values{"type": {"in"}, "action": {"ACCEPT"}, "source": {"gw"}, "dest": {"db"}},
		"dest", "detected mixed ipv4/ipv6 addresses in rule")
	refs := f.list("/nodes/pve/lxc/100/firewall/refs")
	if len(refs) != 4 || refs[0]["ref"] != "+mgmt" || refs[0]["scope"] != "dc" || refs[3]["name"] != "db" || refs[3]["scope"] != "guest" {
		t.Fatalf("refs = %v", refs)
	}

	// the guest's file follows clones and goes with the guest
	ct, _ := f.e.node().Container(f.e.ctx, 100)
	_, task, err := ct.Clone(f.e.ctx, &proxmox.ContainerCloneOptions{NewID: 101})
	f.e.wait(task, err)
	if r := f.list("/nodes/pve/lxc/101/firewall/rules"); len(r) != 2 {
		t.Fatalf("cloned rules = %v", r)
	}
	f.e.wait(ct.Delete(f.e.ctx, nil))
	if r := f.list("/nodes/pve/lxc/100/firewall/rules"); len(r) != 0 {
		t.Fatalf("rules of a destroyed guest = %v", r)
	}
}

func TestHostFirewall(t *testing.T) {
	f := fw{newEnv(t, pvesim.Options{}), t}
	f.ok("PUT", "/nodes/pve/firewall/options", url.Values{"enable": {"1"}, "nosmurfs": {"1"}})
	if o := f.ok("GET", "/nodes/pve/firewall/options", nil).(map[string]any); o["enable"] != float64(1) || o["nosmurfs"] != float64(1) {
		t.Fatalf("options = %v", o)
	}
	f.ok("POST", "/nodes/pve/firewall/rules", url.Values{"type": {"forward"}, "action": {"ACCEPT"}, "iface": {"vmbr0"}})
	if r := f.list("/nodes/pve/firewall/rules"); len(r) != 1 || r[0]["iface"] != "vmbr0" {
		t.Fatalf("rules = %v", r)
	}
	f.paramFail("POST", "/nodes/pve/firewall/rules", url.Values{"type": {"forward"}, "action": {"REJECT"}}, "action", "cannot define REJECT rules on forward chain")
	if idx := f.list("/nodes/pve/firewall"); len(idx) != 3 {
		t.Fatalf("index = %v", idx)
	}
}
