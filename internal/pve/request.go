package pve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"syscall"
	"time"
)

// Every request goes through do, which owns the retry policy in one place:
// what may be repeated depends on the request's class and on how it failed.

// reqClass says what repeating a request can do.
type reqClass int

const (
	// classRead changes nothing: any transient failure is retried.
	classRead reqClass = iota
	// classIdempotent sets values: repeating it after a lost answer sets
	// the same values again.
	classIdempotent
	// classOnce creates or starts something: it is repeated only when PVE
	// certainly did not act on it (never reached, busy, a lock refused it).
	classOnce
	// classTask is classOnce for a request that starts a worker: its
	// acceptance is not the lock changing hands, the task's success is.
	classTask
)

// failure is how a request failed, as far as retrying goes.
type failure int

const (
	failPermanent failure = iota // PVE refused it for good, or a local error
	failUnsent                   // it never reached PVE
	failBusy                     // a proxy or PVE turned it away before running it
	failLost                     // sent, but the answer was lost: it may have run
	failLock                     // a guest's config lock or a file lock was held
	failAuth                     // 401: the ticket expired or the token was refused
	failServer                   // a 500 from a handler: final for writes, retried for reads
)

// lockRE matches PVE's lock refusals: AbstractConfig::check_lock ("CT is
// locked (disk)": guest_type() only), PVE::Tools::lock_file ("can't lock
// file '...' - got timeout") and pmxcfs locks (PVE::Cluster::cfs_lock:
// "cfs-lock '...' error: got lock request timeout").
var lockRE = regexp.MustCompile(`(?:CT|VM)(?: \d+)? is locked \((\w+)\)|can't lock file '[^']*' - got timeout|cfs-lock '[^']*' error: got lock request timeout`)

func classify(err error) failure {
	var le *LoginError
	if err == nil || errors.As(err, &le) {
		return failPermanent
	}
	if ae := asAPIError(err); ae != nil {
		switch {
		case ae.Status == 401:
			return failAuth
		case lockRE.MatchString(ae.Msg):
			return failLock
		case ae.Status == 502 || ae.Status == 503 || ae.Status == 595:
			// 595 is pveproxy failing to reach the node the request is for.
			return failBusy
		case ae.Status == 504 || ae.Status == 596:
			return failLost
		case ae.Status == 500 && !strings.Contains(ae.Msg, "does not exist"):
			return failServer
		}
		return failPermanent
	}
	if tlsRefused(err) {
		return failPermanent
	}
	var ue *url.Error
	if errors.As(err, &ue) && ue.Err != nil {
		err = ue.Err // its Timeout method is not a network failure
	}
	var ne *NetError
	if errors.As(err, &ne) {
		if !ne.Sent {
			return failUnsent
		}
		return failLost
	}
	var nerr net.Error
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.As(err, &nerr) || errors.Is(err, errAttemptTimeout) {
		return failLost
	}
	return failPermanent
}

var errAttemptTimeout = errors.New("no answer within the request timeout")

// attempt sends one request with the per-attempt timeout.
func (c *Client) attempt(ctx context.Context, method, path string, body, out any) error {
	actx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var data []byte
	if body != nil {
		var err error
		if data, err = json.Marshal(body); err != nil {
			return err
		}
	}
	err := c.api.Req(actx, method, path, data, out)
	if err != nil && ctx.Err() == nil && actx.Err() != nil {
		return fmt.Errorf("%w (%s): %w", errAttemptTimeout, c.timeout, err)
	}
	return err
}

