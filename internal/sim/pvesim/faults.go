//go:build linux

package pvesim

import (
	"context"
	"math/rand"
	"sync"
	"time"
)

// FaultRule injects a failure and/or latency into requests matching Method
// and Path (a path template such as "/nodes/{node}/lxc/{vmid}/config"; empty
// matches everything).
type FaultRule struct {
	ID      int     `json:"id"`
	Method  string  `json:"method,omitempty"`
	Path    string  `json:"path,omitempty"`
	Status  int     `json:"status,omitempty"`  // failing status; 0 with no Message = latency only
	Message string  `json:"message,omitempty"` // failure text (default "simulated failure")
	Rate    float64 `json:"rate,omitempty"`    // probability in (0,1]; 0 means every match
	Count   int     `json:"count,omitempty"`   // only the first Count matches; 0 = unlimited
	// Latency is added before the request is handled (JSON: nanoseconds, or
	// use LatencyMS over HTTP).
	Latency   time.Duration `json:"latency,omitempty"`
	LatencyMS int           `json:"latency_ms,omitempty"`
	// After lets the first After matching requests through untouched, so a
	// fault can strike in the middle of a run (an outage after the login).
	After int `json:"after,omitempty"`
	// Drop resets the connection instead of answering: DropBefore before
	// the request is handled (PVE never saw it), DropAfter once the handler
	// ran (it took effect, its answer is lost).
	Drop string `json:"drop,omitempty"`
}

// Drop modes of a FaultRule.
const (
	DropBefore = "before"
	DropAfter  = "after"
)

// TaskFault makes matching worker tasks fail with Message instead of doing
// their work, or with Hang never end until stopped (DELETE .../tasks/{upid}).
// Type is the task type (qmclone, vzcreate...), GuestID the task's id (the
// source for clones); empty matches any. The handler's clean-up runs as
// after any worker failure.
type TaskFault struct {
	ID      int    `json:"id"`
	Type    string `json:"type,omitempty"`
	GuestID string `json:"guest_id,omitempty"`
	Message string `json:"message"`
	Hang    bool   `json:"hang,omitempty"`
	Count   int    `json:"count,omitempty"`
}

// RequestRecord is one handled API request, for benchmarks and schema checks.
type RequestRecord struct {
	Time     time.Time           `json:"time"`
	Method   string              `json:"method"`
	Path     string              `json:"path"`
	Template string              `json:"template"`
	Params   map[string][]string `json:"params"`
	PathVars map[string]string   `json:"path_vars"`
	Status   int                 `json:"status"`
	User     string              `json:"user,omitempty"`
	// Error is PVE's message of a failed request.
	Error string `json:"error,omitempty"`
}

// Faults holds fault injection rules, down nodes, the request log and
// per-endpoint counters. It is middleware state: handlers never consult it.
type Faults struct {
	mu         sync.Mutex
	nextID     int
	rules      []*FaultRule
	taskFaults []*TaskFault
	down       map[string]bool
	downCh     chan struct{} // closed (and replaced) when a node comes back
	requests   []RequestRecord
	counters   map[string]int
	s          *Server
}

func newFaults(s *Server) *Faults {
	return &Faults{down: map[string]bool{}, downCh: make(chan struct{}), counters: map[string]int{}, s: s}
}

// AddFault installs a request fault and returns its id.
func (f *Faults) AddFault(r FaultRule) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextID++
	r.ID = f.nextID
	if r.LatencyMS > 0 && r.Latency == 0 {
		r.Latency = time.Duration(r.LatencyMS) * time.Millisecond
	}
	f.rules = append(f.rules, &r)
	return r.ID
}

// AddTaskFailure installs a task fault and returns its id.
func (f *Faults) AddTaskFailure(t TaskFault) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextID++
	t.ID = f.nextID
	f.taskFaults = append(f.taskFaults, &t)
	return t.ID
}

// Clear removes every fault (agent faults too) and brings all nodes back.
func (f *Faults) Clear() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rules, f.taskFaults = nil, nil
	f.s.agent.clearFaults()
	if len(f.down) > 0 {
		f.down = map[string]bool{}
		close(f.downCh)
		f.downCh = make(chan struct{})
	}
}

