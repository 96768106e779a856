//go:build linux

package pvesim_test

import (
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/pvesim"
)

// grant creates user phoenix@pve with a privilege-separated token holding
// privs on / (propagated; the user holds Administrator), and returns the
// token's Authorization header.
func (e *env) grant(privs ...string) string {
	e.t.Helper()
	s := e.srv
	must := func(err error) {
		e.t.Helper()
		if err != nil {
			e.t.Fatal(err)
		}
	}
	must(s.AddUser("phoenix@pve", "s3cret-pw"))
	must(s.SetACL("/", "phoenix@pve", "Administrator", true))
	tok, err := s.AddToken("phoenix@pve", "tf", true)
	must(err)
	must(s.SetRole("Phoenix", privs...))
	must(s.SetACL("/", "phoenix@pve!tf", "Phoenix", true))
	return "PVEAPIToken=" + tok
}

func TestPrivilegesFollowACLs(t *testing.T) {
	e := newEnv(t, pvesim.Options{})
	s := e.srv
	if err := s.AddUser("ops@pve", "pw"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetRole("Bogus", "VM.Fly"); err == nil || !strings.Contains(err.Error(), "invalid privilege 'VM.Fly'") {
		t.Fatalf("an unknown privilege must be refused, got %v", err)
	}
	if err := s.SetRole("Reader", "VM.Audit"); err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.SetACL("/vms", "ops@pve", "Reader", false))
	if got := s.Privileges("ops@pve", "/vms/100"); len(got) != 0 {
		t.Errorf("an ACL without propagate applies to its path only, /vms/100 got %v", got)
	}
	if got := s.Privileges("ops@pve", "/vms"); !reflect.DeepEqual(got, []string{"VM.Audit"}) {
		t.Errorf("/vms: %v", got)
	}
	must(s.SetACL("/vms", "ops@pve", "Reader", true))
	if got := s.Privileges("ops@pve", "/vms/100/"); !reflect.DeepEqual(got, []string{"VM.Audit"}) {
		t.Errorf("propagated to /vms/100: %v", got)
	}
	must(s.SetACL("/vms/100", "ops@pve", "NoAccess", false))
	if got := s.Privileges("ops@pve", "/vms/100"); len(got) != 0 {
		t.Errorf("NoAccess deeper down replaces the propagated role: %v", got)
	}
	if got := s.Privileges("ops@pve", "/vms/101"); len(got) != 1 {
		t.Errorf("the sibling keeps the propagated role: %v", got)
	}
	// Tokens: without privilege separation the user's privileges; with it
	// the intersection of the token's and the user's.
	full, _ := s.AddToken("ops@pve", "full", false)
	sep, _ := s.AddToken("ops@pve", "sep", true)
	if full == "" || sep == "" || !strings.HasPrefix(sep, "ops@pve!sep=") {
		t.Fatalf("token values %q %q", full, sep)
	}
	if got := s.Privileges("ops@pve!full", "/vms/101"); !reflect.DeepEqual(got, []string{"VM.Audit"}) {
		t.Errorf("non-separated token: %v", got)
	}
	if got := s.Privileges("ops@pve!sep", "/vms/101"); len(got) != 0 {
		t.Errorf("a separated token without ACLs has nothing: %v", got)
	}
	must(s.SetACL("/", "ops@pve!sep", "PVEVMAdmin", true))
	if got := s.Privileges("ops@pve!sep", "/vms/101"); !reflect.DeepEqual(got, []string{"VM.Audit"}) {
		t.Errorf("a separated token is capped by its user: %v", got)
	}
	if got := s.Privileges("root@pam", "/vms/1"); len(got) < 40 {
		t.Errorf("root@pam holds every privilege, got %d", len(got))
	}
}

// Requests run through the schema's permissions and the handlers' own
// checks, and fail with PVE's 403 naming path and privilege.
func TestPermissionChecksOnRequests(t *testing.T) {
	e := newEnv(t, pvesim.Options{})
	e.createCT(100)
	authz := e.grant("VM.Audit", "VM.Config.CPU")
	get := e.rawAuth("GET", "/nodes/pve/lxc/100/config", nil, authz)
	if get.status != 200 {
		t.Fatalf("VM.Audit reads the config: %d %s", get.status, get.reason)
	}
	e.expectErr(e.rawAuth("PUT", "/nodes/pve/lxc/100/config", url.Values{"memory": {"1024"}}, authz), 403,
		"Permission check failed (/vms/100, VM.Config.Memory)")
	if r := e.rawAuth("PUT", "/nodes/pve/lxc/100/config", url.Values{"cores": {"2"}}, authz); r.status != 200 {
		t.Fatalf("VM.Config.CPU sets cores: %d %s", r.status, r.reason)
	}
	e.expectErr(e.rawAuth("POST", "/nodes/pve/lxc/100/status/start", nil, authz), 403,
		"Permission check failed (/vms/100, VM.PowerMgmt)")
	e.expectErr(e.rawAuth("DELETE", "/nodes/pve/lxc/100", nil, authz), 403,
		"Permission check failed (/vms/100, VM.Allocate)")
	e.expectErr(e.rawAuth("GET", "/storage/local", nil, authz), 403,
		"Permission check failed (/storage/local, Datastore.Allocate)")
	// A task of root@pam is not the token's: Sys.Audit on the node.
	upid := e.raw("POST", "/nodes/pve/lxc/100/status/start", nil).body["data"].(string)
	e.waitUPID(upid)
	e.expectErr(e.rawAuth("GET", "/nodes/pve/tasks/"+url.PathEscape(upid)+"/status", nil, authz), 403,
		"Permission check failed (/nodes/pve, Sys.Audit)")
}

