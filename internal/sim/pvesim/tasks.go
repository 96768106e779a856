//go:build linux

package pvesim

import (
	"context"
	"fmt"
	"math/rand"
	"sort"
	"strings"
	"sync"
	"time"
)

// Task is one PVE worker task.
type Task struct {
	UPID      string
	Node      string
	Type      string
	ID        string
	User      string
	PID       int
	PStart    int
	StartTime int64

	mu         sync.Mutex
	started    time.Time
	ended      time.Time
	endTime    int64
	running    bool
	exitStatus string
	log        []string
	cancel     context.CancelFunc
	done       chan struct{}
}

// taskSpec describes work for the engine: handlers say what to do, the engine
// owns timing, file locks, logs and exit status.
type taskSpec struct {
	Node, Type, ID, User string
	// Locks are flock paths held for the task's whole run (taken first, with
	// the lock timeout, as PVE workers do).
	Locks []string
	// Prepare runs once the locks are held, before the simulated duration
	// (e.g. to set a config lock that is visible while the task runs).
	Prepare func(t *Task) error
	// Work runs after the simulated duration; its error becomes the exit status.
	Work func(ctx context.Context, t *Task) error
	// OnFail runs when the task fails for any reason (lock timeout, injected
	// fault, interrupt, Work's error) without holding s.mu: it undoes what
	// the request reserved before the task (a placeholder config, a source
	// lock), as PVE's workers do, and returns the exit status to report.
	OnFail func(err error) error
}

type taskEngine struct {
	mu     sync.Mutex
	tasks  map[string]*Task
	order  []*Task
	pid    int
	pstart int
	s      *Server
}

func newTaskEngine(s *Server) *taskEngine {
	return &taskEngine{tasks: map[string]*Task{}, pid: 1000 + rand.Intn(50000), pstart: 100000 + rand.Intn(900000), s: s}
}

// Logf appends a line to the task log.
func (t *Task) Logf(format string, args ...any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.log = append(t.log, fmt.Sprintf(format, args...))
}

// Done is closed when the task has stopped.
func (t *Task) Done() <-chan struct{} { return t.done }

// ExitStatus is "" while running, then "OK" or the error text.
func (t *Task) ExitStatus() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.exitStatus
}

func (e *taskEngine) start(spec taskSpec) *Task {
	e.mu.Lock()
	e.pid++
	started := time.Now()
	now := started.Unix()
	t := &Task{Node: spec.Node, Type: spec.Type, ID: spec.ID, User: spec.User, PID: e.pid, PStart: e.pstart,
		StartTime: now, started: started, running: true, done: make(chan struct{})}
	// UPID:node:pid:pstart:starttime:type:id:user: (pve-common UPID.pm)
	t.UPID = fmt.Sprintf("UPID:%s:%08X:%08X:%08X:%s:%s:%s:", t.Node, t.PID, t.PStart, now, t.Type, t.ID, t.User)
	e.tasks[t.UPID] = t
	e.order = append(e.order, t)
	e.mu.Unlock()

	ctx, cancel := context.WithCancel(context.Background())
	t.cancel = cancel
	go e.run(ctx, t, spec)
	return t
}

func (e *taskEngine) run(ctx context.Context, t *Task, spec taskSpec) {
	defer t.cancel()
	// A task fault is claimed when the task starts, so a task stopped early
	// uses up its fault as deterministically as one that reached it.
	fault, failing := e.s.faults.taskFailure(t.Type, t.ID)
	err := func() error {
		release, err := e.s.locks.acquireAll(ctx, spec.Locks, e.s.opts.LockTimeout)
		if err != nil {
			return err
		}
		defer release()
		if spec.Prepare != nil {
			if err := spec.Prepare(t); err != nil {
				return err
			}
		}
		if d := e.s.taskDuration(t.Type); d > 0 {
			timer := time.NewTimer(d)
			select {
			case <-timer.C:
			case <-ctx.Done():
				timer.Stop()
				return fmt.Errorf("received interrupt")
			}
		}
		if f, fail := fault, failing; fail {
			if f.Hang {
				<-ctx.Done() // a task that never ends until stopped
				return fmt.Errorf("received interrupt")
			}
			return fmt.Errorf("%s", f.Message)
		}
		if spec.Work == nil {
			return nil
		}
		return spec.Work(ctx, t)
	}()
	if err != nil && spec.OnFail != nil {
		err = spec.OnFail(err)
	}
	t.mu.Lock()
	if err != nil {
		msg := strings.TrimRight(err.Error(), "\n")
		t.exitStatus = msg
		t.log = append(t.log, "TASK ERROR: "+msg)
	} else {
		t.exitStatus = "OK"
		t.log = append(t.log, "TASK OK")
	}
	t.running = false
	t.ended = time.Now()
	t.endTime = t.ended.Unix()
	t.mu.Unlock()
	close(t.done)
	e.s.persist()
}

func (e *taskEngine) get(upid string) *Task {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.tasks[upid]
}

func (e *taskEngine) all() []*Task {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := append([]*Task(nil), e.order...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].StartTime > out[j].StartTime })
	return out
}

// wait blocks until every task has stopped (used by Close).
func (e *taskEngine) wait(timeout time.Duration) {
	deadline := time.After(timeout)
	for _, t := range e.all() {
		select {
		case <-t.done:
		case <-deadline:
			return
		}
	}
}

// status is the GET .../tasks/{upid}/status object.
func (t *Task) status() map[string]any {
	t.mu.Lock()
	defer t.mu.Unlock()
	m := map[string]any{"upid": t.UPID, "node": t.Node, "pid": t.PID, "pstart": t.PStart,
		"starttime": t.StartTime, "type": t.Type, "id": t.ID, "user": t.User, "status": "running"}
	if !t.running {
		m["status"] = "stopped"
		m["exitstatus"] = t.exitStatus
	}
	return m
}

// listEntry is one element of GET /nodes/{node}/tasks: a token's task is
// listed under its user with the token's name (Tasks.pm convert_token_task).
func (t *Task) listEntry() map[string]any {
	t.mu.Lock()
	defer t.mu.Unlock()
	m := map[string]any{"upid": t.UPID, "node": t.Node, "pid": t.PID, "pstart": t.PStart,
		"starttime": t.StartTime, "type": t.Type, "id": t.ID, "user": t.User}
	if user, token, ok := strings.Cut(t.User, "!"); ok {
		m["user"], m["tokenid"] = user, token
	}
	if !t.running {
		m["status"] = t.exitStatus
		m["endtime"] = t.endTime
	}
	return m
}

func (t *Task) logLines() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]string(nil), t.log...)
}
