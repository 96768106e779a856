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
	// HTTPTimeout bounds one request (default 60 s).
	HTTPTimeout time.Duration
}

// Client is a PVE API client.
type Client struct {
	api *proxmox.Client
	// user is the authenticated user; root@pam with a ticket is what PVE
	// requires for bind mounts, devices and raw feature flags.
	user    string
	isToken bool
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
	timeout := cfg.HTTPTimeout
	if timeout == 0 {
		timeout = 60 * time.Second
	}
	httpClient := &http.Client{Timeout: timeout, Transport: &http.Transport{TLSClientConfig: tlsCfg, Proxy: http.ProxyFromEnvironment}}
	opts := []proxmox.Option{proxmox.WithHTTPClient(httpClient), proxmox.WithUserAgent("terraform-provider-phoenix")}
	c := &Client{}
	switch {
	case cfg.APIToken != "":
		id, secret, ok := strings.Cut(cfg.APIToken, "=")
		if !ok {
			return nil, errors.New("api_token must look like USER@REALM!TOKENID=SECRET")
		}
		opts = append(opts, proxmox.WithAPIToken(id, secret))
		c.user, c.isToken = id, true
	case cfg.Username != "":
		opts = append(opts, proxmox.WithCredentials(&proxmox.Credentials{Username: cfg.Username, Password: cfg.Password}))
		c.user = cfg.Username
	default:
		return nil, errors.New("no credentials: set api_token (PROXMOX_VE_API_TOKEN) or username/password (PROXMOX_VE_USERNAME, PROXMOX_VE_PASSWORD)")
	}
	c.api = proxmox.NewClient(base, opts...)
	return c, nil
}

// IsRootTicket reports whether operations PVE reserves for root@pam are allowed.
func (c *Client) IsRootTicket() bool { return !c.isToken && c.user == "root@pam" }

// User is the authenticated user (or token ID).
func (c *Client) User() string { return c.user }

// API exposes the underlying go-proxmox client for calls this package does not wrap.
func (c *Client) API() *proxmox.Client { return c.api }

// APIError is a PVE error response: the HTTP status and PVE's message.
type APIError struct {
	Status int
	Msg    string
}

func (e *APIError) Error() string { return e.Msg }

// asAPIError recovers PVE's status and message from go-proxmox's errors,
// which carry the status line ("500 CT 950 already exists...").
func asAPIError(err error) *APIError {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae
	}
	msg := err.Error()
	var code int
	if n, _ := fmt.Sscanf(msg, "%d", &code); n == 1 && code >= 400 {
		return &APIError{Status: code, Msg: strings.TrimSpace(strings.TrimPrefix(msg, fmt.Sprint(code)))}
	}
	if strings.HasPrefix(msg, "bad request: ") {
		return &APIError{Status: 400, Msg: strings.TrimPrefix(msg, "bad request: ")}
	}
	if errors.Is(err, proxmox.ErrNotAuthorized) {
		return &APIError{Status: 401, Msg: "authentication failed: check api_token or username/password (" + msg + ")"}
	}
	return nil
}

// IsNotFound reports PVE's "does not exist" answers for a guest.
func IsNotFound(err error) bool {
	ae := asAPIError(err)
	return ae != nil && ae.Status == 500 && strings.Contains(ae.Msg, "does not exist")
}

// IsTransient reports errors worth retrying: network failures, 5xx other
// than PVE's die messages that describe a real refusal, lock timeouts.
func IsTransient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	ae := asAPIError(err)
	if ae == nil {
		return true // network-level
	}
	switch {
	case ae.Status == 502 || ae.Status == 503 || ae.Status == 504 || ae.Status == 595 || ae.Status == 596:
		return true
	case strings.Contains(ae.Msg, "got timeout"), strings.Contains(ae.Msg, "is locked"):
		return true
	}
	return false
}

// call runs one request. With ticket auth, go-proxmox answers a request that
// raced another one's login with ErrNotAuthorized although a session now
// exists; that one case is retried once.
func (c *Client) call(op func() error) error {
	err := op()
	if err != nil && !c.isToken && errors.Is(err, proxmox.ErrNotAuthorized) {
		err = op()
	}
	return err
}

func (c *Client) get(ctx context.Context, path string, v any) error {
	return wrap(c.call(func() error { return c.api.Get(ctx, path, v) }), "GET", path)
}

func (c *Client) post(ctx context.Context, path string, body any, v any) error {
	return wrap(c.call(func() error { return c.api.Post(ctx, path, body, v) }), "POST", path)
}

func (c *Client) put(ctx context.Context, path string, body any, v any) error {
	return wrap(c.call(func() error { return c.api.Put(ctx, path, body, v) }), "PUT", path)
}

func (c *Client) del(ctx context.Context, path string, v any) error {
	return wrap(c.call(func() error { return c.api.Delete(ctx, path, v) }), "DELETE", path)
}

// Login checks the credentials now (and opens the ticket session), so a
// wrong password is reported once, clearly, before any guest is touched.
func (c *Client) Login(ctx context.Context) error {
	var v map[string]any
	if err := c.get(ctx, "/version", &v); err != nil {
		var ae *APIError
		if errors.As(err, &ae) && ae.Status == 401 {
			return fmt.Errorf("PVE refused the credentials of %s: %s", c.user, ae.Msg)
		}
		return err
	}
	return nil
}

func wrap(err error, method, path string) error {
	if err == nil {
		return nil
	}
	if ae := asAPIError(err); ae != nil {
		return &APIError{Status: ae.Status, Msg: fmt.Sprintf("%s %s: %s", method, path, ae.Msg)}
	}
	return fmt.Errorf("%s %s: %w", method, path, err)
}
