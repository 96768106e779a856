// Command summary reads `go test -bench` output of ./internal/bench and
// ./internal/phoenix (make bench) on stdin and prints the table of
// docs/performance.md: each figure of issue 11 with its target, what was
// measured and the ratio of the two (at most 1 meets a "less than" target).
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// results maps a benchmark (without its -N suffix) to its metrics by unit.
type results map[string]map[string]float64

func parse(r io.Reader) results {
	res := results{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		name := f[0]
		if i := strings.LastIndex(name, "-"); i > 0 {
			if _, err := strconv.Atoi(name[i+1:]); err == nil {
				name = name[:i]
			}
		}
		m := map[string]float64{}
		for i := 2; i+1 < len(f); i += 2 {
			if v, err := strconv.ParseFloat(f[i], 64); err == nil {
				m[f[i+1]] = v
			}
		}
		res[name] = m
	}
	return res
}

// row is one line of the table.
type row struct {
	figure, target, measured, ratio string
	met                             bool
}

type table struct {
	res  results
	rows []row
	miss []string
}

func (t *table) get(bench, unit string) (float64, bool) {
	v, ok := t.res[bench][unit]
	return v, ok
}

// atMost adds a figure whose target is an upper bound.
func (t *table) atMost(figure, bench, unit string, limit float64, format, target string) {
	v, ok := t.get(bench, unit)
	if !ok {
		t.rows = append(t.rows, row{figure, target, "not run", "", false})
		t.miss = append(t.miss, figure)
		return
	}
	r := row{figure, target, fmt.Sprintf(format, v), fmt.Sprintf("%.2f", v/limit), v <= limit}
	t.rows = append(t.rows, r)
	if !r.met {
		t.miss = append(t.miss, figure)
	}
}

// report adds a figure without a numeric target.
func (t *table) report(figure, bench, unit, format, target string) {
	v, ok := t.get(bench, unit)
	m := "not run"
	if ok {
		m = fmt.Sprintf(format, v)
	}
	t.rows = append(t.rows, row{figure, target, m, "—", true})
}

