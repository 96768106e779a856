//go:build linux

package pvesim

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/phoenix-hypervisor/terraform-provider-phoenix/internal/sim/pveschema"
)

const apiBase = "/api2/json"

// request is what a handler sees: a validated, authenticated API call.
type request struct {
	s        *Server
	http     *http.Request
	method   string
	tmpl     string
	vars     map[string]string
	params   pveschema.Values
	user     string
	isTicket bool
}

// withTotal makes the response carry PVE's top-level "total".
type withTotal struct {
	data  any
	total int
}

// withAttrs adds other top-level result attributes (set_result_attrib),
// such as the network's "changes".
type withAttrs struct {
	data  any
	attrs map[string]any
}

type handlerFunc func(*request) (any, error)

type route struct {
	method, tmpl string
	segs         []string
	literals     int
	h            handlerFunc
	noAuth       bool
}

// ServeHTTP is the one request pipeline: auth → route → faults → validation
// → permissions → handler → listing filter → response.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.EscapedPath()
	if strings.HasPrefix(path, "/_sim/") {
		s.serveSim(w, r)
		return
	}
	if !strings.HasPrefix(path, apiBase+"/") && path != apiBase {
		writeError(w, &apiError{Status: 501, Msg: "no such uri"})
		return
	}
	rel := strings.TrimPrefix(path, apiBase)
	var params pveschema.Values
	var err error
	if isMultipart(r) {
		params, err = readUpload(r)
		defer dropUpload(params)
	} else {
		params, err = readParams(r)
	}
	if err != nil {
		writeError(w, &apiError{Status: 400, Msg: err.Error()})
		return
	}
	rt, vars := s.match(r.Method, rel)
	relUnescaped, _ := url.PathUnescape(rel)
	rec := RequestRecord{Time: time.Now(), Method: r.Method, Path: relUnescaped, Params: params, PathVars: vars}
	if rt != nil {
		rec.Template = rt.tmpl
	}

	data, status, err := s.dispatch(r, rt, rel, relUnescaped, vars, params, &rec)
	rec.Status = status
	if err != nil && !errors.Is(err, errDrop) {
		rec.Error = asAPIError(err).Msg
	}
	if rt != nil {
		s.faults.record(rec)
	}
	if errors.Is(err, errDrop) {
		resetConn(w)
		return
	}
	if err != nil {
		writeError(w, asAPIError(err))
		return
	}
	body := map[string]any{"data": data}
	switch wt := data.(type) {
	case withTotal:
		body = map[string]any{"data": wt.data, "total": wt.total}
	case withAttrs:
		body = map[string]any{"data": wt.data}
		for k, v := range wt.attrs {
			body[k] = v
		}
	}
	buf, _ := json.Marshal(body)
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.Header().Set("Cache-Control", "max-age=0")
	w.WriteHeader(200)
	_, _ = w.Write(buf)
}

func (s *Server) dispatch(r *http.Request, rt *route, rel, relUnescaped string, vars map[string]string, params pveschema.Values, rec *RequestRecord) (any, int, error) {
	var auth authResult
	if rt == nil || !rt.noAuth {
		a, err := s.authenticate(r)
		if err != nil {
			return nil, 401, err
		}
		auth = a
		rec.User = a.user
	}
	if rt == nil {
		return nil, 501, &apiError{Status: 501, Msg: fmt.Sprintf("Method '%s %s' not implemented", r.Method, relUnescaped)}
	}
	if node := vars["node"]; node != "" && !s.faults.waitNodeUp(r.Context(), node) {
		return nil, 595, &apiError{Status: 595, Msg: "Connection timed out"}
	}
	hit := s.faults.match(r.Method, rt.tmpl)
	if hit.latency > 0 {
		select {
		case <-time.After(hit.latency):
		case <-r.Context().Done():
		}
	}
	if hit.err != nil {
		return nil, asAPIError(hit.err).Status, hit.err
	}
	if hit.drop == DropBefore {
		return nil, 0, errDrop
	}
	params, err := validateParams(r.Method, rt.tmpl, vars, params)
	if err != nil {
		return nil, 400, err
	}
	if node := vars["node"]; node != "" && !s.knownNode(node) {
		return nil, 500, die("hostname lookup '%s' failed - failed to get address info for: %s: Name or service not known", node, node)
	}
	req := &request{s: s, http: r, method: r.Method, tmpl: rt.tmpl, vars: vars, params: params, user: auth.user, isTicket: auth.ticket}
	if err := s.authorize(req); err != nil {
		return nil, asAPIError(err).Status, err
	}
	data, err := rt.h(req)
	if hit.drop == DropAfter {
		return nil, 0, errDrop // the handler ran; its answer is lost
	}
	if err != nil {
		return nil, asAPIError(err).Status, err
	}
	return s.filterListing(req, data), 200, nil
}

