//go:build linux

package pvesim

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
)

// The nodes' root filesystems. Every node has a host directory that is its
// "/": with real guests the node shell's sandbox root (guestroot's
// CreateNode), otherwise a plain directory beside the state. A storage with
// a path (type dir) lives in it at that path, and the volumes of its
// file-based content (iso, vztmpl, backup, snippets, import) are the files
// of its content subdirectories and nothing else: a file written over SSH is
// a volume, an uploaded volume is a file. Guest images (images, rootdir) are
// kept in State.Volumes. Every access goes through os.Root, so a symlink a
// node shell session planted cannot lead the simulator out of the node's root.

// fileContent is the content a storage with a path keeps as plain files.
var fileContent = map[string]bool{"iso": true, "vztmpl": true, "backup": true, "snippets": true, "import": true}

// nodeRoot is the host directory that is node's "/".
func (s *Server) nodeRoot(node string) (string, error) {
	if s.guests != nil {
		return s.guests.m.CreateNode(node)
	}
	if !s.knownNode(node) {
		return "", fmt.Errorf("no such node '%s'", node)
	}
	dir := filepath.Join(s.nodeFSDir, node)
	return dir, os.MkdirAll(dir, 0o755)
}

func (s *Server) openNodeRoot(node string) (*os.Root, error) {
	dir, err := s.nodeRoot(node)
	if err != nil {
		return nil, err
	}
	return os.OpenRoot(dir)
}

// nodeFileExists reports whether node path p is a regular file (-f).
func (s *Server) nodeFileExists(node, p string) bool {
	root, err := s.openNodeRoot(node)
	if err != nil {
		return false
	}
	defer root.Close()
	fi, err := root.Stat(relPath(p))
	return err == nil && fi.Mode().IsRegular()
}

// contentDir is Plugin.pm get_subdir: where a storage keeps vtype.
func contentDir(stor *Storage, vtype string) string {
	return path.Join(stor.Path, vtypeSubdirs[vtype])
}

// activateStorage is DirPlugin/Plugin activate_storage: the base path and
// the subdirectory of every configured content type (backup's also for
// rootdir) are created, as create-base-path and create-subdirs default to.
func activateStorage(root *os.Root, stor *Storage) error {
	if stor.Path == "" {
		return nil
	}
	if err := root.MkdirAll(relPath(stor.Path), 0o755); err != nil {
		return die("unable to activate storage '%s' - directory '%s' does not exist or is unreachable", stor.ID, stor.Path)
	}
	if stor.prop("create-subdirs") == "0" || stor.prop("mkdir") == "0" {
		return nil
	}
	for _, vtype := range sortedKeys(vtypeSubdirs) {
		if !storageContent(stor, vtype) && !(vtype == "backup" && storageContent(stor, "rootdir")) {
			continue
		}
		dir := contentDir(stor, vtype)
		if err := root.MkdirAll(relPath(dir), 0o755); err != nil {
			return die("failed to create content directory '%s' for content '%s' - %s", dir, vtype, strerror(err))
		}
	}
	return nil
}

// strerror is the errno text Perl's $! would give.
func strerror(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		s := errno.Error()
		return strings.ToUpper(s[:1]) + s[1:]
	}
	return err.Error()
}

var (
	backupInfoRE = regexp.MustCompile(`^vzdump-(lxc|openvz|qemu)-(\d+)-(\d{4})_(\d{2})_(\d{2})-(\d{2})_(\d{2})_(\d{2})`)
	backupVMIDRE = regexp.MustCompile(`-([1-9][0-9]{2,8})-[^/]+\.`)
	importListRE = regexp.MustCompile(`(?i)^[a-zA-Z0-9\-.+=_]+\.(ova|ovf|qcow2|raw|vmdk)$`)
)

// fileVolume is one entry of get_subdir_files (Plugin.pm): the file name
// must match the content type's pattern; nil when it does not.
func fileVolume(sid, node, vtype, name string, fi fs.FileInfo) *Volume {
	v := &Volume{Node: node, Content: vtype, Size: fi.Size(), Ctime: fileCtime(fi)}
	switch vtype {
	case "iso":
		if !isoNameRE.MatchString(name) {
			return nil
		}
		v.Format = "iso"
	case "vztmpl":
		m := vztmplNameRE.FindStringSubmatch(name)
		if m == nil {
			return nil
		}
		v.Format = "tar"
		if m[2] != "" {
			v.Format = "t" + m[2]
		}
	case "backup":
		m := backupNameRE.FindStringSubmatch(name)
		if m == nil {
			return nil
		}
		v.Format = m[1]
		if mm := backupVMIDRE.FindStringSubmatch(name); mm != nil {
			v.VMID, _ = strconv.Atoi(mm[1])
		}
	case "snippets":
		v.Format = "snippet"
	case "import":
		m := importListRE.FindStringSubmatch(name)
		if m == nil {
			return nil
		}
		v.Format = m[1]
	default:
		return nil
	}
	v.VolID = sid + ":" + vtype + "/" + name
	return v
}

func fileCtime(fi fs.FileInfo) int64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Ctim.Sec
	}
	return fi.ModTime().Unix()
}

// listFiles is get_subdir_files for one content type of stor on node; a
// missing subdirectory lists nothing.
func listFiles(root *os.Root, stor *Storage, node, vtype string) ([]*Volume, error) {
	f, err := root.Open(relPath(contentDir(stor, vtype)))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	names, err := f.Readdirnames(-1)
	f.Close()
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	var out []*Volume
	for _, name := range names {
		fi, err := root.Stat(relPath(path.Join(contentDir(stor, vtype), name)))
		if err != nil || fi.IsDir() || strings.HasPrefix(name, ".") {
			continue // the glob <$path/*> skips dot files; stat follows links
		}
		if v := fileVolume(stor.ID, node, vtype, name, fi); v != nil {
			out = append(out, v)
		}
	}
	return out, nil
}

