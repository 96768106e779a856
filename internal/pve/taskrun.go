package pve

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// taskOp is a request that starts a PVE worker task, with what it takes to
// finish it safely when the answer (the task ID) is lost.
type taskOp struct {
	method, path string
	body         map[string]string
	// node, typ and id locate the task in the node's task list: a clone's
	// task carries the source's ID.
	node, typ string
	id        int
	// newGuest is the guest a create or clone makes: after a lost answer it
	// is looked up first (no guest: the request never ran).
	newGuest int
	// done recognises PVE's answer to a repeated request whose first copy
	// did the work ("already running" after a lost start).
	done func(msg string) bool
}

// claimed are the task IDs this process was given, so a task-list search
// after a lost answer never takes another request's task for its own.
var claimed sync.Map

// runTask sends op and waits for its task. A task whose worker could not
// take a lock did nothing, so it is started again within the lock wait; a
// lost answer is recovered by finding the task (or the new guest) PVE made.
func (c *Client) runTask(ctx context.Context, op taskOp) error {
	var lockSince time.Time
	losses := 0
	for {
		sent := time.Now()
		var upid string
		err := c.do(ctx, op.method, op.path, op.body, &upid, classTask)
		var le *LostError
		switch {
		case err == nil:
			claimed.Store(upid, true)
		case errors.As(err, &le) && losses < 3:
			losses++
			var ok bool
			if upid, ok, err = c.recoverTask(ctx, op, sent); err != nil {
				return err
			}
			if !ok {
				continue // PVE never ran it: send it again
			}
			c.stats.recovered.Add(1)
			if upid == "" {
				return nil // the new guest exists and no task of it runs
			}
		case losses > 0 && op.done != nil && asAPIError(err) != nil && op.done(asAPIError(err).Msg):
			c.stats.recovered.Add(1)
			return nil
		default:
			return err
		}
		err = c.WaitTask(ctx, upid)
		var te *TaskError
		if err == nil {
			c.noteProgress(op.path) // the task had the guest's locks
		}
		if !errors.As(err, &te) || !lockRE.MatchString(te.ExitStatus) {
			return err
		}
		// The worker could not take a lock, so it did nothing: start it again.
		lockErr := &APIError{Status: 500, Msg: lockRE.FindString(te.ExitStatus)}
		if lerr := c.lockPause(ctx, op.path, &lockSince, lockErr); lerr != nil {
			return lerr
		}
	}
}

// recoverTask looks for what a request with a lost answer did: ok is false
// when PVE shows no trace of it (it never ran), otherwise upid is its task
// ("" when a new guest exists and nothing runs for it any more).
func (c *Client) recoverTask(ctx context.Context, op taskOp, sent time.Time) (upid string, ok bool, err error) {
	if op.newGuest != 0 {
		var r Resource
		var found bool
		if r, found, err = c.GuestFresh(ctx, op.newGuest); err != nil || !found {
			return "", false, err
		}
		defer func() {
			if err == nil && ok && upid == "" && r.Lock == "create" {
				err = c.waitCreated(ctx, op.newGuest)
			}
		}()
	}
	// The handler may still be answering: look a few times.
	for look := 0; look < 3; look++ {
		if upid, err = c.findTask(ctx, op, sent); err != nil || upid != "" {
			return upid, err == nil, err
		}
		if werr := wait(ctx, time.Duration(look+1)*200*time.Millisecond); werr != nil {
			return "", false, werr
		}
	}
	return "", op.newGuest != 0, nil
}

// findTask is the newest task of op's type and ID started by this user since
// the request was sent (by the server's clock) that no request of this
// process was given.
func (c *Client) findTask(ctx context.Context, op taskOp, sent time.Time) (string, error) {
	since := sent.Add(time.Duration(c.skew.Load())).Add(-2 * time.Second).Unix()
	user, token, _ := strings.Cut(c.user, "!")
	q := url.Values{"typefilter": {op.typ}, "vmid": {strconv.Itoa(op.id)}, "userfilter": {user},
		"since": {strconv.FormatInt(since, 10)}, "source": {"all"}, "limit": {"50"}}
	var list []struct {
		UPID      string `json:"upid"`
		User      string `json:"user"`
		TokenID   string `json:"tokenid"`
		StartTime int64  `json:"starttime"`
	}
	if err := c.get(ctx, fmt.Sprintf("/nodes/%s/tasks?%s", url.PathEscape(op.node), q.Encode()), &list); err != nil {
		return "", err
	}
	sort.SliceStable(list, func(i, j int) bool { return list[i].StartTime > list[j].StartTime })
	for _, t := range list {
		if t.User != user || t.TokenID != token {
			continue
		}
		if _, mine := claimed.LoadOrStore(t.UPID, true); !mine {
			return t.UPID, nil
		}
	}
	return "", nil
}

// ErrCreateFailed is a create or clone whose guest PVE removed: its task
// failed, and nothing is left of it.
var ErrCreateFailed = errors.New("PVE removed it; its task log on the node says why")

// WaitCreated waits until guest id's 'create' lock goes (its create or
// clone task succeeded) or the guest goes (ErrCreateFailed): for a guest
// another process is still creating.
func (c *Client) WaitCreated(ctx context.Context, id int) error { return c.waitCreated(ctx, id) }

// waitCreated waits until a new guest's 'create' lock goes (its task
// succeeded) or the guest goes (it failed and PVE removed it).
func (c *Client) waitCreated(ctx context.Context, id int) error {
	start := time.Now()
	for polls := 0; ; polls++ {
		if err := wait(ctx, nextPoll(time.Since(start), 0, polls)); err != nil {
			return fmt.Errorf("waiting for guest %d to be created: %w", id, err)
		}
		r, found, err := c.GuestFresh(ctx, id)
		switch {
		case err != nil:
			return err
		case !found:
			return fmt.Errorf("creating guest %d failed (%w)", id, ErrCreateFailed)
		case r.Lock != "create":
			return nil
		}
	}
}

func (c *Client) guestTask(method string, ref Ref, suffix, op string, body map[string]string) taskOp {
	if body == nil {
		body = map[string]string{}
	}
	return taskOp{method: method, path: ref.path(suffix), body: body, node: ref.Node, typ: taskType(ref.Kind, op), id: ref.ID}
}

// taskType is PVE's worker type for op on a guest kind.
func taskType(k Kind, op string) string {
	if k == LXC {
		return "vz" + op
	}
	if op == "migrate" {
		return "qmigrate" // qemu-server's name for it
	}
	return "qm" + op
}