// errDrop makes ServeHTTP reset the connection instead of answering.
var errDrop = errors.New("connection dropped by a fault rule")

// resetConn closes the client's connection with a TCP reset, as a crashed
// proxy or a broken network would.
func resetConn(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	if tc, ok := conn.(*tls.Conn); ok {
		if tcp, ok := tc.NetConn().(*net.TCPConn); ok {
			_ = tcp.SetLinger(0)
		}
	}
	_ = conn.Close()
}

// readParams merges the query string and a JSON or form body, stringifying
// JSON scalars the way PVE's API sees them.
func readParams(r *http.Request) (pveschema.Values, error) {
	out := pveschema.Values{}
	for k, v := range r.URL.Query() {
		out[k] = v
	}
	if r.Body == nil {
		return out, nil
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<20))
	if err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		delete(out, "_dc")
		return out, nil
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "application/json":
		var m map[string]any
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		if err := dec.Decode(&m); err != nil {
			return nil, fmt.Errorf("JSON decode error: %v", err)
		}
		for k, v := range m {
			if vals, ok := jsonValues(v); ok {
				out[k] = vals
			}
		}
	default:
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, err
		}
		for k, v := range form {
			out[k] = v
		}
	}
	delete(out, "_dc")
	return out, nil
}

func jsonValues(v any) ([]string, bool) {
	switch x := v.(type) {
	case nil:
		return nil, false
	case string:
		return []string{x}, true
	case json.Number:
		return []string{x.String()}, true
	case bool:
		if x {
			return []string{"1"}, true
		}
		return []string{"0"}, true
	case []any:
		var out []string
		for _, e := range x {
			if vs, ok := jsonValues(e); ok {
				out = append(out, vs...)
			}
		}
		return out, true
	default:
		b, _ := json.Marshal(x)
		return []string{string(b)}, true
	}
}

// writeError sends PVE's error shape with the message as the reason phrase.
// net/http cannot set a custom reason phrase, so the connection is hijacked.
func writeError(w http.ResponseWriter, e *apiError) {
	body := map[string]any{"data": nil}
	if e.Msg != "" {
		body["message"] = strings.TrimRight(e.Msg, "\n") + "\n"
	}
	if len(e.Errors) > 0 {
		body["errors"] = e.Errors
	}
	buf, _ := json.Marshal(body)
	if e.Status == 401 {
		buf = nil // pveproxy sends no body with 401
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		w.Header().Set("Content-Type", "application/json;charset=UTF-8")
		w.WriteHeader(e.Status)
		_, _ = w.Write(buf)
		return
	}
	conn, rw, err := hj.Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	fmt.Fprintf(rw, "HTTP/1.1 %d %s\r\n", e.Status, reasonPhrase(e.Msg))
	fmt.Fprintf(rw, "Content-Type: application/json;charset=UTF-8\r\nContent-Length: %d\r\nConnection: close\r\nDate: %s\r\n\r\n",
		len(buf), time.Now().UTC().Format(http.TimeFormat))
	_, _ = rw.Write(buf)
	_ = rw.Flush()
}

