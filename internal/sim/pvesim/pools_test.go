//go:build linux

package pvesim_test

import (
	"net/url"
	"testing"

	proxmox "github.com/luthermonson/go-proxmox"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/pvesim"
)

// Pools as pve-manager's API2/Pool.pm: a fresh install has none; guests and
// storages join and leave; errors carry the lock_user_config prefixes.
func TestPools(t *testing.T) {
	e := newEnv(t, pvesim.Options{})
	ok := func(method, path string, params url.Values) any {
		t.Helper()
		r := e.raw(method, path, params)
		if r.status != 200 {
			t.Fatalf("%s %s %v: %d %v", method, path, params, r.status, r.body)
		}
		return r.body["data"]
	}
	if d := ok("GET", "/pools", nil); d == nil || len(d.([]any)) != 0 {
		t.Fatalf("fresh pools = %#v", d)
	}
	ok("POST", "/pools", url.Values{"poolid": {"web"}, "comment": {"front"}})
	ok("POST", "/pools", url.Values{"poolid": {"web/sub"}})
	e.expectErr(e.raw("POST", "/pools", url.Values{"poolid": {"web"}}), 500, "create pool failed: pool 'web' already exists")
	e.expectErr(e.raw("POST", "/pools", url.Values{"poolid": {"nope/sub"}}), 500, "create pool failed: parent 'nope' of pool 'nope/sub' does not exist")
	e.expectErr(e.raw("POST", "/pools", url.Values{"poolid": {"9lives"}}), 500, "create pool failed: pool name must start with a letter")
	list := ok("GET", "/pools", nil).([]any)
	if len(list) != 2 || list[0].(map[string]any)["poolid"] != "web" || list[0].(map[string]any)["comment"] != "front" {
		t.Fatalf("pools = %v", list)
	}

	// create and clone take a pool that must exist
	e.expectErr(e.raw("POST", "/nodes/pve/lxc", url.Values{"vmid": {"100"}, "ostemplate": {pvesim.DefaultCTTemplate}, "pool": {"nope"}}),
		403, "Permission check failed (pool 'nope' does not exist)")
	e.createCT(100, proxmox.ContainerOption{Name: "pool", Value: "web"})
	res := ok("GET", "/cluster/resources", url.Values{"type": {"vm"}}).([]any)
	if ct := res[0].(map[string]any); ct["id"] != "lxc/100" || ct["pool"] != "web" {
		t.Fatalf("resources = %v", res)
	}
	all := ok("GET", "/cluster/resources", nil).([]any)
	if p := all[0].(map[string]any); p["id"] != "/pool/web" || p["type"] != "pool" || p["pool"] != "web" {
		t.Fatalf("pool resources = %v", all[:2])
	}
	e.createCT(101)
	ok("PUT", "/pools", url.Values{"poolid": {"web"}, "vms": {"101"}, "storage": {"local"}})
	e.expectErr(e.raw("PUT", "/pools/web", url.Values{"vms": {"101"}}), 500, "update pools failed: VM 101 is already a pool member")
	web := ok("GET", "/pools/web", nil).(map[string]any)
	members := web["members"].([]any)
	if len(members) != 3 || members[0].(map[string]any)["id"] != "lxc/100" || members[0].(map[string]any)["vmid"] != float64(100) ||
		members[2].(map[string]any)["id"] != "storage/pve/local" || web["comment"] != "front" {
		t.Fatalf("pool web = %v", web)
	}
	if only := ok("GET", "/pools", url.Values{"poolid": {"web"}, "type": {"storage"}}).([]any); len(only[0].(map[string]any)["members"].([]any)) != 1 {
		t.Fatalf("storage members = %v", only)
	}

	ok("POST", "/pools", url.Values{"poolid": {"db"}})
	e.expectErr(e.raw("PUT", "/pools", url.Values{"poolid": {"db"}, "vms": {"100"}}), 500,
		"update pools failed: VM 100 belongs already to pool 'web' and 'allow-move' is not set")
	ok("PUT", "/pools", url.Values{"poolid": {"db"}, "vms": {"100"}, "allow-move": {"1"}})
	e.expectErr(e.raw("PUT", "/pools", url.Values{"poolid": {"web"}, "vms": {"100"}, "delete": {"1"}}), 500, "update pools failed: VM 100 is not a pool member")
	e.expectErr(e.raw("PUT", "/pools", url.Values{"poolid": {"nope"}, "comment": {"x"}}), 500, "update pools failed: pool 'nope' does not exist")

	e.expectErr(e.raw("DELETE", "/pools", url.Values{"poolid": {"web"}}), 500, "delete pool failed: pool 'web' is not empty (contains pool 'web/sub')")
	// the deprecated path form knows no nested pools
	e.expectErr(e.raw("DELETE", "/pools/web/sub", nil), 501, "Method 'DELETE /pools/web/sub' not implemented")
	ok("DELETE", "/pools", url.Values{"poolid": {"web/sub"}})
	e.expectErr(e.raw("DELETE", "/pools", url.Values{"poolid": {"web"}}), 500, "delete pool failed: pool 'web' is not empty (contains VM 101)")
	// a destroyed guest leaves its pool
	ct, _ := e.node().Container(e.ctx, 101)
	e.wait(ct.Delete(e.ctx, nil))
	e.expectErr(e.raw("DELETE", "/pools", url.Values{"poolid": {"web"}}), 500, "delete pool failed: pool 'web' is not empty (contains storage 'local')")
	ok("PUT", "/pools", url.Values{"poolid": {"web"}, "storage": {"local"}, "delete": {"1"}})
	ok("DELETE", "/pools", url.Values{"poolid": {"web"}})
	e.expectErr(e.raw("GET", "/pools/web", nil), 500, "pool 'web' does not exist")

	// a clone joins the pool it is given
	c100, _ := e.node().Container(e.ctx, 100)
	_, task, err := c100.Clone(e.ctx, &proxmox.ContainerCloneOptions{NewID: 102, Pool: "db"})
	e.wait(task, err)
	db := ok("GET", "/pools", url.Values{"poolid": {"db"}}).([]any)[0].(map[string]any)
	if m := db["members"].([]any); len(m) != 2 || m[1].(map[string]any)["vmid"] != float64(102) {
		t.Fatalf("pool db = %v", db)
	}
}
