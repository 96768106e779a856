package pve

import "strings"

// Words a POSIX shell (or bash) treats specially in command position when
// unquoted; quoting them keeps them plain words wherever they land.
var reservedWords = map[string]bool{
	"!": true, "{": true, "}": true, "[[": true, "]]": true, "case": true, "do": true, "done": true,
	"elif": true, "else": true, "esac": true, "fi": true, "for": true, "function": true, "if": true,
	"in": true, "select": true, "then": true, "time": true, "until": true, "while": true, "coproc": true,
}

// safeWord reports whether s needs no quoting: only characters no shell
// treats specially anywhere in a word. '=' is excluded (a first word with
// '=' is an assignment), as are '~' (tilde expansion) and '#' (comment).
func safeWord(s string) bool {
	if s == "" || reservedWords[s] {
		return false
	}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case strings.ContainsRune("_@%+:,./-", r):
		default:
			return false
		}
	}
	return true
}

// ShellQuote renders args as one POSIX shell command line that a shell splits
// back into exactly args: safe words as they are, everything else in single
// quotes, an embedded single quote becoming quote, backslash, quote, quote
// (close, escaped quote, reopen). Only for transports that take a command
// line (pct exec over SSH); everything else uses argv arrays. A NUL byte
// cannot travel in an argument at all: keep it out of args.
func ShellQuote(args ...string) string {
	var b strings.Builder
	for i, a := range args {
		if i > 0 {
			b.WriteByte(' ')
		}
		if safeWord(a) {
			b.WriteString(a)
			continue
		}
		b.WriteByte('\'')
		b.WriteString(strings.ReplaceAll(a, "'", `'\''`))
		b.WriteByte('\'')
	}
	return b.String()
}
