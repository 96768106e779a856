//go:build linux

package pvesim

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
)

// The permission model: user.cfg's users, API tokens (token.cfg's secrets),
// roles and ACLs, evaluated as pve-access-control's RPCEnvironment does
// (permissions, check, check_any) and AccessControl::roles (ACL entries
// along the path, the deepest applicable one winning, propagate, NoAccess,
// privilege-separated tokens intersected with their user). root@pam and its
// token root@pam!phoenix keep every privilege. Groups and pool ACLs are not
// modelled.

// UserCfg is what /etc/pve/user.cfg and /etc/pve/priv/token.cfg hold for
// the model (pools live in State.Pools).
type UserCfg struct {
	Users map[string]*User `json:"users,omitempty"` // by userid (name@realm)
	// Roles are the custom roles; the built-in ones are computed.
	Roles map[string][]string `json:"roles,omitempty"`
	ACL   []ACLEntry          `json:"acl,omitempty"`
}

// User is one user of a realm other than root@pam's, with its password
// (realm pve) and tokens.
type User struct {
	Password string            `json:"password"`
	Disabled bool              `json:"disabled,omitempty"`
	Tokens   map[string]*Token `json:"tokens,omitempty"`
}

// Token is an API token: with Privsep its privileges are its own ACLs
// intersected with its user's, without it they are its user's.
type Token struct {
	Secret  string `json:"secret"`
	Privsep bool   `json:"privsep"`
}

// ACLEntry grants Role on Path to UGID, a user or a token ID.
type ACLEntry struct {
	Path      string `json:"path"`
	UGID      string `json:"ugid"`
	Role      string `json:"role"`
	Propagate bool   `json:"propagate"`
}

// privGroups is AccessControl.pm's $privgroups: every privilege PVE knows,
// by category and level; the built-in roles are derived from it.
var privGroups = []struct {
	cat                      string
	root, admin, user, audit []string
}{
	{"VM", nil, []string{"VM.Config.Disk", "VM.Config.CPU", "VM.Config.Memory", "VM.Config.Network", "VM.Config.HWType",
		"VM.Config.Options", "VM.Allocate", "VM.Clone", "VM.GuestAgent.Unrestricted", "VM.Migrate", "VM.Replicate", "VM.Snapshot",
		"VM.Snapshot.Rollback"},
		[]string{"VM.Config.CDROM", "VM.Config.Cloudinit", "VM.Console", "VM.Backup", "VM.GuestAgent.FileRead",
			"VM.GuestAgent.FileSystemMgmt", "VM.GuestAgent.FileWrite", "VM.PowerMgmt"},
		[]string{"VM.Audit", "VM.GuestAgent.Audit"}},
	{"Sys", []string{"Sys.PowerMgmt", "Sys.Modify", "Sys.Incoming", "Sys.AccessNetwork"}, []string{"Sys.Console", "Sys.Syslog"}, nil,
		[]string{"Sys.Audit"}},
	{"Datastore", nil, []string{"Datastore.Allocate", "Datastore.AllocateTemplate"}, []string{"Datastore.AllocateSpace"},
		[]string{"Datastore.Audit"}},
	{"SDN", nil, []string{"SDN.Allocate", "SDN.Audit"}, []string{"SDN.Use"}, []string{"SDN.Audit"}},
	{"User", []string{"Realm.Allocate"}, []string{"User.Modify", "Group.Allocate", "Realm.AllocateUser"}, nil, nil},
	{"Pool", nil, []string{"Pool.Allocate"}, []string{"Pool.Audit"}, []string{"Pool.Audit"}},
	{"Mapping", nil, []string{"Mapping.Modify"}, []string{"Mapping.Use"}, []string{"Mapping.Audit"}},
}

// builtinRoles is create_roles: Administrator, NoAccess, PVEAdmin,
// PVE<Cat>Admin, PVE<Cat>User and PVEAuditor.
var builtinRoles, validPrivs = func() (map[string]map[string]bool, map[string]bool) {
	valid := map[string]bool{"Permissions.Modify": true}
	roles := map[string]map[string]bool{"NoAccess": {}, "Administrator": valid, "PVEAdmin": {}, "PVEAuditor": {}}
	add := func(role string, privs ...[]string) {
		if roles[role] == nil {
			roles[role] = map[string]bool{}
		}
		for _, l := range privs {
			for _, p := range l {
				roles[role][p] = true
			}
		}
	}
	for _, g := range privGroups {
		for _, l := range [][]string{g.root, g.admin, g.user, g.audit} {
			for _, p := range l {
				valid[p] = true
			}
		}
		add("PVE"+g.cat+"Admin", g.admin, g.user, g.audit)
		add("PVEAdmin", g.admin, g.user, g.audit)
		if len(g.user) > 0 {
			add("PVE"+g.cat+"User", g.user, g.audit)
		}
		add("PVEAuditor", g.audit)
	}
	return roles, valid
}()

