package guestconf

import (
	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/phoenix"
	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/pve"
)

// FirewallRules renders the model's rules as PVE rules, enabled, in order.
// A phoenix rule without type is inbound, as the orchestrator assumed.
func FirewallRules(g *phoenix.Guest) []pve.FirewallRule {
	if g.Firewall == nil {
		return nil
	}
	out := make([]pve.FirewallRule, 0, len(g.Firewall.Rules))
	for _, r := range g.Firewall.Rules {
		typ := r.Type
		if typ == "" {
			typ = "in"
		}
		out = append(out, pve.FirewallRule{Type: typ, Action: r.Action, Source: r.Source, Dest: r.Dest,
			Proto: r.Proto, DPort: r.Port, Comment: r.Comment, Enable: 1})
	}
	return out
}

// ObservedRules turns PVE's rules back into the model's.
func ObservedRules(rules []pve.FirewallRule) []phoenix.FirewallRule {
	out := make([]phoenix.FirewallRule, 0, len(rules))
	for _, r := range rules {
		out = append(out, phoenix.FirewallRule{Type: r.Type, Action: r.Action, Source: r.Source, Dest: r.Dest,
			Proto: r.Proto, Port: r.DPort, Comment: r.Comment})
	}
	return out
}