// SetNodeDown makes requests addressed to node hang (a node that stops
// answering) and shows it offline in /nodes and /cluster/status.
func (f *Faults) SetNodeDown(node string, down bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if down {
		f.down[node] = true
		return
	}
	if f.down[node] {
		delete(f.down, node)
		close(f.downCh)
		f.downCh = make(chan struct{})
	}
}

// NodeDown reports whether node was set down.
func (f *Faults) NodeDown(node string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.down[node]
}

// HoldLock holds the flock at path (see GuestLockPath/StorageLockPath) for d,
// in the background; it returns once the lock is held.
func (f *Faults) HoldLock(path string, d time.Duration) error {
	release, err := f.s.locks.acquire(context.Background(), path, f.s.opts.LockTimeout)
	if err != nil {
		return err
	}
	time.AfterFunc(d, release)
	return nil
}

// HoldLockUntil holds the flock at path until release is called (or the
// simulator closes); it returns once the lock is held.
func (f *Faults) HoldLockUntil(path string) (release func(), err error) {
	return f.s.locks.acquire(context.Background(), path, f.s.opts.LockTimeout)
}

// GuestLockPath is the flock path of a guest ("lxc" or "qemu").
func GuestLockPath(kind string, vmid int) string { return guestLockPath(kind, vmid) }

// StorageLockPath is the flock path of a storage.
func StorageLockPath(id string) string { return storageLockPath(id) }

// Requests returns the request log.
func (f *Faults) Requests() []RequestRecord {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]RequestRecord(nil), f.requests...)
}

// Counters returns request counts keyed by "METHOD /path/{template}".
func (f *Faults) Counters() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[string]int, len(f.counters))
	for k, v := range f.counters {
		out[k] = v
	}
	return out
}

// ResetStats clears the request log and counters.
func (f *Faults) ResetStats() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests, f.counters = nil, map[string]int{}
}

func (f *Faults) record(r RequestRecord) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, r)
	f.counters[r.Method+" "+r.Template]++
}

// faultHit is what the matching rules do to a request.
type faultHit struct {
	latency time.Duration
	err     error  // the failing answer, nil for none
	drop    string // DropBefore, DropAfter or ""
}

// match returns what the rules do to a request.
func (f *Faults) match(method, tmpl string) faultHit {
	f.mu.Lock()
	defer f.mu.Unlock()
	var latency time.Duration
	for _, r := range f.rules {
		if (r.Method != "" && r.Method != method) || (r.Path != "" && r.Path != tmpl) {
			continue
		}
		if r.Rate > 0 && rand.Float64() >= r.Rate {
			continue
		}
		if r.Count < 0 {
			continue
		}
		if r.After > 0 {
			r.After--
			continue
		}
		if r.Count > 0 {
			r.Count--
			if r.Count == 0 {
				r.Count = -1 // used up
			}
		}
		latency += r.Latency
		if r.Drop != "" {
			return faultHit{latency: latency, drop: r.Drop}
		}
		if r.Status != 0 || r.Message != "" {
			status, msg := r.Status, r.Message
			if status == 0 {
				status = 500
			}
			if msg == "" {
				msg = "simulated failure"
			}
			return faultHit{latency: latency, err: &apiError{Status: status, Msg: msg}}
		}
	}
	return faultHit{latency: latency}
}

// waitNodeUp blocks while node is down; false means ctx ended first.
func (f *Faults) waitNodeUp(ctx context.Context, node string) bool {
	for {
		f.mu.Lock()
		down, ch := f.down[node], f.downCh
		f.mu.Unlock()
		if !down {
			return true
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return false
		}
	}
}

func (f *Faults) taskFailure(typ, id string) (TaskFault, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, t := range f.taskFaults {
		if (t.Type != "" && t.Type != typ) || (t.GuestID != "" && t.GuestID != id) || t.Count < 0 {
			continue
		}
		if t.Count > 0 {
			t.Count--
			if t.Count == 0 {
				t.Count = -1
			}
		}
		return *t, true
	}
	return TaskFault{}, false
}
