package pve

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"
)

// TaskError is a PVE task that ended with an error exit status.
type TaskError struct {
	UPID       string
	ExitStatus string
	LogTail    []string
}

func (e *TaskError) Error() string {
	msg := "task " + e.UPID + " failed: " + e.ExitStatus
	if len(e.LogTail) > 0 {
		msg += "\n" + strings.Join(e.LogTail, "\n")
	}
	return msg
}

type taskStatus struct {
	Status     string `json:"status"`
	ExitStatus string `json:"exitstatus"`
}

// UPID is a parsed task ID: UPID:node:pid:pstart:starttime:type:id:user:.
type UPID struct {
	Node, Type, ID, User string
}

// ParseUPID splits a task ID (pve-common's UPID.pm format).
func ParseUPID(upid string) (UPID, bool) {
	parts := strings.Split(upid, ":")
	if len(parts) < 8 || parts[0] != "UPID" {
		return UPID{}, false
	}
	return UPID{Node: parts[1], Type: parts[5], ID: parts[6], User: parts[7]}, true
}

// Backoff is a polling schedule that starts fast and grows to a ceiling.
type Backoff struct {
	Initial, Max time.Duration
}

// Next is the delay after d (0 for the first).
func (b Backoff) Next(d time.Duration) time.Duration {
	if d == 0 {
		return b.Initial
	}
	d = d * 3 / 2
	if d > b.Max {
		d = b.Max
	}
	return d
}

// Task polling is adaptive: the next poll comes a fixed fraction of the
// time already waited later, so the time between a task's end and the
// provider noticing stays under that fraction of the task's duration
// whatever the duration, with a number of polls that grows with the
// logarithm of the duration instead of linearly. Durations known per node
// and task type, from PVE's task history (read once per node and type when
// a task outlasts the first look) and from the client's own waits, tell it
// when to look next: a clone like the recent ones is looked at once at
// the start (a task failing at once) and then shortly before the fastest
// of them would end.
const (
	pollFraction = 0.08
	pollMin      = 10 * time.Millisecond
	pollMax      = 5 * time.Second
	// pollLead is how close to the expected end the first late look comes.
	pollLead = 0.9
)

// taskClock remembers, per node and task type, the least time recent tasks
// were still running after: a lower bound of how long such a task takes.
type taskClock struct {
	mu   sync.Mutex
	seen map[string][]time.Duration
	// asked are the node/type pairs whose PVE task history was read.
	asked map[string]bool
}

func newTaskClock() *taskClock {
	return &taskClock{seen: map[string][]time.Duration{}, asked: map[string]bool{}}
}

const taskClockKeep = 8

func (tc *taskClock) expect(key string) time.Duration {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	var least time.Duration
	for i, d := range tc.seen[key] {
		if i == 0 || d < least {
			least = d
		}
	}
	return least
}

// ask reports whether key's history is still to be read, marking it read.
func (tc *taskClock) ask(key string) bool {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	if tc.asked[key] {
		return false
	}
	tc.asked[key] = true
	return true
}

func (tc *taskClock) record(key string, runningAt time.Duration) {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	s := append(tc.seen[key], runningAt)
	if len(s) > taskClockKeep {
		s = s[len(s)-taskClockKeep:]
	}
	tc.seen[key] = s
}

// nextPoll is the delay before the next look at a task waited on for
// elapsed (polls so far), expecting it to run at least expect: the first
// look comes at once (a task failing at once), the next shortly before the
// expected end, then each a fraction of the elapsed time later.
func nextPoll(elapsed, expect time.Duration, polls int) time.Duration {
	if polls == 0 {
		return pollMin
	}
	d := min(max(time.Duration(float64(elapsed)*pollFraction), pollMin), pollMax)
	if lead := time.Duration(float64(expect) * pollLead); expect > 0 && elapsed+d < lead {
		return lead - elapsed
	}
	return d
}

// WaitTask polls a task until it stops. Success is exit status OK or
// WARNINGS: N, as PVE's own clients count it. Failed polls are retried as
// any read is; the wait ends with ctx.
func (c *Client) WaitTask(ctx context.Context, upid string) error {
	if upid == "" {
		return nil
	}
	u, _ := ParseUPID(upid)
	path := fmt.Sprintf("/nodes/%s/tasks/%s/status", u.Node, url.PathEscape(upid))
	key := u.Node + "/" + u.Type
	expect := c.tasks.expect(key)
	start := time.Now()
	var runningAt time.Duration
	defer c.cache.invalidate() // the task changed what the listing shows
	for polls := 0; ; polls++ {
		if err := wait(ctx, nextPoll(time.Since(start), expect, polls)); err != nil {
			return fmt.Errorf("waiting for task %s: %w", upid, err)
		}
		at := time.Since(start)
		var st taskStatus
		c.stats.taskPolls.Add(1)
		if err := c.get(ctx, path, &st); err != nil {
			return err
		}
		if st.Status != "stopped" {
			runningAt = at
			if expect == 0 && c.tasks.ask(key) {
				expect = c.taskHistory(ctx, u)
			}
			continue
		}
		if runningAt > 0 {
			c.tasks.record(key, runningAt)
		}
		if st.ExitStatus == "OK" || strings.HasPrefix(st.ExitStatus, "WARNINGS") {
			return nil
		}
		return &TaskError{UPID: upid, ExitStatus: st.ExitStatus, LogTail: c.taskLogTail(ctx, u.Node, upid)}
	}
}

// taskHistory learns how long tasks of u's type took on its node from PVE's
// task list (whole seconds, so only tasks of 2 s and more teach anything):
// one request instead of dozens of polls for each long task.
func (c *Client) taskHistory(ctx context.Context, u UPID) time.Duration {
	key := u.Node + "/" + u.Type
	var list []struct {
		StartTime int64  `json:"starttime"`
		EndTime   int64  `json:"endtime"`
		Status    string `json:"status"`
	}
	path := fmt.Sprintf("/nodes/%s/tasks?typefilter=%s&limit=20", url.PathEscape(u.Node), url.QueryEscape(u.Type))
	if err := c.get(ctx, path, &list); err != nil {
		return 0
	}
	for _, t := range list {
		// Whole seconds: a task listed as N s ran for more than N-1 s.
		if t.Status == "OK" && t.EndTime-t.StartTime >= 2 {
			c.tasks.record(key, time.Duration(t.EndTime-t.StartTime-1)*time.Second)
		}
	}
	return c.tasks.expect(key)
}

func (c *Client) taskLogTail(ctx context.Context, node, upid string) []string {
	var lines []struct {
		N int    `json:"n"`
		T string `json:"t"`
	}
	path := fmt.Sprintf("/nodes/%s/tasks/%s/log?start=0&limit=500", node, url.PathEscape(upid))
	if err := c.get(ctx, path, &lines); err != nil {
		return nil
	}
	var out []string
	for _, l := range lines {
		out = append(out, l.T)
	}
	if len(out) > 10 {
		out = out[len(out)-10:]
	}
	return out
}
