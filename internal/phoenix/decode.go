package phoenix

import (
	"strconv"
	"strings"
)

// file is one parsed configuration file and the problems found in it.
type file struct {
	name  string // base name used in messages
	path  string
	data  []byte
	root  *value
	probs *[]Problem
	near  map[nearKey]string // typo guesses, see checkTypos
}

func (f *file) report(v *value, path string, warning bool, msg string) {
	p := Problem{File: f.name, Path: path, Msg: msg, Warning: warning}
	if v != nil {
		p.Line, p.Column = position(f.data, int(v.off))
	}
	*f.probs = append(*f.probs, p)
}

// scope is an object inside a file with its JSON path. Values are read from
// it with typed accessors that report a problem and return the zero value
// when the type is wrong, so one pass finds every problem.
//
// The JSON path is built only when a message needs it: base is the parent's
// path, and key or idx (when >= 0) name this object in it.
type scope struct {
	f    *file
	base string
	key  string
	idx  int
	obj  *value
}

func newScope(f *file, path string, obj *value) scope {
	return scope{f: f, base: path, idx: -1, obj: obj}
}

// path renders the scope's JSON path.
func (s scope) path() string {
	p := s.base
	if s.key != "" {
		p = joinPath(p, s.key)
	}
	if s.idx >= 0 {
		p = indexPath(p, s.idx)
	}
	return p
}

func (s scope) at(key string) string {
	if key == "" {
		return s.path()
	}
	return joinPath(s.path(), key)
}

func (s scope) errorf(v *value, key string, format string, args ...any) {
	s.f.report(v, s.at(key), false, sprintf(format, args...))
}

func (s scope) warnf(v *value, key string, format string, args ...any) {
	s.f.report(v, s.at(key), true, sprintf(format, args...))
}

// has reports whether key is present (null counts as absent).
func (s scope) has(key string) bool {
	v := s.obj.get(key)
	return v != nil && v.kind != kindNull
}

func (s scope) value(key string) *value {
	v := s.obj.get(key)
	if v == nil || v.kind == kindNull {
		return nil
	}
	return v
}

func (s scope) expected(v *value, key, what string) {
	s.errorf(v, key, "expected %s, got %s", what, v.describe())
}

func (s scope) str(key string) string {
	v := s.value(key)
	if v == nil {
		return ""
	}
	if v.kind != kindString {
		s.expected(v, key, "a string")
		return ""
	}
	return v.text()
}

func (s scope) integer(key string) *int64 {
	v := s.value(key)
	if v == nil {
		return nil
	}
	n, ok := asInt(v)
	if !ok {
		s.expected(v, key, "an integer")
		return nil
	}
	return &n
}

// boolean accepts JSON booleans and PVE-style 0/1.
func (s scope) boolean(key string) *bool {
	v := s.value(key)
	if v == nil {
		return nil
	}
	switch {
	case v.kind == kindBool:
		b := v.boolean
		return &b
	case v.kind == kindNumber && (v.text() == "0" || v.text() == "1"):
		b := v.text() == "1"
		return &b
	}
	s.expected(v, key, "a boolean")
	return nil
}

func (s scope) strings(key string) []string {
	v := s.value(key)
	if v == nil {
		return nil
	}
	if v.kind != kindArray {
		s.expected(v, key, "an array of strings")
		return nil
	}
	out := make([]string, 0, len(v.kids()))
	for i, k := range v.kids() {
		e := k.value
		if e.kind != kindString {
			s.f.report(e, indexPath(s.at(key), i), false, "expected a string, got "+e.describe())
			continue
		}
		out = append(out, e.text())
	}
	return out
}

// id reads a guest ID reference: an integer or a string of digits, as phoenix
// writes both ("clone_from_ctid": "900", "clone_from_vmid": 8000).
func (s scope) id(key string) *int {
	v := s.value(key)
	if v == nil {
		return nil
	}
	n, ok := asID(v)
	if !ok {
		s.expected(v, key, "a guest ID (an integer or a string of digits)")
		return nil
	}
	return &n
}

func (s scope) object(key string) (scope, bool) {
	v := s.value(key)
	if v == nil {
		return scope{}, false
	}
	if v.kind != kindObject {
		s.expected(v, key, "an object")
		return scope{}, false
	}
	return scope{f: s.f, base: s.path(), key: key, idx: -1, obj: v}, true
}

// objects iterates an array of objects, reporting non-objects.
func (s scope) objects(key string, fn func(i int, o scope)) {
	v := s.value(key)
	if v == nil {
		return
	}
	if v.kind != kindArray {
		s.expected(v, key, "an array of objects")
		return
	}
	base := s.at(key)
	for i, k := range v.kids() {
		e := k.value
		if e.kind != kindObject {
			s.f.report(e, indexPath(base, i), false, "expected an object, got "+e.describe())
			continue
		}
		fn(i, scope{f: s.f, base: base, idx: i, obj: e})
	}
}

// required reports a missing key.
func (s scope) required(keys ...string) {
	for _, k := range keys {
		if !s.has(k) {
			s.f.report(s.obj, s.at(k), false, "required field is missing")
		}
	}
}

func asInt(v *value) (int64, bool) {
	if v.kind != kindNumber || strings.ContainsAny(v.text(), ".eE") {
		return 0, false
	}
	n, err := strconv.ParseInt(v.text(), 10, 64)
	return n, err == nil
}

func asID(v *value) (int, bool) {
	switch v.kind {
	case kindNumber:
		n, ok := asInt(v)
		return int(n), ok && n >= 0 && n <= 1<<31
	case kindString:
		return parseID(v.text())
	}
	return 0, false
}

func parseID(s string) (int, bool) {
	if s == "" || len(s) > 10 {
		return 0, false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}
