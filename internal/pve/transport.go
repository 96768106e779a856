package pve

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// transport sits under go-proxmox: it authenticates every request (API
// token, or the ticket cookie with its CSRF token), turns every non-2xx
// answer into an *APIError (go-proxmox ignores statuses other than 400, 401,
// 403, 500 and 501, so a 503 would otherwise read as an empty success),
// counts requests, invalidates the cluster listing on every write and keeps
// the server's clock offset for task look-ups.
type transport struct {
	base http.RoundTripper
	c    *Client
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	login := strings.HasSuffix(req.URL.Path, "/access/ticket")
	if !login && t.c.auth.token == "" && t.c.auth.generation() == 0 {
		// The first request of a ticket client (API() included) logs in.
		if err := t.c.login(req.Context(), 0); err != nil {
			return nil, err
		}
	}
	authGen := t.c.auth.apply(req, login)
	t.c.stats.requests.Add(1)
	write := req.Method != http.MethodGet && !login
	if write {
		// Before the request: a listing fetched while it runs must not be cached.
		t.c.cache.invalidate()
	}
	sent := time.Now()
	res, err := t.base.RoundTrip(req)
	if err != nil {
		return nil, &NetError{Sent: !unsent(err), Err: err}
	}
	if d, e := http.ParseTime(res.Header.Get("Date")); e == nil {
		t.c.skew.Store(int64(d.Sub(sent)))
	}
	if res.StatusCode < 300 {
		return res, nil
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	return nil, apiErrorOf(res, body, authGen)
}

// apiErrorOf builds PVE's error: the reason phrase is the message
// (pve-http-server puts the die text there), a 400 adds its parameter map.
func apiErrorOf(res *http.Response, body []byte, authGen uint64) *APIError {
	msg := strings.TrimSpace(strings.TrimPrefix(res.Status, strconv.Itoa(res.StatusCode)))
	var parsed struct {
		Message string            `json:"message"`
		Errors  map[string]string `json:"errors"`
	}
	if json.Unmarshal(body, &parsed) == nil {
		if m := strings.TrimSpace(parsed.Message); m != "" && (msg == "" || len(m) > len(msg)) {
			msg = m
		}
	}
	if msg == "" {
		msg = http.StatusText(res.StatusCode)
	}
	if len(parsed.Errors) > 0 {
		keys := make([]string, 0, len(parsed.Errors))
		for k := range parsed.Errors {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, 0, len(keys))
		for _, k := range keys {
			parts = append(parts, k+": "+strings.TrimSpace(parsed.Errors[k]))
		}
		msg += " (" + strings.Join(parts, "; ") + ")"
	}
	return &APIError{Status: res.StatusCode, Msg: msg, Params: parsed.Errors, authGen: authGen}
}

// NetError is a request that got no HTTP answer. Sent is false when it
// never left (no connection, TLS handshake refused), so PVE cannot have
// acted on it; otherwise the answer was lost and the request may have run.
type NetError struct {
	Sent bool
	Err  error
}

func (e *NetError) Error() string { return e.Err.Error() }
func (e *NetError) Unwrap() error { return e.Err }

// unsent reports errors raised before any byte of the request was written.
func unsent(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && (op.Op == "dial" || op.Op == "proxyconnect") {
		return true
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return true
	}
	var rh tls.RecordHeaderError
	return errors.As(err, &rh) || tlsRefused(err)
}

// tlsRefused reports a certificate the client does not trust: never retried.
func tlsRefused(err error) bool {
	var ua x509.UnknownAuthorityError
	var he x509.HostnameError
	var ci x509.CertificateInvalidError
	var cv *tls.CertificateVerificationError
	return errors.As(err, &ua) || errors.As(err, &he) || errors.As(err, &ci) || errors.As(err, &cv)
}

// authState is the client's credentials: an API token, or a ticket session
// renewed by logging in again when PVE refuses it (tickets live 2 hours).
type authState struct {
	token string // USER@REALM!TOKENID=SECRET
	mu    sync.Mutex
	// ticket, csrf and gen (bumped by every login) describe the session.
	ticket, csrf string
	gen          uint64
	login        sync.Mutex // one login at a time
}

// apply sets the request's credentials and returns the session generation
// used, so a 401 can tell whether someone logged in since.
func (a *authState) apply(req *http.Request, login bool) uint64 {
	req.Header.Del("Authorization")
	if a.token != "" {
		req.Header.Set("Authorization", "PVEAPIToken="+a.token)
		return 0
	}
	if login {
		return 0
	}
	a.mu.Lock()
	ticket, csrf, gen := a.ticket, a.csrf, a.gen
	a.mu.Unlock()
	if ticket != "" {
		req.Header.Set("Cookie", "PVEAuthCookie="+ticket)
		if req.Method != http.MethodGet {
			req.Header.Set("CSRFPreventionToken", csrf)
		}
	}
	return gen
}

func (a *authState) generation() uint64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.gen
}

func (a *authState) set(ticket, csrf string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.ticket, a.csrf = ticket, csrf
	a.gen++
}

// Stats are the client's counters since it was created, for benchmarks and
// logs.
type Stats struct {
	// Requests is every HTTP request sent, retries and polls included.
	Requests int64
	// Retries counts requests repeated after a transient failure.
	Retries int64
	// LockRetries counts requests and tasks repeated because a guest's
	// config lock or a file lock was held.
	LockRetries int64
	// TaskPolls counts task status requests.
	TaskPolls int64
	// Logins counts ticket logins (the first and every renewal).
	Logins int64
	// Listings counts /cluster/resources fetches.
	Listings int64
	// Recovered counts requests whose answer was lost and whose outcome was
	// found by looking the guest or its task up.
	Recovered int64
}

type stats struct {
	requests, retries, lockRetries, taskPolls, logins, listings, recovered atomic.Int64
}

// Stats returns the counters.
func (c *Client) Stats() Stats {
	s := &c.stats
	return Stats{Requests: s.requests.Load(), Retries: s.retries.Load(), LockRetries: s.lockRetries.Load(),
		TaskPolls: s.taskPolls.Load(), Logins: s.logins.Load(), Listings: s.listings.Load(), Recovered: s.recovered.Load()}
}
