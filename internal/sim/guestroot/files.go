//go:build linux

package guestroot

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path"

	"golang.org/x/sys/unix"
)

// DefaultReadLimit is used by ReadFile when limit <= 0: PVE's $MAX_READ_SIZE
// for the agent's file-read (PVE/API2/Qemu/Agent.pm, 16 MiB).
const DefaultReadLimit = 16 << 20

// Guest paths are resolved by the kernel as if the guest root were "/":
// "..", absolute symlinks and symlinks full of "../" all stay inside it
// (openat2 RESOLVE_IN_ROOT), and /proc magic links are refused.
const inRoot = unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS

func cleanGuestPath(p string) string { return path.Clean("/" + p) }

func openIn(rootfd int, p string, flags uint64, mode uint64) (int, error) {
	how := &unix.OpenHow{Flags: flags | unix.O_CLOEXEC, Mode: mode, Resolve: inRoot}
	for {
		fd, err := unix.Openat2(rootfd, cleanGuestPath(p), how)
		if err == unix.EAGAIN { // a concurrent rename raced the resolution; retry
			continue
		}
		return fd, err
	}
}

// mkdirAllIn makes every missing directory of p inside the root and returns
// an O_PATH fd of the directory p resolves to. A dangling guest symlink on the
// way is followed (its target created), still inside the root.
func mkdirAllIn(rootfd int, p string, perm uint32) (int, error) {
	return mkdirAllDepth(rootfd, p, perm, 0)
}

func mkdirAllDepth(rootfd int, p string, perm uint32, links int) (int, error) {
	p = cleanGuestPath(p)
	fd, err := openIn(rootfd, p, unix.O_PATH|unix.O_DIRECTORY, 0)
	if err == nil || !errors.Is(err, unix.ENOENT) || p == "/" {
		return fd, err
	}
	parent, err := mkdirAllDepth(rootfd, path.Dir(p), perm, links)
	if err != nil {
		return -1, err
	}
	defer unix.Close(parent)
	err = unix.Mkdirat(parent, path.Base(p), perm)
	if err == unix.EEXIST {
		target, rerr := readlinkAt(parent, path.Base(p))
		if rerr == nil { // a dangling symlink: create what it points at
			if links >= 40 {
				return -1, unix.ELOOP
			}
			if !path.IsAbs(target) {
				target = path.Join(path.Dir(p), target)
			}
			return mkdirAllDepth(rootfd, target, perm, links+1)
		}
	} else if err != nil {
		return -1, err
	}
	return openIn(rootfd, p, unix.O_PATH|unix.O_DIRECTORY, 0)
}

func readlinkAt(dirfd int, name string) (string, error) {
	buf := make([]byte, unix.PathMax)
	n, err := unix.Readlinkat(dirfd, name, buf)
	if err != nil {
		return "", err
	}
	return string(buf[:n]), nil
}

// createFileIn returns an O_PATH fd of the file at p, creating an empty one
// (and its parent directories) when missing.
func createFileIn(rootfd int, p string) (int, error) {
	p = cleanGuestPath(p)
	fd, err := openIn(rootfd, p, unix.O_PATH, 0)
	if err == nil || !errors.Is(err, unix.ENOENT) {
		return fd, err
	}
	parent, err := mkdirAllIn(rootfd, path.Dir(p), 0o755)
	if err != nil {
		return -1, err
	}
	nfd, err := unix.Openat(parent, path.Base(p), unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o644)
	unix.Close(parent)
	if err == nil {
		unix.Close(nfd)
	} else if err != unix.EEXIST {
		return -1, err
	}
	return openIn(rootfd, p, unix.O_PATH, 0)
}

func openRoot(root string) (int, error) {
	root, err := checkRoot(root)
	if err != nil {
		return -1, err
	}
	return unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
}

