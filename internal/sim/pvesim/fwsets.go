//go:build linux

package pvesim

import (
	"fmt"
	"net/netip"
	"strings"
)

// Security groups, IPSets and aliases (pve-firewall's API2/Firewall/
// Groups.pm, IPSet.pm, Aliases.pm), plus refs and macros.

// fwSection is a named, commented section of a .fw file: a security group
// or an IPSet.
type fwSection interface{ comment() *string }

func (g *FWGroup) comment() *string { return &g.Comment }
func (s *FWIPSet) comment() *string { return &s.Comment }

// sectionList is $get_security_group_list and the IPSet index: each
// section's name (under key) and comment, by name.
func sectionList[T fwSection](m map[string]T, key string) []map[string]any {
	list := []map[string]any{}
	for _, name := range sortedKeys(m) {
		e := map[string]any{key: name}
		if c := *m[name].comment(); c != "" {
			e["comment"] = c
		}
		list = append(list, e)
	}
	return list
}

// createOrRename is the create call of security groups and IPSets: param
// names the section, noun is the messages' word for it. Without rename it
// creates the section; with rename it moves section rename to the name and
// re-comments it. moved reports a move to a different name.
func createOrRename[T fwSection](r *request, m map[string]T, param, noun string, create func() T) (moved bool, err error) {
	name, rename := r.str(param), r.str("rename")
	if rename == "" {
		if _, ok := m[name]; ok {
			return false, paramErr(map[string]string{param: fmt.Sprintf("%s '%s' already exists", noun, name)})
		}
		sec := create()
		*sec.comment() = r.str("comment")
		m[name] = sec
		return false, nil
	}
	if err := assertUnmodified(r, listDigest(sectionList(m, param))); err != nil {
		return false, err
	}
	sec, ok := m[rename]
	if !ok {
		return false, paramErr(map[string]string{param: fmt.Sprintf("%s '%s' does not exist", noun, rename)})
	}
	if _, ok := m[name]; ok && name != rename {
		return false, paramErr(map[string]string{param: fmt.Sprintf("%s '%s' does already exist", noun, name)})
	}
	if r.has("comment") {
		*sec.comment() = r.str("comment")
	}
	delete(m, rename)
	m[name] = sec
	return name != rename, nil
}

// Security groups (cluster.fw only).

func (s *Server) fwGroupList(r *request) (any, error) {
	return s.withFW(r, false, func(sc fwScope) (any, error) { return withDigest(sectionList(sc.fw.Groups, "group")), nil })
}

// fwGroupCreate is POST /cluster/firewall/groups: create, or rename /
// re-comment with rename. A rename follows the group into every rule that
// uses it.
func (s *Server) fwGroupCreate(r *request) (any, error) {
	return s.withFW(r, true, func(sc fwScope) (any, error) {
		if sc.fw.Groups == nil {
			sc.fw.Groups = map[string]*FWGroup{}
		}
		moved, err := createOrRename(r, sc.fw.Groups, "group", "Security group", func() *FWGroup { return &FWGroup{} })
		if err != nil || !moved {
			return nil, err
		}
		for _, fw := range s.allFW() {
			for _, rule := range fw.Rules {
				if rule["type"] == "group" && rule["action"] == r.str("rename") {
					rule["action"] = r.str("group")
				}
			}
		}
		return nil, nil
	})
}

// allFW is every .fw file (caller holds s.mu).
func (s *Server) allFW() []*Firewall {
	out := []*Firewall{s.clusterFW()}
	for _, fw := range s.st.Firewall.Hosts {
		out = append(out, fw)
	}
	for _, fw := range s.st.Firewall.Guests {
		out = append(out, fw)
	}
	return out
}

// fwGroupDelete is DELETE /cluster/firewall/groups/{group}.
func (s *Server) fwGroupDelete(r *request) (any, error) {
	return s.withFW(r, true, func(sc fwScope) (any, error) {
		name := r.vars["group"]
		g := sc.fw.Groups[name]
		if g == nil {
			return nil, die("no such security group '%s'", name)
		}
		if len(g.Rules) > 0 {
			return nil, die("Security group '%s' is not empty", name)
		}
		delete(sc.fw.Groups, name)
		return nil, nil
	})
}

