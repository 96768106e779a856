//go:build linux

package pvesim

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"strings"
)

// Cluster resource mappings (/cluster/mapping/{dir,pci,usb}) as
// pve-manager's API2/Cluster/Mapping/*.pm serve the section configs
// /etc/pve/mapping/{directory,pci,usb}.cfg (pve-guest-common PVE::Mapping).

// Mapping is one section: its options as PVE stores them, "map" the list
// of per-node property strings.
type Mapping struct {
	Description string   `json:"description,omitempty"`
	Map         []string `json:"map"`
	// Flags are the boolean options (pci: mdev, live-migration-capable).
	Flags map[string]string `json:"flags,omitempty"`
}

// mappingKind is the mapping type of the request's path.
func mappingKind(r *request) string {
	rest := strings.TrimPrefix(r.tmpl, "/cluster/mapping/")
	kind, _, _ := strings.Cut(rest, "/")
	return kind
}

// mappingName is how the error texts name a kind's mappings.
var mappingName = map[string]string{"dir": "directory", "pci": "hardware", "usb": "hardware"}

func (s *Server) mappings(kind string) map[string]*Mapping {
	if s.st.Mappings == nil {
		s.st.Mappings = map[string]map[string]*Mapping{}
	}
	if s.st.Mappings[kind] == nil {
		s.st.Mappings[kind] = map[string]*Mapping{}
	}
	return s.st.Mappings[kind]
}

// mappingDigest is the digest of the kind's config file.
func mappingDigest(kind string, m map[string]*Mapping) string {
	h := sha1.New()
	for _, id := range sortedKeys(m) {
		e := m[id]
		fmt.Fprintf(h, "%s: %s\n\tdescription %s\n", kind, id, e.Description)
		for _, v := range e.Map {
			fmt.Fprintf(h, "\tmap %s\n", v)
		}
		for _, k := range sortedKeys(e.Flags) {
			fmt.Fprintf(h, "\t%s %s\n", k, e.Flags[k])
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

func mappingEntry(kind string, e *Mapping) map[string]any {
	out := map[string]any{"type": kind, "map": append([]string{}, e.Map...)}
	if e.Description != "" {
		out["description"] = e.Description
	}
	for k, v := range e.Flags {
		out[k] = atoi(v)
	}
	return out
}

func (s *Server) mappingIndexRoot(r *request) (any, error) {
	return dirIndex("name", "dir", "pci", "usb"), nil
}

// mappingList is GET /cluster/mapping/{kind}.
func (s *Server) mappingList(r *request) (any, error) {
	kind := mappingKind(r)
	if n := r.str("check-node"); n != "" && n != "localhost" && n != s.opts.Nodes[0] {
		if kind == "usb" {
			return nil, die("Wrong node to check")
		}
		return nil, die("wrong node to check - %s != %s", n, s.opts.Nodes[0])
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.mappings(kind)
	out := []map[string]any{}
	digest := mappingDigest(kind, m)
	for _, id := range sortedKeys(m) {
		e := mappingEntry(kind, m[id])
		e["id"], e["digest"] = id, digest
		if r.has("check-node") {
			e["checks"] = []any{}
		}
		out = append(out, e)
	}
	return out, nil
}

// mappingGet is GET /cluster/mapping/{kind}/{id}.
func (s *Server) mappingGet(r *request) (any, error) {
	kind := mappingKind(r)
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.mappings(kind)
	e := m[r.vars["id"]]
	if e == nil {
		return nil, die("mapping '%s' not found", r.vars["id"])
	}
	out := mappingEntry(kind, e)
	out["digest"] = mappingDigest(kind, m)
	return out, nil
}

// mappingCreate is POST /cluster/mapping/{kind}.
func (s *Server) mappingCreate(r *request) (any, error) {
	kind, id := mappingKind(r), r.str("id")
	s.mu.Lock()
	defer s.mu.Unlock()
	if kind == "dir" {
		if err := s.checkDirMaps(r.params["map"]); err != nil {
			return nil, err
		}
	}
	m := s.mappings(kind)
	if m[id] != nil {
		return nil, die("create %s mapping failed: %s ID '%s' already defined", mappingName[kind], kind, id)
	}
	e := &Mapping{}
	applyMapping(e, r)
	m[id] = e
	go s.persist()
	return nil, nil
}

// mappingUpdate is PUT /cluster/mapping/{kind}/{id}.
func (s *Server) mappingUpdate(r *request) (any, error) {
	kind, id := mappingKind(r), r.vars["id"]
	s.mu.Lock()
	defer s.mu.Unlock()
	fail := func(format string, args ...any) error {
		return die("update %s mapping failed: "+format, append([]any{mappingName[kind]}, args...)...)
	}
	m := s.mappings(kind)
	if d := r.str("digest"); d != "" && d != mappingDigest(kind, m) { // assert_if_modified: an empty digest asserts nothing
		return nil, fail("detected modified configuration - file changed by other user? Try again.")
	}
	e := m[id]
	if e == nil {
		return nil, fail("%s ID '%s' does not exist", kind, id)
	}
	if kind == "dir" && r.has("map") {
		if err := s.checkDirMaps(r.params["map"]); err != nil {
			return nil, fail("%s", asAPIError(err).Msg)
		}
	}
	for _, k := range splitList(r.str("delete")) {
		switch k {
		case "description":
			e.Description = ""
		case "map":
			e.Map = nil
		default:
			delete(e.Flags, k)
		}
	}
	applyMapping(e, r)
	go s.persist()
	return nil, nil
}

func applyMapping(e *Mapping, r *request) {
	if r.has("description") {
		e.Description = r.str("description")
	}
	if r.has("map") {
		e.Map = append([]string(nil), r.params["map"]...)
	}
	for _, k := range []string{"mdev", "live-migration-capable"} {
		if r.has(k) {
			if e.Flags == nil {
				e.Flags = map[string]string{}
			}
			e.Flags[k] = r.str(k)
		}
	}
}

// checkDirMaps is PVE::Mapping::Dir::assert_valid_map_list: each node once,
// and this node's path an existing directory of its root (caller holds
// s.mu).
func (s *Server) checkDirMaps(maps []string) error {
	count, order := map[string]int{}, []string{}
	for _, m := range maps {
		props := splitProps(m, "")
		node := props["node"]
		if count[node] == 0 {
			order = append(order, node)
		}
		count[node]++
		if node != s.opts.Nodes[0] {
			continue
		}
		root, err := s.openNodeRoot(node)
		if err != nil {
			return err
		}
		fi, err := root.Stat(relPath(props["path"]))
		root.Close()
		switch {
		case err != nil:
			return die("Path %s does not exist", props["path"])
		case !fi.IsDir():
			return die("Path %s exists, but is not a directory", props["path"])
		}
	}
	for _, node := range order {
		if count[node] > 1 {
			return die("Node '%s' is specified %d times.", node, count[node])
		}
	}
	return nil
}

// mappingDelete is DELETE /cluster/mapping/{kind}/{id}: an unknown ID is
// no error.
func (s *Server) mappingDelete(r *request) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.mappings(mappingKind(r)), r.vars["id"])
	go s.persist()
	return nil, nil
}