// WriteFileIn writes data to the guest path p under root (created or
// truncated, mode perm, owned by root). A symlink in the way is followed the
// way the guest would see it, never out of the root. Parent directories must
// exist, like a write through pct push or the guest agent.
func WriteFileIn(root, p string, data []byte, perm os.FileMode) error {
	rootfd, err := openRoot(root)
	if err != nil {
		return err
	}
	defer unix.Close(rootfd)
	fd, err := openIn(rootfd, p, unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC|unix.O_NONBLOCK, uint64(unixMode(perm)))
	if err != nil {
		return &os.PathError{Op: "write", Path: cleanGuestPath(p), Err: err}
	}
	f := os.NewFile(uintptr(fd), p)
	defer f.Close()
	if err := requireRegular(f, p); err != nil {
		return err
	}
	if err := unix.Fchmod(fd, unixMode(perm)); err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		return &os.PathError{Op: "write", Path: cleanGuestPath(p), Err: err}
	}
	return nil
}

// ReadFileIn reads up to limit bytes (DefaultReadLimit when limit <= 0) of
// the guest file p and reports whether it was longer.
func ReadFileIn(root, p string, limit int) ([]byte, bool, error) {
	if limit <= 0 {
		limit = DefaultReadLimit
	}
	rootfd, err := openRoot(root)
	if err != nil {
		return nil, false, err
	}
	defer unix.Close(rootfd)
	// O_NONBLOCK: a FIFO planted by the guest must not hang us.
	fd, err := openIn(rootfd, p, unix.O_RDONLY|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, false, &os.PathError{Op: "read", Path: cleanGuestPath(p), Err: err}
	}
	f := os.NewFile(uintptr(fd), p)
	defer f.Close()
	if err := requireRegular(f, p); err != nil {
		return nil, false, err
	}
	data, err := io.ReadAll(io.LimitReader(f, int64(limit)+1))
	if err != nil {
		return nil, false, err
	}
	if len(data) > limit {
		return data[:limit], true, nil
	}
	return data, false, nil
}

// MkdirAllIn creates the guest directory p and its parents (mode perm).
func MkdirAllIn(root, p string, perm os.FileMode) error {
	rootfd, err := openRoot(root)
	if err != nil {
		return err
	}
	defer unix.Close(rootfd)
	fd, err := mkdirAllIn(rootfd, p, unixMode(perm))
	if err != nil {
		return &os.PathError{Op: "mkdir", Path: cleanGuestPath(p), Err: err}
	}
	return unix.Close(fd)
}

// ChownIn changes the owner of the guest path p (symlinks followed inside the root).
func ChownIn(root, p string, uid, gid int) error {
	rootfd, err := openRoot(root)
	if err != nil {
		return err
	}
	defer unix.Close(rootfd)
	fd, err := openIn(rootfd, p, unix.O_PATH, 0)
	if err != nil {
		return &os.PathError{Op: "chown", Path: cleanGuestPath(p), Err: err}
	}
	defer unix.Close(fd)
	return unix.Fchownat(fd, "", uid, gid, unix.AT_EMPTY_PATH)
}

// RemoveIn removes the guest path p (a file, a symlink itself, or an empty
// directory). Missing paths are not an error.
func RemoveIn(root, p string) error {
	rootfd, err := openRoot(root)
	if err != nil {
		return err
	}
	defer unix.Close(rootfd)
	p = cleanGuestPath(p)
	if p == "/" {
		return errors.New("guestroot: refusing to remove the guest root")
	}
	parent, err := openIn(rootfd, path.Dir(p), unix.O_PATH|unix.O_DIRECTORY, 0)
	if err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil
		}
		return err
	}
	defer unix.Close(parent)
	err = unix.Unlinkat(parent, path.Base(p), 0)
	if err == unix.EISDIR {
		err = unix.Unlinkat(parent, path.Base(p), unix.AT_REMOVEDIR)
	}
	if err == unix.ENOENT {
		return nil
	}
	return err
}

func requireRegular(f *os.File, p string) error {
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("guestroot: %s is not a regular file", cleanGuestPath(p))
	}
	return nil
}

// unixMode turns perm into Unix mode bits, accepting both Go's
// os.ModeSetuid/ModeSetgid/ModeSticky flags and raw 0o7000 bits (0o1777).
func unixMode(perm os.FileMode) uint32 {
	m := uint32(perm & 0o7777)
	if perm&os.ModeSetuid != 0 {
		m |= unix.S_ISUID
	}
	if perm&os.ModeSetgid != 0 {
		m |= unix.S_ISGID
	}
	if perm&os.ModeSticky != 0 {
		m |= unix.S_ISVTX
	}
	return m
}
