//go:build linux

package pvesim_test

import (
	"net/url"
	"regexp"
	"testing"

	proxmox "github.com/luthermonson/go-proxmox"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/pvesim"
)

func TestVersionNodesCluster(t *testing.T) {
	e := newEnv(t, pvesim.Options{Nodes: []string{"pve", "pve2"}})
	v, err := e.c.Version(e.ctx)
	if err != nil || v.Release != "9.1" {
		t.Fatalf("version %+v %v", v, err)
	}
	nodes, err := e.c.Nodes(e.ctx)
	if err != nil || len(nodes) != 2 || nodes[0].Node != "pve" || nodes[0].Status != "online" {
		t.Fatalf("nodes %+v %v", nodes, err)
	}
	n := e.node()
	if n.CPUInfo.CPUs != 4 || n.Memory.Total == 0 {
		t.Fatalf("node status %+v", n)
	}
	cl, err := e.c.Cluster(e.ctx)
	if err != nil || len(cl.Nodes) != 2 || cl.Quorate != 1 {
		t.Fatalf("cluster %+v %v", cl, err)
	}
	id, err := cl.NextID(e.ctx)
	if err != nil || id != 100 {
		t.Fatalf("nextid %d %v", id, err)
	}
	res, err := cl.Resources(e.ctx, "storage")
	if err != nil || len(res) != 4 { // local + local-lvm on two nodes
		t.Fatalf("resources %d %v", len(res), err)
	}
	e.expectErr(e.raw("GET", "/cluster/resources", url.Values{"type": {"bogus"}}), 400, "Parameter verification failed.")
	r := e.raw("GET", "/cluster/resources", url.Values{"type": {"bogus"}})
	errs := r.body["errors"].(map[string]any)
	if !regexp.MustCompile(`^value 'bogus' does not have a value in the enumeration '.*vm.*'$`).MatchString(errs["type"].(string)) {
		t.Fatalf("enum error %q", errs["type"])
	}
}

func TestAuthAndRouting(t *testing.T) {
	e := newEnv(t, pvesim.Options{})
	e.expectErr(e.rawAuth("GET", "/nodes", nil, ""), 401, "No ticket")
	e.expectErr(e.rawAuth("GET", "/nodes", nil, "PVEAPIToken=root@pam!phoenix=wrong"), 401, "authentication failure")
	e.expectErr(e.raw("GET", "/nodes/pve/bogus", nil), 501, "Method 'GET /nodes/pve/bogus' not implemented")
	e.expectErr(e.raw("GET", "/nodes/nosuch/lxc", nil), 500,
		"hostname lookup 'nosuch' failed - failed to get address info for: nosuch: Name or service not known")

	// Tickets: the client logs in, writes carry the CSRF token.
	c := proxmox.NewClient(e.srv.Endpoint(), proxmox.WithCredentials(&proxmox.Credentials{Username: "root@pam", Password: e.srv.Password()}),
		proxmox.WithHTTPClient(e.c2http()))
	v, err := c.Version(e.ctx)
	if err != nil || v.Version == "" {
		t.Fatalf("ticket auth: %v", err)
	}
	sess := c.Session()
	if sess == nil || !regexp.MustCompile(`^PVE:root@pam:[0-9A-F]{8}::`).MatchString(sess.Ticket) {
		t.Fatalf("ticket %+v", sess)
	}
	r := e.rawAuth("POST", "/nodes/pve/lxc", url.Values{"vmid": {"100"}}, "PVEAuthCookie="+sess.Ticket)
	e.expectErr(r, 401, "Permission denied - invalid csrf token")
	bad := proxmox.NewClient(e.srv.Endpoint(), proxmox.WithCredentials(&proxmox.Credentials{Username: "root@pam", Password: "nope"}),
		proxmox.WithHTTPClient(e.c2http()))
	if _, err := bad.Version(e.ctx); !proxmox.IsNotAuthorized(err) {
		t.Fatalf("bad password: %v", err)
	}
}