// IPSets.

func (s *Server) fwIPSetIndex(r *request) (any, error) {
	return s.withFW(r, false, func(sc fwScope) (any, error) { return withDigest(sectionList(sc.fw.IPSets, "name")), nil })
}

// fwIPSetCreate is POST .../ipset: create, or rename with rename.
func (s *Server) fwIPSetCreate(r *request) (any, error) {
	return s.withFW(r, true, func(sc fwScope) (any, error) {
		if sc.fw.IPSets == nil {
			sc.fw.IPSets = map[string]*FWIPSet{}
		}
		_, err := createOrRename(r, sc.fw.IPSets, "name", "IPSet", func() *FWIPSet { return &FWIPSet{} })
		return nil, err
	})
}

// ipset is the request's IPSet (load_config's "no such IPSet").
func ipset(r *request, sc fwScope) (*FWIPSet, error) {
	set := sc.fw.IPSets[r.vars["name"]]
	if set == nil {
		return nil, die("no such IPSet '%s'", r.vars["name"])
	}
	return set, nil
}

func ipEntries(set *FWIPSet) []map[string]any {
	list := make([]map[string]any, 0, len(set.Entries))
	for _, e := range set.Entries {
		m := map[string]any{"cidr": e.CIDR}
		if e.Comment != "" {
			m["comment"] = e.Comment
		}
		if e.NoMatch {
			m["nomatch"] = 1
		}
		list = append(list, m)
	}
	return list
}

// fwIPSetGet is GET .../ipset/{name}: its entries.
func (s *Server) fwIPSetGet(r *request) (any, error) {
	return s.withFW(r, false, func(sc fwScope) (any, error) {
		set, err := ipset(r, sc)
		if err != nil {
			return nil, err
		}
		return withDigest(ipEntries(set)), nil
	})
}

// fwIPSetDelete is DELETE .../ipset/{name}.
func (s *Server) fwIPSetDelete(r *request) (any, error) {
	return s.withFW(r, true, func(sc fwScope) (any, error) {
		set, err := ipset(r, sc)
		if err != nil {
			return nil, err
		}
		if len(set.Entries) > 0 && !r.boolean("force") {
			return nil, die("IPSet '%s' is not empty", r.vars["name"])
		}
		delete(sc.fw.IPSets, r.vars["name"])
		return nil, nil
	})
}

// fwIPAdd is POST .../ipset/{name} (create_ip): the entry goes first.
func (s *Server) fwIPAdd(r *request) (any, error) {
	return s.withFW(r, true, func(sc fwScope) (any, error) {
		set, err := ipset(r, sc)
		if err != nil {
			return nil, err
		}
		cidr := r.str("cidr")
		if m := fwAliasRefRE.FindStringSubmatch(cidr); m != nil {
			if err := s.resolveAlias(sc, m[1], m[2]); err != nil {
				return nil, err
			}
		} else {
			cidr = normalizeCIDR(cidr)
		}
		for _, e := range set.Entries {
			if e.CIDR == cidr {
				return nil, paramErr(map[string]string{"cidr": fmt.Sprintf("address '%s' already exists", cidr)})
			}
		}
		if _, prefix, ok := strings.Cut(cidr, "/"); ok && strings.Trim(prefix, "0") == "" {
			return nil, paramErr(map[string]string{"cidr": "a zero prefix is not allowed in ipset entries"})
		}
		e := FWIPEntry{CIDR: cidr, Comment: r.str("comment"), NoMatch: r.boolean("nomatch")}
		set.Entries = append([]FWIPEntry{e}, set.Entries...)
		return nil, nil
	})
}

// normalizeCIDR is clean_cidr and parse_ip_or_cidr: host bits cleared, a
// full-length prefix dropped.
func normalizeCIDR(cidr string) string {
	ip, prefix, ok := strings.Cut(cidr, "/")
	if !ok {
		return cidr
	}
	p, err := netip.ParsePrefix(ip + "/" + prefix)
	if err != nil {
		return cidr
	}
	if p.Bits() == p.Addr().BitLen() {
		return p.Addr().String()
	}
	return p.Masked().String()
}

