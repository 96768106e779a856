package provision

import (
	"bytes"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"
)

// redactor replaces secrets. Longer secrets go first so a secret containing
// another is replaced whole; a multi-line secret is also replaced line by
// line, because output is handled a line at a time.
type redactor struct{ secrets []string }

func newRedactor(secrets []string) *redactor {
	seen := map[string]bool{}
	var out []string
	add := func(s string) {
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	for _, s := range secrets {
		add(s)
		if strings.ContainsAny(s, "\r\n") {
			for _, l := range strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' }) {
				add(l)
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return &redactor{secrets: out}
}

func (r *redactor) apply(s string) string {
	if r == nil {
		return s
	}
	for _, sec := range r.secrets {
		if strings.Contains(s, sec) {
			s = strings.ReplaceAll(s, sec, Redacted)
		}
	}
	return s
}

// tail keeps the last TailLines lines, each already redacted and cut to its
// last TailBytes, so memory stays bounded whatever a script prints.
type tail struct{ lines []string }

func (t *tail) add(line string) {
	if len(line) > TailBytes {
		line = cutFront(line, TailBytes)
	}
	if len(t.lines) == TailLines {
		copy(t.lines, t.lines[1:])
		t.lines = t.lines[:TailLines-1]
	}
	t.lines = append(t.lines, line)
}

func (t *tail) String() string {
	return cutFront(strings.Join(t.lines, "\n"), TailBytes)
}

// cutFront keeps the last n bytes of s, starting on a rune boundary.
func cutFront(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[len(s)-n:]
	for i := 0; i < utf8.UTFMax && i < len(s); i++ {
		if utf8.RuneStart(s[i]) {
			return s[i:]
		}
	}
	return s
}

// capture is the LineSink of one command: it redacts, logs and keeps tails.
type capture struct {
	mu       sync.Mutex
	red      *redactor
	log      func(string)
	prefix   string
	streamed bool
	stdout   tail
	stderr   tail
	all      tail
}

func (c *capture) sink(stream Stream, line string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.streamed = true
	c.line(stream, line)
}

func (c *capture) line(stream Stream, line string) {
	line = c.red.apply(strings.TrimRight(line, "\r\n"))
	if stream == Stderr {
		c.stderr.add(line)
		c.log(c.prefix + " stderr: " + line)
	} else {
		c.stdout.add(line)
		c.log(c.prefix + ": " + line)
	}
	c.all.add(line)
}

// finish takes the result's buffered output when nothing was streamed (a
// transport that only has output at exit).
func (c *capture) finish(res ExecResult) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.streamed {
		return
	}
	for _, s := range []struct {
		name Stream
		data []byte
	}{{Stdout, res.Stdout}, {Stderr, res.Stderr}} {
		for _, l := range splitLines(s.data) {
			c.line(s.name, l)
		}
	}
}

// errTail is what a StepError shows: stderr, or stdout when stderr is empty
// (many phoenix scripts log their errors to stdout).
func (c *capture) errTail() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.stderr.lines) > 0 {
		return c.stderr.String()
	}
	return c.stdout.String()
}

func (c *capture) allTail() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.all.String()
}

func splitLines(b []byte) []string {
	if len(b) == 0 {
		return nil
	}
	b = bytes.TrimSuffix(b, []byte("\n"))
	return strings.Split(string(b), "\n")
}

// MaxLine is where LineWriter breaks a line that never ends, so memory stays
// bounded; a secret straddling such a break would escape redaction, which is
// why it is large.
const MaxLine = 1 << 20

// LineWriter turns a byte stream (an SSH session's stdout, say) into sink
// calls, one per line. Close flushes a last line without newline. It is not
// safe for concurrent writes; use one per stream.
type LineWriter struct {
	Stream Stream
	Sink   LineSink
	buf    []byte
}

// NewLineWriter returns a LineWriter for stream.
func NewLineWriter(stream Stream, sink LineSink) *LineWriter {
	return &LineWriter{Stream: stream, Sink: sink}
}

func (w *LineWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			w.buf = append(w.buf, p...)
			for len(w.buf) >= MaxLine {
				w.Sink(w.Stream, string(w.buf[:MaxLine]))
				w.buf = append(w.buf[:0], w.buf[MaxLine:]...)
			}
			break
		}
		w.buf = append(w.buf, p[:i]...)
		w.Sink(w.Stream, string(w.buf))
		w.buf = w.buf[:0]
		p = p[i+1:]
	}
	return n, nil
}

// Close flushes a pending partial line.
func (w *LineWriter) Close() error {
	if len(w.buf) > 0 {
		w.Sink(w.Stream, string(w.buf))
		w.buf = w.buf[:0]
	}
	return nil
}