func TestPermissionChecksOfCreate(t *testing.T) {
	e := newEnv(t, pvesim.Options{})
	all := []string{"VM.Allocate", "VM.Audit", "VM.Config.CPU", "VM.Config.Memory", "VM.Config.Disk", "VM.Config.Network",
		"VM.Config.Options", "Datastore.AllocateSpace", "SDN.Use"}
	create := url.Values{"vmid": {"120"}, "ostemplate": {pvesim.DefaultCTTemplate}, "hostname": {"web"}, "cores": {"1"},
		"memory": {"512"}, "rootfs": {"local-lvm:4"}, "net0": {"name=eth0,bridge=vmbr0,ip=dhcp"}, "onboot": {"1"}}
	cases := []struct{ drop, want string }{
		{"VM.Allocate", "Permission check failed"},
		{"VM.Config.CPU", "Permission check failed (/vms/120, VM.Config.CPU)"},
		{"VM.Config.Memory", "Permission check failed (/vms/120, VM.Config.Memory)"},
		{"VM.Config.Network", "Permission check failed (/vms/120, VM.Config.Network)"},
		{"VM.Config.Options", "Permission check failed (/vms/120, VM.Config.Options)"},
		{"VM.Config.Disk", "Permission check failed (/vms/120, VM.Config.Disk)"},
		{"SDN.Use", "Permission check failed (/sdn/zones/localnetwork/vmbr0, SDN.Use)"},
		{"Datastore.AllocateSpace", "Permission check failed (/storage/local-lvm, Datastore.AllocateSpace)"},
	}
	for _, c := range cases {
		var privs []string
		for _, p := range all {
			if p != c.drop {
				privs = append(privs, p)
			}
		}
		authz := e.grant(privs...)
		e.expectErr(e.rawAuth("POST", "/nodes/pve/lxc", create, authz), 403, c.want)
	}
	// The template must be readable: space or audit rights on its storage.
	if err := e.srv.SetACL("/storage/local", "phoenix@pve!tf", "NoAccess", false); err != nil {
		t.Fatal(err)
	}
	e.expectErr(e.rawAuth("POST", "/nodes/pve/lxc", create, e.grant(all...)), 403,
		"Permission check failed (/storage/local, Datastore.AllocateSpace|Datastore.Audit)")
	e.srv.DeleteACL("/storage/local", "phoenix@pve!tf", "NoAccess")
	// A privileged container needs Sys.Modify on /.
	priv := url.Values{}
	for k, v := range create {
		priv[k] = v
	}
	priv.Set("unprivileged", "0")
	e.expectErr(e.rawAuth("POST", "/nodes/pve/lxc", priv, e.grant(all...)), 403, "Permission check failed (/, Sys.Modify)")
	r := e.rawAuth("POST", "/nodes/pve/lxc", create, e.grant(all...))
	if r.status != 200 {
		t.Fatalf("with every privilege the create runs: %d %s", r.status, r.reason)
	}
	if st := e.waitUPID(r.body["data"].(string)); st != "OK" {
		t.Fatalf("create: %s", st)
	}
}

// Listings show what the user may see; a user logs in with its password.
func TestListingsAndTicketsOfUsers(t *testing.T) {
	e := newEnv(t, pvesim.Options{})
	e.createCT(100)
	e.createCT(101)
	if err := e.srv.AddUser("ops@pve", "pw-ops"); err != nil {
		t.Fatal(err)
	}
	if err := e.srv.SetACL("/vms/101", "ops@pve", "PVEAuditor", false); err != nil {
		t.Fatal(err)
	}
	e.expectErr(e.rawAuth("POST", "/access/ticket", url.Values{"username": {"ops@pve"}, "password": {"wrong"}}, ""), 401, "authentication failure")
	login := e.rawAuth("POST", "/access/ticket", url.Values{"username": {"ops@pve"}, "password": {"pw-ops"}}, "")
	if login.status != 200 {
		t.Fatalf("login: %d %s", login.status, login.reason)
	}
	ticket := login.body["data"].(map[string]any)["ticket"].(string)
	res := e.rawAuth("GET", "/cluster/resources", url.Values{"type": {"vm"}}, "PVEAuthCookie="+ticket)
	list, _ := res.body["data"].([]any)
	if len(list) != 1 || list[0].(map[string]any)["vmid"].(float64) != 101 {
		t.Fatalf("ops@pve audits CT 101 only, sees %v", res.body["data"])
	}
	e.expectErr(e.rawAuth("GET", "/nodes/pve/lxc/100/config", nil, "PVEAuthCookie="+ticket), 403,
		"Permission check failed (/vms/100, VM.Audit)")
	e.expectErr(e.rawAuth("GET", "/version", nil, "PVEAPIToken=ops@pve!nope=x"), 401, "authentication failure")
}

// The /_sim/ control API is root's: a user of the model is refused.
func TestControlAPIIsRoots(t *testing.T) {
	e := newEnv(t, pvesim.Options{})
	if err := e.srv.AddUser("ops@pve", "pw-ops"); err != nil {
		t.Fatal(err)
	}
	login := e.rawAuth("POST", "/access/ticket", url.Values{"username": {"ops@pve"}, "password": {"pw-ops"}}, "")
	ticket := login.body["data"].(map[string]any)["ticket"].(string)
	req, _ := http.NewRequest("GET", strings.TrimSuffix(e.srv.Endpoint(), "/api2/json")+"/_sim/stats", nil)
	req.Header.Set("Authorization", "PVEAuthCookie="+ticket)
	res, err := e.c2http().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 403 {
		t.Fatalf("a user's ticket on /_sim/: %d, want 403", res.StatusCode)
	}
}
