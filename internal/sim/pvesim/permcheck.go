//go:build linux

package pvesim

import (
	"strconv"
	"strings"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/pveschema"
)

// The permission step of the request pipeline, after schema validation and
// before the handler, as pve-http-server runs RPCEnvironment's
// check_api2_permissions: the endpoint's `permissions` from the official
// schema (pveschema.PermissionOf), then the checks PVE's handlers make
// themselves (permhooks.go), then, after the handler, the filtering of
// listings to what the user may see. root@pam passes everything.

// authorize runs the endpoint's permission check and its handler checks.
func (s *Server) authorize(r *request) error {
	if r.user == "root@pam" || r.user == tokenID {
		return nil
	}
	key := r.method + " " + r.tmpl
	perm, _ := pveschema.PermissionOf(r.method, r.tmpl)
	switch {
	case perm == nil:
		return permErr("user != root@pam")
	case perm.User == "world" || perm.User == "all":
	case perm.Check == nil:
		return permErr("")
	default:
		if ok, err := s.evalCheck(r, perm.Check, false); !ok {
			return err
		}
	}
	if h := permHooks[key]; h != nil {
		return h(s, r)
	}
	return nil
}

// param is a path variable or the first value of a parameter.
func (r *request) param(name string) (string, bool) {
	if v, ok := r.vars[name]; ok {
		return v, true
	}
	if r.params.Has(name) {
		return r.params.Get(name), true
	}
	return "", false
}

// evalCheck is exec_api2_perm_check; with noerr a failed check is false
// without an error.
func (s *Server) evalCheck(r *request, c *pveschema.PermCheck, noerr bool) (bool, error) {
	switch c.Op {
	case "and":
		for _, sub := range c.Sub {
			if ok, err := s.evalCheck(r, sub, false); !ok {
				return false, err
			}
		}
		return true, nil
	case "or":
		for _, sub := range c.Sub {
			if ok, _ := s.evalCheck(r, sub, true); ok {
				return true, nil
			}
		}
		return false, permErr("")
	case "perm":
		if c.RequireParam != "" {
			if _, ok := r.param(c.RequireParam); !ok {
				return false, permErr("")
			}
		}
		path := normalizeACLPath(templateReplace(c.Path, r.param))
		var err error
		if c.Any {
			err = s.checkAny(r.user, path, c.Privs...)
		} else {
			err = s.check(r.user, path, c.Privs...)
		}
		return err == nil, err
	}
	// user management checks (userid-param, userid-group, perm-modify):
	// no such endpoint is served, so none of them passes.
	return false, permErr("")
}

// templateReplace is PVE::Tools::template_replace: {name} becomes the
// parameter's value, or '-' when it is unset or empty.
func templateReplace(tmpl string, param func(string) (string, bool)) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(tmpl, '{')
		j := strings.IndexByte(tmpl[max(i, 0):], '}')
		if i < 0 || j < 0 {
			b.WriteString(tmpl)
			return b.String()
		}
		b.WriteString(tmpl[:i])
		v, _ := param(tmpl[i+1 : i+j])
		if v == "" {
			v = "-"
		}
		b.WriteString(v)
		tmpl = tmpl[i+j+1:]
	}
}

// check is RPCEnvironment::check: every privilege on path, or 403
// "Permission check failed (path, priv)" for the first one missing.
func (s *Server) check(user, path string, privs ...string) error {
	have := s.privilegesOf(user, path)
	for _, p := range privs {
		if !have[p] {
			return permErr(path + ", " + p)
		}
	}
	return nil
}

// checkAny is RPCEnvironment::check_any: one of privs on path.
func (s *Server) checkAny(user, path string, privs ...string) error {
	have := s.privilegesOf(user, path)
	for _, p := range privs {
		if have[p] {
			return nil
		}
	}
	return permErr(path + ", " + strings.Join(privs, "|"))
}

func (s *Server) has(user, path, priv string) bool { return s.privilegesOf(user, path)[priv] }

func (s *Server) privilegesOf(user, path string) map[string]bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.privileges(user, path)
}

// permFilters narrow listings to what the user may see, as the handlers of
// these endpoints do (their schema permissions say "user: all" and describe
// the filter).
var permFilters = map[string]func(s *Server, r *request, e map[string]any) bool{
	// pve-manager API2/Cluster.pm resources: guests with VM.Audit, storages
	// with Datastore.Audit, pools with Pool.Audit; nodes always.
	"GET /cluster/resources": func(s *Server, r *request, e map[string]any) bool {
		switch e["type"] {
		case "lxc", "qemu":
			return s.has(r.user, "/vms/"+anyString(e["vmid"]), "VM.Audit")
		case "storage":
			return s.has(r.user, "/storage/"+anyString(e["storage"]), "Datastore.Audit")
		case "pool":
			return s.has(r.user, "/pool/"+anyString(e["pool"]), "Pool.Audit")
		}
		return true
	},
	"GET /nodes/{node}/lxc":  guestVisible,
	"GET /nodes/{node}/qemu": guestVisible,
	// pve-storage API2/Storage/Status.pm index and Config.pm index.
	"GET /nodes/{node}/storage": storageVisible,
	"GET /storage":              storageVisible,
	"GET /pools": func(s *Server, r *request, e map[string]any) bool {
		return s.has(r.user, "/pool/"+anyString(e["poolid"]), "Pool.Audit")
	},
	// pve-manager API2/Tasks.pm node_tasks: the user's own tasks, all with
	// Sys.Audit on the node.
	"GET /nodes/{node}/tasks": func(s *Server, r *request, e map[string]any) bool {
		return s.has(r.user, "/nodes/"+r.vars["node"], "Sys.Audit") || taskOwner(r.user, anyString(e["user"]), anyString(e["tokenid"]))
	},
}

func guestVisible(s *Server, r *request, e map[string]any) bool {
	return s.has(r.user, "/vms/"+anyString(e["vmid"]), "VM.Audit")
}

func storageVisible(s *Server, r *request, e map[string]any) bool {
	p := "/storage/" + anyString(e["storage"])
	return s.has(r.user, p, "Datastore.Audit") || s.has(r.user, p, "Datastore.AllocateSpace")
}

// filterListing applies the endpoint's listing filter to a handler's result.
func (s *Server) filterListing(r *request, data any) any {
	f := permFilters[r.method+" "+r.tmpl]
	if f == nil || r.user == "root@pam" || r.user == tokenID {
		return data
	}
	list, ok := data.([]map[string]any)
	if !ok {
		return data
	}
	out := make([]map[string]any, 0, len(list))
	for _, e := range list {
		if f(s, r, e) {
			out = append(out, e)
		}
	}
	return out
}

// taskOwner is Tasks.pm's check_task_owner: the task's user, or for a
// token's task also the token's user.
func taskOwner(user, taskUser, taskToken string) bool {
	if taskToken == "" {
		if u, t, ok := strings.Cut(taskUser, "!"); ok {
			taskUser, taskToken = u, t
		}
	}
	if taskToken != "" {
		return user == taskUser+"!"+taskToken || user == taskUser
	}
	return user == taskUser
}

func anyString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return ""
}
