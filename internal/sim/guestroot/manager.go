//go:build linux

package guestroot

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"sync"
)

// Manager owns the guest roots under Dir:
//
//	Dir/base/<version>            shared base root, built once and reused
//	Dir/guests/<id>/root          a guest's live root
//	Dir/guests/<id>/snapshots/<n> frozen copies
//	Dir/nodes/<name>/root         node sandboxes (a PVE node's shell)
//	Dir/tmp/                      staging; every tree is built there and renamed in
//
// Operations on one guest are serialised; different guests proceed in
// parallel. Exec and file access do not take the guest's lock: a snapshot of
// a guest with a running command copies it live, as PVE snapshots a running CT.
type Manager struct {
	Dir string

	mu     sync.Mutex
	locks  map[string]*sync.Mutex
	baseMu sync.Mutex
}

// New prepares dir (created if missing) to hold guest roots.
func New(dir string) (*Manager, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if abs == "/" {
		return nil, errors.New("guestroot: refusing to use / as the manager directory")
	}
	for _, sub := range []string{"base", "guests", "nodes", "tmp"} {
		if err := os.MkdirAll(filepath.Join(abs, sub), 0o700); err != nil {
			return nil, err
		}
	}
	return &Manager{Dir: abs, locks: map[string]*sync.Mutex{}}, nil
}

func (m *Manager) lock(key string) func() {
	m.mu.Lock()
	l := m.locks[key]
	if l == nil {
		l = &sync.Mutex{}
		m.locks[key] = l
	}
	m.mu.Unlock()
	l.Lock()
	return l.Unlock
}

func guestKey(id int) string { return "g" + strconv.Itoa(id) }

func (m *Manager) guestDir(id int) string {
	return filepath.Join(m.Dir, "guests", strconv.Itoa(id))
}

// Root is the host path of the guest's root directory.
func (m *Manager) Root(id int) string { return filepath.Join(m.guestDir(id), "root") }

func (m *Manager) snapshotDir(id int, name string) string {
	return filepath.Join(m.guestDir(id), "snapshots", name)
}

// Exists reports whether the guest has a root.
func (m *Manager) Exists(id int) bool {
	fi, err := os.Lstat(m.Root(id))
	return err == nil && fi.IsDir()
}

func (m *Manager) tempDir() (string, error) {
	return os.MkdirTemp(filepath.Join(m.Dir, "tmp"), "op-")
}

// baseRoot returns the shared base root, building it on first use.
func (m *Manager) baseRoot() (string, error) {
	m.baseMu.Lock()
	defer m.baseMu.Unlock()
	p := filepath.Join(m.Dir, "base", baseVersion)
	if _, err := os.Stat(p); err == nil {
		return p, nil
	}
	tmp, err := m.tempDir()
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	if err := buildBase(filepath.Join(tmp, "root")); err != nil {
		return "", err
	}
	if err := os.Rename(filepath.Join(tmp, "root"), p); err != nil {
		if _, serr := os.Stat(p); serr == nil {
			return p, nil // another Manager on the same Dir won the race
		}
		return "", err
	}
	return p, nil
}

// install copies src into a staging directory, lets prepare adjust it, and
// renames it to dst (whose parent is created). dst must not exist.
func (m *Manager) install(src, dst string, prepare func(root string) error) error {
	tmp, err := m.tempDir()
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	staged := filepath.Join(tmp, "root")
	if err := copyTree(src, staged); err != nil {
		return err
	}
	if prepare != nil {
		if err := prepare(staged); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return err
	}
	return os.Rename(staged, dst)
}

func notFound(what string) error { return fmt.Errorf("guestroot: %s: %w", what, fs.ErrNotExist) }
func exists(what string) error   { return fmt.Errorf("guestroot: %s: %w", what, fs.ErrExist) }

// Create gives guest id a fresh root from the base, with /etc/os-release
// describing template (see TemplateOS). Real template archives are never unpacked.
func (m *Manager) Create(id int, template string) error {
	defer m.lock(guestKey(id))()
	if m.Exists(id) {
		return exists(fmt.Sprintf("guest %d", id))
	}
	base, err := m.baseRoot()
	if err != nil {
		return err
	}
	return m.install(base, m.Root(id), func(root string) error {
		return writeHostFile(filepath.Join(root, "etc/os-release"), TemplateOS(template).File(), 0o644)
	})
}

// Clone gives dst a copy of src's current root, or of src's snapshot when
// snapshot is not empty.
func (m *Manager) Clone(src, dst int, snapshot string) error {
	if src == dst {
		return errors.New("guestroot: clone source and target are the same guest")
	}
	// Lock in id order so two opposite clones cannot deadlock.
	a, b := src, dst
	if a > b {
		a, b = b, a
	}
	defer m.lock(guestKey(a))()
	defer m.lock(guestKey(b))()
	from := m.Root(src)
	if snapshot != "" {
		if err := checkSnapName(snapshot); err != nil {
			return err
		}
		from = m.snapshotDir(src, snapshot)
	}
	if _, err := os.Stat(from); err != nil {
		return notFound(fmt.Sprintf("guest %d %s", src, describe(snapshot)))
	}
	if m.Exists(dst) {
		return exists(fmt.Sprintf("guest %d", dst))
	}
	return m.install(from, m.Root(dst), nil)
}

func describe(snapshot string) string {
	if snapshot == "" {
		return "root"
	}
	return "snapshot " + snapshot
}

var snapNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// checkSnapName only guards the file system; PVE's own naming rules are the
// caller's business.
func checkSnapName(name string) error {
	if !snapNameRE.MatchString(name) {
		return fmt.Errorf("guestroot: invalid snapshot name %q", name)
	}
	return nil
}

