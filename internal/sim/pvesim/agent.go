//go:build linux

package pvesim

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/guestroot"
)

// The QEMU guest agent of simulated VMs (qemu-server's API2/Qemu/Agent.pm
// and QemuServer/Agent.pm). It answers only while the VM runs, has an
// `agent` key that enables it, and has finished booting
// (Options.AgentBootDelay after start); otherwise PVE's three errors.
// Commands the agent runs go through the guest runtime (guestRoots.exec), so
// without real guest roots ping and the informational commands work but
// exec and file access refuse with a message saying why.

// qgaEnv is qemu-ga's environment as a systemd service passes it to
// guest-exec children: PATH and nothing else (no HOME, unlike pct exec).
var qgaEnv = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}

// agentState is the agents of all VMs: boot times, exec'd commands and faults.
type agentState struct {
	mu      sync.Mutex
	started map[int]time.Time         // vmid -> start (boot) time
	execs   map[int]map[int]*agentCmd // vmid -> pid -> command
	nextPID int
	down    map[int]bool // fault: the agent never comes up
	hang    map[int]bool // fault: exec'd commands never exit
}

type agentCmd struct {
	done chan struct{}
	res  guestroot.ExecResult
	err  error
}

func newAgentState() *agentState {
	return &agentState{started: map[int]time.Time{}, execs: map[int]map[int]*agentCmd{}, nextPID: 1000,
		down: map[int]bool{}, hang: map[int]bool{}}
}

// reset forgets a VM's agent session: qemu-ga restarts with the VM, and
// pids of an earlier boot are unknown to it.
func (a *agentState) reset(vmid int, started time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.execs, vmid)
	if started.IsZero() {
		delete(a.started, vmid)
	} else {
		a.started[vmid] = started
	}
}

func (a *agentState) clearFaults() {
	a.mu.Lock()
	a.down, a.hang = map[int]bool{}, map[int]bool{}
	a.mu.Unlock()
}

// agentRuntime wraps the guest runtime to follow VM boots for the agent.
type agentRuntime struct {
	GuestRuntime
	a *agentState
}

func (r agentRuntime) Start(ctx context.Context, g GuestRef) error {
	if err := r.GuestRuntime.Start(ctx, g); err != nil {
		return err
	}
	r.a.reset(g.VMID, time.Now())
	return nil
}

func (r agentRuntime) Stop(ctx context.Context, g GuestRef) error {
	r.a.reset(g.VMID, time.Time{})
	return r.GuestRuntime.Stop(ctx, g)
}

func (r agentRuntime) Destroy(ctx context.Context, g GuestRef) error {
	r.a.reset(g.VMID, time.Time{})
	return r.GuestRuntime.Destroy(ctx, g)
}

// agentEnabled parses the agent property's enabled flag (its default key).
func agentEnabled(v string) bool {
	m := splitProps(v, "enabled")
	return parseBool(m["enabled"])
}

// agentReady is assert_agent_available: it returns the VM when its agent answers.
func (s *Server) agentReady(node string, vmid int) (GuestRef, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, err := s.lookup("qemu", node, vmid)
	if err != nil {
		return GuestRef{}, err
	}
	v, ok := g.Config["agent"]
	if !ok {
		return GuestRef{}, die("No QEMU guest agent configured")
	}
	if !g.Running {
		return GuestRef{}, die("VM %d is not running", vmid)
	}
	a := s.agent
	a.mu.Lock()
	started, known := a.started[vmid]
	down := a.down[vmid]
	a.mu.Unlock()
	// A VM found running without a recorded start (created with start=1,
	// restored state) booted long ago.
	booting := known && time.Now().Before(started.Add(s.opts.AgentBootDelay))
	if !agentEnabled(v) || down || booting {
		return GuestRef{}, die("QEMU guest agent is not running")
	}
	ref := g.ref()
	if s.guests != nil {
		// qemu-ga runs only where it is installed: cloud images lack it
		// until cloud-init's packages bring it.
		s.mu.Unlock()
		installed := s.guests.boot(ref) == nil && s.guests.m.HasAgent(vmid)
		s.mu.Lock()
		if !installed {
			return GuestRef{}, die("QEMU guest agent is not running")
		}
	}
	return ref, nil
}

