package pveschema

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// errorSet collects messages per path like pve-common's add_error: a second
// message for the same path is appended after a literal backslash-n (Perl
// join('\n', ...) in single quotes).
type errorSet map[string]string

func (es errorSet) add(path, msg string) {
	if path == "" {
		path = "_root"
	}
	if old, ok := es[path]; ok {
		es[path] = old + `\n` + msg
		return
	}
	es[path] = msg
}

// Validate checks v against the endpoint the way PVE's RESTHandler does
// (legacy list/array normalisation, then JSONSchema::validate) and returns
// the "errors" map of a 400 "Parameter verification failed.", empty when v
// is valid. Path variables are part of v.
func (e *Endpoint) Validate(v Values) map[string]string {
	errs := errorSet{}
	names := make([]string, 0, len(e.Params))
	for n := range e.Params {
		names = append(names, n)
	}
	sort.Strings(names)

	// Every schema property is checked first (check_object's first loop);
	// indexed properties stand for their concrete keys.
	for _, n := range names {
		p := e.Params[n]
		if p.Indexed {
			continue
		}
		vals, present := v[n]
		checkTop(p, n, vals, present, errs)
	}
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		p, ok := e.ParamFor(k)
		if ok && p.Indexed {
			checkTop(p, k, v[k], true, errs)
		}
	}
	// Second loop: requires, then unknown keys.
	for _, k := range keys {
		p, ok := e.ParamFor(k)
		if !ok {
			if !e.AdditionalProperties {
				errs.add(k, "property is not defined in schema and the schema does not allow additional properties")
			}
			continue
		}
		if p.Requires != "" && len(v[k]) > 0 && len(v[p.Requires]) == 0 {
			errs.add(p.Requires, fmt.Sprintf("missing property required by '%s'", k))
		}
	}
	return errs
}

// checkTop applies RESTHandler's legacy normalisation to one top-level
// value and checks it.
func checkTop(p *Param, path string, vals []string, present bool, errs errorSet) {
	if !present || len(vals) == 0 {
		checkMissing(p, path, errs)
		return
	}
	if len(vals) > 1 && p.Type == "string" && strings.HasSuffix(p.Format, "-list") {
		vals = []string{strings.Join(vals, ",")}
	}
	if p.Type == "array" {
		if !checkType(p, path, "", false, errs) {
			return
		}
		for i, el := range vals {
			if p.Items != nil {
				checkScalar(p.Items, fmt.Sprintf("%s[%d]", path, i), el, errs)
			}
		}
		return
	}
	if len(vals) > 1 {
		checkType(p, path, "", true, errs)
		return
	}
	checkScalar(p, path, vals[0], errs)
}

func checkMissing(p *Param, path string, errs errorSet) {
	if p.Alias != "" || p.Type == "null" || p.Optional {
		return
	}
	errs.add(path, "property is missing and it is not optional")
}

var (
	reInteger = regexp.MustCompile(`^[+-]?\d+\n?\z`)
	reNumber  = regexp.MustCompile(`^[+-]?(\d+\.\d+|\d+\.|\.\d+|\d+)([eE][+-]?\d+)?\n?\z`)
)

// checkType is pve-common's check_type for a scalar (isArray false) or an
// array value.
func checkType(p *Param, path, v string, isArray bool, errs errorSet) bool {
	t := p.Type
	if t == "" || t == "any" {
		return true
	}
	if t == "array" {
		return true
	}
	if isArray {
		errs.add(path, fmt.Sprintf("type check ('%s') failed - got ARRAY", t))
		return false
	}
	ok := true
	switch t {
	case "boolean":
		ok = v == "1" || v == "0"
	case "integer":
		ok = reInteger.MatchString(v)
	case "number":
		ok = reNumber.MatchString(v)
	case "object", "coderef":
		errs.add(path, fmt.Sprintf("type check ('%s') failed", t))
		return false
	case "null":
		errs.add(path, fmt.Sprintf("type check ('%s') failed - value is not null", t))
		return false
	}
	if !ok {
		errs.add(path, fmt.Sprintf("type check ('%s') failed - got '%s'", t, v))
	}
	return ok
}

// checkScalar is check_prop for a defined scalar value.
func checkScalar(p *Param, path, v string, errs errorSet) {
	if p.Alias != "" {
		return
	}
	if !checkType(p, path, v, false, errs) {
		return
	}
	if p.Props != nil {
		if _, err := parsePropertyString(p, path, v); err != nil {
			errs.add(path, "invalid format - "+err.Error())
			return
		}
	} else if p.Format != "" {
		if msg := checkCodeFormat(p.Format, v); msg != "" {
			errs.add(path, "invalid format - "+msg)
			return
		}
	}
	if p.Pattern != "" {
		if re := compilePattern(p.Pattern); re != nil && !re.MatchString(v) {
			errs.add(path, "value does not match the regex pattern")
			return
		}
	}
	n := utf8.RuneCountInString(v)
	if p.MaxLength > 0 && n > p.MaxLength {
		errs.add(path, fmt.Sprintf("value may only be %d characters long", p.MaxLength))
		return
	}
	if p.MinLength > 0 && n < p.MinLength {
		errs.add(path, fmt.Sprintf("value must be at least %d characters long", p.MinLength))
		return
	}
	if reNumber.MatchString(v) {
		f, _ := strconv.ParseFloat(strings.TrimSuffix(v, "\n"), 64)
		if p.Maximum != nil && f > *p.Maximum {
			errs.add(path, "value must have a maximum value of "+perlNum(*p.Maximum))
			return
		}
		if p.Minimum != nil && f < *p.Minimum {
			errs.add(path, "value must have a minimum value of "+perlNum(*p.Minimum))
			return
		}
	}
	if p.Enum != nil {
		for _, ev := range p.Enum {
			if ev == v {
				return
			}
		}
		errs.add(path, fmt.Sprintf("value '%s' does not have a value in the enumeration '%s'", v, strings.Join(p.Enum, ", ")))
	}
}

// perlNum prints a number as Perl stringifies it (%.15g).
func perlNum(f float64) string { return strconv.FormatFloat(f, 'g', 15, 64) }

var patternCache sync.Map

// compilePattern turns a schema pattern into m/^pattern$/: Perl's stringified
// qr// groups "(?^:" and "(?^i:" become RE2 groups. Patterns RE2 cannot
// compile are not enforced (nil).
func compilePattern(p string) *regexp.Regexp {
	if re, ok := patternCache.Load(p); ok {
		return re.(*regexp.Regexp)
	}
	conv := strings.ReplaceAll(p, "(?^i:", "(?i:")
	conv = strings.ReplaceAll(conv, "(?^:", "(?:")
	re, err := regexp.Compile(`^` + conv + `\n?\z`)
	if err != nil {
		re = nil
	}
	patternCache.Store(p, re)
	return re
}

// Normalize is RESTHandler's $normalize_legacy_param_formats, applied
// before a handler sees the parameters: several values of a string
// parameter with a "-list" format (a form's repeated "delete=a&delete=b",
// which pve-http-server's decode_urlencoded keeps as an array) become one
// comma-joined value. Other parameters are returned as they are.
func (e *Endpoint) Normalize(v Values) Values {
	out := make(Values, len(v))
	for k, vals := range v {
		out[k] = vals
		if len(vals) < 2 {
			continue
		}
		if p, ok := e.ParamFor(k); ok && p.Type == "string" && strings.HasSuffix(p.Format, "-list") {
			out[k] = []string{strings.Join(vals, ",")}
		}
	}
	return out
}
