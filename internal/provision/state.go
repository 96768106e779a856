package provision

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
)

// Digest identifies what a step would run: its kind, host mode, trigger and
// script content (length-prefixed, so no two different steps collide by
// concatenation). The name is the record's key and the source path is where
// the script happens to live: neither is part of it.
func Digest(s Step) string {
	h := sha256.New()
	field := func(b []byte) {
		h.Write([]byte(strconv.Itoa(len(b))))
		h.Write([]byte{':'})
		h.Write(b)
	}
	field([]byte("phoenix-step/v1"))
	field([]byte(s.Kind))
	field([]byte(strconv.FormatBool(s.HostMode)))
	field([]byte(s.Trigger))
	field(s.Content)
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// Pending names the steps an apply will run, in step order: those without a
// record, whose record is not ok (failed last time) or whose digest changed.
// It is pure, for plan time.
func Pending(steps []Step, prev []Record) []string {
	byName := indexRecords(prev)
	var out []string
	for _, s := range steps {
		if needsRun(s, byName) {
			out = append(out, s.Name)
		}
	}
	return out
}

// Prune returns the previous records of the steps still present, in step
// order; records of removed steps are dropped (scripts have no undo). With
// Pending, it tells at plan time what the records become when nothing runs.
func Prune(steps []Step, prev []Record) []Record {
	byName := indexRecords(prev)
	var out []Record
	for _, s := range steps {
		if r, ok := byName[s.Name]; ok {
			out = append(out, r)
		}
	}
	return out
}

func indexRecords(prev []Record) map[string]Record {
	m := make(map[string]Record, len(prev))
	for _, r := range prev {
		m[r.Name] = r
	}
	return m
}

func needsRun(s Step, byName map[string]Record) bool {
	r, ok := byName[s.Name]
	return !ok || r.Status != StatusOK || r.Digest != Digest(s)
}

func validateSteps(steps []Step) error {
	seen := map[string]bool{}
	for i, s := range steps {
		if s.Name == "" {
			return fmt.Errorf("provision: step %d has no name", i)
		}
		if seen[s.Name] {
			return fmt.Errorf("provision: two steps are named %q", s.Name)
		}
		seen[s.Name] = true
		if s.Kind != KindFeature && s.Kind != KindApplication {
			return fmt.Errorf("provision: step %q has kind %q (want %q or %q)", s.Name, s.Kind, KindFeature, KindApplication)
		}
	}
	return nil
}

// MergeContext builds a guest context: the model's fields (anything
// encoding/json marshals to an object: a map or a struct) plus extra, the
// entry's keys the model does not know (the data source's extra_json), so
// scripts see vllm_*, user config and the rest verbatim. The model wins on a
// key present in both. The result is in Run's normal form (see normalContext).
func MergeContext(fields any, extra []byte) ([]byte, error) {
	merged := map[string]any{}
	if len(bytes.TrimSpace(extra)) > 0 {
		m, err := decodeObject(extra)
		if err != nil {
			return nil, fmt.Errorf("provision: extra context is not a JSON object: %v", err)
		}
		merged = m
	}
	if fields != nil {
		b, err := json.Marshal(fields)
		if err != nil {
			return nil, fmt.Errorf("provision: context fields: %v", err)
		}
		known, err := decodeObject(b)
		if err != nil {
			return nil, fmt.Errorf("provision: context fields are not a JSON object: %v", err)
		}
		for k, v := range known {
			merged[k] = v
		}
	}
	return encodeObject(merged)
}

// normalContext puts a context in the form scripts read: keys sorted, two
// spaces of indent (so every top-level key sits on its own line, which the
// stand-ins' sed reader relies on), no \u escapes for & < > or non-ASCII.
// It insists on an object; empty means {}.
func normalContext(ctx []byte) ([]byte, error) {
	if len(bytes.TrimSpace(ctx)) == 0 {
		return []byte("{}\n"), nil
	}
	m, err := decodeObject(ctx)
	if err != nil {
		return nil, fmt.Errorf("provision: guest context is not a JSON object: %v", err)
	}
	return encodeObject(m)
}

// decodeObject reads a JSON object; numbers stay as written. "null" is an
// empty object.
func decodeObject(b []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("trailing data after the object")
	}
	if m == nil {
		m = map[string]any{}
	}
	return m, nil
}

func encodeObject(m map[string]any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(m); err != nil {
		return nil, fmt.Errorf("provision: context: %v", err)
	}
	return buf.Bytes(), nil
}
