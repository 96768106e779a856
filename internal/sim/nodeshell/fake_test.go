package nodeshell

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// fakeCluster is an in-memory cluster. It never runs processes: guest
// commands are interpreted from a tiny scripted set (echo, cat, fail), and
// node-sandbox commands call the test's nodeFn.
type fakeCluster struct {
	mu       sync.Mutex
	roots    map[string]string
	guests   map[int]*fakeGuest
	execs    [][]string
	execEnv  [][]string
	setTexts []string
	setOpts  []map[string]string
	setDel   [][]string
	nodeRuns []ExecRequest
	nodeFn   func(ctx context.Context, root string, req ExecRequest) (ExecResult, error)
	setErr   error
	creates  []map[string]string
}

type fakeGuest struct {
	info  GuestInfo
	conf  string
	files map[string]fakeFile
	snaps []SnapshotInfo
}

type fakeFile struct {
	data     []byte
	perm     os.FileMode
	uid, gid int
}

func newFake(t *testing.T, nodes ...string) *fakeCluster {
	f := &fakeCluster{roots: map[string]string{}, guests: map[int]*fakeGuest{}}
	for _, n := range nodes {
		f.roots[n] = t.TempDir()
	}
	return f
}

func (f *fakeCluster) add(id int, node, kind, status, conf string) *fakeGuest {
	g := &fakeGuest{info: GuestInfo{ID: id, Node: node, Kind: kind, Status: status}, conf: conf, files: map[string]fakeFile{}}
	f.mu.Lock()
	f.guests[id] = g
	f.mu.Unlock()
	return g
}

func (f *fakeCluster) NodeRoot(node string) (string, error) {
	if r, ok := f.roots[node]; ok {
		return r, nil
	}
	return "", fmt.Errorf("no node %s", node)
}

func (f *fakeCluster) RunInNode(ctx context.Context, node string, req ExecRequest) (ExecResult, error) {
	f.mu.Lock()
	f.nodeRuns = append(f.nodeRuns, req)
	fn := f.nodeFn
	f.mu.Unlock()
	if fn == nil {
		return ExecResult{}, errors.New("no sandbox in this test")
	}
	return fn(ctx, f.roots[node], req)
}

func (f *fakeCluster) Guest(id int) (GuestInfo, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	g, ok := f.guests[id]
	if !ok {
		return GuestInfo{}, false
	}
	return g.info, true
}

func (f *fakeCluster) Guests() []GuestInfo {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []GuestInfo
	for _, g := range f.guests {
		out = append(out, g.info)
	}
	return out
}

// ExecInGuest interprets: echo ARGS; cat [FILE] (stdin without FILE);
// fail CODE STDOUT STDERR. Anything else exits 127 like a missing command.
func (f *fakeCluster) ExecInGuest(ctx context.Context, id int, req ExecRequest) (ExecResult, error) {
	f.mu.Lock()
	f.execs = append(f.execs, append([]string(nil), req.Argv...))
	f.execEnv = append(f.execEnv, req.Env)
	g := f.guests[id]
	f.mu.Unlock()
	var res ExecResult
	switch req.Argv[0] {
	case "echo":
		res.Stdout = []byte(strings.Join(req.Argv[1:], " ") + "\n")
	case "cat":
		if len(req.Argv) == 1 {
			res.Stdout, _ = io.ReadAll(req.Stdin)
			break
		}
		f.mu.Lock()
		file, ok := g.files[req.Argv[1]]
		f.mu.Unlock()
		if !ok {
			res.Stderr = []byte("cat: " + req.Argv[1] + ": No such file or directory\n")
			res.ExitCode = 1
		}
		res.Stdout = file.data
	case "fail":
		_, _ = fmt.Sscan(req.Argv[1], &res.ExitCode)
		res.Stdout, res.Stderr = []byte(req.Argv[2]), []byte(req.Argv[3])
	default:
		res.Stderr = []byte("exec: " + req.Argv[0] + ": not found\n")
		res.ExitCode = 127
	}
	return res, nil
}