func build(res results) *table {
	t := &table{res: res}
	const r1000 = "BenchmarkRefresh/guests=1000"
	t.atMost("Refresh: requests per guest, running container", r1000, "req/guest-plain", 2, "%.2f", "≤ 2")
	t.atMost("Refresh: requests per guest, container with a managed firewall", r1000, "req/guest-firewall", 2, "%.2f", "≤ 2")
	t.atMost("Refresh: requests per guest, 1,000 guests, half with a firewall", r1000, "req/guest", 2, "%.2f", "≤ 2")
	t.report("Refresh: the plan's own requests (login, cluster listing)", r1000, "plan-req", "%.0f per plan", "one listing per plan")
	t.report("Refresh: all requests over guests, 1,000 guests, half with a firewall", r1000, "req/guest-total", "%.3f", "reported")
	for _, n := range []string{"100", "300", "1000"} {
		t.report("Refresh: time per guest, "+n+" guests over 3 nodes", "BenchmarkRefresh/guests="+n, "ms/guest", "%.2f ms", "linear or better")
	}
	if a, ok := t.get("BenchmarkRefresh/guests=100", "ms/guest"); ok {
		b, _ := t.get(r1000, "ms/guest")
		r := row{"Refresh: time per guest at 1,000 over at 100 guests (the curve)", "≤ 1 (linear or better)",
			fmt.Sprintf("%.2f / %.2f ms", b, a), fmt.Sprintf("%.2f", b/a), b <= a*1.25}
		t.rows = append(t.rows, r)
		if !r.met {
			t.miss = append(t.miss, r.figure)
		}
	}
	for _, n := range []string{"100", "1000"} {
		t.report("Provider memory: peak heap of a refresh, "+n+" guests", "BenchmarkRefresh/guests="+n, "peak-heap-MB", "%.1f MB", "reported")
		t.report("Provider memory: allocated per guest, "+n+" guests", "BenchmarkRefresh/guests="+n, "alloc-KB/guest", "%.1f KB", "reported")
	}
	const poll = "BenchmarkTaskPolling"
	t.atMost("Task polling: worst gap, task type in PVE's history", poll, "max-gap-%-warm", 10, "%.1f %%", "< 10 % of the task")
	t.atMost("Task polling: worst gap, task type never run on the node", poll, "max-gap-%-cold", 10, "%.1f %%", "< 10 % of the task")
	t.report("Task polling: worst gap of the former fixed backoff", poll, "max-gap-%-fixed", "%.1f %%", "reported")
	if fixed, ok := t.get(poll, "polls/task-fixed"); ok {
		t.atMost("Task polling: requests per task, type in PVE's history", poll, "polls/task-warm", fixed, "%.1f", fmt.Sprintf("< fixed backoff's %.1f", fixed))
		t.atMost("Task polling: requests per task, type never run on the node", poll, "polls/task-cold", fixed, "%.1f", fmt.Sprintf("< fixed backoff's %.1f", fixed))
	}
	for _, c := range []string{"clones=10/parallelism=10", "clones=50/parallelism=10", "clones=50/parallelism=50"} {
		b := "BenchmarkParallelClones/" + c
		v, ok := t.get(b, "clones/min")
		lr, _ := t.get(b, "lock-retries")
		x, _ := t.get(b, "x-serial-bound")
		m := "not run"
		if ok {
			m = fmt.Sprintf("all succeeded: %.0f clones/min (%.2f × one clone after another), %.0f lock retries", v, x, lr)
		}
		t.rows = append(t.rows, row{"Parallel clones from one template: " + strings.ReplaceAll(c, "/", ", "), "all succeed; lock retries counted", m, "—", ok})
		if !ok {
			t.miss = append(t.miss, "Parallel clones "+c)
		}
	}
	t.atMost("Apply: wall time over the critical path (graph order)", "BenchmarkApply", "graph/cp", 1.15, "%.2f ×", "≤ 1.15")
	t.atMost("Apply: wall time over the best schedule PVE's locks allow", "BenchmarkApply", "graph/lock-bound", 1.15, "%.2f ×", "≤ 1.15")
	t.report("Apply: tier order (estate module) over the critical path", "BenchmarkApply", "tiers/cp", "%.2f ×", "reported")
	t.report("Apply: serial orchestrator (sum of tasks) over the critical path", "BenchmarkApply", "serial/cp", "%.2f ×", "reported")
	t.report("Apply: requests per guest (graph order)", "BenchmarkApply", "req/guest", "%.1f", "reported")
	t.report("Apply: task status polls per guest (graph order)", "BenchmarkApply", "polls/guest", "%.1f", "reported")
	const ing = "BenchmarkIngest5000"
	if v, ok := t.get(ing, "ns/op"); ok {
		t.res[ing]["ms/op"] = v / 1e6
	}
	if v, ok := t.get(ing, "B/op"); ok {
		t.res[ing]["MB/op"] = v / (1 << 20)
	}
	t.atMost("Ingestion: 5,000 guests, time", ing, "ms/op", 50, "%.1f ms", "< 50 ms")
	t.atMost("Ingestion: 5,000 guests, memory allocated", ing, "MB/op", 50, "%.1f MB", "< 50 MB")
	return t
}

func (t *table) print(w io.Writer) {
	fmt.Fprintln(w, "| figure | target | measured | ratio |")
	fmt.Fprintln(w, "| --- | --- | --- | --- |")
	for _, r := range t.rows {
		mark := ""
		if !r.met {
			mark = " ✗"
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s%s |\n", r.figure, r.target, r.measured, r.ratio, mark)
	}
	if len(t.miss) > 0 {
		fmt.Fprintf(w, "\nNot met (✗): %s. docs/performance.md says what limits each.\n", strings.Join(t.miss, "; "))
	}
}

func main() {
	build(parse(os.Stdin)).print(os.Stdout)
}
