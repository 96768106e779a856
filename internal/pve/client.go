// Package pve holds the Proxmox VE operations the provider needs: guests as
// PVE config maps, create/clone/start/stop/snapshot/destroy, task waits with
// backoff, and (ssh.go) the node shell for pct. It is built on go-proxmox and
// x/crypto/ssh and knows PVE, not Terraform.
package pve

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	proxmox "github.com/luthermonson/go-proxmox"
)

// Config is how to reach the PVE API.
type Config struct {
	Endpoint string // https://host:8006/ or .../api2/json
	APIToken string // USER@REALM!TOKENID=SECRET
	Username string
	Password string
	Insecure bool
	CAPEM    string
	// HTTPTimeout bounds one request attempt (default 60 s).
	HTTPTimeout time.Duration
	// RetryFor bounds how long transient failures (the API unreachable,
	// 502/503, a lost answer to a read) are retried (default 2 min).
	RetryFor time.Duration
	// LockWait bounds how long a request waits for a guest's lock while no
	// request of this client gets it (default 5 min); the wait ends with
	// an error naming the guest and the lock.
	LockWait time.Duration
	// ListingTTL is how long one /cluster/resources listing serves every
	// guest's lookup (default 5 s); any write of this process to the
	// endpoint, and any task end it sees, drops it.
	ListingTTL time.Duration
}

// Client is a PVE API client.
type Client struct {
	api *proxmox.Client
	// user is the authenticated user; root@pam with a ticket is what PVE
	// requires for bind mounts, devices and raw feature flags.
	user     string
	password string
	isToken  bool
	auth     *authState
	cache    *clusterCache
	tasks    *taskClock
	stats    stats
	timeout  time.Duration
	retryFor time.Duration
	lockWait time.Duration
	// skew is the server clock minus ours (ns), from the Date header.
	skew atomic.Int64
	// progress is when a write of ours to a guest last went through, per
	// guest path: a lock wait on a guest whose lock keeps changing hands
	// among our own requests is progress, not a stuck lock.
	progress sync.Map
}

// APIBase normalises an endpoint to the /api2/json base go-proxmox wants.
func APIBase(endpoint string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(endpoint))
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return "", fmt.Errorf("endpoint %q is not an http(s) URL", endpoint)
	}
	p := strings.TrimSuffix(u.Path, "/")
	if !strings.HasSuffix(p, "/api2/json") {
		p += "/api2/json"
	}
	u.Path = p
	return u.String(), nil
}

// New builds a client. It does not contact the server.
func New(cfg Config) (*Client, error) {
	base, err := APIBase(cfg.Endpoint)
	if err != nil {
		return nil, err
	}
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12}
	switch {
	case cfg.Insecure:
		tlsCfg.InsecureSkipVerify = true //nolint:gosec // explicit opt-out by the user
	case cfg.CAPEM != "":
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM([]byte(cfg.CAPEM)) {
			return nil, errors.New("ca_certificate holds no PEM certificate")
		}
		tlsCfg.RootCAs = pool
	}
	c := &Client{auth: &authState{}, timeout: orDefault(cfg.HTTPTimeout, 60*time.Second),
		retryFor: orDefault(cfg.RetryFor, 2*time.Minute), lockWait: orDefault(cfg.LockWait, 5*time.Minute)}
	switch {
	case cfg.APIToken != "":
		id, _, ok := strings.Cut(cfg.APIToken, "=")
		if !ok {
			return nil, errors.New("api_token must look like USER@REALM!TOKENID=SECRET")
		}
		c.user, c.isToken, c.auth.token = id, true, cfg.APIToken
	case cfg.Username != "":
		c.user, c.password = cfg.Username, cfg.Password
		if !strings.Contains(c.user, "@") {
			c.user += "@pam" // PVE's default realm
		}
	default:
		return nil, errors.New("no credentials: set api_token (PROXMOX_VE_API_TOKEN) or username/password (PROXMOX_VE_USERNAME, PROXMOX_VE_PASSWORD)")
	}
	c.cache = newCache(base, orDefault(cfg.ListingTTL, 5*time.Second))
	c.tasks = newTaskClock()
	// Timeouts are per attempt (do), so the transport sees every failure.
	tr := &transport{base: &http.Transport{TLSClientConfig: tlsCfg, Proxy: http.ProxyFromEnvironment,
		MaxIdleConnsPerHost: 16, IdleConnTimeout: 90 * time.Second}, c: c}
	c.api = proxmox.NewClient(base, proxmox.WithHTTPClient(&http.Client{Transport: tr}),
		proxmox.WithUserAgent("terraform-provider-phoenix"))
	return c, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// IsRootTicket reports whether operations PVE reserves for root@pam are allowed.
