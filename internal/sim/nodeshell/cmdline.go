package nodeshell

import "strings"

// splitPlain splits a command line into words the way bash would, but only
// when the line is a plain command: words, quotes and backslash escapes, with
// no shell syntax (pipes, redirections, expansions, globs, comments, several
// commands). ok is false otherwise; such lines go to the node sandbox's real
// bash, so being conservative only costs speed, never correctness.
func splitPlain(line string) (argv []string, ok bool) {
	var (
		words  []string
		cur    strings.Builder
		inWord bool
	)
	flush := func() {
		if inWord {
			words = append(words, cur.String())
			cur.Reset()
			inWord = false
		}
	}
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == ' ' || c == '\t':
			flush()
		case c == '\'':
			end := strings.IndexByte(line[i+1:], '\'')
			if end < 0 {
				return nil, false
			}
			cur.WriteString(line[i+1 : i+1+end])
			inWord = true
			i += end + 1
		case c == '"':
			i++
			for ; i < len(line) && line[i] != '"'; i++ {
				switch line[i] {
				case '$', '`':
					return nil, false
				case '\\':
					if i+1 < len(line) && strings.IndexByte("$`\"\\", line[i+1]) >= 0 {
						i++
					} else if i+1 < len(line) && line[i+1] == '\n' {
						return nil, false
					}
				}
				cur.WriteByte(line[i])
			}
			if i >= len(line) {
				return nil, false
			}
			inWord = true
		case c == '\\':
			if i+1 >= len(line) || line[i+1] == '\n' {
				return nil, false
			}
			i++
			cur.WriteByte(line[i])
			inWord = true
		case strings.IndexByte("|&;<>()$`*?[]{}#~!\n\r", c) >= 0:
			return nil, false
		case c == '=' && len(words) == 0:
			// NAME=value prefix assigns an environment variable.
			return nil, false
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	flush()
	return words, len(words) > 0
}
