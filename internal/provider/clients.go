package provider

import (
	"context"
	"errors"
	"net/url"
	"sync"
	"time"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/pve"
)

// clientSet holds the PVE API client and node shell, built on first use so
// plans that only read phoenix files need no credentials.
type clientSet struct {
	once  sync.Once
	api   *pve.Client
	shell *pve.Shell
	err   error
}

// Clients returns the API client and, when SSH is configured, the node shell.
func (c *ProviderConfig) Clients() (*pve.Client, *pve.Shell, error) {
	c.clients.once.Do(func() {
		if c.Endpoint == "" {
			c.clients.err = errors.New("no PVE endpoint: set the provider's endpoint or PROXMOX_VE_ENDPOINT")
			return
		}
		api, err := pve.New(pve.Config{Endpoint: c.Endpoint, APIToken: c.APIToken, Username: c.Username,
			Password: c.Password, Insecure: c.Insecure, CAPEM: c.CACertificate})
		if err != nil {
			c.clients.err = err
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := api.Login(ctx); err != nil {
			c.clients.err = err
			return
		}
		c.clients.api = api
		s := c.SSH
		if s.Password == "" && s.PrivateKey == "" && !s.Agent {
			return // no SSH: API-only operations still work
		}
		host := ""
		if u, err := url.Parse(c.Endpoint); err == nil {
			host = u.Hostname()
		}
		shell, err := pve.NewShell(pve.SSHConfig{Username: s.Username, Password: s.Password, PrivateKey: s.PrivateKey,
			Agent: s.Agent, Port: s.Port, NodeAddresses: s.NodeAddresses, DefaultHost: host, KnownHosts: s.KnownHosts,
			HostKey: s.HostKey, InsecureIgnoreHostKey: s.InsecureIgnoreHostKey})
		if err != nil {
			c.clients.err = err
			return
		}
		c.clients.shell = shell
	})
	return c.clients.api, c.clients.shell, c.clients.err
}