// qgaError is how a failed QGA command reaches the API (QMPClient).
func qgaError(vmid int, cmd, desc string) error {
	return die("VM %d qga command 'guest-%s' failed - %s", vmid, cmd, desc)
}

// needRoots refuses commands that need a guest root when there is none.
func (s *Server) needRoots(vmid int, cmd string) error {
	if s.guests == nil {
		return qgaError(vmid, cmd, "the simulator runs without guest roots (pvesim.Options.RealGuests, pvesim serve --real-guests)")
	}
	return nil
}

func (s *Server) buildAgentRoutes() {
	base := "/nodes/{node}/qemu/{vmid}/agent"
	s.handle("GET", base, s.agentIndex)
	s.handle("POST", base, s.agentCommand)
	for _, c := range []struct{ method, name string }{{"POST", "ping"}, {"GET", "get-host-name"},
		{"GET", "get-osinfo"}, {"GET", "network-get-interfaces"}} {
		name := c.name
		s.handle(c.method, base+"/"+name, func(r *request) (any, error) { return s.agentSimple(r, name) })
	}
	s.handle("POST", base+"/exec", s.agentExecAPI)
	s.handle("GET", base+"/exec-status", s.agentExecStatusAPI)
	s.handle("GET", base+"/file-read", s.agentFileRead)
	s.handle("POST", base+"/file-write", s.agentFileWrite)
}

func (s *Server) agentIndex(r *request) (any, error) {
	if _, err := s.withGuest(r, func(g *Guest) (any, error) { return nil, nil }); err != nil {
		return nil, err
	}
	names := []string{"exec", "exec-status", "file-read", "file-write", "fsfreeze-freeze", "fsfreeze-status",
		"fsfreeze-thaw", "fstrim", "get-fsinfo", "get-host-name", "get-memory-block-info", "get-memory-blocks",
		"get-osinfo", "get-time", "get-timezone", "get-users", "get-vcpus", "info", "network-get-interfaces",
		"ping", "set-user-password", "shutdown", "suspend-disk", "suspend-hybrid", "suspend-ram"}
	return dirIndex("name", names...), nil
}

// agentCommand is the old POST .../agent {command} endpoint.
func (s *Server) agentCommand(r *request) (any, error) {
	switch cmd := r.str("command"); cmd {
	case "ping", "get-host-name", "get-osinfo", "network-get-interfaces":
		return s.agentSimple(r, cmd)
	default:
		if _, err := s.agentReady(r.vars["node"], r.vmid()); err != nil {
			return nil, err
		}
		return nil, qgaError(r.vmid(), cmd, "command not simulated by pvesim")
	}
}

// agentSimple serves the informational commands, wrapped in {"result": ...}.
func (s *Server) agentSimple(r *request, cmd string) (any, error) {
	g, err := s.agentReady(r.vars["node"], r.vmid())
	if err != nil {
		return nil, err
	}
	if s.guests != nil {
		if err := s.guests.boot(g); err != nil {
			return nil, qgaError(g.VMID, cmd, err.Error())
		}
	}
	var res any
	switch cmd {
	case "ping":
		res = map[string]any{}
	case "get-host-name":
		h := "localhost"
		if s.guests != nil {
			h = guestHostname(s.guests.m, g)
		}
		res = map[string]any{"host-name": h}
	case "get-osinfo":
		res = s.agentOSInfo(g)
	case "network-get-interfaces":
		res = agentInterfaces(g.Config)
	}
	return map[string]any{"result": res}, nil
}