// fileVolumeAt looks up a file volume (caller holds s.mu); nil when the
// volume ID is not a file volume or its file is missing.
func (s *Server) fileVolumeAt(node, volid string) *Volume {
	sid, volname, _ := splitVolID(volid)
	stor := s.st.storage(sid)
	if stor == nil || stor.Path == "" {
		return nil
	}
	pv, err := parseVolname(stor, volname)
	if err != nil || !fileContent[pv.vtype] {
		return nil
	}
	root, err := s.openNodeRoot(node)
	if err != nil {
		return nil
	}
	defer root.Close()
	fi, err := root.Stat(relPath(volumePath(stor, volname, pv)))
	if err != nil || !fi.Mode().IsRegular() {
		return nil
	}
	v := fileVolume(sid, node, pv.vtype, path.Base(pv.name), fi)
	if v == nil { // parse_volname is laxer than the listing (import with spaces)
		v = &Volume{Node: node, Content: pv.vtype, Format: pv.format, Size: fi.Size(), Ctime: fileCtime(fi)}
	}
	v.VolID = volid
	return v
}

// volumeAt finds a volume on node: a guest image of State.Volumes or a file
// of a storage with a path (caller holds s.mu).
func (s *Server) volumeAt(node, volid string) *Volume {
	if v := s.st.volume(node, volid); v != nil {
		return v
	}
	return s.fileVolumeAt(node, volid)
}

// fileUsage is the bytes the files of stor's content subdirectories take.
func fileUsage(root *os.Root, stor *Storage, node string) int64 {
	var n int64
	for vtype := range fileContent {
		vols, _ := listFiles(root, stor, node, vtype)
		for _, v := range vols {
			n += v.Size
		}
	}
	return n
}

// initNodeFS gives every node its root with the storages activated, and
// turns file volumes still recorded in State.Volumes (seeds, older state
// files) into sparse files of their size.
func (s *Server) initNodeFS() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, node := range s.opts.Nodes {
		root, err := s.openNodeRoot(node)
		if err != nil {
			return err
		}
		for _, stor := range s.st.Storages {
			if err := activateStorage(root, stor); err != nil {
				root.Close()
				return err
			}
		}
		root.Close()
	}
	for key, v := range s.st.Volumes {
		sid, volname, _ := splitVolID(v.VolID)
		stor := s.st.storage(sid)
		if stor == nil || stor.Path == "" || !fileContent[v.Content] || !s.knownNode(v.Node) {
			continue
		}
		pv, err := parseVolname(stor, volname)
		if err != nil {
			continue
		}
		if err := s.materialize(v.Node, volumePath(stor, volname, pv), v.Size); err != nil {
			return err
		}
		delete(s.st.Volumes, key)
	}
	for _, node := range s.opts.Nodes {
		for _, p := range s.seedFiles {
			if err := s.materialize(node, p, 130*mib); err != nil {
				return err
			}
		}
	}
	return nil
}

// materialize creates a sparse file of size at node path p unless it exists.
func (s *Server) materialize(node, p string, size int64) error {
	root, err := s.openNodeRoot(node)
	if err != nil {
		return err
	}
	defer root.Close()
	if err := root.MkdirAll(relPath(path.Dir(p)), 0o755); err != nil {
		return err
	}
	f, err := root.OpenFile(relPath(p), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := f.Truncate(size); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// VolumePath is PVE::Storage::path: the path of volume volid on its node
// (in the node's root filesystem, see NodeRoot) and its content type, e.g.
// "local:snippets/user.yaml" -> "/var/lib/vz/snippets/user.yaml",
// "snippets". Errors are pve-storage's: "unable to parse volume ID '...'",
// "storage '...' does not exist", "unable to parse directory volume name
// '...'". Callers holding the state lock use volumePathLocked.
func (s *Server) VolumePath(volid string) (p, vtype string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.volumePathLocked(volid)
}

// volumePathLocked is VolumePath for callers holding s.mu.
func (s *Server) volumePathLocked(volid string) (string, string, error) {
	m := volumeIDRE.FindStringSubmatch(volid)
	if m == nil {
		return "", "", die("unable to parse volume ID '%s'", volid)
	}
	stor := s.st.storage(m[1])
	if stor == nil {
		return "", "", die("storage '%s' does not exist", m[1])
	}
	pv, err := parseVolname(stor, m[2])
	if err != nil {
		return "", "", err
	}
	return volumePath(stor, m[2], pv), pv.vtype, nil
}

// NodeRoot is the host directory that is node's "/" (the node shell's root
// with real guests). Read files in it with ReadNodeFile, which keeps
// symlinks inside it.
func (s *Server) NodeRoot(node string) (string, error) { return s.nodeRoot(node) }

// ReadNodeFile reads node path p of node's root filesystem as
// PVE::Tools::file_get_contents does (max bytes, 0 meaning 1 MiB): "can't
// open '<p>' - <error>", "file '<p>' too long - aborting". It does not take
// the state lock.
func (s *Server) ReadNodeFile(node, p string, max int) ([]byte, error) {
	if max <= 0 {
		max = 1 << 20
	}
	root, err := s.openNodeRoot(node)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	f, err := root.Open(relPath(p))
	if err != nil {
		return nil, fmt.Errorf("can't open '%s' - %s", p, strerror(err))
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, int64(max)+1))
	if err != nil {
		return nil, fmt.Errorf("unable to read file '%s' - %s", p, strerror(err))
	}
	if len(data) > max {
		return nil, fmt.Errorf("file '%s' too long - aborting", p)
	}
	return data, nil
}
