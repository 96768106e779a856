package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/pve"
)

// Ref locates a guest: node, kind (lxc or qemu) and ID.
type Ref = pve.Ref

// SSHConfig is how to reach the nodes' shells.
type SSHConfig = pve.SSHConfig

// Connection is how to reach PVE: the API and, optionally, the nodes' shells.
type Connection struct {
	Endpoint, APIToken, Username, Password string
	Insecure                               bool
	CAPEM                                  string
	// SSH is nil when no SSH credentials are configured: API-only operations
	// still work, and changes that need the node shell say so.
	SSH *SSHConfig
}

// loginTimeout bounds one login attempt; the caller's context can end it sooner.
const loginTimeout = 2 * time.Minute

// Connect builds the API client, checks the credentials now (so a wrong
// password is one clear error before any guest is touched) and prepares the
// node shell. It honours ctx: a cancelled apply stops waiting for a login.
func Connect(ctx context.Context, c Connection) (Env, error) {
	if c.Endpoint == "" {
		return Env{}, errors.New("no PVE endpoint: set the provider's endpoint or PROXMOX_VE_ENDPOINT")
	}
	api, err := pve.New(pve.Config{Endpoint: c.Endpoint, APIToken: c.APIToken, Username: c.Username,
		Password: c.Password, Insecure: c.Insecure, CAPEM: c.CAPEM})
	if err != nil {
		return Env{}, err
	}
	lctx, cancel := context.WithTimeout(ctx, loginTimeout)
	defer cancel()
	if err := api.Login(lctx); err != nil {
		if ctx.Err() != nil {
			return Env{}, fmt.Errorf("logging in to %s: %w", c.Endpoint, ctx.Err())
		}
		return Env{}, err
	}
	env := Env{API: api}
	if c.SSH == nil {
		return env, nil
	}
	cfg := *c.SSH
	if cfg.DefaultHost == "" {
		if u, err := url.Parse(c.Endpoint); err == nil {
			cfg.DefaultHost = u.Hostname()
		}
	}
	if env.Shell, err = pve.NewShell(cfg); err != nil {
		return Env{}, err
	}
	return env, nil
}

// Locate finds the node holding guest id (a guest migrated out of band is
// followed); ok is false when no node has it.
func Locate(ctx context.Context, env Env, id int) (Ref, bool, error) {
	return env.API.Locate(ctx, id)
}

// RunState is PVE's run state of the guest at ref: running or stopped.
func RunState(ctx context.Context, env Env, ref Ref) (string, error) {
	st, err := env.API.Status(ctx, ref)
	if err != nil {
		return "", err
	}
	return st.Status, nil
}

// DefaultNode is the node new guests go to when none is configured: the only
// node of a single-node cluster. A larger cluster must say where.
func DefaultNode(ctx context.Context, env Env) (string, error) {
	nodes, err := env.API.Nodes(ctx)
	if err != nil {
		return "", err
	}
	if len(nodes) != 1 {
		return "", fmt.Errorf("the cluster has nodes %v: set the provider's node (PROXMOX_VE_NODE) or the resource's node", nodes)
	}
	return nodes[0], nil
}