func (s *Server) agentOSInfo(g GuestRef) map[string]any {
	osr := map[string]string{"ID": "debian", "NAME": "Debian GNU/Linux", "PRETTY_NAME": "Debian GNU/Linux 13 (trixie)",
		"VERSION_ID": "13", "VERSION": "13 (trixie)"}
	if s.guests != nil {
		if b, _, err := s.guests.m.ReadFile(g.VMID, "/etc/os-release", 64<<10); err == nil {
			osr = map[string]string{}
			for _, line := range strings.Split(string(b), "\n") {
				if k, v, ok := strings.Cut(line, "="); ok {
					osr[k] = strings.Trim(v, `"`)
				}
			}
		}
	}
	var u syscall.Utsname
	_ = syscall.Uname(&u)
	cstr := func(b [65]int8) string {
		var out []byte
		for _, c := range b {
			if c == 0 {
				break
			}
			out = append(out, byte(c))
		}
		return string(out)
	}
	out := map[string]any{"id": osr["ID"], "name": osr["NAME"], "pretty-name": osr["PRETTY_NAME"],
		"kernel-release": cstr(u.Release), "kernel-version": cstr(u.Version), "machine": cstr(u.Machine)}
	if v := osr["VERSION_ID"]; v != "" {
		out["version-id"] = v
	}
	if v := osr["VERSION"]; v != "" {
		out["version"] = v
	}
	return out
}

// agentInterfaces is network-get-interfaces: lo, then ethN for every netN
// with the address cloud-init's ipconfigN set, or else a DHCP lease. The
// simulated DHCP server hands out 10.x.y.z/8 from the MAC's last three bytes,
// so a VM keeps its lease across boots and no two MACs share one.
func agentInterfaces(cfg map[string]string) []map[string]any {
	stats := func() map[string]any {
		return map[string]any{"rx-bytes": 0, "rx-dropped": 0, "rx-errs": 0, "rx-packets": 0,
			"tx-bytes": 0, "tx-dropped": 0, "tx-errs": 0, "tx-packets": 0}
	}
	addr := func(typ, ip string, prefix int) map[string]any {
		return map[string]any{"ip-address-type": typ, "ip-address": ip, "prefix": prefix}
	}
	out := []map[string]any{{"name": "lo", "hardware-address": "00:00:00:00:00:00", "statistics": stats(),
		"ip-addresses": []map[string]any{addr("ipv4", "127.0.0.1", 8), addr("ipv6", "::1", 128)}}}
	var idx []int
	for k := range cfg {
		if netKeyRE.MatchString(k) {
			n, _ := strconv.Atoi(strings.TrimPrefix(k, "net"))
			idx = append(idx, n)
		}
	}
	sort.Ints(idx)
	for _, i := range idx {
		mac := strings.ToLower(qemuNetMAC(cfg[fmt.Sprintf("net%d", i)]))
		hw, err := net.ParseMAC(mac)
		if err != nil {
			continue
		}
		ipc := splitProps(cfg[fmt.Sprintf("ipconfig%d", i)], "")
		var addrs []map[string]any
		if ip, n, err := net.ParseCIDR(ipc["ip"]); err == nil && ip.To4() != nil {
			ones, _ := n.Mask.Size()
			addrs = append(addrs, addr("ipv4", ip.String(), ones))
		} else if ipc["ip"] == "" || ipc["ip"] == "dhcp" {
			lease := net.IPv4(10, hw[3], hw[4], hw[5])
			if hw[3]|hw[4]|hw[5] == 0 || hw[3]&hw[4]&hw[5] == 255 {
				lease = net.IPv4(10, 0, 0, 2)
			}
			addrs = append(addrs, addr("ipv4", lease.String(), 8))
		}
		if ip, n, err := net.ParseCIDR(ipc["ip6"]); err == nil {
			ones, _ := n.Mask.Size()
			addrs = append(addrs, addr("ipv6", ip.String(), ones))
		}
		// link-local address from the MAC (EUI-64), as the kernel assigns it
		ll := net.IP{0xfe, 0x80, 0, 0, 0, 0, 0, 0, hw[0] ^ 2, hw[1], hw[2], 0xff, 0xfe, hw[3], hw[4], hw[5]}
		addrs = append(addrs, addr("ipv6", ll.String(), 64))
		out = append(out, map[string]any{"name": fmt.Sprintf("eth%d", i), "hardware-address": mac,
			"ip-addresses": addrs, "statistics": stats()})
	}
	return out
}

