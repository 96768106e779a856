package main

import (
	"strings"
	"testing"
)

func TestReport(t *testing.T) {
	in := strings.Join([]string{
		`go: downloading example.com/m v1.0.0`,
		`{"Action":"run","Package":"p/a","Test":"TestOK"}`,
		`{"Action":"output","Package":"p/a","Test":"TestOK","Output":"=== RUN   TestOK\n"}`,
		`{"Action":"output","Package":"p/a","Test":"TestOK","Output":"    a_test.go:9: noise\n"}`,
		`{"Action":"pass","Package":"p/a","Test":"TestOK","Elapsed":0.1}`,
		`{"Action":"run","Package":"p/a","Test":"TestSkip"}`,
		`{"Action":"output","Package":"p/a","Test":"TestSkip","Output":"=== RUN   TestSkip\n"}`,
		`{"Action":"output","Package":"p/a","Test":"TestSkip","Output":"    a_test.go:12: needs ../shared\n"}`,
		`{"Action":"output","Package":"p/a","Test":"TestSkip","Output":"--- SKIP: TestSkip (0.00s)\n"}`,
		`{"Action":"skip","Package":"p/a","Test":"TestSkip"}`,
		`{"Action":"pass","Package":"p/a","Elapsed":1.25}`,
		`{"Action":"run","Package":"p/b","Test":"TestBad"}`,
		`{"Action":"output","Package":"p/b","Test":"TestBad","Output":"    b_test.go:3: got 1, want 2\n"}`,
		`{"Action":"fail","Package":"p/b","Test":"TestBad"}`,
		`{"Action":"fail","Package":"p/b","Elapsed":0.5}`,
		`{"Action":"output","Package":"p/c","Output":"panic: boom\n"}`,
		`{"Action":"fail","Package":"p/c","Elapsed":0.2}`,
		`{"Action":"pass","Package":"p/d","Elapsed":0}`,
		`{"Action":"run","Package":"p/e","Test":"TestHang"}`,
	}, "\n")
	var out strings.Builder
	r := &report{out: &out, pkgs: map[string]*pkgState{}, build: map[string][]string{}}
	if err := r.read(strings.NewReader(in)); err != nil {
		t.Fatal(err)
	}
	if r.summary() {
		t.Fatal("a failing run reported success")
	}
	want := `go: downloading example.com/m v1.0.0
ok   p/a (1.2s): 1 passed, 1 skipped
     SKIP TestSkip: a_test.go:12: needs ../shared
FAIL p/b (0.5s)
     output of TestBad:
           b_test.go:3: got 1, want 2
FAIL p/c (0.2s)
       panic: boom
--   p/d (no tests)
FAIL p/e: no result (go test stopped early)
tests: 1 passed, 1 skipped, 1 failed; 2 packages failed
`
	if out.String() != want {
		t.Fatalf("report:\n%s\nwant:\n%s", out.String(), want)
	}
}

func TestReportPassingRunSucceeds(t *testing.T) {
	var out strings.Builder
	r := &report{out: &out, pkgs: map[string]*pkgState{}, build: map[string][]string{}}
	_ = r.read(strings.NewReader(`{"Action":"pass","Package":"p/a","Test":"TestOK"}` + "\n" + `{"Action":"pass","Package":"p/a","Elapsed":1}`))
	if !r.summary() || strings.Contains(out.String(), "FAIL") {
		t.Fatalf("passing run: %q", out.String())
	}
}
