//go:build linux

package pvesim

import (
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"strconv"
)

var fwRuleKeys = []string{"type", "action", "macro", "source", "dest", "proto", "sport", "dport", "iface", "log", "comment", "enable", "icmp-type"}

func fwDigest(v any) string {
	b, _ := json.Marshal(v)
	sum := sha1.Sum(b)
	return hex.EncodeToString(sum[:])
}

func (s *Server) firewallIndex(r *request) (any, error) {
	return s.withGuest(r, func(g *Guest) (any, error) {
		return dirIndex("name", "rules", "aliases", "ipset", "options", "log", "refs"), nil
	})
}

func (s *Server) firewallOptionsGet(r *request) (any, error) {
	return s.withGuest(r, func(g *Guest) (any, error) {
		out := map[string]any{}
		for k, v := range g.Firewall.Options {
			out[k] = typedFW(k, v)
		}
		out["digest"] = fwDigest(g.Firewall.Options)
		return out, nil
	})
}

func typedFW(k, v string) any {
	switch k {
	case "enable", "dhcp", "ipfilter", "macfilter", "ndp", "radv":
		n, _ := strconv.Atoi(v)
		return n
	}
	return v
}

func (s *Server) firewallOptionsPut(r *request) (any, error) {
	return s.withGuestFlock(r, func(g *Guest) (any, error) {
		if d := r.str("digest"); d != "" && d != fwDigest(g.Firewall.Options) {
			return nil, die("detected modified configuration - file changed by other user? Try again.")
		}
		if g.Firewall.Options == nil {
			g.Firewall.Options = map[string]string{}
		}
		for _, k := range splitList(r.str("delete")) {
			delete(g.Firewall.Options, k)
		}
		for k := range r.params {
			if k == "delete" || k == "digest" {
				continue
			}
			g.Firewall.Options[k] = r.str(k)
		}
		return nil, nil
	})
}

func (s *Server) firewallRules(r *request) (any, error) {
	return s.withGuest(r, func(g *Guest) (any, error) {
		out := []map[string]any{}
		for i, rule := range g.Firewall.Rules {
			e := map[string]any{"pos": i}
			for k, v := range rule {
				e[k] = v
			}
			e["digest"] = fwDigest(g.Firewall.Rules)
			out = append(out, e)
		}
		return out, nil
	})
}

func ruleFromParams(r *request, rule map[string]any) map[string]any {
	if rule == nil {
		rule = map[string]any{}
	}
	for _, k := range fwRuleKeys {
		if r.has(k) {
			if k == "enable" {
				rule[k], _ = strconv.Atoi(r.str(k))
			} else {
				rule[k] = r.str(k)
			}
		}
	}
	return rule
}

func (s *Server) firewallRuleCreate(r *request) (any, error) {
	return s.withGuestFlock(r, func(g *Guest) (any, error) {
		if d := r.str("digest"); d != "" && d != fwDigest(g.Firewall.Rules) {
			return nil, die("detected modified configuration - file changed by other user? Try again.")
		}
		rule := ruleFromParams(r, nil)
		pos := 0
		if r.has("pos") {
			pos = r.integer("pos")
		}
		if pos > len(g.Firewall.Rules) {
			pos = len(g.Firewall.Rules)
		}
		rules := append([]map[string]any{}, g.Firewall.Rules[:pos]...)
		rules = append(rules, rule)
		g.Firewall.Rules = append(rules, g.Firewall.Rules[pos:]...)
		return nil, nil
	})
}

func (s *Server) fwRuleAt(g *Guest, r *request) (int, error) {
	pos, _ := strconv.Atoi(r.vars["pos"])
	if pos < 0 || pos >= len(g.Firewall.Rules) {
		return 0, die("no rule at position %d", pos)
	}
	return pos, nil
}

func (s *Server) firewallRuleGet(r *request) (any, error) {
	return s.withGuest(r, func(g *Guest) (any, error) {
		pos, err := s.fwRuleAt(g, r)
		if err != nil {
			return nil, err
		}
		e := map[string]any{"pos": pos}
		for k, v := range g.Firewall.Rules[pos] {
			e[k] = v
		}
		return e, nil
	})
}

func (s *Server) firewallRulePut(r *request) (any, error) {
	return s.withGuestFlock(r, func(g *Guest) (any, error) {
		pos, err := s.fwRuleAt(g, r)
		if err != nil {
			return nil, err
		}
		rule := ruleFromParams(r, g.Firewall.Rules[pos])
		for _, k := range splitList(r.str("delete")) {
			delete(rule, k)
		}
		if r.has("moveto") {
			to := r.integer("moveto")
			rules := append(append([]map[string]any{}, g.Firewall.Rules[:pos]...), g.Firewall.Rules[pos+1:]...)
			if to > len(rules) {
				to = len(rules)
			}
			rules = append(rules[:to], append([]map[string]any{rule}, rules[to:]...)...)
			g.Firewall.Rules = rules
		}
		return nil, nil
	})
}

func (s *Server) firewallRuleDelete(r *request) (any, error) {
	return s.withGuestFlock(r, func(g *Guest) (any, error) {
		pos, err := s.fwRuleAt(g, r)
		if err != nil {
			return nil, err
		}
		g.Firewall.Rules = append(g.Firewall.Rules[:pos], g.Firewall.Rules[pos+1:]...)
		return nil, nil
	})
}