// handle registers a route and returns it for flags such as noAuth.
func (s *Server) handle(method, tmpl string, h handlerFunc) *route {
	segs := strings.Split(strings.Trim(tmpl, "/"), "/")
	lit := 0
	for _, sg := range segs {
		if !strings.HasPrefix(sg, "{") {
			lit++
		}
	}
	rt := &route{method: method, tmpl: tmpl, segs: segs, literals: lit, h: h}
	s.routes = append(s.routes, rt)
	return rt
}

// match finds the route for method and escaped path; literal segments win
// over variables. Path variables are unescaped.
func (s *Server) match(method, rel string) (*route, map[string]string) {
	parts := strings.Split(strings.Trim(rel, "/"), "/")
	// Status.pm mounts storage content with fragmentDelimiter '': everything
	// after .../content/ is one {volume}, slashes included.
	if len(parts) > 6 && parts[0] == "nodes" && parts[2] == "storage" && parts[4] == "content" {
		parts = append(parts[:5], strings.Join(parts[5:], "/"))
	}
	// IPSet.pm mounts each IPSet the same way: a CIDR's slash is no separator.
	for i := 0; i+3 < len(parts); i++ {
		if parts[i] == "firewall" && parts[i+1] == "ipset" {
			parts = append(parts[:i+3], strings.Join(parts[i+3:], "/"))
			break
		}
	}
	var best *route
	var bestVars map[string]string
	for _, rt := range s.routes {
		if rt.method != method || len(rt.segs) != len(parts) {
			continue
		}
		vars := map[string]string{}
		ok := true
		for i, sg := range rt.segs {
			p, err := url.PathUnescape(parts[i])
			if err != nil {
				ok = false
				break
			}
			if strings.HasPrefix(sg, "{") {
				if p == "" {
					ok = false
					break
				}
				vars[strings.Trim(sg, "{}")] = p
			} else if sg != p {
				ok = false
				break
			}
		}
		if ok && (best == nil || rt.literals > best.literals) {
			best, bestVars = rt, vars
		}
	}
	return best, bestVars
}

// Parameter helpers (values are already validated by the schema).

func (r *request) has(name string) bool { return r.params.Has(name) }
func (r *request) str(name string) string {
	return r.params.Get(name)
}
func (r *request) boolean(name string) bool { return parseBool(r.params.Get(name)) }
func (r *request) integer(name string) int {
	n, _ := strconv.Atoi(r.params.Get(name))
	return n
}

// vmid is the guest id of the path, or of the body for create calls.
func (r *request) vmid() int {
	v, ok := r.vars["vmid"]
	if !ok {
		v = r.params.Get("vmid")
	}
	n, _ := strconv.Atoi(v)
	return n
}
func (r *request) isRoot() bool { return r.user == "root@pam" }

func parseBool(v string) bool {
	switch strings.ToLower(v) {
	case "1", "true", "yes", "on":
		return true
	}
	return false
}

// dirIndex builds a PVE directory listing like [{"subdir": "x"}].
func dirIndex(key string, names ...string) []map[string]string {
	sort.Strings(names)
	out := make([]map[string]string, len(names))
	for i, n := range names {
		out[i] = map[string]string{key: n}
	}
	return out
}

func (s *Server) knownNode(n string) bool {
	for _, x := range s.opts.Nodes {
		if x == n {
			return true
		}
	}
	return false
}

// validateParams checks a call's parameters and path variables against the
// endpoint's schema and returns the parameters normalized; an endpoint the
// schema lacks passes them as they are.
func validateParams(method, tmpl string, vars map[string]string, params pveschema.Values) (pveschema.Values, error) {
	ep, ok := pveschema.Lookup(method, tmpl)
	if !ok {
		return params, nil
	}
	all := pveschema.Values{}
	for k, v := range params {
		all[k] = v
	}
	for k, v := range vars {
		all[k] = []string{v}
	}
	if errs := ep.Validate(all); len(errs) > 0 {
		return nil, paramErr(errs)
	}
	return ep.Normalize(params), nil
}
