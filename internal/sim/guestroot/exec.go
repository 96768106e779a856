//go:build linux

package guestroot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// DefaultMaxOutput is the number of bytes kept per output stream when
// ExecRequest.MaxOutput is 0. It is qemu-ga's GUEST_EXEC_MAX_OUTPUT
// (qga/commands.c: 16 MiB per stream, beyond which out-truncated/err-truncated
// are set), the tighter of the two real paths (`pct exec` has no cap).
const DefaultMaxOutput = 16 << 20

// DefaultPath is the PATH used to find Argv[0] when the request's Env has none
// (the same list lxc-attach and Debian's login use for root).
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Bind mounts a host file or directory into the guest for one Exec only. The
// mount lives in the command's private mount namespace and vanishes with it.
type Bind struct {
	Source   string // host path (trusted: chosen by the simulator, never by a guest)
	Target   string // path inside the guest; created (file or dir, like Source) when missing
	ReadOnly bool
}

// ExecRequest describes one command run inside a guest root.
type ExecRequest struct {
	Argv  []string  // Argv[0] is looked up in the guest's PATH unless it contains '/'
	Stdin io.Reader // nil: empty stdin
	// Env is the command's whole environment. nil means a default root login
	// environment (PATH, HOME=/root, TERM=dumb, LANG=C.UTF-8). A non-nil Env is
	// passed exactly; when it lacks PATH, DefaultPath is still used for lookup.
	Env     []string
	Dir     string        // working directory inside the guest; default "/"
	Timeout time.Duration // 0: no timeout (pct exec has none); ctx still applies
	// MaxOutput is the number of bytes kept per stream: 0 means
	// DefaultMaxOutput, negative means unlimited. Output past it is read and
	// dropped (the command never blocks on a full pipe) and flagged.
	MaxOutput int
	// Stdout and Stderr, when set, receive the command's output as it arrives
	// (no limit; ExecResult's byte slices then stay empty). The node shell
	// and pct exec stream long feature-script output over SSH this way
	// instead of holding it until the command ends.
	Stdout, Stderr io.Writer
	// Hostname of the command's UTS namespace; default: the guest's
	// /etc/hostname, else "localhost". The host's name never shows through.
	Hostname string
	Binds    []Bind
	// Unprivileged runs the command as root of a new user namespace mapped
	// by IDMap (DefaultIDMap, PVE's 0 100000 65536, when empty), like PVE's
	// unprivileged containers: capabilities only count inside it, and the
	// root's files must be owned by mapped ids (Manager.MapOwners). When the
	// kernel refuses user namespaces the command runs as
	// (capability-reduced) root in the isolated root instead.
	Unprivileged bool
	// IDMap is the user namespace's map (lxc.idmap entries); a non-empty map
	// implies a user namespace, as lxc.idmap does for a privileged container.
	IDMap []IDMap
	// HostNetwork shares the host's network namespace. By default the command
	// gets its own network namespace with only loopback up.
	HostNetwork bool
}

// ExecResult is what a finished (or killed) command left behind.
type ExecResult struct {
	ExitCode int // exit status; -1 when the command was killed by a signal
	Signal   int // signal that killed it, 0 when it exited
	Stdout   []byte
	Stderr   []byte
	// StdoutTruncated / StderrTruncated: the stream produced more than MaxOutput bytes.
	StdoutTruncated bool
	StderrTruncated bool
	// TimedOut: Timeout elapsed and the command's whole PID namespace was
	// killed (Signal is then SIGKILL).
	TimedOut bool
	// UserNamespace reports whether the command actually ran in a user namespace.
	UserNamespace bool
}

// userNamespaceMap is the command's user namespace map, nil for none (also
// when the kernel refuses user namespaces).
func (req *ExecRequest) userNamespaceMap() []IDMap {
	maps := req.IDMap
	if req.Unprivileged && len(maps) == 0 {
		maps = DefaultIDMap
	}
	if len(maps) == 0 || UserNamespacesSupported() != nil {
		return nil
	}
	return maps
}

// StartError means the command never ran: Argv[0] was not found or not
// executable, or Dir does not exist. pct exec / qemu-ga report these as errors
// rather than exit codes.
type StartError struct {
	Argv0 string
	Msg   string
}

func (e *StartError) Error() string {
	return fmt.Sprintf("guestroot: failed to execute %q: %s", e.Argv0, e.Msg)
}

// ErrUnsupported wraps every refusal to execute because isolation is missing.
var ErrUnsupported = errors.New("guestroot: isolated execution unavailable")

// initConfig is what the parent hands to the in-namespace init over fd 3.
type initConfig struct {
	Mode        string // "exec" or "probe"
	Root        string
	Argv        []string
	Env         []string
	LookupPath  string
	Dir         string
	Hostname    string
	Binds       []Bind
	HostNetwork bool
	// IDMap puts the command in a user namespace with this map.
	IDMap []IDMap
}

