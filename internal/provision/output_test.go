package provision

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
)

func TestLineWriter(t *testing.T) {
	var got []string
	w := NewLineWriter(Stderr, func(s Stream, l string) { got = append(got, string(s)+":"+l) })
	for _, chunk := range []string{"fir", "st\nsec", "ond\n\nthi", "rd"} {
		if n, err := w.Write([]byte(chunk)); n != len(chunk) || err != nil {
			t.Fatalf("Write = %d, %v", n, err)
		}
	}
	if want := []string{"stderr:first", "stderr:second", "stderr:"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("before Close %q, want %q", got, want)
	}
	w.Close()
	if got[len(got)-1] != "stderr:third" {
		t.Fatalf("Close did not flush: %q", got)
	}

	got = nil
	w = NewLineWriter(Stdout, func(s Stream, l string) { got = append(got, l) })
	_, _ = w.Write([]byte(strings.Repeat("x", MaxLine+10)))
	w.Close()
	if len(got) != 2 || len(got[0]) != MaxLine || len(got[1]) != 10 {
		t.Fatalf("endless line split into %d parts", len(got))
	}
}

func TestMergeContext(t *testing.T) {
	type model struct {
		VMID     int      `json:"vmid"`
		Name     string   `json:"name"`
		Features []string `json:"features"`
	}
	extra := []byte(`{"vllm_model":"Qwen/Qwen2.5","args":"a&b<c>","name":"shadowed","user_config":{"username":"phoenix_user"}}`)
	b, err := MergeContext(model{VMID: 950, Name: "vllm", Features: []string{"vllm"}}, extra)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if m["name"] != "vllm" || m["vllm_model"] != "Qwen/Qwen2.5" || m["vmid"] != float64(950) {
		t.Fatalf("merged %v", m)
	}
	if uc, _ := m["user_config"].(map[string]any); uc["username"] != "phoenix_user" {
		t.Fatalf("nested extra lost: %v", m)
	}
	// Sorted keys, two-space indent: stable bytes, one top-level key a line.
	if !strings.HasPrefix(string(b), "{\n  \"args\": \"a&b<c>\",\n  \"features\": [") || !strings.Contains(string(b), "\n  \"vllm_model\": \"Qwen/Qwen2.5\"") {
		t.Fatalf("layout:\n%s", b)
	}
	if !strings.Contains(string(b), `"args": "a&b<c>"`) {
		t.Errorf("HTML-escaped values are unreadable for sed:\n%s", b)
	}
	if b, err := MergeContext(map[string]int{"vmid": 1}, []byte("null")); err != nil || string(b) != "{\n  \"vmid\": 1\n}\n" {
		t.Errorf("null extra: %q, %v", b, err)
	}
	if _, err := MergeContext(nil, []byte(`[1]`)); err == nil {
		t.Error("extra that is not an object accepted")
	}
	if _, err := MergeContext([]string{"x"}, nil); err == nil {
		t.Error("fields that are not an object accepted")
	}
}

func TestNormalContext(t *testing.T) {
	got, err := normalContext([]byte(`  {"b": {"c":1.50},   "a":[1, 2], "h": "x\u0026y\u00e9\\u0026"} `))
	if err != nil {
		t.Fatal(err)
	}
	want := "{\n  \"a\": [\n    1,\n    2\n  ],\n  \"b\": {\n    \"c\": 1.50\n  },\n  \"h\": \"x&y\u00e9\\\\u0026\"\n}\n"
	if string(got) != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	if got, _ := normalContext(nil); string(got) != "{}\n" {
		t.Fatalf("empty context = %q", got)
	}
	for _, bad := range []string{`[1]`, `{"a":1} {"b":2}`, `{"a":`} {
		if _, err := normalContext([]byte(bad)); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

func TestSafeFileName(t *testing.T) {
	for in, want := range map[string]string{
		"phoenix_hypervisor_lxc_vllm.sh": "phoenix_hypervisor_lxc_vllm.sh",
		"../etc/passwd":                  "_._etc_passwd",
		".hidden":                        "_hidden",
		"a b;c$(x).sh":                   "a_b_c__x_.sh",
		"":                               "script.sh",
	} {
		got := safeFileName(in)
		if got != want {
			t.Errorf("safeFileName(%q) = %q, want %q", in, got, want)
		}
		if strings.Contains(got, "/") {
			t.Errorf("%q keeps a slash", got)
		}
	}
	if got := scriptFile(Step{Name: "x y"}); got != "x_y.sh" {
		t.Errorf("scriptFile without source = %q", got)
	}
}

func TestSinkIsSafeForConcurrentStreams(t *testing.T) {
	g := newFake()
	g.scripts["phoenix_hypervisor_feature_install_a.sh"] = func(ctx context.Context, req ExecRequest, out LineSink) (ExecResult, error) {
		var wg sync.WaitGroup
		for _, s := range []Stream{Stdout, Stderr} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 100; i++ {
					out(s, fmt.Sprintf("%s %d", s, i))
				}
			}()
		}
		wg.Wait()
		return ExecResult{ExitCode: 1}, nil
	}
	var logs logSink
	_, err := Run(context.Background(), g, nil, baseSpec(feature("a", "1")), nil, logs.log)
	var se *StepError
	if !errors.As(err, &se) || !strings.HasSuffix(se.StderrTail, "stderr 99") || strings.Contains(se.StderrTail, "stdout") {
		t.Fatalf("tail %q", se.StderrTail)
	}
	if n := strings.Count(logs.text(), "950/a: stdout "); n != 100 {
		t.Errorf("%d stdout lines logged, want 100", n)
	}
	if n := strings.Count(logs.text(), "950/a stderr: stderr "); n != 100 {
		t.Errorf("%d stderr lines logged, want 100", n)
	}
}