// resolveAlias is resolve_alias: a guest/host level alias first, then the
// cluster's, or "no such alias".
func (s *Server) resolveAlias(sc fwScope, scope, name string) error {
	lname := strings.ToLower(name)
	cluster := s.clusterFW()
	if scope != "dc/" && sc.env != "cluster" && sc.fw.Aliases[lname] != nil {
		return nil
	}
	if scope != "guest/" && cluster.Aliases[lname] != nil {
		return nil
	}
	return die("no such alias '%s'", name)
}

func ipEntry(r *request, set *FWIPSet) (int, error) {
	for i, e := range set.Entries {
		if e.CIDR == r.vars["cidr"] {
			return i, nil
		}
	}
	return 0, paramErr(map[string]string{"cidr": "no such IP/Network"})
}

// fwIPGet is GET .../ipset/{name}/{cidr}.
func (s *Server) fwIPGet(r *request) (any, error) {
	return s.withFW(r, false, func(sc fwScope) (any, error) {
		set, err := ipset(r, sc)
		if err != nil {
			return nil, err
		}
		i, err := ipEntry(r, set)
		if err != nil {
			return nil, err
		}
		return withDigest(ipEntries(set))[i], nil
	})
}

// fwIPPut is PUT .../ipset/{name}/{cidr}: comment and nomatch are replaced.
func (s *Server) fwIPPut(r *request) (any, error) {
	return s.withFW(r, true, func(sc fwScope) (any, error) {
		set, err := ipset(r, sc)
		if err != nil {
			return nil, err
		}
		if err := assertUnmodified(r, listDigest(ipEntries(set))); err != nil {
			return nil, err
		}
		i, err := ipEntry(r, set)
		if err != nil {
			return nil, err
		}
		set.Entries[i].Comment, set.Entries[i].NoMatch = r.str("comment"), r.boolean("nomatch")
		return nil, nil
	})
}

// fwIPDelete is DELETE .../ipset/{name}/{cidr}; an absent entry is no error.
func (s *Server) fwIPDelete(r *request) (any, error) {
	return s.withFW(r, true, func(sc fwScope) (any, error) {
		set, err := ipset(r, sc)
		if err != nil {
			return nil, err
		}
		if err := assertUnmodified(r, listDigest(ipEntries(set))); err != nil {
			return nil, err
		}
		var keep []FWIPEntry
		for _, e := range set.Entries {
			if e.CIDR != r.vars["cidr"] {
				keep = append(keep, e)
			}
		}
		set.Entries = keep
		return nil, nil
	})
}

// Aliases.

func aliasList(fw *Firewall) []map[string]any {
	list := []map[string]any{}
	for _, k := range sortedKeys(fw.Aliases) {
		list = append(list, aliasEntry(fw.Aliases[k]))
	}
	return list
}

func aliasEntry(a *FWAlias) map[string]any {
	e := map[string]any{"name": a.Name, "cidr": a.CIDR, "ipversion": a.IPVersion}
	if a.Comment != "" {
		e["comment"] = a.Comment
	}
	return e
}

func (s *Server) fwAliasList(r *request) (any, error) {
	return s.withFW(r, false, func(sc fwScope) (any, error) { return withDigest(aliasList(sc.fw)), nil })
}

// newAlias is an alias as parse_alias reads it back (cidr normalized,
// ipversion set).
func newAlias(name, cidr, comment string) *FWAlias {
	cidr = strings.TrimSuffix(strings.TrimSuffix(cidr, "/32"), "/128")
	v := 4
	if strings.Contains(cidr, ":") {
		v = 6
	}
	return &FWAlias{Name: name, CIDR: cidr, Comment: comment, IPVersion: v}
}

