package pve

import (
	"context"
	"fmt"
	"strconv"
)

// FirewallRule is a guest firewall rule as PVE lists it.
type FirewallRule struct {
	Pos     int    `json:"pos"`
	Type    string `json:"type"`
	Action  string `json:"action"`
	Source  string `json:"source,omitempty"`
	Dest    string `json:"dest,omitempty"`
	Proto   string `json:"proto,omitempty"`
	DPort   string `json:"dport,omitempty"`
	Comment string `json:"comment,omitempty"`
	Enable  int    `json:"enable"`
}

// Same reports whether two rules match in everything but position.
func (r FirewallRule) Same(o FirewallRule) bool {
	return r.Type == o.Type && r.Action == o.Action && r.Source == o.Source && r.Dest == o.Dest &&
		r.Proto == o.Proto && r.DPort == o.DPort && r.Comment == o.Comment && r.Enable == o.Enable
}

// FirewallEnabled reads the guest firewall's enable option.
func (c *Client) FirewallEnabled(ctx context.Context, ref Ref) (bool, error) {
	var opts struct {
		Enable int `json:"enable"`
	}
	if err := c.get(ctx, ref.path("/firewall/options"), &opts); err != nil {
		return false, err
	}
	return opts.Enable == 1, nil
}

// SetFirewallEnabled switches the guest firewall.
func (c *Client) SetFirewallEnabled(ctx context.Context, ref Ref, on bool) error {
	v := "0"
	if on {
		v = "1"
	}
	return c.put(ctx, ref.path("/firewall/options"), map[string]string{"enable": v}, nil)
}

// FirewallRules lists rules in position order.
func (c *Client) FirewallRules(ctx context.Context, ref Ref) ([]FirewallRule, error) {
	var rules []FirewallRule
	if err := c.get(ctx, ref.path("/firewall/rules"), &rules); err != nil {
		return nil, err
	}
	return rules, nil
}

// ReplaceFirewallRules makes the rule list equal to want, in order. PVE
// inserts new rules at position 0, so the old ones are removed first and the
// wanted ones added last to first.
func (c *Client) ReplaceFirewallRules(ctx context.Context, ref Ref, want []FirewallRule) error {
	have, err := c.FirewallRules(ctx, ref)
	if err != nil {
		return err
	}
	if len(have) == len(want) {
		same := true
		for i := range want {
			if !have[i].Same(want[i]) {
				same = false
				break
			}
		}
		if same {
			return nil
		}
	}
	for i := len(have) - 1; i >= 0; i-- {
		if err := c.delOnce(ctx, ref.path(fmt.Sprintf("/firewall/rules/%d", have[i].Pos)), nil); err != nil {
			return err
		}
	}
	for i := len(want) - 1; i >= 0; i-- {
		r := want[i]
		body := map[string]string{"type": r.Type, "action": r.Action, "enable": strconv.Itoa(r.Enable)}
		for k, v := range map[string]string{"source": r.Source, "dest": r.Dest, "proto": r.Proto, "dport": r.DPort, "comment": r.Comment} {
			if v != "" {
				body[k] = v
			}
		}
		if err := c.postOnce(ctx, ref.path("/firewall/rules"), body, nil); err != nil {
			return err
		}
	}
	return nil
}
