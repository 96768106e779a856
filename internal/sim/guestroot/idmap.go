//go:build linux

package guestroot

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"
)

// IDMap is one lxc.idmap entry: Size ids from ContainerID inside the user
// namespace are HostID... on the host. Kind is 'u' (user ids) or 'g'
// (group ids).
type IDMap struct {
	Kind                      byte
	ContainerID, HostID, Size int
}

// DefaultIDMap is PVE's map of an unprivileged container without lxc.idmap
// lines (parse_id_maps): ids 0-65535 are host ids 100000-165535.
var DefaultIDMap = []IDMap{{'u', 0, 100000, 65536}, {'g', 0, 100000, 65536}}

// HostID maps a container id of kind ('u' or 'g') to the host; ok is false
// when the maps do not cover it.
func HostID(maps []IDMap, kind byte, id int) (int, bool) {
	for _, m := range maps {
		if m.Kind == kind && id >= m.ContainerID && id < m.ContainerID+m.Size {
			return m.HostID + id - m.ContainerID, true
		}
	}
	return id, false
}

func sysMaps(maps []IDMap, kind byte) []syscall.SysProcIDMap {
	var out []syscall.SysProcIDMap
	for _, m := range maps {
		if m.Kind == kind {
			out = append(out, syscall.SysProcIDMap{ContainerID: m.ContainerID, HostID: m.HostID, Size: m.Size})
		}
	}
	return out
}

// MapOwners gives guest id's root the ownership an unprivileged container's
// root has on PVE: every owner shifted into the host range of maps (the
// rootfs is unpacked through the map). Ids the maps do not cover keep their
// owner. A root whose top directory is already owned by the mapped root is
// left alone, so calling it again is cheap.
func (m *Manager) MapOwners(id int, maps []IDMap) error {
	if len(maps) == 0 {
		return nil
	}
	defer m.lock(guestKey(id))()
	root, err := m.existing(id)
	if err != nil {
		return err
	}
	var st unix.Stat_t
	if err := unix.Lstat(root, &st); err != nil {
		return err
	}
	hostRoot, _ := HostID(maps, 'u', 0)
	if int(st.Uid) == hostRoot {
		return nil
	}
	// The tree is the simulator's own (just created or copied): no guest
	// process can swap a path under the walk, and WalkDir follows no links.
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			if errors.Is(err, unix.ENOENT) {
				return nil
			}
			return err
		}
		uid, _ := HostID(maps, 'u', int(st.Uid))
		gid, _ := HostID(maps, 'g', int(st.Gid))
		if err := unix.Lchown(p, uid, gid); err != nil {
			return &os.PathError{Op: "lchown", Path: p, Err: err}
		}
		// chown clears setuid/setgid bits of regular files: put them back.
		if st.Mode&unix.S_IFMT == unix.S_IFREG && st.Mode&(unix.S_ISUID|unix.S_ISGID) != 0 {
			return unix.Chmod(p, st.Mode&0o7777)
		}
		return nil
	})
}

func (m IDMap) String() string {
	return fmt.Sprintf("%c %d %d %d", m.Kind, m.ContainerID, m.HostID, m.Size)
}
