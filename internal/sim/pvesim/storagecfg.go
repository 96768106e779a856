//go:build linux

package pvesim

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/pveschema"
)

// storage.cfg as pve-storage's API2/Storage/Config.pm serves it: GET
// /storage, GET and PUT /storage/{storage}.

// optKind is how a plugin declares an option (Plugin options()).
type optKind int

const (
	optOptional      optKind = iota // { optional => 1 }
	optFixed                        // { fixed => 1 }: required and fixed
	optOptionalFixed                // { optional => 1, fixed => 1 }
)

// storageOptions are the options each simulated plugin type accepts.
var storageOptions = map[string]map[string]optKind{
	"dir": {"path": optFixed, "content-dirs": optOptional, "nodes": optOptional, "shared": optOptional,
		"disable": optOptional, "prune-backups": optOptional, "max-protected-backups": optOptional,
		"content": optOptional, "format": optOptional, "mkdir": optOptional, "create-base-path": optOptional,
		"create-subdirs": optOptional, "is_mountpoint": optOptional, "bwlimit": optOptional,
		"preallocation": optOptional, "snapshot-as-volume-chain": optOptionalFixed},
	"lvmthin": {"thinpool": optFixed, "vgname": optFixed, "nodes": optOptional, "disable": optOptional,
		"content": optOptional, "bwlimit": optOptional},
	"zfspool": {"pool": optFixed, "blocksize": optOptional, "sparse": optOptional, "nodes": optOptional,
		"disable": optOptional, "content": optOptional, "bwlimit": optOptional, "mountpoint": optOptional},
}

// storageValidContent is each type's plugindata content: what may be
// configured (none included where allowed) and the default.
var storageValidContent = map[string][2][]string{
	"dir":     {{"images", "rootdir", "vztmpl", "iso", "backup", "snippets", "none", "import"}, {"images", "rootdir"}},
	"lvmthin": {{"images", "rootdir"}, {"images", "rootdir"}},
	"zfspool": {{"images", "rootdir"}, {"images", "rootdir"}},
}

// prop is an option of the storage kept in Props.
func (st *Storage) prop(k string) string { return st.Props[k] }

// contentString is encode_value's content: the types, or "none".
func (st *Storage) contentString() string {
	if len(st.Content) == 0 {
		return "none"
	}
	return strings.Join(st.Content, ",")
}

// fixedProps are the type-specific fixed options the typed fields hold.
func (st *Storage) fixedProps() [][2]string {
	switch st.Type {
	case "lvmthin":
		return [][2]string{{"thinpool", "data"}, {"vgname", "pve"}}
	case "zfspool":
		return [][2]string{{"pool", st.Pool}}
	}
	return [][2]string{{"path", st.Path}}
}

// storageCfgText renders storage.cfg as SectionConfig writes it; its SHA1
// is the digest every storage entry carries.
func storageCfgText(list []*Storage) string {
	var b strings.Builder
	for _, st := range list {
		fmt.Fprintf(&b, "%s: %s\n", st.Type, st.ID)
		for _, kv := range st.fixedProps() {
			fmt.Fprintf(&b, "\t%s %s\n", kv[0], kv[1])
		}
		fmt.Fprintf(&b, "\tcontent %s\n", st.contentString())
		if st.Shared {
			b.WriteString("\tshared 1\n")
		}
		for _, k := range sortedKeys(st.Props) {
			fmt.Fprintf(&b, "\t%s %s\n", k, st.Props[k])
		}
		b.WriteString("\n")
	}
	return b.String()
}

// storageDigest is the digest of storage.cfg (caller holds s.mu).
func (s *Server) storageDigest() string {
	sum := sha1.Sum([]byte(storageCfgText(s.st.Storages)))
	return hex.EncodeToString(sum[:])
}

// storageCfgEntry is $api_storage_config: the section with its ID, the
// file's digest (storageDigest, computed once per listing) and the content
// list encoded.
func storageCfgEntry(st *Storage, digest string) map[string]any {
	e := map[string]any{"storage": st.ID, "type": st.Type, "content": st.contentString(), "digest": digest}
	for _, kv := range st.fixedProps() {
		if kv[1] != "" {
			e[kv[0]] = kv[1]
		}
	}
	if st.Shared {
		e["shared"] = 1
	}
	ep, _ := pveschema.Lookup("POST", "/storage")
	for k, v := range st.Props {
		e[k] = v
		if p := ep.Params[k]; p != nil && (p.Type == "boolean" || p.Type == "integer") {
			if n, err := strconv.Atoi(v); err == nil {
				e[k] = n // check_value converts numbers
			}
		}
	}
	return e
}