func (f *fakeCluster) PushFile(id int, dst string, data []byte, perm os.FileMode, uid, gid int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if strings.HasPrefix(dst, "/nonexistent/") {
		return &os.PathError{Op: "open", Path: dst, Err: errNoent}
	}
	f.guests[id].files[dst] = fakeFile{data: append([]byte(nil), data...), perm: perm, uid: uid, gid: gid}
	return nil
}

func (f *fakeCluster) PullFile(id int, src string) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	file, ok := f.guests[id].files[src]
	if !ok {
		return nil, &os.PathError{Op: "open", Path: src, Err: errNoent}
	}
	return file.data, nil
}

func (f *fakeCluster) ConfigText(id int) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.guests[id].conf, nil
}

func (f *fakeCluster) SetConfigText(id int, text string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.setTexts = append(f.setTexts, text)
	f.guests[id].conf = text
	return nil
}

type fakeParamErr map[string]string

func (e fakeParamErr) Error() string             { return "Parameter verification failed." }
func (e fakeParamErr) Params() map[string]string { return e }

func (f *fakeCluster) SetOptions(id int, opts map[string]string, del []string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.setErr != nil {
		return f.setErr
	}
	f.setOpts = append(f.setOpts, opts)
	f.setDel = append(f.setDel, del)
	return nil
}

// CreateContainer records the parameters and adds a stopped container
// (setErr, when set, is the error instead).
func (f *fakeCluster) CreateContainer(node string, params map[string]string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.setErr != nil {
		return f.setErr
	}
	id, err := strconv.Atoi(params["vmid"])
	if err != nil {
		return err
	}
	f.creates = append(f.creates, params)
	f.guests[id] = &fakeGuest{info: GuestInfo{ID: id, Node: node, Kind: "lxc", Status: "stopped", Name: params["hostname"]},
		files: map[string]fakeFile{}}
	return nil
}

func (f *fakeCluster) Snapshot(id int, name, description string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	g := f.guests[id]
	parent := ""
	if n := len(g.snaps); n > 0 {
		parent = g.snaps[n-1].Name
	}
	g.snaps = append(g.snaps, SnapshotInfo{Name: name, Description: description, Parent: parent, SnapTime: int64(1700000000 + 60*len(g.snaps))})
	return nil
}

func (f *fakeCluster) ListSnapshots(id int) ([]SnapshotInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	g := f.guests[id]
	out := append([]SnapshotInfo(nil), g.snaps...)
	parent := ""
	if n := len(g.snaps); n > 0 {
		parent = g.snaps[n-1].Name
	}
	return append(out, SnapshotInfo{Name: "current", Description: "You are here!", Parent: parent}), nil
}

func (f *fakeCluster) Start(id int) error { return f.power(id, "running", "CT %d already running") }
func (f *fakeCluster) Stop(id int) error  { return f.power(id, "stopped", "CT %d not running") }

func (f *fakeCluster) power(id int, to, msg string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	g := f.guests[id]
	if g.info.Status == to {
		return fmt.Errorf(msg+"\n", id)
	}
	g.info.Status = to
	return nil
}

// AgentExec interprets the same scripted commands; "sleep" never exits
// before ctx ends (returned as not exited, like QGA).
func (f *fakeCluster) AgentExec(ctx context.Context, id int, argv []string, stdin []byte) (AgentExecResult, error) {
	f.mu.Lock()
	g := f.guests[id]
	f.mu.Unlock()
	if !strings.Contains(g.conf, "agent: 1") {
		return AgentExecResult{}, errors.New("No QEMU guest agent configured\n")
	}
	if len(argv) > 0 && argv[0] == "sleep" {
		<-ctx.Done()
		return AgentExecResult{Pid: 4242}, nil
	}
	req := ExecRequest{Argv: argv, Stdin: bytes.NewReader(stdin)}
	if len(argv) == 0 {
		req.Argv = []string{"cat"}
	}
	r, _ := f.ExecInGuest(ctx, id, req)
	return AgentExecResult{Pid: 4242, Exited: true, ExitCode: r.ExitCode, OutData: string(r.Stdout), ErrData: string(r.Stderr)}, nil
}

// writeNodeFile puts a file into a node root (as if a session had made it).
func writeNodeFile(t *testing.T, root, rel string, data string) {
	t.Helper()
	p := filepath.Join(root, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}