var (
	useridRE  = regexp.MustCompile(`^[^\s:/@!]+@[A-Za-z][A-Za-z0-9.\-_]+$`)
	tokenIDRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9.\-_]+$`)
)

// access returns the user.cfg model, creating it on first use (s.mu held).
func (st *State) access() *UserCfg {
	if st.Access == nil {
		st.Access = &UserCfg{}
	}
	if st.Access.Users == nil {
		st.Access.Users = map[string]*User{}
	}
	if st.Access.Roles == nil {
		st.Access.Roles = map[string][]string{}
	}
	return st.Access
}

// AddUser creates user userid (name@realm) with a password (pveum user add
// USERID --password); an existing user gets the new password.
func (s *Server) AddUser(userid, password string) error {
	if !useridRE.MatchString(userid) || userid == "root@pam" {
		return fmt.Errorf("invalid user ID %q (name@realm, not root@pam)", userid)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.st.access()
	if u := a.Users[userid]; u != nil {
		u.Password = password
		return nil
	}
	a.Users[userid] = &User{Password: password, Tokens: map[string]*Token{}}
	return nil
}

// AddToken creates API token tokenid of userid (pveum user token add) and
// returns PROXMOX_VE_API_TOKEN's value, USERID!TOKENID=SECRET.
func (s *Server) AddToken(userid, tokenid string, privsep bool) (string, error) {
	if !tokenIDRE.MatchString(tokenid) {
		return "", fmt.Errorf("invalid token ID %q", tokenid)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.st.access().Users[userid]
	if u == nil {
		return "", fmt.Errorf("no such user ('%s')", userid)
	}
	if u.Tokens == nil {
		u.Tokens = map[string]*Token{}
	}
	secret := randomUUID()
	u.Tokens[tokenid] = &Token{Secret: secret, Privsep: privsep}
	return userid + "!" + tokenid + "=" + secret, nil
}

// RemoveToken deletes a token (pveum user token remove).
func (s *Server) RemoveToken(userid, tokenid string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u := s.st.access().Users[userid]; u != nil {
		delete(u.Tokens, tokenid)
	}
}

// SetRole creates or replaces custom role name with privs (pveum role add /
// modify), refusing unknown privilege names as PVE's verify_privname does.
func (s *Server) SetRole(name string, privs ...string) error {
	if _, ok := builtinRoles[name]; ok {
		return fmt.Errorf("cannot modify special role '%s'", name)
	}
	for _, p := range privs {
		if !validPrivs[p] {
			return fmt.Errorf("invalid privilege '%s'", p)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.access().Roles[name] = append([]string(nil), privs...)
	return nil
}

// SetACL grants role on path to ugid, a user or token ID (pveum acl modify
// PATH --roles ROLE --users/--tokens UGID --propagate 0|1); an existing
// entry for the same path, ugid and role is replaced.
func (s *Server) SetACL(path, ugid, role string, propagate bool) error {
	path = normalizeACLPath(path)
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.st.access()
	if _, ok := builtinRoles[role]; !ok && a.Roles[role] == nil {
		return fmt.Errorf("role '%s' does not exist", role)
	}
	for i, e := range a.ACL {
		if e.Path == path && e.UGID == ugid && e.Role == role {
			a.ACL[i].Propagate = propagate
			return nil
		}
	}
	a.ACL = append(a.ACL, ACLEntry{Path: path, UGID: ugid, Role: role, Propagate: propagate})
	return nil
}

// DeleteACL removes the ACL entry for path, ugid and role.
func (s *Server) DeleteACL(path, ugid, role string) {
	path = normalizeACLPath(path)
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.st.access()
	out := a.ACL[:0]
	for _, e := range a.ACL {
		if e.Path != path || e.UGID != ugid || e.Role != role {
			out = append(out, e)
		}
	}
	a.ACL = out
}

// Privileges lists what user (a user or token ID) holds on path, sorted.
func (s *Server) Privileges(user, path string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return sortedKeys(s.st.privileges(user, normalizeACLPath(path)))
}

// normalizeACLPath is AccessControl::normalize_path: one leading slash, no
// repeated or trailing slashes.
func normalizeACLPath(p string) string {
	parts := strings.FieldsFunc(p, func(r rune) bool { return r == '/' })
	return "/" + strings.Join(parts, "/")
}

// privileges is RPCEnvironment::permissions (s.mu held).
func (st *State) privileges(user, path string) map[string]bool {
	if user == "root@pam" || user == tokenID {
		return validPrivs
	}
	a := st.access()
	if name, tok, ok := strings.Cut(user, "!"); ok {
		u := a.Users[name]
		if u == nil || u.Tokens[tok] == nil {
			return nil
		}
		userPrivs := st.privileges(name, path)
		if !u.Tokens[tok].Privsep {
			return userPrivs
		}
		out := map[string]bool{}
		for p := range st.rolePrivs(a.roles(user, path)) {
			if userPrivs[p] {
				out[p] = true
			}
		}
		return out
	}
	if u := a.Users[user]; u == nil || u.Disabled {
		return nil
	}
	return st.rolePrivs(a.roles(user, path))
}

func (st *State) rolePrivs(roles []string) map[string]bool {
	out := map[string]bool{}
	for _, r := range roles {
		if b, ok := builtinRoles[r]; ok {
			for p := range b {
				out[p] = true
			}
			continue
		}
		for _, p := range st.Access.Roles[r] {
			out[p] = true
		}
	}
	return out
}

// roles is AccessControl::roles for one user or token ID (no groups): at
// each path component from / down, the entries for ugid that apply there
// (on the path itself, or propagated from above) replace those found
// higher up.
func (a *UserCfg) roles(ugid, path string) []string {
	var roles []string
	comps := strings.FieldsFunc(path, func(r rune) bool { return r == '/' })
	for i := 0; i <= len(comps); i++ {
		here := "/" + strings.Join(comps[:i], "/")
		final := i == len(comps)
		var found []string
		for _, e := range a.ACL {
			if e.Path == here && e.UGID == ugid && (final || e.Propagate) {
				found = append(found, e.Role)
			}
		}
		if found != nil {
			roles = found
		}
	}
	return roles
}

// authenticate is pve-http-server's auth for every API request: users and
// tokens of the permission model, then root@pam's credentials.
func (s *Server) authenticate(r *http.Request) (authResult, error) {
	authz := r.Header.Get("Authorization")
	if v, ok := strings.CutPrefix(authz, "PVEAPIToken="); ok {
		if id, secret, ok := strings.Cut(v, "="); ok && id != tokenID && strings.Contains(id, "!") {
			if s.tokenValid(id, secret) {
				return authResult{user: id}, nil
			}
			return authResult{}, &apiError{Status: 401, Msg: "authentication failure"}
		}
	}
	return s.auth.authenticate(r)
}

func (s *Server) tokenValid(id, secret string) bool {
	name, tok, _ := strings.Cut(id, "!")
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.st.access().Users[name]
	if u == nil || u.Disabled || u.Tokens[tok] == nil {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(secret), []byte(u.Tokens[tok].Secret)) == 1
}

// login is POST /access/ticket: a user of the model with its password, or
// root@pam (and ticket renewal) as the authenticator knows it.
func (s *Server) login(username, password string) (map[string]any, error) {
	user := username
	if !strings.Contains(user, "@") {
		user += "@pam"
	}
	s.mu.Lock()
	u := s.st.access().Users[user]
	ok := u != nil && !u.Disabled && password != "" && subtle.ConstantTimeCompare([]byte(password), []byte(u.Password)) == 1
	s.mu.Unlock()
	if ok {
		return s.auth.issue(user), nil
	}
	return s.auth.login(username, password)
}

// serveSimAccess is /_sim/access: the permission model over HTTP, as pveum
// would change it (users, tokens, roles, ACLs); false for other paths.
func (s *Server) serveSimAccess(w http.ResponseWriter, r *http.Request, p string) bool {
	if !strings.HasPrefix(p, "/access") {
		return false
	}
	var req struct {
		UserID    string   `json:"userid"`
		Password  string   `json:"password"`
		TokenID   string   `json:"tokenid"`
		Privsep   bool     `json:"privsep"`
		RoleID    string   `json:"roleid"`
		Privs     []string `json:"privs"`
		Path      string   `json:"path"`
		UGID      string   `json:"ugid"`
		Role      string   `json:"role"`
		Propagate bool     `json:"propagate"`
		Delete    bool     `json:"delete"`
	}
	var data any
	var err error
	if r.Method == http.MethodPost {
		err = json.NewDecoder(r.Body).Decode(&req)
	}
	switch {
	case err != nil:
	case p == "/access" && r.Method == http.MethodGet:
		s.mu.Lock()
		b, _ := json.Marshal(s.st.access())
		s.mu.Unlock()
		data = json.RawMessage(b)
	case p == "/access/users" && r.Method == http.MethodPost:
		err = s.AddUser(req.UserID, req.Password)
	case p == "/access/tokens" && r.Method == http.MethodPost:
		var v string
		v, err = s.AddToken(req.UserID, req.TokenID, req.Privsep)
		data = map[string]string{"value": v}
	case p == "/access/roles" && r.Method == http.MethodPost:
		err = s.SetRole(req.RoleID, req.Privs...)
	case p == "/access/acl" && r.Method == http.MethodPost && req.Delete:
		s.DeleteACL(req.Path, req.UGID, req.Role)
	case p == "/access/acl" && r.Method == http.MethodPost:
		err = s.SetACL(req.Path, req.UGID, req.Role, req.Propagate)
	default:
		writeError(w, &apiError{Status: 501, Msg: "no such uri"})
		return true
	}
	if err != nil {
		writeError(w, &apiError{Status: 400, Msg: err.Error()})
		return true
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"data": data})
	return true
}