// agentStart is guest-exec: it checks the agent and starts argv in the VM's
// root with input as stdin, returning QGA's pid at once.
func (s *Server) agentStart(node string, vmid int, argv []string, input []byte) (int, error) {
	g, err := s.agentReady(node, vmid)
	if err != nil {
		return 0, err
	}
	if err := s.needRoots(vmid, "exec"); err != nil {
		return 0, err
	}
	if len(argv) == 0 {
		return 0, qgaError(vmid, "exec", "Parameter 'path' is missing")
	}
	if err := guestroot.Supported(); err != nil {
		return 0, qgaError(vmid, "exec", err.Error())
	}
	if err := s.guests.boot(g); err != nil {
		return 0, qgaError(vmid, "exec", err.Error())
	}
	if msg := s.guests.lookPath(g.VMID, argv[0]); msg != "" {
		return 0, qgaError(vmid, "exec", fmt.Sprintf("Guest agent command failed, error was 'Failed to execute child process “%s” (%s)'", argv[0], msg))
	}
	a := s.agent
	a.mu.Lock()
	a.nextPID++
	pid := a.nextPID
	cmd := &agentCmd{done: make(chan struct{})}
	if a.execs[vmid] == nil {
		a.execs[vmid] = map[int]*agentCmd{}
	}
	a.execs[vmid][pid] = cmd
	hang := a.hang[vmid]
	a.mu.Unlock()
	if hang {
		return pid, nil // fault: it never reports an exit
	}
	go func() {
		defer close(cmd.done)
		cmd.res, cmd.err = s.guests.exec(context.Background(), g, guestroot.ExecRequest{
			Argv: argv, Stdin: bytes.NewReader(input), Env: qgaEnv, Dir: "/",
		})
	}()
	return pid, nil
}

// agentStatus is guest-exec-status: (nil, nil) while the command runs; once
// it reported its exit, QGA forgets the pid.
func (s *Server) agentStatus(node string, vmid, pid int) (map[string]any, error) {
	if _, err := s.agentReady(node, vmid); err != nil {
		return nil, err
	}
	a := s.agent
	a.mu.Lock()
	cmd := a.execs[vmid][pid]
	a.mu.Unlock()
	if cmd == nil {
		return nil, qgaError(vmid, "exec-status", "Invalid parameter 'pid'")
	}
	select {
	case <-cmd.done:
	default:
		return map[string]any{"exited": 0}, nil
	}
	a.mu.Lock()
	delete(a.execs[vmid], pid)
	a.mu.Unlock()
	res := cmd.res
	if cmd.err != nil {
		// The command could not run (QGA's child exits 127 after a failed exec).
		res = guestroot.ExecResult{ExitCode: 127, Stderr: []byte(cmd.err.Error() + "\n")}
	}
	out := map[string]any{"exited": 1}
	if res.Signal != 0 {
		out["signal"] = res.Signal
	} else {
		out["exitcode"] = res.ExitCode
	}
	if len(res.Stdout) > 0 {
		out["out-data"] = string(res.Stdout)
	}
	if len(res.Stderr) > 0 {
		out["err-data"] = string(res.Stderr)
	}
	if res.StdoutTruncated {
		out["out-truncated"] = 1
	}
	if res.StderrTruncated {
		out["err-truncated"] = 1
	}
	return out, nil
}

func (s *Server) agentExecAPI(r *request) (any, error) {
	argv := r.params["command"]
	var input []byte
	if r.has("input-data") {
		input = []byte(r.str("input-data"))
	}
	if len(argv) == 0 && !r.has("input-data") {
		return nil, die("command or input-data (or both) required")
	}
	pid, err := s.agentStart(r.vars["node"], r.vmid(), argv, input)
	if err != nil {
		return nil, err
	}
	return map[string]any{"pid": pid}, nil
}

func (s *Server) agentExecStatusAPI(r *request) (any, error) {
	return s.agentStatus(r.vars["node"], r.vmid(), r.integer("pid"))
}

