//go:build linux

package pvesim

import (
	"crypto/subtle"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
)

const tokenID = "root@pam!phoenix"

// ticketLifetime is PVE's ticket validity (pve-access-control's
// $ticket_lifetime: 2 hours).
const ticketLifetime = 2 * time.Hour

type authenticator struct {
	password string
	lifetime time.Duration
	mu       sync.Mutex // guards tickets and tokenSecret
	// tokenSecret is "" once the token is revoked.
	tokenSecret string
	tickets     map[string]ticketInfo
}

type ticketInfo struct {
	user    string
	csrf    string
	expires time.Time
}

func newAuthenticator(password, token string, lifetime time.Duration) *authenticator {
	if lifetime <= 0 {
		lifetime = ticketLifetime
	}
	return &authenticator{password: password, tokenSecret: token, lifetime: lifetime, tickets: map[string]ticketInfo{}}
}

// authResult is who a request runs as.
type authResult struct {
	user   string // "root@pam" or "root@pam!phoenix"
	ticket bool
}

// authenticate follows pve-http-server: the PVEAuthCookie ticket first, then
// an API token; writes with a ticket need the CSRF header.
func (a *authenticator) authenticate(r *http.Request) (authResult, error) {
	unauth := func(msg string) error { return &apiError{Status: 401, Msg: msg} }
	ticket := ""
	if c, err := r.Cookie("PVEAuthCookie"); err == nil {
		ticket = c.Value
	}
	authz := r.Header.Get("Authorization")
	if ticket == "" && strings.HasPrefix(authz, "PVEAuthCookie=") {
		ticket = strings.TrimPrefix(authz, "PVEAuthCookie=")
	}
	if ticket != "" {
		a.mu.Lock()
		ti, ok := a.tickets[ticket]
		a.mu.Unlock()
		if !ok || time.Now().After(ti.expires) {
			return authResult{}, unauth("invalid ticket")
		}
		if r.Method != http.MethodGet && r.Header.Get("CSRFPreventionToken") != ti.csrf {
			return authResult{}, unauth("Permission denied - invalid csrf token")
		}
		return authResult{user: ti.user, ticket: true}, nil
	}
	if strings.HasPrefix(authz, "PVEAPIToken=") {
		v := strings.TrimPrefix(authz, "PVEAPIToken=")
		id, secret, ok := strings.Cut(v, "=")
		if !ok {
			// PVE also accepts "user@realm!id:secret" forms only with '='.
			return authResult{}, unauth("authentication failure")
		}
		a.mu.Lock()
		want := a.tokenSecret
		a.mu.Unlock()
		if id != tokenID || want == "" || subtle.ConstantTimeCompare([]byte(secret), []byte(want)) != 1 {
			return authResult{}, unauth("authentication failure")
		}
		return authResult{user: id}, nil
	}
	return authResult{}, unauth("No ticket")
}

// login handles POST /access/ticket: a password, or a valid ticket as the
// password (ticket renewal).
func (a *authenticator) login(username, password string) (map[string]any, error) {
	user := username
	if !strings.Contains(user, "@") {
		user += "@pam" // PVE appends the default realm
	}
	ok := user == "root@pam" && subtle.ConstantTimeCompare([]byte(password), []byte(a.password)) == 1
	if !ok {
		a.mu.Lock()
		ti, found := a.tickets[password]
		a.mu.Unlock()
		ok = found && ti.user == user && time.Now().Before(ti.expires)
	}
	if !ok {
		return nil, &apiError{Status: 401, Msg: "authentication failure"}
	}
	return a.issue(user), nil
}

func randomB64(nbytes int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	raw := randomHex(nbytes)
	var b strings.Builder
	for i := 0; i+1 < len(raw) && b.Len() < nbytes*4/3; i += 2 {
		var v int
		_, _ = fmt.Sscanf(raw[i:i+2], "%02x", &v)
		b.WriteByte(alphabet[v%64])
	}
	return b.String()
}

// issue mints a ticket for an authenticated user.
func (a *authenticator) issue(user string) map[string]any {
	now := time.Now()
	ticket := fmt.Sprintf("PVE:%s:%08X::%s", user, now.Unix(), randomB64(256))
	csrf := fmt.Sprintf("%08X:%s", now.Unix(), randomB64(32))
	a.mu.Lock()
	a.tickets[ticket] = ticketInfo{user: user, csrf: csrf, expires: now.Add(a.lifetime)}
	a.mu.Unlock()
	return map[string]any{"username": user, "ticket": ticket, "CSRFPreventionToken": csrf, "cap": map[string]any{}}
}
