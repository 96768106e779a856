//go:build linux

package pvesim_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/pvesim"
)

// GET /nodes/{node}/query-url-metadata sends a HEAD request as Nodes.pm does.
func TestQueryURLMetadata(t *testing.T) {
	e := newEnv(t, pvesim.Options{})
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodHead || r.Header.Get("User-Agent") != "Proxmox VE" {
			http.Error(w, "want HEAD from Proxmox VE", http.StatusBadRequest)
			return
		}
		switch r.URL.Path {
		case "/images/noble.img":
			w.Header().Set("Content-Type", "application/octet-stream; charset=binary")
			w.Header().Set("Content-Length", "1048576")
		case "/download":
			w.Header().Set("Content-Disposition", `attachment; filename="debian.iso"`)
		default:
			http.NotFound(w, r)
		}
	}))
	defer hs.Close()
	q := func(u string) rawResp {
		return e.raw("GET", "/nodes/pve/query-url-metadata", url.Values{"url": {u}})
	}
	r := q(hs.URL + "/images/noble.img?token=x")
	if d, _ := r.body["data"].(map[string]any); r.status != 200 || d["filename"] != "noble.img" || d["size"] != float64(1048576) ||
		d["mimetype"] != "application/octet-stream" {
		t.Fatalf("metadata: %d %v", r.status, r.body)
	}
	if d, _ := q(hs.URL + "/download").body["data"].(map[string]any); d["filename"] != "debian.iso" {
		t.Fatalf("content-disposition: %v", d)
	}
	e.expectErr(q(hs.URL+"/missing.iso"), 500, "invalid server response: '404 Not Found'")
	e.expectErr(q("https://cloud-images.example.invalid/x.img"), 500,
		"invalid server response: '500 Can't connect to cloud-images.example.invalid:443 (Temporary failure in name resolution)'")
	e.expectErr(q("ftp://x/y"), 400, "Parameter verification failed.")
}

