//go:build linux

package guestroot

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// hostDevices are bound from the host onto empty files of a fresh /dev tmpfs:
// no device node is ever created in (or copied with) a guest root.
var hostDevices = []string{"null", "zero", "full", "random", "urandom", "tty"}

// enterRoot runs in the init, inside its new mount namespace. Every path under
// the guest root is resolved with openat2(RESOLVE_IN_ROOT) and mounted through
// file descriptors (new mount API), so a guest that swaps a directory for a
// symlink — even concurrently — can never redirect a mount onto a host path.
func enterRoot(cfg *initConfig) error {
	// First, before any mount: nothing done here may propagate to the host.
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("making mounts private: %v", err)
	}
	var rootSt, hostSt unix.Stat_t
	if err := unix.Stat(cfg.Root, &rootSt); err != nil {
		return fmt.Errorf("guest root: %v", err)
	}
	if err := unix.Stat("/", &hostSt); err != nil {
		return err
	}
	if rootSt.Dev == hostSt.Dev && rootSt.Ino == hostSt.Ino {
		return errors.New("refusing to run in the host's /")
	}
	// pivot_root needs the new root to be a mount point.
	if err := unix.Mount(cfg.Root, cfg.Root, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("binding guest root: %v", err)
	}
	rootfd, err := unix.Open(cfg.Root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("opening guest root: %v", err)
	}
	defer unix.Close(rootfd)

	if err := mountProc(rootfd); err != nil {
		return err
	}
	if err := mountDev(rootfd); err != nil {
		return err
	}
	for _, b := range cfg.Binds {
		if err := bindInto(rootfd, b); err != nil {
			return fmt.Errorf("bind %s -> %s: %v", b.Source, b.Target, err)
		}
	}
	if err := unix.Sethostname([]byte(cfg.Hostname)); err != nil {
		return fmt.Errorf("sethostname: %v", err)
	}
	if !cfg.HostNetwork {
		if err := loopbackUp(); err != nil {
			return fmt.Errorf("loopback: %v", err)
		}
	}
	// pivot_root(".", ".") stacks the old root under the new one; detaching it
	// leaves no path (not even a chroot escape) back to the host's tree.
	if err := unix.Fchdir(rootfd); err != nil {
		return fmt.Errorf("chdir guest root: %v", err)
	}
	if err := unix.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("pivot_root: %v", err)
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("detaching host root: %v", err)
	}
	return unix.Chdir("/")
}

func mountProc(rootfd int) error {
	target, err := mkdirAllIn(rootfd, "/proc", 0o555)
	if err != nil {
		return fmt.Errorf("/proc: %v", err)
	}
	defer unix.Close(target)
	mfd, err := newMount("proc", nil, unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NODEV|unix.MOUNT_ATTR_NOEXEC)
	if err != nil {
		return fmt.Errorf("mounting proc: %v", err)
	}
	defer unix.Close(mfd)
	return moveMount(mfd, target)
}

func mountDev(rootfd int) error {
	target, err := mkdirAllIn(rootfd, "/dev", 0o755)
	if err != nil {
		return fmt.Errorf("/dev: %v", err)
	}
	defer unix.Close(target)
	mfd, err := newMount("tmpfs", map[string]string{"mode": "0755", "size": "8m"}, unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NOEXEC)
	if err != nil {
		return fmt.Errorf("mounting /dev tmpfs: %v", err)
	}
	defer unix.Close(mfd)
	if err := moveMount(mfd, target); err != nil {
		return err
	}
	// mfd is the root of the (now attached) tmpfs: populate it through it.
	for _, name := range hostDevices {
		fd, err := unix.Openat(mfd, name, unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_CLOEXEC, 0o666)
		if err != nil {
			return fmt.Errorf("/dev/%s: %v", name, err)
		}
		unix.Close(fd)
		if err := bindAt(mfd, name, "/dev/"+name, false); err != nil {
			return fmt.Errorf("/dev/%s: %v", name, err)
		}
	}
	links := [][2]string{{"fd", "/proc/self/fd"}, {"stdin", "/proc/self/fd/0"}, {"stdout", "/proc/self/fd/1"},
		{"stderr", "/proc/self/fd/2"}}
	for _, l := range links {
		if err := unix.Symlinkat(l[1], mfd, l[0]); err != nil {
			return fmt.Errorf("/dev/%s: %v", l[0], err)
		}
	}
	for _, d := range []string{"pts", "shm", "mqueue"} {
		if err := unix.Mkdirat(mfd, d, 0o755); err != nil {
			return fmt.Errorf("/dev/%s: %v", d, err)
		}
	}
	return unix.Fchmodat(mfd, "shm", 0o1777, 0)
}

// bindAt bind-mounts the host path source onto name under dirfd.
func bindAt(dirfd int, name, source string, readOnly bool) error {
	tfd, err := unix.Openat(dirfd, name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(tfd)
	return bindOnto(tfd, source, readOnly)
}

func bindOnto(target int, source string, readOnly bool) error {
	tree, err := unix.OpenTree(unix.AT_FDCWD, source, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_RECURSIVE)
	if err != nil {
		return fmt.Errorf("open_tree %s: %v", source, err)
	}
	defer unix.Close(tree)
	if readOnly {
		attr := &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY}
		if err := unix.MountSetattr(tree, "", unix.AT_EMPTY_PATH|unix.AT_RECURSIVE, attr); err != nil {
			return fmt.Errorf("read-only: %v", err)
		}
	}
	return moveMount(tree, target)
}

// bindInto mounts a caller-chosen host path at a guest path, creating the
// mount point (a directory or an empty file, matching the source) in the root.
func bindInto(rootfd int, b Bind) error {
	fi, err := os.Stat(b.Source)
	if err != nil {
		return err
	}
	var target int
	if fi.IsDir() {
		target, err = mkdirAllIn(rootfd, b.Target, 0o755)
	} else {
		target, err = createFileIn(rootfd, b.Target)
	}
	if err != nil {
		return err
	}
	defer unix.Close(target)
	return bindOnto(target, b.Source, b.ReadOnly)
}

// newMount creates a detached filesystem mount and returns its fd.
func newMount(fstype string, opts map[string]string, attrs int) (int, error) {
	fs, err := unix.Fsopen(fstype, unix.FSOPEN_CLOEXEC)
	if err != nil {
		return -1, err
	}
	defer unix.Close(fs)
	for k, v := range opts {
		if err := unix.FsconfigSetString(fs, k, v); err != nil {
			return -1, fmt.Errorf("%s=%s: %v", k, v, err)
		}
	}
	if err := unix.FsconfigCreate(fs); err != nil {
		return -1, err
	}
	return unix.Fsmount(fs, unix.FSMOUNT_CLOEXEC, attrs)
}

func moveMount(from, to int) error {
	err := unix.MoveMount(from, "", to, "", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH)
	if err != nil {
		return fmt.Errorf("move_mount: %v", err)
	}
	return nil
}

// loopbackUp brings lo up in the command's fresh network namespace.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return err
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	return unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr)
}
