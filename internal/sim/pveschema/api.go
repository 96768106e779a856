package pveschema

import (
	"regexp"
	"sort"
	"strings"
	"sync"
)

// Values are request parameters: form fields or JSON body members, JSON
// scalars stringified (true->"1", false->"0", numbers as written), JSON
// arrays as several values. A key present with no values (nil or empty
// slice) is an undefined value, as PVE sees `k=` in a form body or a JSON
// null: an optional parameter is then ignored, a required one is missing.
type Values map[string][]string

// Get returns the first value of name, or "" when absent.
func (v Values) Get(name string) string {
	if vs := v[name]; len(vs) > 0 {
		return vs[0]
	}
	return ""
}

// Has reports whether name carries a defined value.
func (v Values) Has(name string) bool { return len(v[name]) > 0 }

// Param is one parameter, or one key of a property-string format, with the
// facts the official schema gives for it.
type Param struct {
	Name, Type, Format, Pattern, TypeText, Description string
	Enum                                               []string
	Optional                                           bool
	Minimum, Maximum                                   *float64
	// MaxLength and MinLength are 0 when the schema sets no limit.
	MaxLength, MinLength int
	// Default is the schema default as PVE prints it ("" when none).
	Default string
	// Props holds the keys of a property-string format: inline formats of
	// the schema and named hash formats (pve-qm-ipconfig ...) alike.
	Props map[string]*Param
	// DefaultKey is the key used for a part without '=' (Props only).
	DefaultKey string
	// IsDefaultKey marks the default_key of its parent format.
	IsDefaultKey bool
	// Alias names the key this key stands for (e.g. scsi "volume" -> "file").
	Alias string
	// KeyAlias is where an alias stores its own name (qemu net "virtio=MAC"
	// stores "virtio" under "model").
	KeyAlias          string
	FormatDescription string
	// Requires names a sibling that must be set when this one is.
	Requires string
	// Items describes the elements of an "array" parameter.
	Items *Param
	// Indexed is true for "net[n]"-style parameters, which stand for
	// net0..net<IndexMax>.
	Indexed  bool
	IndexMax int
}

// Endpoint is one method of one path template.
type Endpoint struct {
	Method, Path string
	Params       map[string]*Param
	Protected    bool
	// AdditionalProperties reports whether parameters missing from Params
	// are accepted (PVE: additionalProperties not 0).
	AdditionalProperties bool
}

// Schema is a set of endpoints keyed by method and path template.
type Schema struct {
	endpoints map[string]*Endpoint
}

func endpointKey(method, path string) string { return strings.ToUpper(method) + " " + path }

// NewSchema builds a Schema from endpoints.
func NewSchema(eps []*Endpoint) *Schema {
	s := &Schema{endpoints: make(map[string]*Endpoint, len(eps))}
	for _, e := range eps {
		s.endpoints[endpointKey(e.Method, e.Path)] = e
	}
	return s
}

// Lookup returns the endpoint for method and pathTemplate
// ("/nodes/{node}/lxc/{vmid}/config").
func (s *Schema) Lookup(method, pathTemplate string) (*Endpoint, bool) {
	e, ok := s.endpoints[endpointKey(method, pathTemplate)]
	return e, ok
}

// Templates returns all path templates, sorted.
func (s *Schema) Templates() []string {
	seen := map[string]bool{}
	var out []string
	for _, e := range s.endpoints {
		if !seen[e.Path] {
			seen[e.Path] = true
			out = append(out, e.Path)
		}
	}
	sort.Strings(out)
	return out
}

// Endpoints returns all endpoints sorted by path, then method.
func (s *Schema) Endpoints() []*Endpoint {
	out := make([]*Endpoint, 0, len(s.endpoints))
	for _, e := range s.endpoints {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Path != out[j].Path {
			return out[i].Path < out[j].Path
		}
		return out[i].Method < out[j].Method
	})
	return out
}

var (
	generatedOnce   sync.Once
	generatedSchema *Schema
)

// Generated returns the table generated from the official schema for the
// endpoints the simulator serves (zz_generated_endpoints.go).
func Generated() *Schema {
	generatedOnce.Do(func() { generatedSchema = NewSchema(generatedEndpoints()) })
	return generatedSchema
}

// Lookup returns the generated endpoint for method and pathTemplate.
func Lookup(method, pathTemplate string) (*Endpoint, bool) {
	return Generated().Lookup(method, pathTemplate)
}

// Templates returns all generated path templates, sorted.
func Templates() []string { return Generated().Templates() }

var indexedName = regexp.MustCompile(`^([a-z]+)(0|[1-9][0-9]*)$`)

// ParamFor resolves a concrete parameter name: "net3" resolves to the
// "net[n]" parameter when 3 is within its range; a name outside the range
// is unknown, as PVE only knows net0..net31.
func (e *Endpoint) ParamFor(name string) (*Param, bool) {
	if p, ok := e.Params[name]; ok && !p.Indexed {
		return p, true
	}
	m := indexedName.FindStringSubmatch(name)
	if m == nil {
		return nil, false
	}
	p, ok := e.Params[m[1]+"[n]"]
	if !ok || !p.Indexed || len(m[2]) > 4 {
		return nil, false
	}
	n := 0
	for _, c := range m[2] {
		n = n*10 + int(c-'0')
	}
	if n > p.IndexMax {
		return nil, false
	}
	return p, true
}

// fp makes the *float64 bounds of generated parameters.
func fp(f float64) *float64 { return &f }
