package nodeshell

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// pveFS keeps a node sandbox's /etc/pve in step with the cluster. It
// remembers what it rendered, so a file whose bytes differ was edited by a
// session and is parsed back (Cluster.SetConfigText) before re-rendering.
type pveFS struct {
	mu       sync.Mutex
	rendered map[string]string // path relative to the node root -> text
}

func confPath(node, kind string, id int) string {
	dir := "lxc"
	if kind == "qemu" {
		dir = "qemu-server"
	}
	return path.Join("etc/pve/nodes", node, dir, strconv.Itoa(id)+".conf")
}

// idFromConfPath extracts the vmid of etc/pve/nodes/N/{lxc,qemu-server}/ID.conf.
func idFromConfPath(p string) (int, bool) {
	base := path.Base(p)
	if !strings.HasSuffix(base, ".conf") {
		return 0, false
	}
	id, err := strconv.Atoi(strings.TrimSuffix(base, ".conf"))
	return id, err == nil
}

// syncNode parses edited conf files back, then renders every guest's conf
// (and the /etc/pve/{lxc,qemu-server,local} links of this node). The
// returned error lists what could not be synced; the caller shows it on the
// session's stderr, as PVE warns about unparsable conf lines.
// Long by design: one pass over /etc/pve in both directions under one lock, so no write slips between them.
func (s *Server) syncNode(node string) error {
	dir, err := s.cfg.Cluster.NodeRoot(node)
	if err != nil {
		return err
	}
	fsys := s.pveFS(node)
	fsys.mu.Lock()
	defer fsys.mu.Unlock()
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()

	var errs []error
	paths := make([]string, 0, len(fsys.rendered))
	for p := range fsys.rendered {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		disk, err := root.ReadFile(p)
		if err != nil {
			continue // removed by the session: the guest stays (no API for that)
		}
		if string(disk) == fsys.rendered[p] {
			continue
		}
		id, _ := idFromConfPath(p)
		if err := s.cfg.Cluster.SetConfigText(id, string(disk)); err != nil {
			errs = append(errs, err)
		}
	}

	want := map[string]string{}
	for _, g := range s.cfg.Cluster.Guests() {
		text, err := s.cfg.Cluster.ConfigText(g.ID)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		want[confPath(g.Node, g.Kind, g.ID)] = text
	}
	nodes := append([]string{node}, s.cfg.Nodes...)
	for _, n := range nodes {
		for _, d := range []string{"lxc", "qemu-server"} {
			if err := root.MkdirAll(path.Join("etc/pve/nodes", n, d), 0o755); err != nil {
				errs = append(errs, err)
			}
		}
	}
	for link, target := range map[string]string{
		"etc/pve/local":       "nodes/" + node,
		"etc/pve/lxc":         "nodes/" + node + "/lxc",
		"etc/pve/qemu-server": "nodes/" + node + "/qemu-server",
	} {
		if cur, err := root.Readlink(link); err == nil && cur == target {
			continue
		}
		if err := root.RemoveAll(link); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
			continue
		}
		if err := root.Symlink(target, link); err != nil {
			errs = append(errs, err)
		}
	}
	for p := range fsys.rendered {
		if _, ok := want[p]; !ok {
			_ = root.Remove(p) // guest destroyed or moved
		}
	}
	for p, text := range want {
		disk, err := root.ReadFile(p)
		if err == nil && string(disk) == text {
			continue
		}
		// A session running concurrently (syncs serialise only with each
		// other) may have edited the file after the parse-back pass above:
		// take its edit rather than overwrite it, as pmxcfs would.
		if prev, seen := fsys.rendered[p]; err == nil && seen && string(disk) != prev {
			if id, ok := idFromConfPath(p); ok {
				if err := s.cfg.Cluster.SetConfigText(id, string(disk)); err != nil {
					errs = append(errs, err)
				}
				if t, err := s.cfg.Cluster.ConfigText(id); err == nil {
					want[p] = t
					text = t
				}
			}
		}
		if err := root.WriteFile(p, []byte(text), 0o640); err != nil {
			errs = append(errs, err)
		}
	}
	fsys.rendered = want
	return errors.Join(errs...)
}

func (s *Server) pveFS(node string) *pveFS {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.fsByNode[node]
	if f == nil {
		f = &pveFS{rendered: map[string]string{}}
		s.fsByNode[node] = f
	}
	return f
}

// syncReport syncs and writes any error to w, one message per line.
func (s *Server) syncReport(node string, w interface{ Write([]byte) (int, error) }) {
	if err := s.syncNode(node); err != nil {
		fmt.Fprintf(w, "%s\n", strings.TrimRight(err.Error(), "\n"))
	}
}
