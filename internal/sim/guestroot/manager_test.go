//go:build linux

package guestroot

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestCloneSnapshotRollbackDestroy(t *testing.T) {
	m := newGuest(t, 100)
	// State written by a guest command, as a feature script would.
	sh(t, m, 100, "mkdir -p /srv/app && echo v1 > /srv/app/version")
	if err := m.Snapshot(100, "before-upgrade"); err != nil {
		t.Fatal(err)
	}
	sh(t, m, 100, "echo v2 > /srv/app/version && echo new > /srv/app/added")

	if err := m.Clone(100, 200, "before-upgrade"); err != nil {
		t.Fatal(err)
	}
	if err := m.Clone(100, 201, ""); err != nil {
		t.Fatal(err)
	}
	res := sh(t, m, 200, "cat /srv/app/version; test -e /srv/app/added && echo has-added; true")
	if string(res.Stdout) != "v1\n" {
		t.Fatalf("clone of the snapshot sees %q", res.Stdout)
	}
	res = sh(t, m, 201, "cat /srv/app/version /srv/app/added")
	if string(res.Stdout) != "v2\nnew\n" {
		t.Fatalf("clone of the current root sees %q", res.Stdout)
	}
	// The clones are copies: changing one leaves the source alone.
	sh(t, m, 201, "echo clone > /srv/app/version")
	if got := readHost(t, filepath.Join(m.Root(100), "srv/app/version")); got != "v2\n" {
		t.Fatalf("source changed through its clone: %q", got)
	}

	if err := m.Rollback(100, "before-upgrade"); err != nil {
		t.Fatal(err)
	}
	res = sh(t, m, 100, "cat /srv/app/version; ls /srv/app")
	if string(res.Stdout) != "v1\nversion\n" {
		t.Fatalf("after rollback: %q", res.Stdout)
	}
	// The snapshot survives its rollback and can be rolled back to again.
	sh(t, m, 100, "echo v3 > /srv/app/version")
	if err := m.Rollback(100, "before-upgrade"); err != nil {
		t.Fatal(err)
	}
	if got := readHost(t, filepath.Join(m.Root(100), "srv/app/version")); got != "v1\n" {
		t.Fatalf("second rollback: %q", got)
	}

	if names, _ := m.Snapshots(100); len(names) != 1 || names[0] != "before-upgrade" {
		t.Fatalf("snapshots = %q", names)
	}
	if err := m.DeleteSnapshot(100, "before-upgrade"); err != nil {
		t.Fatal(err)
	}
	if names, _ := m.Snapshots(100); len(names) != 0 {
		t.Fatalf("snapshots after delete = %q", names)
	}
	if err := m.Clone(100, 202, "before-upgrade"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("clone of a deleted snapshot: %v", err)
	}
	if err := m.Rollback(100, "before-upgrade"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("rollback to a deleted snapshot: %v", err)
	}

	if err := m.Snapshot(100, "again"); err != nil {
		t.Fatal(err)
	}
	if err := m.Destroy(100); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(m.Dir, "guests", "100")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("destroy left the guest directory: %v", err)
	}
	if m.Exists(100) {
		t.Fatal("destroyed guest still exists")
	}
	if _, err := m.Exec(context.Background(), 100, ExecRequest{Argv: []string{"true"}}); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("exec in destroyed guest: %v", err)
	}
	if err := m.Destroy(100); err != nil {
		t.Fatalf("destroying twice: %v", err)
	}
	// Clones are independent of their destroyed source.
	if got := readHost(t, filepath.Join(m.Root(200), "srv/app/version")); got != "v1\n" {
		t.Fatalf("clone lost its files with the source: %q", got)
	}
	if left, _ := os.ReadDir(filepath.Join(m.Dir, "tmp")); len(left) != 0 {
		t.Fatalf("staging directory not cleaned: %d entries", len(left))
	}
}

func TestManagerErrors(t *testing.T) {
	m := newGuest(t, 100)
	if err := m.Create(100, ""); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("create over an existing guest: %v", err)
	}
	if err := m.Clone(101, 102, ""); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("clone of a missing guest: %v", err)
	}
	if err := m.Create(101, ""); err != nil {
		t.Fatal(err)
	}
	if err := m.Clone(100, 101, ""); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("clone onto an existing guest: %v", err)
	}
	if err := m.Clone(100, 100, ""); err == nil {
		t.Fatal("clone onto itself accepted")
	}
	for _, bad := range []string{"", "../x", "a/b", ".", "..", "x\x00"} {
		if err := m.Snapshot(100, bad); err == nil {
			t.Errorf("snapshot name %q accepted", bad)
		}
	}
	if err := m.Snapshot(100, "s1"); err != nil {
		t.Fatal(err)
	}
	if err := m.Snapshot(100, "s1"); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("duplicate snapshot: %v", err)
	}
	if err := m.DeleteSnapshot(100, "nope"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("delete of a missing snapshot: %v", err)
	}
	if err := m.WriteFile(999, "/x", nil, 0o644); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("write into a missing guest: %v", err)
	}
}

