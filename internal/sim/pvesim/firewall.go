//go:build linux

package pvesim

import (
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/pveschema"
)

// The firewall at every level, as pve-firewall's API2/Firewall/*.pm serve
// it: cluster.fw (options, rules, security groups, IPSets, aliases), each
// node's host.fw (options, rules) and each guest's <vmid>.fw (options,
// rules, IPSets, aliases). A guest's file is found by VMID alone, so its
// endpoints answer for an ID without a guest (load_vmfw_conf reads an absent
// file as empty). Writes hold the state lock, which stands in for PVE's
// firewall locks.

// fwScope is the .fw file a request addresses and its rule_env.
type fwScope struct {
	fw  *Firewall
	env string // cluster, host, vm, ct
}

func newFirewall() *Firewall { return &Firewall{} }

// fwScope resolves the request's file (caller holds s.mu). An absent file
// reads as empty; a write creates it.
func (s *Server) fwScope(r *request, write bool) fwScope {
	fws := &s.st.Firewall
	var m map[string]*Firewall
	key, env := "", ""
	switch {
	case strings.HasPrefix(r.tmpl, "/cluster/"):
		return fwScope{s.clusterFW(), "cluster"}
	case strings.HasPrefix(r.tmpl, "/nodes/{node}/firewall"):
		if fws.Hosts == nil {
			fws.Hosts = map[string]*Firewall{}
		}
		m, key, env = fws.Hosts, r.vars["node"], "host"
	default:
		if fws.Guests == nil {
			fws.Guests = map[int]*Firewall{}
		}
		vmid := r.vmid()
		env = "vm"
		if kindOf(r) == "lxc" {
			env = "ct"
		}
		fw := fws.Guests[vmid]
		if fw == nil {
			fw = newFirewall()
			if write {
				fws.Guests[vmid] = fw
			}
		}
		return fwScope{fw, env}
	}
	fw := m[key]
	if fw == nil {
		fw = newFirewall()
		if write {
			m[key] = fw
		}
	}
	return fwScope{fw, env}
}

// clusterFW is cluster.fw (caller holds s.mu).
func (s *Server) clusterFW() *Firewall {
	if s.st.Firewall.Cluster == nil {
		s.st.Firewall.Cluster = newFirewall()
	}
	return s.st.Firewall.Cluster
}

// withFW runs fn on the request's firewall file under the state lock; a
// write (write true) is persisted.
func (s *Server) withFW(r *request, write bool, fn func(sc fwScope) (any, error)) (any, error) {
	s.mu.Lock()
	out, err := fn(s.fwScope(r, write))
	s.mu.Unlock()
	if err == nil && write {
		go s.persist()
	}
	return out, err
}

// cloneGuestFW is clone_vmfw_conf; removeGuestFW remove_vmfw_conf (caller
// holds s.mu).
func (st *State) cloneGuestFW(src, dst int) {
	fw := st.Firewall.Guests[src]
	if fw == nil {
		delete(st.Firewall.Guests, dst)
		return
	}
	var cp Firewall
	b, _ := json.Marshal(fw)
	_ = json.Unmarshal(b, &cp)
	st.Firewall.Guests[dst] = &cp
}

func (st *State) removeGuestFW(vmid int) { delete(st.Firewall.Guests, vmid) }

// fwIndex is the firewall directory index of each level.
func (s *Server) fwIndex(r *request) (any, error) {
	var names []string
	switch {
	case r.tmpl == "/cluster/firewall":
		names = []string{"aliases", "rules", "options", "groups", "ipset", "macros", "refs"}
	case r.tmpl == "/nodes/{node}/firewall":
		names = []string{"rules", "options", "log"}
	default:
		names = []string{"rules", "aliases", "ipset", "refs", "options"}
	}
	out := make([]map[string]string, len(names))
	for i, n := range names {
		out[i] = map[string]string{"name": n}
	}
	return out, nil
}

