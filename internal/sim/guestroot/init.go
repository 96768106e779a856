//go:build linux

package guestroot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// initEnv marks a re-execution of the current binary as a guest init. Any
// binary that links this package (simulator, tests) becomes able to act as the
// init through this package's init(), so nobody has to call a hook from main.
const initEnv = "_PHOENIX_GUESTROOT_INIT"

func init() {
	if os.Getenv(initEnv) == "" {
		return
	}
	os.Exit(initMain())
}

var (
	supportedOnce sync.Once
	supportedErr  error
	usernsOnce    sync.Once
	usernsErr     error
)

// Supported reports whether commands can be run isolated: root, mount/PID/UTS/
// IPC/network namespaces, private propagation, openat2 and the new mount API.
// It really creates those namespaces once (cached) rather than guessing.
func Supported() error {
	supportedOnce.Do(func() {
		if os.Geteuid() != 0 {
			supportedErr = fmt.Errorf("%w: needs root (running as uid %d)", ErrUnsupported, os.Geteuid())
			return
		}
		supportedErr = probe(false)
	})
	return supportedErr
}

// UserNamespacesSupported reports whether ExecRequest.Unprivileged really gets
// a user namespace (kernel and sysctls allow it) — nil when it does.
func UserNamespacesSupported() error {
	usernsOnce.Do(func() {
		if err := Supported(); err != nil {
			usernsErr = err
			return
		}
		usernsErr = probe(true)
	})
	return usernsErr
}

func probe(userns bool) error {
	cfg, maps := initConfig{Mode: "probe"}, []IDMap(nil)
	if userns {
		// commands get a user namespace mapped as PVE maps unprivileged CTs
		cfg, maps = initConfig{Mode: "probe-userns"}, DefaultIDMap
	}
	st, _, err := runInit(context.Background(), cfg, maps, nil, nil, nil, 0)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnsupported, err)
	}
	if st.Error != "" {
		return fmt.Errorf("%w: %s", ErrUnsupported, st.Error)
	}
	if !st.Done {
		return fmt.Errorf("%w: probe did not complete", ErrUnsupported)
	}
	return nil
}

// initMain runs as PID 1 of the new namespaces: it builds the guest's view
// (mounts, pivot_root, hostname), starts the command, reaps everything until
// the command exits, reports, and exits — which makes the kernel kill any
// process the command left in the namespace.
func initMain() int {
	// Capability bounding sets and the fork below are per thread: stay on one.
	runtime.LockOSThread()
	// fds 3 and 4 arrive without close-on-exec; the command must not get them.
	unix.CloseOnExec(3)
	unix.CloseOnExec(4)
	status := os.NewFile(4, "status")
	report := func(s initStatus) int {
		_ = json.NewEncoder(status).Encode(s)
		return 0
	}
	var cfg initConfig
	if err := json.NewDecoder(os.NewFile(3, "config")).Decode(&cfg); err != nil {
		return report(initStatus{Error: "reading config: " + err.Error()})
	}
	if cfg.Mode == "probe-userns" {
		return report(initStatus{Done: true}) // running in the namespace is the test
	}
	if cfg.Mode == "probe" {
		if err := probeNamespace(); err != nil {
			return report(initStatus{Error: err.Error()})
		}
		return report(initStatus{Done: true})
	}
	if err := enterRoot(&cfg); err != nil {
		return report(initStatus{Error: err.Error()})
	}
	pid, err := startCommand(&cfg)
	if err != nil {
		return report(initStatus{StartError: err.Error()})
	}
	for {
		var ws unix.WaitStatus
		wpid, err := unix.Wait4(-1, &ws, 0, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return report(initStatus{Error: "waiting for command: " + err.Error()})
		}
		if wpid != pid {
			continue // an orphan reparented to us; reaped
		}
		if ws.Signaled() {
			return report(initStatus{Done: true, Signal: int(ws.Signal())})
		}
		return report(initStatus{Done: true, Exit: ws.ExitStatus()})
	}
}

