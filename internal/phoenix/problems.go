package phoenix

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Problem is one validation finding, located by file and JSON path.
type Problem struct {
	File string // base name of the file, e.g. phoenix_lxc_configs.json
	Path string // JSON path, e.g. lxc_configs."950".memory_mb; empty for file-level problems
	// Line and Column locate the offending value (1-based; 0 when unknown).
	Line, Column int
	Msg          string
	Warning      bool
}

// String renders the problem as `file: path: message`.
func (p Problem) String() string {
	switch {
	case p.Path == "" && p.Line > 0:
		return fmt.Sprintf("%s: line %d, column %d: %s", p.File, p.Line, p.Column, p.Msg)
	case p.Path == "":
		return fmt.Sprintf("%s: %s", p.File, p.Msg)
	default:
		return fmt.Sprintf("%s: %s: %s", p.File, p.Path, p.Msg)
	}
}

// Problems is every error found while ingesting; it is returned as the error of Load.
type Problems []Problem

func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// sortProblems orders problems by file, then position, so messages are stable.
func sortProblems(ps []Problem) {
	sort.SliceStable(ps, func(i, j int) bool {
		if ps[i].File != ps[j].File {
			return ps[i].File < ps[j].File
		}
		if ps[i].Line != ps[j].Line {
			return ps[i].Line < ps[j].Line
		}
		return ps[i].Column < ps[j].Column
	})
}

// joinPath appends an object key to a JSON path, quoting keys that are not
// plain identifiers (lxc_configs."950").
func joinPath(base, key string) string {
	k := key
	if !isIdent(key) {
		k = strconv.Quote(key)
	}
	if base == "" {
		return k
	}
	return base + "." + k
}

func indexPath(base string, i int) string {
	return base + "[" + strconv.Itoa(i) + "]"
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		switch {
		case c == '_' || c == '$' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'):
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

func sprintf(format string, args ...any) string {
	if len(args) == 0 {
		return format
	}
	return fmt.Sprintf(format, args...)
}