func (c *Client) IsRootTicket() bool { return !c.isToken && c.user == "root@pam" }

// User is the authenticated user (or token ID).
func (c *Client) User() string { return c.user }

// API exposes the underlying go-proxmox client for calls this package does
// not wrap: authenticated, counted and dropping the listing on writes as
// every request of this client, but without its retries.
func (c *Client) API() *proxmox.Client { return c.api }

// APIError is a PVE error response: the HTTP status and PVE's message
// (the reason phrase, plus the parameter errors of a 400).
type APIError struct {
	Status int
	Msg    string
	// Params are a 400's per-parameter messages.
	Params map[string]string
	// authGen is the ticket session the request carried.
	authGen uint64
}

func (e *APIError) Error() string { return e.Msg }

// asAPIError finds PVE's answer in err.
func asAPIError(err error) *APIError {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae
	}
	return nil
}

// IsNotFound reports PVE's "does not exist" answers for a guest.
func IsNotFound(err error) bool {
	ae := asAPIError(err)
	return ae != nil && ae.Status == 500 && strings.Contains(ae.Msg, "does not exist")
}

// IsTransient reports errors a caller may retry: PVE could not be reached
// or was busy. Errors the client's own retries ended in (*GaveUpError after
// Config.RetryFor, *LockError after a lock wait) are not transient: retrying
// them again would only multiply the wait.
func IsTransient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var le *LockError
	var gu *GaveUpError
	if errors.As(err, &le) || errors.As(err, &gu) {
		return false
	}
	switch classify(err) {
	case failUnsent, failBusy, failLost, failLock:
		return true
	}
	return false
}

func (c *Client) get(ctx context.Context, path string, v any) error {
	return c.do(ctx, http.MethodGet, path, nil, v, classRead)
}

// put is an idempotent write: repeating it after a lost answer is harmless.
func (c *Client) put(ctx context.Context, path string, body any, v any) error {
	return c.do(ctx, http.MethodPut, path, body, v, classIdempotent)
}

// postOnce and delOnce are writes that must not run twice: they are
// repeated only when PVE certainly did not act on them.
func (c *Client) postOnce(ctx context.Context, path string, body any, v any) error {
	return c.do(ctx, http.MethodPost, path, body, v, classOnce)
}

func (c *Client) delOnce(ctx context.Context, path string, v any) error {
	return c.do(ctx, http.MethodDelete, path, nil, v, classOnce)
}

// Login checks the credentials now (and opens the ticket session), so a
// wrong password or a revoked token is reported once, clearly, before any
// guest is touched. It fetches the cluster listing, which every guest
// lookup of the plan then shares.
func (c *Client) Login(ctx context.Context) error {
	if !c.isToken {
		if err := c.login(ctx, 0); err != nil {
			return err
		}
	}
	_, err := c.cache.listing(ctx, c)
	return err
}

// LoginError is a failed ticket login.
type LoginError struct {
	User string
	Err  error
}

func (e *LoginError) Error() string {
	if ae := asAPIError(e.Err); ae != nil && ae.Status == 401 {
		return fmt.Sprintf("PVE refused the password of %s (%s): check username and password (PROXMOX_VE_USERNAME, PROXMOX_VE_PASSWORD)", e.User, ae.Msg)
	}
	return fmt.Sprintf("logging in to PVE as %s: %v", e.User, e.Err)
}

func (e *LoginError) Unwrap() error { return e.Err }

// login opens a ticket session unless one newer than seen exists already
// (several requests refused at once log in once).
func (c *Client) login(ctx context.Context, seen uint64) error {
	c.auth.login.Lock()
	defer c.auth.login.Unlock()
	if c.auth.generation() != seen {
		return nil
	}
	var res struct {
		Ticket string `json:"ticket"`
		CSRF   string `json:"CSRFPreventionToken"`
	}
	body := map[string]string{"username": c.user, "password": c.password}
	err := c.attempt(ctx, http.MethodPost, "/access/ticket", body, &res)
	for n := 0; err != nil && n < 5; n++ {
		// The ticket request creates nothing: any failure but a refusal is retried.
		if f := classify(err); f != failUnsent && f != failBusy && f != failLost {
			break
		}
		if werr := wait(ctx, jitter(time.Duration(n+1)*300*time.Millisecond)); werr != nil {
			break
		}
		err = c.attempt(ctx, http.MethodPost, "/access/ticket", body, &res)
	}
	if err != nil {
		return &LoginError{User: c.user, Err: err}
	}
	c.stats.logins.Add(1)
	c.auth.set(res.Ticket, res.CSRF)
	return nil
}