// POST /nodes/{node}/network writes interfaces.new; PUT applies it, DELETE
// reverts it (API2/Network.pm).
func TestNodeNetwork(t *testing.T) {
	e := newEnv(t, pvesim.Options{})
	list := func(typ string) []map[string]any {
		t.Helper()
		var p url.Values
		if typ != "" {
			p = url.Values{"type": {typ}}
		}
		r := e.raw("GET", "/nodes/pve/network", p)
		var out []map[string]any
		for _, v := range r.body["data"].([]any) {
			out = append(out, v.(map[string]any))
		}
		return out
	}
	if br := list("any_bridge"); len(br) != 1 || br[0]["iface"] != "vmbr0" || br[0]["active"] != float64(1) {
		t.Fatalf("fresh bridges = %v", br)
	}
	r := e.raw("POST", "/nodes/pve/network", url.Values{"iface": {"vmbr1"}, "type": {"bridge"}, "autostart": {"1"},
		"cidr": {"10.10.0.1/24"}, "bridge_vlan_aware": {"1"}, "comments": {"lab"}})
	if r.status != 200 {
		t.Fatalf("create: %d %v", r.status, r.body)
	}
	r = e.raw("GET", "/nodes/pve/network", nil)
	if ch, _ := r.body["changes"].(string); !strings.Contains(ch, "+iface vmbr1 inet static\n+\taddress 10.10.0.1/24\n") {
		t.Fatalf("changes = %q", r.body["changes"])
	}
	br := e.raw("GET", "/nodes/pve/network/vmbr1", nil).body["data"].(map[string]any)
	if br["address"] != "10.10.0.1" || br["netmask"] != "24" || br["cidr"] != "10.10.0.1/24" || br["method"] != "static" || br["active"] != nil {
		t.Fatalf("vmbr1 = %v", br)
	}
	p := func(kv ...string) url.Values {
		v := url.Values{}
		for i := 0; i < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	for _, c := range []struct {
		params      url.Values
		param, want string
	}{
		{p("iface", "vmbr1", "type", "bridge"), "iface", "interface already exists"},
		{p("iface", "vmbr2", "type", "bridge", "gateway", "10.0.0.1"), "gateway", "Default gateway already exists on interface 'vmbr0'."},
		{p("iface", "vmbr2", "type", "bridge", "bridge_ports", "nic0"), "bridge_ports", "nic0 is already used on interface 'vmbr0'."},
		{p("iface", "vmbr2", "type", "bridge", "cidr", "10.0.0.2/24", "address", "10.0.0.2", "netmask", "255.255.255.0"), "address", "address conflicts with cidr"},
	} {
		r := e.raw("POST", "/nodes/pve/network", c.params)
		e.expectErr(r, 400, "Parameter verification failed.")
		if errs := r.body["errors"].(map[string]any); errs[c.param] != c.want {
			t.Errorf("%v: errors %v, want %s %q", c.params, errs, c.param, c.want)
		}
	}
	e.expectErr(e.raw("POST", "/nodes/pve/network", p("iface", "vmbr9", "type", "OVSBridge")), 500,
		"Open VSwitch is not installed (need package 'openvswitch-switch')")
	// apply: the bridge becomes active and the changes are gone
	r = e.raw("PUT", "/nodes/pve/network", nil)
	if st := e.waitUPID(r.body["data"].(string)); st != "OK" || !strings.Contains(r.body["data"].(string), ":srvreload:networking:") {
		t.Fatalf("reload %v: %s", r.body["data"], st)
	}
	r = e.raw("GET", "/nodes/pve/network", url.Values{"type": {"bridge"}})
	if r.body["changes"] != nil || len(r.body["data"].([]any)) != 2 {
		t.Fatalf("after reload: %v", r.body)
	}
	// a pending delete is reverted by DELETE /network
	e.raw("DELETE", "/nodes/pve/network/vmbr1", nil)
	if got := list("bridge"); len(got) != 1 {
		t.Fatalf("pending delete: %v", got)
	}
	e.raw("DELETE", "/nodes/pve/network", nil)
	if got := list("bridge"); len(got) != 2 {
		t.Fatalf("after revert: %v", got)
	}
	r = e.raw("PUT", "/nodes/pve/network/vmbr9", p("type", "bridge"))
	e.expectErr(r, 400, "Parameter verification failed.")
}

// /cluster/mapping/{dir,pci,usb} as API2/Cluster/Mapping/*.pm.
func TestClusterMappings(t *testing.T) {
	e := newEnv(t, pvesim.Options{})
	if idx := e.raw("GET", "/cluster/mapping", nil).body["data"].([]any); len(idx) != 3 {
		t.Fatalf("index = %v", idx)
	}
	for _, kind := range []string{"dir", "pci", "usb"} {
		if l := e.raw("GET", "/cluster/mapping/"+kind, nil).body["data"].([]any); len(l) != 0 {
			t.Fatalf("%s = %v", kind, l)
		}
	}
	r := e.raw("POST", "/cluster/mapping/pci", url.Values{"id": {"gpu"}, "map": {"node=pve,path=0000:01:00.0,id=10de:2204", "node=pve2,path=0000:02:00.0,id=10de:2204"},
		"description": {"RTX"}, "mdev": {"1"}})
	if r.status != 200 {
		t.Fatalf("create pci: %d %v", r.status, r.body)
	}
	e.expectErr(e.raw("POST", "/cluster/mapping/pci", url.Values{"id": {"gpu"}, "map": {"node=pve,path=0000:03:00.0,id=10de:2204"}}), 500,
		"create hardware mapping failed: pci ID 'gpu' already defined")
	g := e.raw("GET", "/cluster/mapping/pci/gpu", nil).body["data"].(map[string]any)
	if m := g["map"].([]any); len(m) != 2 || g["description"] != "RTX" || g["mdev"] != float64(1) || g["type"] != "pci" || g["digest"] == nil {
		t.Fatalf("gpu = %v", g)
	}
	e.expectErr(e.raw("PUT", "/cluster/mapping/pci/gpu", url.Values{"digest": {"0000000000000000000000000000000000000000"}, "description": {"x"}}), 500,
		"update hardware mapping failed: detected modified configuration - file changed by other user? Try again.")
	e.raw("PUT", "/cluster/mapping/pci/gpu", url.Values{"delete": {"description"}, "digest": {g["digest"].(string)}})
	// an empty digest asserts nothing (PVE::Tools::assert_if_modified)
	if r := e.raw("PUT", "/cluster/mapping/pci/gpu", url.Values{"description": {"y"}, "digest": {""}}); r.status != 200 {
		t.Fatalf("update with an empty digest: %d %v", r.status, r.body)
	}
	e.expectErr(e.raw("GET", "/cluster/mapping/usb/nope", nil), 500, "mapping 'nope' not found")
	e.expectErr(e.raw("PUT", "/cluster/mapping/usb/nope", url.Values{"map": {"node=pve,id=1234:5678"}}), 500, "update hardware mapping failed: usb ID 'nope' does not exist")
	// a directory mapping's path must exist on this node
	e.expectErr(e.raw("POST", "/cluster/mapping/dir", url.Values{"id": {"share"}, "map": {"node=pve,path=/srv/share"}}), 500, "Path /srv/share does not exist")
	if r := e.raw("POST", "/cluster/mapping/dir", url.Values{"id": {"share"}, "map": {"node=pve,path=/var/lib/vz"}}); r.status != 200 {
		t.Fatalf("create dir: %d %v", r.status, r.body)
	}
	e.expectErr(e.raw("POST", "/cluster/mapping/dir", url.Values{"id": {"two"}, "map": {"node=pve2,path=/a", "node=pve2,path=/b"}}), 500,
		"Node 'pve2' is specified 2 times.")
	e.raw("DELETE", "/cluster/mapping/dir/share", nil)
	if l := e.raw("GET", "/cluster/mapping/dir", nil).body["data"].([]any); len(l) != 0 {
		t.Fatalf("after delete: %v", l)
	}
}
