//go:build linux

package pvesim

import (
	"sort"
	"strconv"
	"strings"
)

// Resource pools as pve-manager's API2/Pool.pm serves them from user.cfg.

// Pool is one pool of user.cfg.
type Pool struct {
	Comment string          `json:"comment,omitempty"`
	VMs     map[int]bool    `json:"vms,omitempty"`
	Storage map[string]bool `json:"storage,omitempty"`
}

// vmIDs are the pool's guests in Perl's order for its keys: sorted as
// strings.
func (p *Pool) vmIDs() []int {
	ids := make([]int, 0, len(p.VMs))
	for vmid := range p.VMs {
		ids = append(ids, vmid)
	}
	sort.Slice(ids, func(i, j int) bool { return strconv.Itoa(ids[i]) < strconv.Itoa(ids[j]) })
	return ids
}

// poolOf is user.cfg's vms map: the pool a guest belongs to.
func (st *State) poolOf(vmid int) string {
	for id, p := range st.Pools {
		if p.VMs[vmid] {
			return id
		}
	}
	return ""
}

// addVMToPool is AccessControl add_vm_to_pool: a pool that vanished is
// ignored.
func (st *State) addVMToPool(vmid int, pool string) {
	if p := st.Pools[pool]; p != nil {
		if p.VMs == nil {
			p.VMs = map[int]bool{}
		}
		p.VMs[vmid] = true
	}
}

// removeVMFromPool is the pool part of remove_vm_access.
func (st *State) removeVMFromPool(vmid int) {
	if p := st.Pools[st.poolOf(vmid)]; p != nil {
		delete(p.VMs, vmid)
	}
}

// checkPoolExist is RPCEnvironment check_pool_exist, which create and clone
// run on their pool parameter (caller holds s.mu).
func (s *Server) checkPoolExist(r *request) error {
	if pool := r.str("pool"); r.has("pool") && s.st.Pools[pool] == nil {
		return permErr("pool '" + pool + "' does not exist")
	}
	return nil
}

// poolIndex is GET /pools: every pool, or with poolid the one pool and its
// members.
func (s *Server) poolIndex(r *request) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.has("poolid") {
		e, err := s.poolInfo(poolID(r), r.str("type"))
		if err != nil {
			return nil, err
		}
		return []map[string]any{e}, nil
	}
	out := []map[string]any{}
	for _, id := range sortedKeys(s.st.Pools) {
		e := map[string]any{"poolid": id}
		if c := s.st.Pools[id].Comment; c != "" {
			e["comment"] = c
		}
		out = append(out, e)
	}
	return out, nil
}

// poolID is the pool of the path (deprecated /pools/{poolid}) or the
// poolid parameter.
func poolID(r *request) string {
	if id := r.vars["poolid"]; id != "" {
		return id
	}
	return r.str("poolid")
}

// poolRead is GET /pools/{poolid} (read_pool: index's first entry).
func (s *Server) poolRead(r *request) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.poolInfo(poolID(r), r.str("type"))
}

// poolInfo is one pool with its members (caller holds s.mu).
func (s *Server) poolInfo(id, typ string) (map[string]any, error) {
	p := s.st.Pools[id]
	if p == nil {
		return nil, die("pool '%s' does not exist", id)
	}
	members := []map[string]any{}
	for _, vmid := range p.vmIDs() {
		g := s.st.Guests[vmid]
		if g == nil || typ != "" && typ != g.Kind {
			continue // destroyed guests are skipped
		}
		members = append(members, s.vmResourceEntry(g))
	}
	if typ == "" || typ == "storage" {
		for _, sid := range sortedKeys(p.Storage) {
			if st := s.st.storage(sid); st != nil {
				members = append(members, s.storageResourceEntry(s.opts.Nodes[0], st))
			}
		}
	}
	e := map[string]any{"poolid": id, "members": members}
	if p.Comment != "" {
		e["comment"] = p.Comment
	}
	return e, nil
}

