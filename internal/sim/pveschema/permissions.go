package pveschema

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
)

// UnvalidatedPaths are paths the simulator serves without the generated
// parameter table (multipart uploads, directory indexes, downloads, the
// agent's OS info); their permissions are generated all the same.
var UnvalidatedPaths = []string{
	"/nodes/{node}",
	"/nodes/{node}/storage/{storage}",
	"/nodes/{node}/storage/{storage}/upload",
	"/nodes/{node}/storage/{storage}/download-url",
	"/nodes/{node}/aplinfo",
	"/nodes/{node}/qemu/{vmid}/agent/get-osinfo",
}

// PermissionPaths are the paths whose permissions are generated.
func PermissionPaths() []string {
	return append(append([]string(nil), ServedPaths...), UnvalidatedPaths...)
}

// Permission is an endpoint's `permissions` object in the official schema:
// who may call it before its handler runs (RPCEnvironment's
// check_api2_permissions). User "world" needs no login, "all" any
// authenticated user (the handler then checks what Description says);
// otherwise Check must hold. A nil Permission means root@pam only.
type Permission struct {
	User        string
	Check       *PermCheck
	Description string
}

// PermCheck is one node of a permission expression, as exec_api2_perm_check
// reads it: Op "perm" checks Privs on Path (a template such as
// "/vms/{vmid}", filled from the request's parameters), all of them or, with
// Any, one; RequireParam makes it fail when that parameter is absent. "and"
// and "or" combine Sub. Other ops (userid-param, userid-group, perm-modify)
// concern user management and are kept with their raw arguments.
type PermCheck struct {
	Op           string
	Path         string
	Privs        []string
	Any          bool
	RequireParam string
	Sub          []*PermCheck
	Args         []string
}

// String renders the expression as the schema writes it.
func (c *PermCheck) String() string {
	switch c.Op {
	case "and", "or":
		parts := make([]string, len(c.Sub))
		for i, s := range c.Sub {
			parts[i] = s.String()
		}
		return "[" + c.Op + ", " + strings.Join(parts, ", ") + "]"
	case "perm":
		s := fmt.Sprintf("[perm, %s, [%s]", c.Path, strings.Join(c.Privs, ", "))
		if c.Any {
			s += ", any"
		}
		if c.RequireParam != "" {
			s += ", require_param " + c.RequireParam
		}
		return s + "]"
	}
	return "[" + c.Op + ", " + strings.Join(c.Args, ", ") + "]"
}

// convertPermission reads a schema `permissions` value (nil when absent).
func convertPermission(raw any) (*Permission, error) {
	m, ok := raw.(map[string]any)
	if !ok {
		if raw == nil {
			return nil, nil
		}
		return nil, fmt.Errorf("permissions: not an object")
	}
	p := &Permission{User: str(m["user"]), Description: str(m["description"])}
	if c, ok := m["check"]; ok {
		pc, err := convertCheck(c)
		if err != nil {
			return nil, fmt.Errorf("permissions: %w", err)
		}
		p.Check = pc
	}
	return p, nil
}

func convertCheck(raw any) (*PermCheck, error) {
	l, ok := raw.([]any)
	if !ok || len(l) == 0 {
		return nil, fmt.Errorf("check %v: not a list", raw)
	}
	op, _ := l[0].(string)
	c := &PermCheck{Op: op}
	switch op {
	case "and", "or":
		for _, s := range l[1:] {
			sub, err := convertCheck(s)
			if err != nil {
				return nil, err
			}
			c.Sub = append(c.Sub, sub)
		}
	case "perm":
		if len(l) < 3 {
			return nil, fmt.Errorf("check %v: perm needs a path and privileges", raw)
		}
		c.Path = str(l[1])
		privs, _ := l[2].([]any)
		for _, p := range privs {
			c.Privs = append(c.Privs, str(p))
		}
		for i := 3; i+1 < len(l); i += 2 {
			switch str(l[i]) {
			case "any":
				c.Any = truthy(l[i+1])
			case "require_param":
				c.RequireParam = str(l[i+1])
			default:
				return nil, fmt.Errorf("check %v: unknown option %v", raw, l[i])
			}
		}
	default:
		for _, a := range l[1:] {
			if b, err := json.Marshal(a); err == nil {
				c.Args = append(c.Args, strings.Trim(string(b), `"`))
			}
		}
	}
	return c, nil
}

// LoadPermissions reads the permissions of the given paths' methods, keyed
// by "METHOD path".
func LoadPermissions(path string, paths []string) (map[string]*Permission, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var doc struct {
		Paths map[string]map[string]struct {
			Permissions any `json:"permissions"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	out := map[string]*Permission{}
	for _, p := range paths {
		methods, ok := doc.Paths[p]
		if !ok {
			return nil, fmt.Errorf("%s: path %s not in schema", path, p)
		}
		for m, raw := range methods {
			perm, err := convertPermission(raw.Permissions)
			if err != nil {
				return nil, fmt.Errorf("%s %s: %w", m, p, err)
			}
			out[endpointKey(m, p)] = perm
		}
	}
	return out, nil
}

var (
	permsOnce sync.Once
	perms     map[string]*Permission
)

// PermissionOf returns the generated permissions of method and path
// template (zz_generated_permissions.go); ok is false for an endpoint the
// table does not have. A nil Permission with ok means root@pam only.
func PermissionOf(method, pathTemplate string) (p *Permission, ok bool) {
	permsOnce.Do(func() { perms = generatedPermissions() })
	p, ok = perms[endpointKey(method, pathTemplate)]
	return p, ok
}

// PermissionKeys lists the generated table's "METHOD path" keys, sorted.
func PermissionKeys() []string {
	permsOnce.Do(func() { perms = generatedPermissions() })
	out := make([]string, 0, len(perms))
	for k := range perms {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
