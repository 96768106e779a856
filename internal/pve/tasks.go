package pve

import (
	"context"
	"fmt"
	"net/url"
	"strings"
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

// nodeOfUPID extracts the node from UPID:node:...
func nodeOfUPID(upid string) string {
	parts := strings.Split(upid, ":")
	if len(parts) > 2 && parts[0] == "UPID" {
		return parts[1]
	}
	return ""
}

// Backoff is the polling schedule: it starts fast so short tasks return
// quickly and grows to a ceiling so long ones cost few requests.
type Backoff struct {
	Initial, Max time.Duration
}

var defaultBackoff = Backoff{Initial: 50 * time.Millisecond, Max: 2 * time.Second}

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

func wait(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// WaitTask polls a task until it stops. Success is exit status OK or
// WARNINGS: N, as PVE's own clients count it. Transient polling errors are
// retried until ctx ends.
func (c *Client) WaitTask(ctx context.Context, upid string) error {
	if upid == "" {
		return nil
	}
	node := nodeOfUPID(upid)
	path := fmt.Sprintf("/nodes/%s/tasks/%s/status", node, url.PathEscape(upid))
	var delay time.Duration
	for {
		var st taskStatus
		err := c.get(ctx, path, &st)
		switch {
		case err != nil && !IsTransient(err):
			return err
		case err == nil && st.Status == "stopped":
			if st.ExitStatus == "OK" || strings.HasPrefix(st.ExitStatus, "WARNINGS") {
				return nil
			}
			return &TaskError{UPID: upid, ExitStatus: st.ExitStatus, LogTail: c.taskLogTail(ctx, node, upid)}
		}
		delay = defaultBackoff.Next(delay)
		if err := wait(ctx, delay); err != nil {
			return fmt.Errorf("waiting for task %s: %w", upid, err)
		}
	}
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

// retry runs op until it succeeds, fails for good, or ctx ends. Only
// transient errors (network, 5xx gateway, lock timeouts) are retried.
func retry(ctx context.Context, op func() error) error {
	var delay time.Duration
	for {
		err := op()
		if err == nil || !IsTransient(err) {
			return err
		}
		delay = Backoff{Initial: 200 * time.Millisecond, Max: 5 * time.Second}.Next(delay)
		if werr := wait(ctx, delay); werr != nil {
			return fmt.Errorf("%w (gave up: %v)", err, werr)
		}
	}
}