// initStatus is what the init reports back over fd 4 before exiting.
type initStatus struct {
	Exit       int    `json:",omitempty"`
	Signal     int    `json:",omitempty"`
	Done       bool   `json:",omitempty"` // command ran and was reaped
	StartError string `json:",omitempty"`
	Error      string `json:",omitempty"` // namespace/mount setup failed
}

// ExecIn runs req inside the root directory root, isolated from the host:
// fresh mount, PID, UTS, IPC (and network, user) namespaces, private mount
// propagation, pivot_root into root, /proc and a minimal /dev mounted fresh.
// It refuses (ErrUnsupported) rather than ever running against the host's /.
// Long by design: the isolated exec's steps in order (pipes, init, wait, result), each depending on the last.
func ExecIn(ctx context.Context, root string, req ExecRequest) (ExecResult, error) {
	if err := Supported(); err != nil {
		return ExecResult{}, err
	}
	root, err := checkRoot(root)
	if err != nil {
		return ExecResult{}, err
	}
	if len(req.Argv) == 0 || req.Argv[0] == "" {
		return ExecResult{}, errors.New("guestroot: empty command")
	}
	cfg := initConfig{
		Mode:        "exec",
		Root:        root,
		Argv:        req.Argv,
		Env:         req.Env,
		Dir:         req.Dir,
		Hostname:    req.Hostname,
		Binds:       req.Binds,
		HostNetwork: req.HostNetwork,
	}
	if cfg.Env == nil {
		cfg.Env = []string{"PATH=" + DefaultPath, "HOME=/root", "TERM=dumb", "LANG=C.UTF-8"}
	}
	cfg.LookupPath = DefaultPath
	for _, kv := range cfg.Env {
		if len(kv) > 5 && kv[:5] == "PATH=" {
			cfg.LookupPath = kv[5:]
		}
	}
	if cfg.Dir == "" {
		cfg.Dir = "/"
	}
	cfg.Dir = path.Clean("/" + cfg.Dir)
	if cfg.Hostname == "" {
		cfg.Hostname = guestHostname(root)
	}
	for i, b := range cfg.Binds {
		if !filepath.IsAbs(b.Source) || b.Target == "" {
			return ExecResult{}, fmt.Errorf("guestroot: bind %d: need an absolute source and a target", i)
		}
	}
	cfg.IDMap = req.userNamespaceMap()

	maxOut := req.MaxOutput
	if maxOut == 0 {
		maxOut = DefaultMaxOutput
	}
	stdout, stderr := &capture{max: maxOut}, &capture{max: maxOut}
	var outW, errW io.Writer = stdout, stderr
	if req.Stdout != nil {
		outW = req.Stdout
	}
	if req.Stderr != nil {
		errW = req.Stderr
	}

	st, timedOut, err := runInit(ctx, cfg, nil, req.Stdin, outW, errW, req.Timeout)
	res := ExecResult{
		Stdout:          stdout.buf.Bytes(),
		Stderr:          stderr.buf.Bytes(),
		StdoutTruncated: stdout.truncated,
		StderrTruncated: stderr.truncated,
		UserNamespace:   cfg.IDMap != nil,
	}
	if err != nil {
		return res, err
	}
	switch {
	case st.Error != "":
		return res, fmt.Errorf("guestroot: isolating command: %s", st.Error)
	case st.StartError != "":
		return res, &StartError{Argv0: req.Argv[0], Msg: st.StartError}
	case st.Done:
		res.ExitCode, res.Signal = st.Exit, st.Signal
		if st.Signal != 0 {
			res.ExitCode = -1
		}
	case timedOut:
		res.ExitCode, res.Signal, res.TimedOut = -1, int(syscall.SIGKILL), true
	default:
		return res, errors.New("guestroot: guest init died without reporting a status")
	}
	return res, nil
}

