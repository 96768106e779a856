package pveschema

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
)

// indexMax is the highest index of each "<base>[n]" parameter. The schema
// documents indexed keys only as "net[n]"; the ranges are the MAX_*
// constants of qemu-server (QemuServer.pm, Drive.pm, PCI.pm, USB.pm,
// Memory.pm, Virtiofs.pm), pve-container (LXC/Config.pm), pve-cluster
// (corosync links) and pve-manager (ACME domains). Where two products have
// the base name the ranges agree (net 32, unused 256).
var indexMax = map[string]int{
	"net": 31, "ipconfig": 31, "mp": 255, "unused": 255, "dev": 255,
	"scsi": 30, "ide": 3, "sata": 5, "virtio": 15, "hostpci": 15,
	"usb": 13, "serial": 3, "parallel": 2, "numa": 7, "virtiofs": 9,
	"link": 7, "acmedomain": 4,
}

// rawDoc is the layout of pve-api-9.1.json.
type rawDoc struct {
	Paths map[string]map[string]rawMethod `json:"paths"`
}

type rawMethod struct {
	Parameters map[string]any `json:"parameters"`
	Protected  any            `json:"protected"`
}

// LoadSchemaFile loads the full official schema (all paths), for tests
// that check recorded requests against PVE's real parameter facts.
func LoadSchemaFile(path string) (*Schema, error) {
	eps, err := LoadEndpoints(path, nil)
	if err != nil {
		return nil, err
	}
	return NewSchema(eps), nil
}

// LoadEndpoints reads the schema file and converts the methods of the
// given paths (all paths when paths is nil).
func LoadEndpoints(path string, paths []string) ([]*Endpoint, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var doc rawDoc
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if paths == nil {
		for p := range doc.Paths {
			paths = append(paths, p)
		}
		sort.Strings(paths)
	}
	var eps []*Endpoint
	for _, p := range paths {
		methods, ok := doc.Paths[p]
		if !ok {
			return nil, fmt.Errorf("%s: path %s not in schema", path, p)
		}
		var names []string
		for m := range methods {
			names = append(names, m)
		}
		sort.Strings(names)
		for _, m := range names {
			e, err := convertEndpoint(m, p, methods[m])
			if err != nil {
				return nil, fmt.Errorf("%s %s: %w", m, p, err)
			}
			eps = append(eps, e)
		}
	}
	return eps, nil
}

func convertEndpoint(method, path string, rm rawMethod) (*Endpoint, error) {
	e := &Endpoint{Method: method, Path: path, Params: map[string]*Param{},
		Protected: truthy(rm.Protected), AdditionalProperties: true}
	if ap, ok := rm.Parameters["additionalProperties"]; ok {
		e.AdditionalProperties = truthy(ap)
	}
	props, _ := rm.Parameters["properties"].(map[string]any)
	for name, raw := range props {
		m, ok := raw.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("parameter %s: not an object", name)
		}
		p, err := convertParam(name, m)
		if err != nil {
			return nil, fmt.Errorf("parameter %s: %w", name, err)
		}
		if base, ok := strings.CutSuffix(name, "[n]"); ok {
			max, known := indexMax[base]
			if !known {
				return nil, fmt.Errorf("parameter %s: index range unknown", name)
			}
			p.Indexed, p.IndexMax = true, max
		}
		e.Params[name] = p
	}
	resolveSharedFormats(e)
	return e, nil
}

func convertParam(name string, m map[string]any) (*Param, error) {
	p := &Param{Name: name}
	switch t := m["type"].(type) {
	case nil:
	case string:
		p.Type = t
	default:
		return nil, fmt.Errorf("unsupported type %v", t)
	}
	p.Pattern = str(m["pattern"])
	p.TypeText = str(m["typetext"])
	p.Description = str(m["description"])
	p.FormatDescription = str(m["format_description"])
	p.Optional = truthy(m["optional"])
	p.Alias = str(m["alias"])
	p.KeyAlias = str(m["keyAlias"])
	p.IsDefaultKey = truthy(m["default_key"])
	if r, ok := m["requires"].(string); ok {
		p.Requires = r
	}
	if v, ok := m["default"]; ok && v != nil {
		p.Default = scalarString(v)
	}
	p.Minimum, p.Maximum = number(m["minimum"]), number(m["maximum"])
	if n := number(m["maxLength"]); n != nil {
		p.MaxLength = int(*n)
	}
	if n := number(m["minLength"]); n != nil {
		p.MinLength = int(*n)
	}
	if en, ok := m["enum"].([]any); ok {
		for _, v := range en {
			p.Enum = append(p.Enum, scalarString(v))
		}
	}
	if it, ok := m["items"].(map[string]any); ok {
		items, err := convertParam(name, it)
		if err != nil {
			return nil, err
		}
		p.Items = items
	}
	switch f := m["format"].(type) {
	case nil:
	case string:
		p.Format = f
		if named, ok := namedHashFormat(f, p.TypeText); ok {
			p.Props = named
		}
	case map[string]any:
		props, err := convertProps(f)
		if err != nil {
			return nil, err
		}
		p.Props = props
	default:
		return nil, fmt.Errorf("unsupported format %v", f)
	}
	if p.Props != nil {
		p.DefaultKey = defaultKeyOf(p.Props)
	}
	return p, nil
}

func convertProps(f map[string]any) (map[string]*Param, error) {
	props := map[string]*Param{}
	for k, raw := range f {
		km, ok := raw.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("format key %s: not an object", k)
		}
		kp, err := convertParam(k, km)
		if err != nil {
			return nil, fmt.Errorf("format key %s: %w", k, err)
		}
		props[k] = kp
	}
	return props, nil
}

func defaultKeyOf(props map[string]*Param) string {
	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if props[k].IsDefaultKey {
			return k
		}
	}
	return ""
}

// truthy mirrors Perl truth for the schema's 0/1 flags.
func truthy(v any) bool {
	switch t := v.(type) {
	case nil:
		return false
	case bool:
		return t
	case json.Number:
		f, _ := t.Float64()
		return f != 0
	case float64:
		return t != 0
	case string:
		return t != "" && t != "0"
	}
	return true
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func scalarString(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case json.Number:
		return t.String()
	case bool:
		if t {
			return "1"
		}
		return "0"
	case float64:
		return strconv.FormatFloat(t, 'g', 15, 64)
	}
	return fmt.Sprint(v)
}

func number(v any) *float64 {
	var f float64
	var err error
	switch t := v.(type) {
	case json.Number:
		f, err = t.Float64()
	case float64:
		f = t
	case string:
		f, err = strconv.ParseFloat(t, 64)
	default:
		return nil
	}
	if err != nil {
		return nil
	}
	return &f
}

// cdrom's "pve-qm-ide" is the ide drive format, inline in the same method
// as ide[n].
func resolveSharedFormats(e *Endpoint) {
	ide, ok := e.Params["ide[n]"]
	for _, p := range e.Params {
		if p.Format == "pve-qm-ide" && p.Props == nil && ok {
			p.Props, p.DefaultKey = ide.Props, ide.DefaultKey
		}
	}
}
