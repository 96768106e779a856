package provider

import (
	"context"
	"errors"
	"sync"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/lifecycle"
)

// connection is the PVE connection, made on first use so plans that only
// read phoenix files need no credentials. A failed login is not kept: the
// next operation tries again (PVE may have been restarting), with its own
// context, so a cancelled apply stops waiting.
type connection struct {
	mu  sync.Mutex
	env *lifecycle.Env
	// defaultNode is the single node of the cluster once looked up: every
	// operation without a node needs it, and one lookup per run is enough.
	defaultNode string
}

// connect returns the connection, logging in when there is none yet.
func (c *ProviderConfig) connect(ctx context.Context) (lifecycle.Env, error) {
	c.conn.mu.Lock()
	defer c.conn.mu.Unlock()
	if c.conn.env != nil {
		return *c.conn.env, nil
	}
	conn := lifecycle.Connection{Endpoint: c.Endpoint, APIToken: c.APIToken, Username: c.Username,
		Password: c.Password, Insecure: c.Insecure, CAPEM: c.CACertificate}
	if s := c.SSH; s.Password != "" || s.PrivateKey != "" || s.Agent {
		conn.SSH = &lifecycle.SSHConfig{Username: s.Username, Password: s.Password, PrivateKey: s.PrivateKey, Agent: s.Agent,
			Port: s.Port, NodeAddresses: s.NodeAddresses, KnownHosts: s.KnownHosts, HostKey: s.HostKey,
			InsecureIgnoreHostKey: s.InsecureIgnoreHostKey}
	}
	env, err := lifecycle.Connect(ctx, conn)
	if err != nil {
		return lifecycle.Env{}, err
	}
	c.conn.env = &env
	return env, nil
}

// env is the lifecycle environment of one operation: the connection, the
// node new guests go to, and a log.
func (c *ProviderConfig) env(ctx context.Context, node string, log func(string)) (lifecycle.Env, error) {
	if c == nil {
		return lifecycle.Env{}, errors.New("the provider is not configured")
	}
	env, err := c.connect(ctx)
	if err != nil {
		return lifecycle.Env{}, err
	}
	if node == "" {
		node = c.Node
	}
	if node == "" {
		if node, err = c.defaultNode(ctx, env); err != nil {
			return lifecycle.Env{}, err
		}
	}
	env.Node, env.Log, env.SnippetsStorage = node, log, c.SnippetsStorage
	return env, nil
}

// defaultNode is lifecycle.DefaultNode, asked once per process; a failure
// is not kept, so the next operation asks again.
func (c *ProviderConfig) defaultNode(ctx context.Context, env lifecycle.Env) (string, error) {
	c.conn.mu.Lock()
	defer c.conn.mu.Unlock()
	if c.conn.defaultNode == "" {
		node, err := lifecycle.DefaultNode(ctx, env)
		if err != nil {
			return "", err
		}
		c.conn.defaultNode = node
	}
	return c.conn.defaultNode, nil
}