// do runs a request with the policy for its class and returns PVE's answer
// or an error naming the request.
func (c *Client) do(ctx context.Context, method, path string, body, out any, class reqClass) error {
	start := time.Now()
	var relogins, serverErrs int
	var lockSince time.Time
	var lockErr error // the last lock refusal of this wait
	for n := 0; ; n++ {
		err := c.attempt(ctx, method, path, body, out)
		if err == nil {
			if method != http.MethodGet && class != classTask {
				c.noteProgress(path)
			}
			return nil
		}
		if ctx.Err() != nil {
			if lockErr != nil {
				// The deadline struck while PVE held us at the lock: the
				// lock is the reason, whatever the last attempt said.
				return c.lockError(path, lockErr, time.Since(lockSince), ctx.Err())
			}
			return requestError(method, path, err)
		}
		var delay time.Duration
		switch f := classify(err); {
		case f == failAuth:
			if c.isToken {
				return c.tokenRefused(err)
			}
			if relogins++; relogins > 2 {
				return requestError(method, path, err)
			}
			// An expired ticket (PVE's live 2 hours): log in again and repeat.
			if lerr := c.login(ctx, asAPIError(err).authGen); lerr != nil {
				return lerr
			}
			continue
		case f == failLock:
			lockErr = err
			c.stats.retries.Add(1)
			if lerr := c.lockPause(ctx, path, &lockSince, err); lerr != nil {
				return lerr
			}
			continue
		case f == failUnsent || f == failBusy || (f == failLost && class < classOnce):
			if time.Since(start) > c.retryFor {
				return &GaveUpError{Err: requestError(method, path, err), After: c.retryFor}
			}
			delay = backoff(n)
		case f == failServer && class == classRead:
			// A GET changes nothing: a failing handler is asked twice more.
			if serverErrs++; serverErrs > 2 {
				return requestError(method, path, err)
			}
			delay = backoff(n)
		case f == failLost:
			return &LostError{Method: method, Path: path, Err: err}
		default:
			return requestError(method, path, err)
		}
		c.stats.retries.Add(1)
		if werr := wait(ctx, delay); werr != nil {
			if !lockSince.IsZero() {
				return c.lockError(path, err, time.Since(lockSince), werr)
			}
			return fmt.Errorf("%w (gave up: %v)", requestError(method, path, err), werr)
		}
	}
}

// requestError names the request in PVE's error, keeping its type.
func requestError(method, path string, err error) error {
	if ae := asAPIError(err); ae != nil {
		return &APIError{Status: ae.Status, Msg: method + " " + path + ": " + ae.Msg, Params: ae.Params, authGen: ae.authGen}
	}
	return fmt.Errorf("%s %s: %w", method, path, err)
}

// GaveUpError is a request whose transient failures outlasted RetryFor.
type GaveUpError struct {
	Err   error
	After time.Duration
}

func (e *GaveUpError) Error() string {
	return fmt.Sprintf("%v (gave up after %s of retries)", e.Err, e.After)
}
func (e *GaveUpError) Unwrap() error { return e.Err }

// LostError is a request that may have run on PVE but whose answer was lost
// (the connection broke after it was sent). Callers that create or start
// something look the outcome up instead of sending it again.
type LostError struct {
	Method, Path string
	Err          error
}

func (e *LostError) Error() string {
	return fmt.Sprintf("%s %s: the answer was lost (%v), so PVE may or may not have run it", e.Method, e.Path, e.Err)
}

func (e *LostError) Unwrap() error { return e.Err }

// tokenRefused explains a 401 for an API token without its secret.
func (c *Client) tokenRefused(err error) error {
	return fmt.Errorf("PVE refused the API token %s (%s): the token may have been revoked or expired, or its secret is wrong. "+
		"Check it under Datacenter > Permissions > API Tokens (pveum user token list %s) and the provider's api_token "+
		"(PROXMOX_VE_API_TOKEN, USER@REALM!TOKENID=SECRET)", c.user, asAPIError(err).Msg, strings.Split(c.user, "!")[0])
}

// backoff is the n-th retry delay: exponential from 200 ms to 5 s, with
// full jitter so clients refused together do not come back together.
func backoff(n int) time.Duration {
	d := 200 * time.Millisecond << min(n, 5)
	return jitter(min(d, 5*time.Second))
}

