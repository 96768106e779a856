package pve

import (
	"os/exec"
	"reflect"
	"strings"
	"testing"
)

var nasty = []string{
	"", " ", "a b", "  lead and trail  ", "it's", "'", "''", `"`, `"quoted"`, "$HOME", "${IFS}", "$(echo pwned)",
	"`id`", `\`, `a\nb`, "\n", "line1\nline2\n", "\t", "*", "?", "[a]", "~", "~root", "#comment", "a#b",
	"a;b", "a&&b", "a|b", ">out", "<in", "2>&1", "!", "!!", "-n", "--", "-e", "FOO=bar", "if", "then", "{", "}",
	"%s", "%%", "é漢字", "a'b'c", "\x01\x7f", "plain", "/tmp/phoenix_run/x.sh", "key=v a l",
}

// printfWords runs `printf '%s\0' <line>` through shell and returns the
// words the shell produced. Only printf runs: a quoting mistake would at most
// print something else (or write a file in the test's empty directory).
func printfWords(t *testing.T, shell, line string) []string {
	t.Helper()
	cmd := exec.Command(shell, "-c", `printf '%s\0' `+line)
	cmd.Dir = t.TempDir()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s -c %q: %v", shell, line, err)
	}
	words := strings.Split(string(out), "\x00")
	return words[:len(words)-1]
}

func TestShellQuoteRoundTrips(t *testing.T) {
	for _, shell := range []string{"/bin/sh", "bash"} {
		if _, err := exec.LookPath(shell); err != nil {
			t.Fatalf("%s: %v", shell, err)
		}
		if got := printfWords(t, shell, ShellQuote(nasty...)); !reflect.DeepEqual(got, nasty) {
			t.Errorf("%s: round trip\n got %q\nwant %q", shell, got, nasty)
		}
		for _, s := range nasty {
			if got := printfWords(t, shell, ShellQuote(s)); !reflect.DeepEqual(got, []string{s}) {
				t.Errorf("%s: %q came back as %q", shell, s, got)
			}
		}
	}
}

func TestShellQuoteCommandPosition(t *testing.T) {
	// The whole line quoted, printf included: the first word is a command.
	line := ShellQuote(append([]string{"printf", `%s\0`}, nasty...)...)
	cmd := exec.Command("/bin/sh", "-c", line)
	cmd.Dir = t.TempDir()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%q: %v", line, err)
	}
	if got := strings.Split(string(out), "\x00"); !reflect.DeepEqual(got[:len(got)-1], nasty) {
		t.Fatalf("got %q", got)
	}
}

func TestShellQuoteLeavesSafeWordsAlone(t *testing.T) {
	cases := map[string]string{
		"/bin/bash":   "/bin/bash",
		"950":         "950",
		"a-b_c.d:e,f": "a-b_c.d:e,f",
		"FOO=bar":     "'FOO=bar'", // would be an assignment as a first word
		"if":          "'if'",      // a reserved word in command position
		"~":           "'~'",
		"it's":        `'it'\''s'`,
		"":            "''",
	}
	for in, want := range cases {
		if got := ShellQuote(in); got != want {
			t.Errorf("ShellQuote(%q) = %s, want %s", in, got, want)
		}
	}
}
