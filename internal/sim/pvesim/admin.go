//go:build linux

package pvesim

import (
	"fmt"
	"time"
)

// What an administrator does beside the API, for tests and benchmarks:
// revoke the API token, edit a guest's config file on the node; and what
// the benchmarks measure: when a task really started and ended.

// RealisticTaskDurations are task times of a real host (a 20 s full clone,
// a 10 s create from a template archive, a 3 s start, a 2 s snapshot), for
// Options.TaskDurations; TaskScale shrinks them for a benchmark.
var RealisticTaskDurations = map[string]time.Duration{
	"vzclone": 20 * time.Second, "qmclone": 20 * time.Second,
	"vzcreate": 10 * time.Second, "qmcreate": 10 * time.Second,
	"vzstart": 3 * time.Second, "qmstart": 3 * time.Second,
	"vzsnapshot": 2 * time.Second, "qmsnapshot": 2 * time.Second,
}

// taskDuration is how long a task of type typ runs.
func (s *Server) taskDuration(typ string) time.Duration {
	d := s.opts.TaskDuration
	if v, ok := s.opts.TaskDurations[typ]; ok {
		d = v
	}
	if s.opts.TaskScale > 0 {
		d = time.Duration(float64(d) * s.opts.TaskScale)
	}
	return d
}

// RevokeToken deletes the API token (pveum user token remove): requests
// carrying it are refused from now on.
func (s *Server) RevokeToken() {
	s.auth.mu.Lock()
	defer s.auth.mu.Unlock()
	s.auth.tokenSecret = ""
}

// TicketValid reports whether a login ticket is still accepted.
func (s *Server) TicketValid(ticket string) bool {
	s.auth.mu.Lock()
	defer s.auth.mu.Unlock()
	ti, ok := s.auth.tickets[ticket]
	return ok && time.Now().Before(ti.expires)
}

func (a *authenticator) secret() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.tokenSecret
}

// EditConfFile rewrites guest vmid's config file as an editor on the node
// would (/etc/pve/nodes/N/lxc/ID.conf): edit gets the file's text and
// returns the new one, which PVE's parser then reads (raw lxc.* lines, the
// pending section, snapshots).
func (s *Server) EditConfFile(vmid int, edit func(text string) string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.st.Guests[vmid]
	if g == nil {
		return fmt.Errorf("no guest %d", vmid)
	}
	if err := setConfText(g, edit(confText(g))); err != nil {
		return err
	}
	go s.persist()
	return nil
}

// TaskTimes are when the task upid started and stopped (end is zero while
// it runs), to the nanosecond, for measuring how late clients notice.
func (s *Server) TaskTimes(upid string) (start, end time.Time, ok bool) {
	t := s.tasks.get(upid)
	if t == nil {
		return time.Time{}, time.Time{}, false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.started, t.ended, true
}