// fwAliasCreate is POST .../aliases.
func (s *Server) fwAliasCreate(r *request) (any, error) {
	return s.withFW(r, true, func(sc fwScope) (any, error) {
		name := r.str("name")
		if sc.fw.Aliases[strings.ToLower(name)] != nil {
			return nil, paramErr(map[string]string{"name": fmt.Sprintf("alias '%s' already exists", name)})
		}
		if sc.fw.Aliases == nil {
			sc.fw.Aliases = map[string]*FWAlias{}
		}
		sc.fw.Aliases[strings.ToLower(name)] = newAlias(name, r.str("cidr"), r.str("comment"))
		return nil, nil
	})
}

// fwAliasGet is GET .../aliases/{name}.
func (s *Server) fwAliasGet(r *request) (any, error) {
	return s.withFW(r, false, func(sc fwScope) (any, error) {
		a := sc.fw.Aliases[strings.ToLower(r.vars["name"])]
		if a == nil {
			return nil, paramErr(map[string]string{"name": "no such alias"})
		}
		return aliasEntry(a), nil
	})
}

// fwAliasPut is PUT .../aliases/{name}: cidr and comment replaced, rename
// moves it.
func (s *Server) fwAliasPut(r *request) (any, error) {
	return s.withFW(r, true, func(sc fwScope) (any, error) {
		if err := assertUnmodified(r, listDigest(aliasList(sc.fw))); err != nil {
			return nil, err
		}
		name := strings.ToLower(r.vars["name"])
		if sc.fw.Aliases[name] == nil {
			return nil, paramErr(map[string]string{"name": "no such alias"})
		}
		a := newAlias(r.vars["name"], r.str("cidr"), r.str("comment"))
		sc.fw.Aliases[name] = a
		if rename := strings.ToLower(r.str("rename")); rename != "" && rename != name {
			if sc.fw.Aliases[rename] != nil {
				return nil, paramErr(map[string]string{"name": fmt.Sprintf("alias '%s' already exists", r.str("rename"))})
			}
			a.Name = r.str("rename")
			sc.fw.Aliases[rename] = a
			delete(sc.fw.Aliases, name)
		}
		return nil, nil
	})
}

// fwAliasDelete is DELETE .../aliases/{name}; an absent alias is no error.
func (s *Server) fwAliasDelete(r *request) (any, error) {
	return s.withFW(r, true, func(sc fwScope) (any, error) {
		if err := assertUnmodified(r, listDigest(aliasList(sc.fw))); err != nil {
			return nil, err
		}
		delete(sc.fw.Aliases, strings.ToLower(r.vars["name"]))
		return nil, nil
	})
}

// fwRefs is GET .../refs: the IPSets and aliases a rule may name, the
// cluster's (scope dc) then the guest's own (scope guest); PVE lists each
// hash unordered, the simulator sorted.
func (s *Server) fwRefs(r *request) (any, error) {
	return s.withFW(r, false, func(sc fwScope) (any, error) {
		out := []map[string]any{}
		collect := func(fw *Firewall, scope string) { // Helpers.pm collect_refs
			if t := r.str("type"); t == "" || t == "ipset" {
				for _, e := range sectionList(fw.IPSets, "name") {
					e["type"], e["ref"], e["scope"] = "ipset", "+"+e["name"].(string), scope
					out = append(out, e)
				}
			}
			if t := r.str("type"); t == "" || t == "alias" {
				for _, k := range sortedKeys(fw.Aliases) {
					e := map[string]any{"type": "alias", "name": k, "ref": k, "scope": scope}
					if c := fw.Aliases[k].Comment; c != "" {
						e["comment"] = c
					}
					out = append(out, e)
				}
			}
		}
		collect(s.clusterFW(), "dc")
		if sc.env == "vm" || sc.env == "ct" {
			collect(sc.fw, "guest")
		}
		return out, nil
	})
}

// fwMacroList is GET /cluster/firewall/macros (a hash: no order).
func (s *Server) fwMacroList(r *request) (any, error) {
	names := sortedKeys(fwMacros)
	out := make([]map[string]string, len(names))
	for i, n := range names {
		out[i] = map[string]string{"macro": n, "descr": fwMacros[n]}
	}
	return out, nil
}
