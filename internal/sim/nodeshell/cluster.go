// Package nodeshell is the simulator's SSH side: a root shell on each
// simulated PVE node whose `pct`, `qm` and `pvesm` commands call the same
// operations the API handlers call (through Cluster and, for pvesm and
// `qm disk import`, StorageCluster), and the sftp subsystem on the node's
// root filesystem.
//
// Layout:
//   - One SSH listener per node (Config.Nodes); the listen address chooses
//     the node, exactly as a client reaches a real node by its own address.
//     All listeners share the cluster's host key.
//   - A command line that is a plain `pct ...` / `qm ...` / `pvesm ...`
//     invocation (no shell syntax outside quotes) runs directly in Go (fast
//     path).
//   - Anything else runs as `/bin/bash -c LINE` in the node sandbox
//     (Cluster.RunInNode). There, `pct`/`qm`/`pvesm` are a tiny client (ClientMain)
//     that forwards argv, cwd and stdio over a per-session unix socket
//     bind-mounted at SocketDir; the server runs the tool and sends the exit
//     code back.
//   - /etc/pve inside the sandbox holds every guest's conf file. Files are
//     synced back (Cluster.SetConfigText) and re-rendered before and after
//     every sandbox command and every socket call, so `cat >> 950.conf`
//     followed by `pct config 950` in one script sees the raw lxc lines.
package nodeshell

import (
	"context"
	"io"
	"os"
	"time"
)

// Cluster is what the simulator implements for the node shell. Errors are
// printed verbatim (plus a newline when missing) as the PVE CLI prints its
// die messages; an error that also implements ParamError is printed as a
// "400 Parameter verification failed." block with the command's usage.
//
// Refinements of the brief's draft, and why:
//   - Guest takes only the id and Guests lists all guests: the CLI decides the
//     "Configuration file 'nodes/N/lxc/ID.conf' does not exist" text itself,
//     because the text depends on which tool (pct/qm) and node asked.
//   - Guests exists so /etc/pve/nodes/*/{lxc,qemu-server} can be rendered.
//   - PushFile takes -1 uid/gid and 0 perm for "PVE default" (new file
//     0644 root:root, existing file keeps its mode/owner), as pct push does.
type Cluster interface {
	// NodeRoot is the host directory of the node's sandbox root (bash and
	// busybox inside). /etc/pve below it is managed by this package.
	NodeRoot(node string) (string, error)
	// RunInNode runs req isolated in the node sandbox, with req.Binds mounted.
	RunInNode(ctx context.Context, node string, req ExecRequest) (ExecResult, error)

	// Guest returns a guest by id, wherever it lives; ok is false when no
	// guest has this id.
	Guest(id int) (info GuestInfo, ok bool)
	// Guests lists every guest of the cluster.
	Guests() []GuestInfo

	// ExecInGuest runs req.Argv inside a container's root (pct exec).
	// req.Dir is the caller's cwd on the node; like lxc-attach, fall back
	// to "/" when it does not exist in the container. req.Env is the full
	// environment lxc-attach would pass (--keep-env or --clear-env).
	ExecInGuest(ctx context.Context, id int, req ExecRequest) (ExecResult, error)
	// PushFile writes dst (absolute, inside the container). perm 0 and
	// uid/gid -1 mean PVE's defaults (see above).
	PushFile(id int, dst string, data []byte, perm os.FileMode, uid, gid int) error
	// PullFile reads src (absolute, inside the container).
	PullFile(id int, src string) ([]byte, error)

	// ConfigText is the conf file exactly as /etc/pve shows it (description
	// as '#' lines, sorted keys, raw lxc.* lines, [pve:pending] and
	// [snapshot] sections).
	ConfigText(id int) (string, error)
	// SetConfigText parses an edited conf file back; raw lxc.* lines take
	// effect. Called only when the file's bytes changed.
	SetConfigText(id int, text string) error
	// SetOptions is `pct set` (PUT config): values as typed, del from -delete.
	SetOptions(id int, opts map[string]string, del []string) error
	// CreateContainer is `pct create` on node: POST /nodes/{node}/lxc as
	// root@pam with the parameters as the CLI parsed them (vmid and
	// ostemplate included), waiting for the worker; its failure is the error.
	CreateContainer(node string, params map[string]string) error
	Snapshot(id int, name, description string) error
	// ListSnapshots returns the API's snapshot list, including the
	// "current" entry ("You are here!") whose Parent is the latest snapshot.
	ListSnapshots(id int) ([]SnapshotInfo, error)
	Start(id int) error
	Stop(id int) error
	// AgentExec is the guest agent's exec + exec-status. When ctx ends before
	// the command exits, return Exited=false with the Pid (as QGA does).
	// Errors carry PVE's texts ("No QEMU guest agent configured", ...).
	AgentExec(ctx context.Context, id int, argv []string, stdin []byte) (AgentExecResult, error)
}

// ParamError is implemented by errors that are PVE parameter verification
// failures (HTTP 400): Params maps each bad parameter to its message.
type ParamError interface {
	error
	Params() map[string]string
}

// GuestInfo describes one guest.
type GuestInfo struct {
	ID     int
	Node   string
	Kind   string // "lxc" or "qemu"
	Status string // "running", "stopped" (qm: QMP status such as "paused")
	Name   string
	Lock   string // the config's lock ("create", "backup", ...); "" when unlocked
}

// Bind mounts Source (host path, file or directory) at Target inside a root.
type Bind struct {
	Source, Target string
	ReadOnly       bool
}

// ExecRequest mirrors internal/sim/guestroot's request so the simulator can pass
// it through. Stdout/Stderr, when set, receive output as it arrives (the
// result's byte slices then stay empty); otherwise output is buffered.
type ExecRequest struct {
	Argv      []string
	Stdin     io.Reader
	Stdout    io.Writer
	Stderr    io.Writer
	Env       []string
	Dir       string
	Timeout   time.Duration
	MaxOutput int
	Binds     []Bind
}

// ExecResult mirrors internal/sim/guestroot's result.
type ExecResult struct {
	ExitCode        int
	Signal          int
	Stdout, Stderr  []byte
	StdoutTruncated bool
	StderrTruncated bool
	TimedOut        bool
}

// SnapshotInfo is one entry of the API's snapshot list.
type SnapshotInfo struct {
	Name        string
	Description string
	Parent      string
	SnapTime    int64 // unix seconds; 0 for "current"
}

// AgentExecResult is QGA's exec-status after PVE decoded it.
type AgentExecResult struct {
	Pid          int
	Exited       bool
	ExitCode     int
	Signal       int // non-zero when killed by a signal
	OutData      string
	ErrData      string
	OutTruncated bool
	ErrTruncated bool
}