// lockDelay paces lock retries in proportion to the time already waited
// (a tenth, between 50 ms and 5 s), jittered: a short lock costs little
// delay, a long one few requests.
func lockDelay(waited time.Duration) time.Duration {
	return jitter(min(max(waited/10, 50*time.Millisecond), 5*time.Second))
}

// jitter spreads d over [d/2, d).
func jitter(d time.Duration) time.Duration {
	if d <= 1 {
		return d
	}
	return d/2 + rand.N(d/2)
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

// guestPathRE finds the guest a request is about.
var guestPathRE = regexp.MustCompile(`^/nodes/([^/]+)/(lxc|qemu)/(\d+)`)

func guestKey(path string) string { return guestPathRE.FindString(path) }

func (c *Client) noteProgress(path string) {
	if k := guestKey(path); k != "" {
		c.progress.Store(k, time.Now())
	}
}

// lockExpired ends a lock wait once the lock stayed with others for
// LockWait. A wait on a lock that our own requests keep taking in turn (50
// clones of one template) goes on: each of them is progress.
func (c *Client) lockExpired(path string, since time.Time, err error) error {
	from := since
	if v, ok := c.progress.Load(guestKey(path)); ok && v.(time.Time).After(from) {
		from = v.(time.Time)
	}
	if time.Since(from) < c.lockWait {
		return nil
	}
	return c.lockError(path, err, time.Since(since), nil)
}

// lockPause waits before a request refused by a lock (err) is repeated:
// since is when the refusals began (set by the first). The wait ends with a
// *LockError once the lock stayed with others for LockWait (lockExpired),
// or when ctx ends.
func (c *Client) lockPause(ctx context.Context, path string, since *time.Time, err error) error {
	if since.IsZero() {
		*since = time.Now()
	}
	if lerr := c.lockExpired(path, *since, err); lerr != nil {
		return lerr
	}
	c.stats.lockRetries.Add(1)
	if werr := wait(ctx, lockDelay(time.Since(*since))); werr != nil {
		return c.lockError(path, err, time.Since(*since), werr)
	}
	return nil
}

// LockError is a lock wait that ended: the guest, PVE's refusal and how long
// the client waited.
type LockError struct {
	Guest  string // "CT 900 on node pve", or "" when the request names none
	Msg    string // PVE's text: "CT 900 is locked (disk)", "can't lock file ... got timeout"
	Waited time.Duration
	Cause  error // why the wait ended early (the apply's timeout), if it did
}

func (e *LockError) Error() string {
	s := e.Msg
	m := lockRE.FindStringSubmatch(e.Msg)
	switch {
	case m != nil && m[1] != "" && e.Guest != "":
		s = e.Guest + " is locked (" + m[1] + ")" // PVE's check_lock names no guest
	case m != nil && e.Guest != "":
		s = e.Guest + ": " + m[0]
	case m != nil:
		s = m[0]
	}
	s += fmt.Sprintf(" (waited %s", e.Waited.Round(time.Second))
	if e.Cause != nil {
		s += fmt.Sprintf(", then %v", e.Cause)
	}
	s += "). Another task holds the lock (see the node's task list), or a failed task left it behind: " +
		"once no task runs for the guest, remove it with pct unlock / qm unlock, then apply again"
	return s
}

func (e *LockError) Unwrap() error { return e.Cause }

func (c *Client) lockError(path string, err error, waited time.Duration, cause error) error {
	le := &LockError{Msg: err.Error(), Waited: waited, Cause: cause}
	if ae := asAPIError(err); ae != nil {
		le.Msg = ae.Msg
	}
	if m := guestPathRE.FindStringSubmatch(path); m != nil {
		le.Guest = Ref{Node: m[1], Kind: Kind(m[2]), ID: atoi(m[3])}.String()
	}
	return le
}

func atoi(s string) int {
	n := 0
	for _, r := range s {
		n = n*10 + int(r-'0')
	}
	return n
}