// Snapshot freezes a copy of the guest's current root under name.
func (m *Manager) Snapshot(id int, name string) error {
	if err := checkSnapName(name); err != nil {
		return err
	}
	defer m.lock(guestKey(id))()
	if !m.Exists(id) {
		return notFound(fmt.Sprintf("guest %d", id))
	}
	dst := m.snapshotDir(id, name)
	if _, err := os.Lstat(dst); err == nil {
		return exists(fmt.Sprintf("guest %d snapshot %s", id, name))
	}
	return m.install(m.Root(id), dst, nil)
}

// Rollback replaces the guest's root with a copy of its snapshot name (the
// snapshot itself stays, so it can be rolled back to again).
func (m *Manager) Rollback(id int, name string) error {
	if err := checkSnapName(name); err != nil {
		return err
	}
	defer m.lock(guestKey(id))()
	snap := m.snapshotDir(id, name)
	if _, err := os.Stat(snap); err != nil {
		return notFound(fmt.Sprintf("guest %d snapshot %s", id, name))
	}
	tmp, err := m.tempDir()
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	staged := filepath.Join(tmp, "root")
	if err := copyTree(snap, staged); err != nil {
		return err
	}
	// Swap by renames so the guest never has a half-restored root.
	old := filepath.Join(tmp, "old")
	if err := os.Rename(m.Root(id), old); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := os.Rename(staged, m.Root(id)); err != nil {
		_ = os.Rename(old, m.Root(id))
		return err
	}
	return nil
}

// DeleteSnapshot removes the frozen copy name.
func (m *Manager) DeleteSnapshot(id int, name string) error {
	if err := checkSnapName(name); err != nil {
		return err
	}
	defer m.lock(guestKey(id))()
	snap := m.snapshotDir(id, name)
	if _, err := os.Lstat(snap); err != nil {
		return notFound(fmt.Sprintf("guest %d snapshot %s", id, name))
	}
	return m.discard(snap)
}

// Snapshots lists the guest's snapshot copies, sorted by name.
func (m *Manager) Snapshots(id int) ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(m.guestDir(id), "snapshots"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names, nil
}

// Destroy removes the guest's root and all its snapshots. Destroying a guest
// that has no root is not an error.
func (m *Manager) Destroy(id int) error {
	defer m.lock(guestKey(id))()
	if _, err := os.Lstat(m.guestDir(id)); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return m.discard(m.guestDir(id))
}

// discard renames p out of the way first, so a half-deleted tree is never
// visible under its name, then deletes it (RemoveAll never follows symlinks).
func (m *Manager) discard(p string) error {
	tmp, err := m.tempDir()
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	return os.Rename(p, filepath.Join(tmp, "gone"))
}

func (m *Manager) existing(id int) (string, error) {
	if !m.Exists(id) {
		return "", notFound(fmt.Sprintf("guest %d", id))
	}
	return m.Root(id), nil
}

// Exec runs req inside guest id's root (see ExecIn).
func (m *Manager) Exec(ctx context.Context, id int, req ExecRequest) (ExecResult, error) {
	root, err := m.existing(id)
	if err != nil {
		return ExecResult{}, err
	}
	return ExecIn(ctx, root, req)
}

// WriteFile writes the guest path p (see WriteFileIn).
func (m *Manager) WriteFile(id int, p string, data []byte, perm os.FileMode) error {
	root, err := m.existing(id)
	if err != nil {
		return err
	}
	return WriteFileIn(root, p, data, perm)
}

// ReadFile reads the guest path p (see ReadFileIn).
func (m *Manager) ReadFile(id int, p string, limit int) ([]byte, bool, error) {
	root, err := m.existing(id)
	if err != nil {
		return nil, false, err
	}
	return ReadFileIn(root, p, limit)
}

// MkdirAll creates the guest directory p and its parents.
func (m *Manager) MkdirAll(id int, p string, perm os.FileMode) error {
	root, err := m.existing(id)
	if err != nil {
		return err
	}
	return MkdirAllIn(root, p, perm)
}

var nodeNameRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$`)

// NodeRoot is the host path of node name's sandbox root.
func (m *Manager) NodeRoot(name string) string {
	return filepath.Join(m.Dir, "nodes", name, "root")
}

// CreateNode returns the sandbox root for a simulated PVE node's shell,
// building it from the base the first time: Debian 13 (PVE 9's base),
// hostname name, and an empty /etc/pve. Run its commands with ExecIn and bind
// the node's tools (pct, qm, a unix socket) in with ExecRequest.Binds.
func (m *Manager) CreateNode(name string) (string, error) {
	if !nodeNameRE.MatchString(name) {
		return "", fmt.Errorf("guestroot: invalid node name %q", name)
	}
	defer m.lock("n" + name)()
	root := m.NodeRoot(name)
	if fi, err := os.Lstat(root); err == nil && fi.IsDir() {
		return root, nil
	}
	base, err := m.baseRoot()
	if err != nil {
		return "", err
	}
	err = m.install(base, root, func(r string) error {
		if err := writeHostFile(filepath.Join(r, "etc/os-release"), osRelease("debian", "13").File(), 0o644); err != nil {
			return err
		}
		if err := writeHostFile(filepath.Join(r, "etc/hostname"), []byte(name+"\n"), 0o644); err != nil {
			return err
		}
		return os.Mkdir(filepath.Join(r, "etc/pve"), 0o755)
	})
	return root, err
}

// DestroyNode removes node name's sandbox root.
func (m *Manager) DestroyNode(name string) error {
	if !nodeNameRE.MatchString(name) {
		return fmt.Errorf("guestroot: invalid node name %q", name)
	}
	defer m.lock("n" + name)()
	dir := filepath.Join(m.Dir, "nodes", name)
	if _, err := os.Lstat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return m.discard(dir)
}