// TestCopyKeepsMetadata checks cp -a semantics of snapshots and clones.
func TestCopyKeepsMetadata(t *testing.T) {
	m := newGuest(t, 100)
	root := m.Root(100)
	mustDo := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	mustDo(os.MkdirAll(filepath.Join(root, "data/sticky"), 0o755))
	mustDo(syscall.Chmod(filepath.Join(root, "data/sticky"), 0o1777))
	mustDo(os.WriteFile(filepath.Join(root, "data/suid"), []byte("x"), 0o755))
	mustDo(os.Chown(filepath.Join(root, "data/suid"), 1234, 5678))
	mustDo(syscall.Chmod(filepath.Join(root, "data/suid"), 0o4750))
	mustDo(os.Link(filepath.Join(root, "data/suid"), filepath.Join(root, "data/hardlink")))
	mustDo(os.Symlink("../etc/passwd", filepath.Join(root, "data/link")))
	mustDo(os.Lchown(filepath.Join(root, "data/link"), 42, 43))
	mustDo(syscall.Mkfifo(filepath.Join(root, "data/fifo"), 0o640))
	old := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	mustDo(os.Chtimes(filepath.Join(root, "data/suid"), old, old))

	mustDo(m.Snapshot(100, "meta"))
	mustDo(m.Clone(100, 101, "meta"))
	for _, rel := range []string{"data/sticky", "data/suid", "data/hardlink", "data/link", "data/fifo", "bin/sh", "tmp"} {
		a, b := lstat(t, filepath.Join(root, rel)), lstat(t, filepath.Join(m.Root(101), rel))
		if a.Mode != b.Mode || a.Uid != b.Uid || a.Gid != b.Gid || a.Size != b.Size {
			t.Errorf("%s: mode %o/%o owner %d:%d/%d:%d size %d/%d", rel, a.Mode, b.Mode, a.Uid, a.Gid, b.Uid, b.Gid, a.Size, b.Size)
		}
		if a.Mode&syscall.S_IFMT != syscall.S_IFLNK && a.Mtim != b.Mtim {
			t.Errorf("%s: mtime %v -> %v", rel, a.Mtim, b.Mtim)
		}
	}
	if target, _ := os.Readlink(filepath.Join(m.Root(101), "data/link")); target != "../etc/passwd" {
		t.Errorf("symlink target = %q", target)
	}
	s, h := lstat(t, filepath.Join(m.Root(101), "data/suid")), lstat(t, filepath.Join(m.Root(101), "data/hardlink"))
	if s.Ino != h.Ino || s.Nlink != 2 {
		t.Errorf("hard link not preserved: inodes %d %d nlink %d", s.Ino, h.Ino, s.Nlink)
	}
	if s.Ino == lstat(t, filepath.Join(root, "data/suid")).Ino {
		t.Error("clone shares an inode with its source")
	}
}

func lstat(t *testing.T, p string) syscall.Stat_t {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Lstat(p, &st); err != nil {
		t.Fatal(err)
	}
	return st
}

func TestConcurrentGuests(t *testing.T) {
	m := newGuest(t, 100)
	const n = 6
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			id := 300 + i
			err := m.Clone(100, id, "")
			if err == nil {
				err = m.WriteFile(id, "/root/who", []byte(fmt.Sprint(id)), 0o644)
			}
			if err == nil {
				err = m.Snapshot(id, "s")
			}
			if err == nil {
				var res ExecResult
				res, err = m.Exec(context.Background(), id, ExecRequest{Argv: []string{"cat", "/root/who"}})
				if err == nil && string(res.Stdout) != fmt.Sprint(id) {
					err = fmt.Errorf("guest %d sees %q", id, res.Stdout)
				}
			}
			if err == nil {
				err = m.Clone(id, id+100, "s")
			}
			errs <- err
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < n; i++ {
		if got := readHost(t, filepath.Join(m.Root(400+i), "root/who")); got != fmt.Sprint(300+i) {
			t.Fatalf("guest %d has %q", 400+i, got)
		}
	}
}
