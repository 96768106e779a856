//go:build linux

package guestroot

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// copyTree copies src to the new path dst with `cp -a` semantics: modes
// (including setuid/setgid/sticky), ownership, timestamps, symlinks as
// symlinks, hard links within the tree, FIFOs and device nodes. Regular files
// go through copy_file_range, which reflinks on filesystems that can. Nothing
// in src is ever followed: a guest may have planted any symlink there.
// Extended attributes are not copied.
func copyTree(src, dst string) error {
	c := &copier{links: map[[2]uint64]string{}}
	var st unix.Stat_t
	if err := unix.Lstat(src, &st); err != nil {
		return fmt.Errorf("copy %s: %w", src, &os.PathError{Op: "lstat", Path: src, Err: err})
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return fmt.Errorf("copy %s: not a directory", src)
	}
	return c.copy(src, dst, &st)
}

type copier struct {
	links map[[2]uint64]string // (dev, ino) of multiply-linked files -> first copy
}

func (c *copier) copy(src, dst string, st *unix.Stat_t) error {
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		// Owner-writable while filling; the real mode is set afterwards.
		if err := unix.Mkdir(dst, 0o700); err != nil {
			return &os.PathError{Op: "mkdir", Path: dst, Err: err}
		}
		entries, err := os.ReadDir(src)
		if err != nil {
			return err
		}
		for _, e := range entries {
			s, d := filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())
			var cst unix.Stat_t
			if err := unix.Lstat(s, &cst); err != nil {
				if err == unix.ENOENT { // removed by a running guest meanwhile
					continue
				}
				return &os.PathError{Op: "lstat", Path: s, Err: err}
			}
			if err := c.copy(s, d, &cst); err != nil {
				return err
			}
		}
	case unix.S_IFLNK:
		target, err := os.Readlink(src)
		if err != nil {
			return err
		}
		if err := os.Symlink(target, dst); err != nil {
			return err
		}
	case unix.S_IFREG:
		key := [2]uint64{st.Dev, st.Ino}
		if st.Nlink > 1 {
			if first, ok := c.links[key]; ok {
				return os.Link(first, dst)
			}
			c.links[key] = dst
		}
		if err := copyFile(src, dst, st); err != nil {
			return err
		}
	default: // FIFO, socket, character or block device
		if err := unix.Mknod(dst, st.Mode, int(st.Rdev)); err != nil {
			return &os.PathError{Op: "mknod", Path: dst, Err: err}
		}
	}
	return copyMeta(dst, st)
}

func copyFile(src, dst string, st *unix.Stat_t) error {
	// O_NOFOLLOW|O_NONBLOCK: the entry may have been swapped for a symlink or FIFO since lstat.
	in, err := os.OpenFile(src, os.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0)
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("copy %s: changed type during copy", src)
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copy %s: %w", src, err)
	}
	return out.Close()
}

// copyMeta applies ownership, then mode (chown clears setuid bits), then times.
func copyMeta(dst string, st *unix.Stat_t) error {
	if err := unix.Lchown(dst, int(st.Uid), int(st.Gid)); err != nil {
		return &os.PathError{Op: "lchown", Path: dst, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFLNK {
		if err := unix.Chmod(dst, st.Mode&0o7777); err != nil {
			return &os.PathError{Op: "chmod", Path: dst, Err: err}
		}
	}
	ts := []unix.Timespec{st.Atim, st.Mtim}
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, dst, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return &os.PathError{Op: "utimes", Path: dst, Err: err}
	}
	return nil
}
