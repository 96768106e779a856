package nodeshell

import (
	"reflect"
	"testing"
)

func TestSplitPlain(t *testing.T) {
	plain := map[string][]string{
		`pct exec 950 -- echo hi`:              {"pct", "exec", "950", "--", "echo", "hi"},
		`  qm  status	100 `:                    {"qm", "status", "100"},
		`pct exec 950 -- sh -c 'a | b; $X'`:    {"pct", "exec", "950", "--", "sh", "-c", "a | b; $X"},
		`pct push 950 "a b" 'c'"d"e\ f`:        {"pct", "push", "950", "a b", "cde f"},
		`pct set 950 -description "x\"y\\z"`:   {"pct", "set", "950", "-description", `x"y\z`},
		`pct set 950 -description "keep\n"`:    {"pct", "set", "950", "-description", `keep\n`},
		`pct exec 950 -- echo a=b`:             {"pct", "exec", "950", "--", "echo", "a=b"},
		`pct exec 950 -- echo ''`:              {"pct", "exec", "950", "--", "echo", ""},
		"pct exec 950 -- sh -c 'line1\nline2'": {"pct", "exec", "950", "--", "sh", "-c", "line1\nline2"},
	}
	for line, want := range plain {
		got, ok := splitPlain(line)
		if !ok || !reflect.DeepEqual(got, want) {
			t.Errorf("%q: %q %v, want %q", line, got, ok, want)
		}
	}
	for _, line := range []string{
		`pct config 950 | grep lxc`, `pct config 950 > /tmp/x`, `pct exec 950 -- echo $HOME`,
		`pct exec 950 -- echo "$HOME"`, "pct a\npct b", `pct a; pct b`, `pct a && b`, `X=1 pct a`,
		`pct exec 950 -- ls *`, `pct exec 950 -- echo 'unterminated`, `pct exec 950 -- echo $(id)`,
		"pct exec 950 -- echo `id`", `pct exec 950 # comment`, `pct exec 950 -- echo ~`, `pct a \`, ``, `   `,
	} {
		if got, ok := splitPlain(line); ok {
			t.Errorf("%q is not plain, got %q", line, got)
		}
	}
}