// objectDigest is copy_opject_with_digest's digest.
func objectDigest(m map[string]string) string {
	h := sha1.New()
	for _, k := range sortedKeys(m) {
		fmt.Fprintf(h, "%s:%s\n", k, m[k])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// listDigest is copy_list_with_digest's digest of a list of entries.
func listDigest(list []map[string]any) string {
	h := sha1.New()
	for _, e := range list {
		for _, k := range sortedKeys(e) {
			fmt.Fprintf(h, "%s:%v\n", k, e[k])
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// withDigest is copy_list_with_digest: copies of the entries, each with the
// list's digest.
func withDigest(list []map[string]any) []map[string]any {
	d := listDigest(list)
	out := make([]map[string]any, len(list))
	for i, e := range list {
		c := make(map[string]any, len(e)+1)
		for k, v := range e {
			c[k] = v
		}
		c["digest"] = d
		out[i] = c
	}
	return out
}

// fwOptionsEndpoint is the PUT options endpoint of the request's level: its
// parameters are the level's options ($option_properties).
func fwOptionsEndpoint(r *request) *pveschema.Endpoint {
	ep, _ := pveschema.Lookup("PUT", r.tmpl)
	return ep
}

func isFWOption(ep *pveschema.Endpoint, k string) bool {
	switch k {
	case "node", "vmid", "delete", "digest":
		return false
	}
	_, ok := ep.Params[k]
	return ok
}

// fwOptionsGet is GET .../firewall/options.
func (s *Server) fwOptionsGet(r *request) (any, error) {
	ep, _ := pveschema.Lookup("PUT", r.tmpl)
	return s.withFW(r, false, func(sc fwScope) (any, error) {
		out := map[string]any{"digest": objectDigest(sc.fw.Options)}
		for k, v := range sc.fw.Options {
			out[k] = v
			if p := ep.Params[k]; p != nil && (p.Type == "integer" || p.Type == "boolean") {
				out[k], _ = strconv.Atoi(v) // parse_*fw_option int()s its flags
			}
		}
		return out, nil
	})
}

// fwOptionsPut is PUT .../firewall/options.
func (s *Server) fwOptionsPut(r *request) (any, error) {
	ep := fwOptionsEndpoint(r)
	return s.withFW(r, true, func(sc fwScope) (any, error) {
		if err := assertUnmodified(r, objectDigest(sc.fw.Options)); err != nil {
			return nil, err
		}
		for _, k := range splitList(r.str("delete")) {
			if !isFWOption(ep, k) {
				return nil, paramErr(map[string]string{"delete": fmt.Sprintf("no such option '%s'", k)})
			}
		}
		if sc.fw.Options == nil {
			sc.fw.Options = map[string]string{}
		}
		for _, k := range splitList(r.str("delete")) {
			delete(sc.fw.Options, k)
		}
		for k := range r.params {
			if !isFWOption(ep, k) || !r.has(k) {
				continue
			}
			v := r.str(k)
			if k == "enable" {
				n, _ := strconv.ParseInt(v, 10, 64)
				switch {
				case sc.env == "cluster" && n > 1:
					v = strconv.FormatInt(time.Now().Unix(), 10) // the anti-lockout timestamp
				case sc.env != "cluster":
					v = strconv.Itoa(b2i(n != 0))
				}
			}
			sc.fw.Options[k] = v
		}
		return nil, nil
	})
}

// fwRules returns the rule list the request addresses and a setter for it
// (caller holds s.mu).
func (s *Server) fwRules(r *request, sc fwScope) (rules []map[string]any, set func([]map[string]any), env string, err error) {
	if group, ok := r.vars["group"]; ok {
		g := s.clusterFW().Groups[group]
		if g == nil {
			return nil, nil, "", die("no such security group '%s'", group)
		}
		return g.Rules, func(l []map[string]any) { g.Rules = l }, "group", nil
	}
	return sc.fw.Rules, func(l []map[string]any) { sc.fw.Rules = l }, sc.env, nil
}

// fwRuleList is GET .../rules (and a security group's rules).
func (s *Server) fwRuleList(r *request) (any, error) {
	return s.withFW(r, false, func(sc fwScope) (any, error) {
		rules, _, _, err := s.fwRules(r, sc)
		if err != nil {
			return nil, err
		}
		out := withDigest(rules)
		for i := range out {
			out[i]["pos"] = i
		}
		return out, nil
	})
}

func fwPos(r *request, rules []map[string]any) (int, error) {
	pos, _ := strconv.Atoi(r.vars["pos"])
	if pos >= len(rules) {
		return 0, die("no rule at position %d", pos)
	}
	return pos, nil
}

// fwRuleGet is GET .../rules/{pos}.
func (s *Server) fwRuleGet(r *request) (any, error) {
	return s.withFW(r, false, func(sc fwScope) (any, error) {
		rules, _, _, err := s.fwRules(r, sc)
		if err != nil {
			return nil, err
		}
		pos, err := fwPos(r, rules)
		if err != nil {
			return nil, err
		}
		e := withDigest(rules)[pos]
		e["pos"] = pos
		return e, nil
	})
}

// fwRuleCreate is POST .../rules: the new rule goes first (unshift), whatever
// pos says; enable defaults to 0.
func (s *Server) fwRuleCreate(r *request) (any, error) {
	return s.withFW(r, true, func(sc fwScope) (any, error) {
		rules, set, env, err := s.fwRules(r, sc)
		if err != nil {
			return nil, err
		}
		rule := copyRuleData(map[string]any{}, r)
		if err := s.verifyRule(rule, env, sc.fw); err != nil {
			return nil, err
		}
		if !r.has("enable") {
			rule["enable"] = 0
		}
		set(append([]map[string]any{rule}, rules...))
		return nil, nil
	})
}

// fwRulePut is PUT .../rules/{pos}: moveto moves, anything else edits.
func (s *Server) fwRulePut(r *request) (any, error) {
	return s.withFW(r, true, func(sc fwScope) (any, error) {
		rules, set, env, err := s.fwRules(r, sc)
		if err != nil {
			return nil, err
		}
		if err := assertUnmodified(r, listDigest(rules)); err != nil {
			return nil, err
		}
		pos, err := fwPos(r, rules)
		if err != nil {
			return nil, err
		}
		rule := rules[pos]
		if r.has("moveto") && r.integer("moveto") != pos {
			to := r.integer("moveto")
			var moved []map[string]any
			for i := range rules {
				if i == pos {
					continue
				}
				if i == to {
					moved = append(moved, rule)
				}
				moved = append(moved, rules[i])
			}
			if to >= len(rules) {
				moved = append(moved, rule)
			}
			set(moved)
			return nil, nil
		}
		edited := copyRuleData(copyMap(rule), r)
		for _, k := range splitList(r.str("delete")) {
			if !fwRuleProps[k] {
				return nil, paramErr(map[string]string{"delete": fmt.Sprintf("no such property ('%s')", k)})
			}
			if k == "type" || k == "action" {
				return nil, paramErr(map[string]string{"delete": fmt.Sprintf("unable to delete required property '%s'", k)})
			}
			delete(edited, k)
		}
		if err := s.verifyRule(edited, env, sc.fw); err != nil {
			return nil, err
		}
		rules[pos] = edited
		set(rules)
		return nil, nil
	})
}

// fwRuleDelete is DELETE .../rules/{pos}.
func (s *Server) fwRuleDelete(r *request) (any, error) {
	return s.withFW(r, true, func(sc fwScope) (any, error) {
		rules, set, _, err := s.fwRules(r, sc)
		if err != nil {
			return nil, err
		}
		if err := assertUnmodified(r, listDigest(rules)); err != nil {
			return nil, err
		}
		pos, err := fwPos(r, rules)
		if err != nil {
			return nil, err
		}
		set(append(append([]map[string]any{}, rules[:pos]...), rules[pos+1:]...))
		return nil, nil
	})
}

// fwRuleProps are the rule fields a .fw line keeps.
var fwRuleProps = map[string]bool{"type": true, "action": true, "macro": true, "iface": true, "source": true,
	"dest": true, "proto": true, "enable": true, "log": true, "sport": true, "dport": true, "comment": true,
	"icmp-type": true}

// copyRuleData is copy_rule_data: given fields are set, "" or "-" clears
// one; enable is kept as a .fw line stores it (0 or 1).
func copyRuleData(rule map[string]any, r *request) map[string]any {
	for _, k := range sortedKeys(fwRuleProps) {
		if !r.has(k) {
			continue
		}
		v := r.str(k)
		switch {
		case v == "" || v == "-":
			delete(rule, k)
		case k == "enable":
			n, _ := strconv.ParseInt(v, 10, 64)
			rule[k] = b2i(n != 0)
		default:
			rule[k] = v
		}
	}
	return rule
}