// probeNamespace checks the pieces enterRoot relies on without touching any root.
func probeNamespace() error {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("making mounts private: %v", err)
	}
	fd, err := unix.Openat2(unix.AT_FDCWD, "/", &unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC, Resolve: unix.RESOLVE_IN_ROOT})
	if err != nil {
		return fmt.Errorf("openat2: %v", err)
	}
	unix.Close(fd)
	mfd, err := newMount("proc", nil, unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NODEV|unix.MOUNT_ATTR_NOEXEC)
	if err != nil {
		return fmt.Errorf("mounting proc: %v", err)
	}
	unix.Close(mfd)
	return nil
}

// startCommand resolves Argv[0] in the guest's PATH and forks it with the
// reduced capability bounding set.
func startCommand(cfg *initConfig) (int, error) {
	argv0 := cfg.Argv[0]
	prog := argv0
	if !containsSlash(argv0) {
		os.Setenv("PATH", cfg.LookupPath)
		p, err := exec.LookPath(argv0)
		if err != nil && !errors.Is(err, exec.ErrDot) {
			return 0, errors.New("executable file not found in $PATH")
		}
		prog = p
	}
	if err := dropCapabilities(); err != nil {
		return 0, err
	}
	attr := &syscall.ProcAttr{Dir: cfg.Dir, Env: cfg.Env, Files: []uintptr{0, 1, 2}}
	if len(cfg.IDMap) > 0 {
		// The init, root in the namespaces it made, writes the maps.
		// The command then becomes the namespace's root (the init's own
		// host uid 0 is not mapped in it).
		attr.Sys = &syscall.SysProcAttr{Cloneflags: unix.CLONE_NEWUSER, UidMappings: sysMaps(cfg.IDMap, 'u'),
			GidMappings: sysMaps(cfg.IDMap, 'g'), GidMappingsEnableSetgroups: true,
			Credential: &syscall.Credential{Uid: 0, Gid: 0, Groups: []uint32{}}}
	}
	pid, err := syscall.ForkExec(prog, cfg.Argv, attr)
	if err == syscall.ENOEXEC {
		// No #! line: run it with /bin/sh, as execvp and GLib's g_spawn (qemu-ga) do.
		pid, err = syscall.ForkExec("/bin/sh", append([]string{"/bin/sh", prog}, cfg.Argv[1:]...), attr)
	}
	if err != nil {
		if errors.Is(err, syscall.ENOENT) {
			if _, serr := os.Stat(cfg.Dir); serr != nil {
				return 0, fmt.Errorf("working directory %s: %v", cfg.Dir, serr)
			}
		}
		return 0, err
	}
	return pid, nil
}

// keptCaps is Docker's default capability set minus CAP_MKNOD (we have no
// device cgroup): enough for package-style scripts (chown, setuid, bind low
// ports), but no CAP_SYS_ADMIN (mounting sysfs/cgroupfs), CAP_DAC_READ_SEARCH
// (open_by_handle_at escapes), CAP_SYS_PTRACE, CAP_SYS_MODULE and friends.
var keptCaps = map[int]bool{
	unix.CAP_CHOWN: true, unix.CAP_DAC_OVERRIDE: true, unix.CAP_FOWNER: true, unix.CAP_FSETID: true,
	unix.CAP_KILL: true, unix.CAP_SETGID: true, unix.CAP_SETUID: true, unix.CAP_SETPCAP: true,
	unix.CAP_NET_BIND_SERVICE: true, unix.CAP_NET_RAW: true, unix.CAP_SYS_CHROOT: true,
	unix.CAP_AUDIT_WRITE: true, unix.CAP_SETFCAP: true,
}

func dropCapabilities() error {
	last := unix.CAP_LAST_CAP
	if data, err := os.ReadFile("/proc/sys/kernel/cap_last_cap"); err == nil {
		if n, err := strconv.Atoi(string(trimNL(data))); err == nil {
			last = n
		}
	}
	for c := 0; c <= last; c++ {
		if keptCaps[c] {
			continue
		}
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil && err != unix.EINVAL {
			return fmt.Errorf("dropping capability %d: %v", c, err)
		}
	}
	// Non-dumpable: without CAP_SYS_PTRACE the command cannot open /proc/1/exe
	// (the host binary) or our other /proc entries.
	return unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0)
}

func containsSlash(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '/' {
			return true
		}
	}
	return false
}

func trimNL(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == ' ') {
		b = b[:len(b)-1]
	}
	return b
}