func (s *Server) storageList(r *request) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []map[string]any{}
	digest := s.storageDigest()
	for _, st := range s.st.Storages {
		if r.has("type") && st.Type != r.str("type") {
			continue
		}
		out = append(out, storageCfgEntry(st, digest))
	}
	return out, nil
}

func (s *Server) storageGet(r *request) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, err := s.storageByID(r)
	if err != nil {
		return nil, err
	}
	return storageCfgEntry(st, s.storageDigest()), nil
}

// storageUpdate is PUT /storage/{storage} (Config.pm update). Everything it
// dies of inside lock_storage_config is prefixed "update storage failed: ".
func (s *Server) storageUpdate(r *request) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, err := s.updateStorage(r)
	if err != nil {
		return nil, die("update storage failed: %s", asAPIError(err).Msg)
	}
	// pvestatd activates every storage within seconds; do it at once so the
	// new content directories exist for the node shell.
	for _, node := range s.opts.Nodes {
		if root, err := s.openNodeRoot(node); err == nil {
			_ = activateStorage(root, st)
			root.Close()
		}
	}
	go s.persist()
	return map[string]any{"storage": st.ID, "type": st.Type}, nil
}

// updateStorage checks and applies an update (caller holds s.mu).
func (s *Server) updateStorage(r *request) (*Storage, error) {
	st := s.st.storage(r.vars["storage"])
	if st == nil {
		return nil, die("storage '%s' does not exist", r.vars["storage"])
	}
	if err := assertUnmodified(r, s.storageDigest()); err != nil {
		return nil, err
	}
	opts := storageOptions[st.Type]
	set := map[string]string{}
	for _, k := range sortedKeys(r.params) {
		if k == "storage" || k == "digest" || k == "delete" || !r.has(k) {
			continue
		}
		kind, known := opts[k]
		if known && kind != optOptional {
			return nil, die("can't change value of fixed parameter '%s'", k)
		}
		if !known {
			return nil, die("unexpected property '%s'", k) // check_value
		}
		set[k] = r.str(k)
	}
	var content []string
	if v, ok := set["content"]; ok {
		c, err := decodeContent(st.Type, v)
		if err != nil {
			return nil, err
		}
		content = c
	}
	del := splitList(r.str("delete"))
	for _, k := range del {
		kind, known := opts[k]
		switch {
		case !known:
			return nil, die("no such option '%s'", k)
		case kind == optFixed:
			return nil, die("unable to delete required option '%s'", k)
		case kind == optOptionalFixed:
			return nil, die("unable to delete fixed option '%s'", k)
		}
		if _, ok := set[k]; ok {
			return nil, die("cannot set and delete property '%s' at the same time!", k)
		}
	}
	for _, k := range del {
		switch k {
		case "content":
			st.Content = append([]string(nil), storageValidContent[st.Type][1]...) // parse_config's default
		case "shared":
			st.Shared = false
		default:
			delete(st.Props, k)
		}
	}
	for k, v := range set {
		switch k {
		case "content":
			st.Content = content
		case "shared":
			st.Shared = v == "1"
		default:
			if st.Props == nil {
				st.Props = map[string]string{}
			}
			st.Props[k] = v
		}
	}
	return st, nil
}

// decodeContent is Plugin decode_value for content: types the plugin does
// not support are dropped (PVE only warns), "none" stands alone.
func decodeContent(typ, value string) ([]string, error) {
	valid := map[string]bool{}
	for _, c := range storageValidContent[typ][0] {
		valid[c] = true
	}
	var out []string
	seen := map[string]bool{}
	for _, c := range splitList(value) {
		if !valid[c] || seen[c] {
			continue
		}
		seen[c] = true
		out = append(out, c)
	}
	if seen["none"] && len(out) > 1 {
		return nil, die("unable to combine 'none' with other content types")
	}
	if len(out) == 0 && !valid["none"] {
		return nil, die("storage does not support content type 'none'")
	}
	if seen["none"] {
		return nil, nil // content_hash_to_string prints an empty hash as none
	}
	return out, nil
}
