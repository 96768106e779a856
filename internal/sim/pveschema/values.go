package pveschema

import (
	"encoding/json"
	"fmt"
	"net/url"
)

// ValuesFromForm converts an application/x-www-form-urlencoded body or a
// query string the way pve-http-server's decode_urlencoded does: repeated
// keys become several values and an empty value ("k=" or "k") is
// undefined.
func ValuesFromForm(form url.Values) Values {
	v := Values{}
	for k, vs := range form {
		var out []string
		for _, s := range vs {
			if s != "" {
				out = append(out, s)
			}
		}
		v[k] = out
	}
	return v
}

// ValuesFromJSON converts a decoded JSON object (decode with UseNumber to
// keep numbers as written): true/false become "1"/"0", arrays several
// values, null an undefined value. Nested objects are rejected.
func ValuesFromJSON(obj map[string]any) (Values, error) {
	v := Values{}
	for k, raw := range obj {
		switch t := raw.(type) {
		case []any:
			vals := make([]string, 0, len(t))
			for _, el := range t {
				s, err := jsonScalar(el)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", k, err)
				}
				vals = append(vals, s)
			}
			v[k] = vals
		case nil:
			v[k] = nil
		default:
			s, err := jsonScalar(t)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			v[k] = []string{s}
		}
	}
	return v, nil
}

func jsonScalar(x any) (string, error) {
	switch t := x.(type) {
	case string:
		return t, nil
	case bool:
		if t {
			return "1", nil
		}
		return "0", nil
	case json.Number:
		return t.String(), nil
	case float64:
		return perlNum(t), nil
	}
	return "", fmt.Errorf("unsupported JSON value %T", x)
}