// runInit starts the current binary in init mode inside new namespaces and
// waits for it. The init is PID 1 of the new PID namespace, so killing it
// (timeout, cancellation, or our own death via Pdeathsig) makes the kernel
// kill every process the command left behind; Wait returns only after they
// are all gone.
// With maps the init itself runs in a user namespace (the probe); an exec's
// command gets its own (initConfig.IDMap), after the init, still host root
// in the namespaces it made, built the guest's view: a shifted root could
// walk neither the host path to the guest root nor mount.
func runInit(ctx context.Context, cfg initConfig, maps []IDMap, stdin io.Reader, stdout, stderr io.Writer, timeout time.Duration) (initStatus, bool, error) {
	cfgR, cfgW, err := os.Pipe()
	if err != nil {
		return initStatus{}, false, err
	}
	defer cfgR.Close()
	defer cfgW.Close()
	stR, stW, err := os.Pipe()
	if err != nil {
		return initStatus{}, false, err
	}
	defer stR.Close()
	defer stW.Close()

	cmd := exec.Command("/proc/self/exe")
	cmd.Args = []string{"phoenix-guest-init"}
	cmd.Env = []string{initEnv + "=1"} // nothing of the host's environment reaches a guest
	cmd.ExtraFiles = []*os.File{cfgR, stW}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, stderr
	cmd.WaitDelay = 2 * time.Second // a stdin reader that never returns must not hang Exec
	cmd.SysProcAttr = nsAttr(cfg.HostNetwork, maps)

	// Pdeathsig fires when the *thread* that forked the child exits; keep this
	// goroutine on one thread until the init is reaped.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := cmd.Start(); err != nil {
		return initStatus{}, false, fmt.Errorf("%w: starting guest init: %v", ErrUnsupported, err)
	}
	cfgR.Close()
	stW.Close()
	enc := json.NewEncoder(cfgW)
	encErr := enc.Encode(cfg)
	cfgW.Close()

	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var timer <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		timer = t.C
	}
	timedOut := false
	var waitErr error
	select {
	case waitErr = <-done:
	case <-timer:
		timedOut = true
		_ = cmd.Process.Kill()
		waitErr = <-done
	case <-ctx.Done():
		_ = cmd.Process.Kill()
		<-done //nolint:errcheck // reaped: after the kill its exit error says nothing more
		return initStatus{}, false, ctx.Err()
	}
	var st initStatus
	raw, _ := io.ReadAll(stR)
	if len(bytes.TrimSpace(raw)) > 0 {
		if err := json.Unmarshal(raw, &st); err != nil {
			return st, timedOut, fmt.Errorf("guestroot: bad init status %q: %v", raw, err)
		}
	}
	if !st.Done && st.Error == "" && st.StartError == "" && !timedOut {
		if encErr != nil {
			return st, false, fmt.Errorf("guestroot: sending config to guest init: %v (init: %v)", encErr, waitErr)
		}
		return st, false, fmt.Errorf("guestroot: guest init failed: %v", waitErr)
	}
	return st, timedOut, nil
}

// nsAttr creates the namespaces; with maps also a user namespace mapped by
// them.
func nsAttr(hostNet bool, maps []IDMap) *syscall.SysProcAttr {
	flags := uintptr(unix.CLONE_NEWNS | unix.CLONE_NEWPID | unix.CLONE_NEWUTS | unix.CLONE_NEWIPC)
	if !hostNet {
		flags |= unix.CLONE_NEWNET
	}
	attr := &syscall.SysProcAttr{Cloneflags: flags, Pdeathsig: syscall.SIGKILL}
	if len(maps) > 0 {
		attr.Cloneflags |= unix.CLONE_NEWUSER
		attr.UidMappings = sysMaps(maps, 'u')
		attr.GidMappings = sysMaps(maps, 'g')
		attr.GidMappingsEnableSetgroups = true
	}
	return attr
}

// capture keeps the first max bytes of a stream and drains the rest.
type capture struct {
	max       int
	buf       bytes.Buffer
	truncated bool
}

func (c *capture) Write(p []byte) (int, error) {
	if c.max < 0 {
		return c.buf.Write(p)
	}
	if room := c.max - c.buf.Len(); len(p) > room {
		if room > 0 {
			c.buf.Write(p[:room])
		}
		c.truncated = true
		return len(p), nil
	}
	return c.buf.Write(p)
}

// checkRoot refuses anything that is not a real directory other than "/".
func checkRoot(root string) (string, error) {
	if root == "" || !filepath.IsAbs(root) {
		return "", fmt.Errorf("guestroot: root %q is not an absolute path", root)
	}
	resolved, err := filepath.EvalSymlinks(filepath.Clean(root))
	if err != nil {
		return "", fmt.Errorf("guestroot: root: %w", err)
	}
	if resolved == "/" {
		return "", errors.New("guestroot: refusing to use the host's / as a guest root")
	}
	fi, err := os.Stat(resolved)
	if err != nil {
		return "", fmt.Errorf("guestroot: root: %w", err)
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("guestroot: root %s is not a directory", resolved)
	}
	return resolved, nil
}

// guestHostname reads the guest's /etc/hostname without following guest symlinks out.
func guestHostname(root string) string {
	data, _, err := ReadFileIn(root, "/etc/hostname", 256)
	if err == nil {
		// A guest-written name the kernel would refuse must not break Exec.
		if h := string(bytes.TrimSpace(bytes.SplitN(data, []byte("\n"), 2)[0])); h != "" && len(h) <= 64 {
			return h
		}
	}
	return "localhost"
}