// errnoText renders an OS error as strerror does ("No such file or directory").
func errnoText(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		t := errno.Error()
		return strings.ToUpper(t[:1]) + t[1:]
	}
	return err.Error()
}

func (s *Server) agentFileRead(r *request) (any, error) {
	vmid, file := r.vmid(), r.str("file")
	count, offset := 16<<20, 0
	if r.has("count") {
		count = r.integer("count")
	}
	if r.has("offset") {
		offset = r.integer("offset")
	}
	decode := !r.has("decode") || r.boolean("decode")
	if err := s.agentFileReady(r.vars["node"], vmid); err != nil {
		return nil, err
	}
	data, truncated, err := s.guests.m.ReadFile(vmid, file, offset+count)
	if err != nil {
		return nil, qgaError(vmid, "file-open", fmt.Sprintf("failed to open file '%s' (mode: 'r'): %s", file, errnoText(err)))
	}
	if offset > len(data) {
		offset = len(data)
	}
	data = data[offset:]
	content := string(data)
	if !decode {
		content = base64.StdEncoding.EncodeToString(data)
	}
	out := map[string]any{"content": content, "bytes-read": len(data)}
	if truncated {
		out["truncated"] = 1
	}
	return out, nil
}

// agentFileReady is what guest-file-open needs: a running agent, a guest
// root, and the guest booted.
func (s *Server) agentFileReady(node string, vmid int) error {
	g, err := s.agentReady(node, vmid)
	if err != nil {
		return err
	}
	if err := s.needRoots(vmid, "file-open"); err != nil {
		return err
	}
	if err := s.guests.boot(g); err != nil {
		return qgaError(vmid, "file-open", err.Error())
	}
	return nil
}

func (s *Server) agentFileWrite(r *request) (any, error) {
	vmid, file := r.vmid(), r.str("file")
	data := []byte(r.str("content"))
	if r.has("encode") && !r.boolean("encode") {
		// The caller encoded it; QGA decodes.
		dec, err := base64.StdEncoding.DecodeString(string(data))
		if err != nil {
			if _, err := s.agentReady(r.vars["node"], vmid); err != nil {
				return nil, err
			}
			return nil, qgaError(vmid, "file-write", "Invalid base64 data")
		}
		data = dec
	}
	if err := s.agentFileReady(r.vars["node"], vmid); err != nil {
		return nil, err
	}
	// fopen(path, "wb") under qemu-ga's umask 022: a new file is 0644 root,
	// an existing one keeps mode and owner.
	if err := s.guests.writeFile(vmid, file, data, 0, -1, -1); err != nil {
		return nil, qgaError(vmid, "file-open", fmt.Sprintf("failed to open file '%s' (mode: 'wb'): %s", file, errnoText(err)))
	}
	return nil, nil
}

// agentExecWait runs a command through the agent and waits for it until ctx
// ends (qm guest exec); on timeout it returns Exited=false with the pid.
func (s *Server) agentExecWait(ctx context.Context, node string, vmid int, argv []string, input []byte) (map[string]any, int, error) {
	pid, err := s.agentStart(node, vmid, argv, input)
	if err != nil {
		return nil, 0, err
	}
	a := s.agent
	a.mu.Lock()
	cmd := a.execs[vmid][pid]
	a.mu.Unlock()
	if cmd != nil {
		select {
		case <-cmd.done:
		case <-ctx.Done():
			return nil, pid, nil
		}
	}
	st, err := s.agentStatus(node, vmid, pid)
	return st, pid, err
}

// SetAgentDown makes VM vmid's guest agent never come up (fault): every
// agent call answers "QEMU guest agent is not running".
func (f *Faults) SetAgentDown(vmid int, down bool) {
	a := f.s.agent
	a.mu.Lock()
	defer a.mu.Unlock()
	a.down[vmid] = down
}

// SetAgentExecHang makes commands exec'd through VM vmid's agent from now on
// never exit (fault): exec-status keeps answering exited=0.
func (f *Faults) SetAgentExecHang(vmid int, hang bool) {
	a := f.s.agent
	a.mu.Lock()
	defer a.mu.Unlock()
	a.hang[vmid] = hang
}