// poolCreate is POST /pools (create_pool).
func (s *Server) poolCreate(r *request) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := poolID(r)
	fail := func(format string, args ...any) error {
		return die("create pool failed: "+format, args...)
	}
	if s.st.Pools[id] != nil {
		return nil, fail("pool '%s' already exists", id)
	}
	leaf := id
	if i := strings.LastIndexByte(id, '/'); i >= 0 {
		parent := id[:i]
		if s.st.Pools[parent] == nil {
			return nil, fail("parent '%s' of pool '%s' does not exist", parent, id)
		}
		leaf = id[i+1:]
	}
	if c := leaf[0]; !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z') {
		return nil, fail("pool name must start with a letter")
	}
	if s.st.Pools == nil {
		s.st.Pools = map[string]*Pool{}
	}
	s.st.Pools[id] = &Pool{Comment: r.str("comment")}
	go s.persist()
	return nil, nil
}

// poolUpdate is PUT /pools and the deprecated PUT /pools/{poolid}
// (update_pool): add or, with delete, remove guests and storages.
func (s *Server) poolUpdate(r *request) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.updatePool(r); err != nil {
		return nil, die("update pools failed: %s", asAPIError(err).Msg)
	}
	go s.persist()
	return nil, nil
}

func (s *Server) updatePool(r *request) error {
	id := poolID(r)
	p := s.st.Pools[id]
	if p == nil {
		return die("pool '%s' does not exist", id)
	}
	if r.has("comment") {
		p.Comment = r.str("comment")
	}
	del := r.boolean("delete")
	for _, v := range splitList(r.str("vms")) {
		vmid, _ := strconv.Atoi(v)
		switch {
		case del && !p.VMs[vmid]:
			return die("VM %d is not a pool member", vmid)
		case del:
			delete(p.VMs, vmid)
		case p.VMs[vmid]:
			return die("VM %d is already a pool member", vmid)
		default:
			if other := s.st.poolOf(vmid); other != "" {
				if !r.boolean("allow-move") {
					return die("VM %d belongs already to pool '%s' and 'allow-move' is not set", vmid, other)
				}
				delete(s.st.Pools[other].VMs, vmid)
			}
			if p.VMs == nil {
				p.VMs = map[int]bool{}
			}
			p.VMs[vmid] = true
		}
	}
	for _, sid := range splitList(r.str("storage")) {
		switch {
		case del && !p.Storage[sid]:
			return die("Storage '%s' is not a pool member", sid)
		case del:
			delete(p.Storage, sid)
		case p.Storage[sid]:
			return die("Storage '%s' is already a pool member", sid)
		default:
			if p.Storage == nil {
				p.Storage = map[string]bool{}
			}
			p.Storage[sid] = true
		}
	}
	return nil
}

// poolDelete is DELETE /pools and the deprecated DELETE /pools/{poolid}.
func (s *Server) poolDelete(r *request) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := poolID(r)
	fail := func(format string, args ...any) error {
		return die("delete pool failed: "+format, args...)
	}
	p := s.st.Pools[id]
	if p == nil {
		return nil, fail("pool '%s' does not exist", id)
	}
	for _, other := range sortedKeys(s.st.Pools) {
		if strings.HasPrefix(other, id+"/") && strings.LastIndexByte(other, '/') == len(id) {
			return nil, fail("pool '%s' is not empty (contains pool '%s')", id, other)
		}
	}
	for _, vmid := range p.vmIDs() {
		if s.st.Guests[vmid] != nil {
			return nil, fail("pool '%s' is not empty (contains VM %d)", id, vmid)
		}
	}
	for _, sid := range sortedKeys(p.Storage) {
		if s.st.storage(sid) != nil {
			return nil, fail("pool '%s' is not empty (contains storage '%s')", id, sid)
		}
	}
	delete(s.st.Pools, id)
	go s.persist()
	return nil, nil
}
