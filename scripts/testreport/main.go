// Command testreport turns `go test -json` into a short report: one line per
// package, every skipped test with its reason, the full output of every
// failed test (and of a package that failed outside its tests, e.g. a panic
// or a build error), then a total. It exits 1 when anything failed.
//
//	go test -json ./... 2>&1 | go run ./scripts/testreport
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// event is one line of `go test -json` (cmd/test2json).
type event struct {
	Action     string
	Package    string
	ImportPath string // build-output, build-fail
	Test       string
	Elapsed    float64
	Output     string
}

type pkgState struct {
	output  map[string][]string // by test ("" = the package itself)
	skipped []string
	failed  []string
	passed  int
}

type report struct {
	out     io.Writer
	pkgs    map[string]*pkgState
	build   map[string][]string // build output by import path
	totals  struct{ pass, skip, fail, pkgFail int }
	anyFail bool
}

func main() {
	r := &report{out: os.Stdout, pkgs: map[string]*pkgState{}, build: map[string][]string{}}
	if err := r.read(os.Stdin); err != nil {
		fmt.Fprintln(os.Stderr, "testreport:", err)
		os.Exit(2)
	}
	if !r.summary() {
		os.Exit(1)
	}
}

func (r *report) read(in io.Reader) error {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &e) != nil {
			// not an event: go's own messages (go: downloading ...)
			fmt.Fprintln(r.out, string(line))
			continue
		}
		r.handle(e)
	}
	return sc.Err()
}

func (r *report) pkg(name string) *pkgState {
	p := r.pkgs[name]
	if p == nil {
		p = &pkgState{output: map[string][]string{}}
		r.pkgs[name] = p
	}
	return p
}

func (r *report) handle(e event) {
	switch e.Action {
	case "build-output":
		r.build[e.ImportPath] = append(r.build[e.ImportPath], e.Output)
		return
	case "build-fail":
		r.anyFail = true
		fmt.Fprintf(r.out, "FAIL build %s\n%s", e.ImportPath, strings.Join(r.build[e.ImportPath], ""))
		return
	}
	if e.Package == "" {
		return
	}
	p := r.pkg(e.Package)
	switch e.Action {
	case "output":
		p.output[e.Test] = append(p.output[e.Test], e.Output)
	case "pass", "fail", "skip":
		if e.Test != "" {
			r.testDone(p, e)
			return
		}
		r.packageDone(e, p)
	}
}

func (r *report) testDone(p *pkgState, e event) {
	switch e.Action {
	case "pass":
		p.passed++
		r.totals.pass++
		delete(p.output, e.Test)
	case "skip":
		p.skipped = append(p.skipped, e.Test)
		r.totals.skip++
	case "fail":
		p.failed = append(p.failed, e.Test)
		r.totals.fail++
	}
}

func (r *report) packageDone(e event, p *pkgState) {
	switch {
	case e.Action == "fail":
		r.anyFail = true
		r.totals.pkgFail++
		fmt.Fprintf(r.out, "FAIL %s (%.1fs)\n", e.Package, e.Elapsed)
	case p.passed+len(p.skipped) == 0:
		fmt.Fprintf(r.out, "--   %s (no tests)\n", e.Package)
	default:
		fmt.Fprintf(r.out, "ok   %s (%.1fs): %d passed, %d skipped\n", e.Package, e.Elapsed, p.passed, len(p.skipped))
	}
	for _, t := range p.skipped {
		fmt.Fprintf(r.out, "     SKIP %s: %s\n", t, skipReason(p.output[t]))
	}
	for _, t := range p.failed {
		fmt.Fprintf(r.out, "     output of %s:\n", t)
		for _, l := range p.output[t] {
			fmt.Fprint(r.out, "       ", l)
		}
	}
	if e.Action == "fail" && len(p.failed) == 0 {
		// A panic, a timeout or a failing TestMain: the package's own output.
		for _, l := range p.output[""] {
			fmt.Fprint(r.out, "       ", l)
		}
	}
	delete(r.pkgs, e.Package)
}

// skipReason is what the test passed to t.Skip (and logged before), without
// go test's framing lines.
func skipReason(lines []string) string {
	var parts []string
	for _, l := range lines {
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, "=== ") || strings.HasPrefix(t, "--- SKIP") {
			continue
		}
		parts = append(parts, t)
	}
	if len(parts) == 0 {
		return "(no reason given)"
	}
	return strings.Join(parts, " / ")
}

// summary prints the totals and reports whether everything passed.
func (r *report) summary() bool {
	// Packages that never ended (the stream was cut): say so.
	var open []string
	for name := range r.pkgs {
		open = append(open, name)
	}
	sort.Strings(open)
	for _, name := range open {
		r.anyFail = true
		fmt.Fprintf(r.out, "FAIL %s: no result (go test stopped early)\n", name)
	}
	fmt.Fprintf(r.out, "tests: %d passed, %d skipped, %d failed", r.totals.pass, r.totals.skip, r.totals.fail)
	if r.totals.pkgFail > 0 {
		fmt.Fprintf(r.out, "; %d packages failed", r.totals.pkgFail)
	}
	fmt.Fprintln(r.out)
	return !r.anyFail
}
