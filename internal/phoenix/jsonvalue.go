package phoenix

import (
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// A small JSON reader that keeps the byte offset of every value. encoding/json
// cannot tell where a wrongly typed value sits, and validation messages name
// the line and column as well as the JSON path; it is also several times
// faster than decoding into interface{} for the 5,000-guest benchmark.

type valueKind uint8

const (
	kindNull valueKind = iota
	kindBool
	kindNumber
	kindString
	kindArray
	kindObject
)

type member struct {
	key   string
	value *value
}

// value is 24 bytes: a 5,000-guest estate has about 250,000 of them, and
// fresh memory is what ingestion spends most of its time on. ptr points to
// a string's bytes, or to an object's members / an array's elements (with
// empty keys); n counts them.
type value struct {
	kind     valueKind
	boolean  bool
	off, end int32 // byte offsets of the value's source text
	n        int32
	ptr      unsafe.Pointer
}

// text is a string's contents, or a number's literal text.
func (v *value) text() string {
	if v.n == 0 {
		return ""
	}
	return unsafe.String((*byte)(v.ptr), int(v.n))
}

// kids are an object's members or an array's elements.
func (v *value) kids() []member {
	if v.n == 0 {
		return nil
	}
	return unsafe.Slice((*member)(v.ptr), int(v.n))
}

func stringValue(kind valueKind, s string) value {
	if s == "" {
		return value{kind: kind}
	}
	return value{kind: kind, n: int32(len(s)), ptr: unsafe.Pointer(unsafe.StringData(s))}
}

func (v *value) setKids(ms []member) {
	if len(ms) > 0 {
		v.n, v.ptr = int32(len(ms)), unsafe.Pointer(&ms[0])
	}
}

// raw returns the value's source bytes in data (the document it was parsed from).
func (v *value) raw(data []byte) []byte { return data[v.off:v.end] }

// get returns the member named key, or nil.
func (v *value) get(key string) *value {
	if v == nil || v.kind != kindObject {
		return nil
	}
	for _, m := range v.kids() {
		if m.key == key {
			return m.value
		}
	}
	return nil
}

// describe renders a value for messages: strings quoted, others by their text.
func (v *value) describe() string {
	switch v.kind {
	case kindString:
		s := v.text()
		if len(s) > 40 {
			s = s[:40] + "..."
		}
		return strconv.Quote(s)
	case kindNumber:
		return v.text()
	case kindBool:
		return strconv.FormatBool(v.boolean)
	case kindNull:
		return "null"
	case kindArray:
		return "an array"
	default:
		return "an object"
	}
}

// SyntaxError is malformed JSON, located by line and column (1-based).
type SyntaxError struct {
	Line, Column int
	Msg          string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("line %d, column %d: %s", e.Line, e.Column, e.Msg)
}

// parser allocates values from slabs and builds each array or object in a
// scratch stack before copying it into an exactly sized slice: a 5,000-guest
// estate would otherwise spend most of its time in the allocator.
type parser struct {
	data    []byte
	pos     int
	depth   int
	slab    []value
	members []member // scratch stack of the objects and arrays being read
	arena   []member // finished members, in chunks: one allocation per 4,096
}

// keep copies an object's or array's members into the arena.
func (p *parser) keep(ms []member) []member {
	if len(ms) == 0 {
		return nil
	}
	if cap(p.arena)-len(p.arena) < len(ms) {
		p.arena = make([]member, 0, max(4096, len(ms)))
	}
	start := len(p.arena)
	p.arena = append(p.arena, ms...)
	return p.arena[start:len(p.arena):len(p.arena)]
}

func (p *parser) newValue(v value) *value {
	if len(p.slab) == cap(p.slab) {
		p.slab = make([]value, 0, 1024)
	}
	p.slab = append(p.slab, v)
	return &p.slab[len(p.slab)-1]
}

const maxDepth = 512

func parseJSON(data []byte) (*value, error) {
	if len(data) > 1<<31-1 {
		return nil, &SyntaxError{Line: 1, Column: 1, Msg: "file larger than 2 GiB"}
	}
	p := &parser{data: data}
	p.skipSpace()
	v, err := p.parseValue()
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.pos < len(p.data) {
		return nil, p.errorf(p.pos, "unexpected %s after the top-level value", p.describeAt(p.pos))
	}
	return v, nil
}

// position converts a byte offset into a 1-based line and column (columns count runes).
func position(data []byte, off int) (line, col int) {
	line, col = 1, 1
	if off > len(data) {
		off = len(data)
	}
	for i := 0; i < off; {
		r, size := utf8.DecodeRune(data[i:])
		if r == '\n' {
			line++
			col = 1
		} else {
			col++
		}
		i += size
	}
	return line, col
}

func (p *parser) errorf(off int, format string, args ...any) error {
	line, col := position(p.data, off)
	return &SyntaxError{Line: line, Column: col, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) describeAt(off int) string {
	if off >= len(p.data) {
		return "end of input"
	}
	r, _ := utf8.DecodeRune(p.data[off:])
	return strconv.QuoteRune(r)
}

func (p *parser) skipSpace() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *parser) parseValue() (*value, error) {
	if p.pos >= len(p.data) {
		return nil, p.errorf(p.pos, "unexpected end of input, expected a value")
	}
	start := p.pos
	var v *value
	var err error
	switch c := p.data[p.pos]; {
	case c == '{':
		v, err = p.parseObject()
	case c == '[':
		v, err = p.parseArray()
	case c == '"':
		var s string
		s, err = p.parseString()
		v = p.newValue(stringValue(kindString, s))
	case c == '-' || (c >= '0' && c <= '9'):
		v, err = p.parseNumber()
	case c == 't':
		v, err = p.literal("true", value{kind: kindBool, boolean: true})
	case c == 'f':
		v, err = p.literal("false", value{kind: kindBool})
	case c == 'n':
		v, err = p.literal("null", value{kind: kindNull})
	default:
		return nil, p.errorf(p.pos, "unexpected %s, expected a value", p.describeAt(p.pos))
	}
	if err != nil {
		return nil, err
	}
	v.off, v.end = int32(start), int32(p.pos)
	return v, nil
}

func (p *parser) literal(word string, v value) (*value, error) {
	if len(p.data)-p.pos < len(word) || string(p.data[p.pos:p.pos+len(word)]) != word {
		return nil, p.errorf(p.pos, "invalid literal, expected %q", word)
	}
	p.pos += len(word)
	return p.newValue(v), nil
}

func (p *parser) enter() error {
	p.depth++
	if p.depth > maxDepth {
		return p.errorf(p.pos, "nesting deeper than %d levels", maxDepth)
	}
	return nil
}

func (p *parser) parseObject() (*value, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	p.pos++ // '{'
	v := p.newValue(value{kind: kindObject})
	p.skipSpace()
	if p.pos < len(p.data) && p.data[p.pos] == '}' {
		p.pos++
		return v, nil
	}
	base := len(p.members)
	defer func() { p.members = p.members[:base] }()
	for {
		p.skipSpace()
		if p.pos >= len(p.data) || p.data[p.pos] != '"' {
			return nil, p.errorf(p.pos, "unexpected %s, expected a string key", p.describeAt(p.pos))
		}
		key, err := p.parseString()
		if err != nil {
			return nil, err
		}
		p.skipSpace()
		if p.pos >= len(p.data) || p.data[p.pos] != ':' {
			return nil, p.errorf(p.pos, "unexpected %s, expected ':' after key %q", p.describeAt(p.pos), key)
		}
		p.pos++
		p.skipSpace()
		m, err := p.parseValue()
		if err != nil {
			return nil, err
		}
		p.members = append(p.members, member{key: key, value: m})
		p.skipSpace()
		if p.pos >= len(p.data) {
			return nil, p.errorf(p.pos, "unexpected end of input, expected ',' or '}'")
		}
		switch p.data[p.pos] {
		case ',':
			p.pos++
		case '}':
			p.pos++
			v.setKids(p.keep(p.members[base:]))
			return v, nil
		default:
			return nil, p.errorf(p.pos, "unexpected %s, expected ',' or '}'", p.describeAt(p.pos))
		}
	}
}

func (p *parser) parseArray() (*value, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	p.pos++ // '['
	v := p.newValue(value{kind: kindArray})
	p.skipSpace()
	if p.pos < len(p.data) && p.data[p.pos] == ']' {
		p.pos++
		return v, nil
	}
	base := len(p.members)
	defer func() { p.members = p.members[:base] }()
	for {
		p.skipSpace()
		e, err := p.parseValue()
		if err != nil {
			return nil, err
		}
		p.members = append(p.members, member{value: e})
		p.skipSpace()
		if p.pos >= len(p.data) {
			return nil, p.errorf(p.pos, "unexpected end of input, expected ',' or ']'")
		}
		switch p.data[p.pos] {
		case ',':
			p.pos++
		case ']':
			p.pos++
			v.setKids(p.keep(p.members[base:]))
			return v, nil
		default:
			return nil, p.errorf(p.pos, "unexpected %s, expected ',' or ']'", p.describeAt(p.pos))
		}
	}
}

func (p *parser) parseNumber() (*value, error) {
	start := p.pos
	if p.data[p.pos] == '-' {
		p.pos++
	}
	digits := func() int {
		n := 0
		for p.pos < len(p.data) && p.data[p.pos] >= '0' && p.data[p.pos] <= '9' {
			p.pos++
			n++
		}
		return n
	}
	intStart := p.pos
	if digits() == 0 {
		return nil, p.errorf(p.pos, "invalid number, expected a digit")
	}
	if p.data[intStart] == '0' && p.pos-intStart > 1 {
		return nil, p.errorf(intStart, "invalid number, leading zero")
	}
	if p.pos < len(p.data) && p.data[p.pos] == '.' {
		p.pos++
		if digits() == 0 {
			return nil, p.errorf(p.pos, "invalid number, expected a digit after '.'")
		}
	}
	if p.pos < len(p.data) && (p.data[p.pos] == 'e' || p.data[p.pos] == 'E') {
		p.pos++
		if p.pos < len(p.data) && (p.data[p.pos] == '+' || p.data[p.pos] == '-') {
			p.pos++
		}
		if digits() == 0 {
			return nil, p.errorf(p.pos, "invalid number, expected an exponent")
		}
	}
	return p.newValue(stringValue(kindNumber, unsafeString(p.data[start:p.pos]))), nil
}

func (p *parser) parseString() (string, error) {
	start := p.pos
	p.pos++ // opening quote
	// Fast path: no escapes.
	for i := p.pos; i < len(p.data); i++ {
		c := p.data[i]
		if c == '"' {
			s := p.data[p.pos:i]
			if utf8.Valid(s) {
				p.pos = i + 1
				return unsafeString(s), nil
			}
			break
		}
		if c == '\\' || c < 0x20 {
			break
		}
	}
	var buf []byte
	for {
		if p.pos >= len(p.data) {
			return "", p.errorf(start, "unterminated string")
		}
		c := p.data[p.pos]
		switch {
		case c == '"':
			p.pos++
			return string(buf), nil
		case c < 0x20:
			return "", p.errorf(p.pos, "control character in string")
		case c == '\\':
			if p.pos+1 >= len(p.data) {
				return "", p.errorf(start, "unterminated string")
			}
			esc := p.data[p.pos+1]
			p.pos += 2
			switch esc {
			case '"', '\\', '/':
				buf = append(buf, esc)
			case 'b':
				buf = append(buf, '\b')
			case 'f':
				buf = append(buf, '\f')
			case 'n':
				buf = append(buf, '\n')
			case 'r':
				buf = append(buf, '\r')
			case 't':
				buf = append(buf, '\t')
			case 'u':
				r, err := p.hex4()
				if err != nil {
					return "", err
				}
				if utf16.IsSurrogate(r) {
					r2 := rune(utf8.RuneError)
					if p.pos+1 < len(p.data) && p.data[p.pos] == '\\' && p.data[p.pos+1] == 'u' {
						p.pos += 2
						if r2, err = p.hex4(); err != nil {
							return "", err
						}
					}
					r = utf16.DecodeRune(r, r2)
				}
				buf = utf8.AppendRune(buf, r)
			default:
				return "", p.errorf(p.pos-1, "invalid escape '\\%c' in string", esc)
			}
		default:
			r, size := utf8.DecodeRune(p.data[p.pos:])
			if r == utf8.RuneError && size == 1 {
				return "", p.errorf(p.pos, "invalid UTF-8 in string")
			}
			buf = append(buf, p.data[p.pos:p.pos+size]...)
			p.pos += size
		}
	}
}

// unsafeString aliases b: strings without escapes point into the document
// instead of being copied (most of an estate's allocations otherwise). Parse
// documents that the input must not change afterwards; Load reads its own.
func unsafeString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

func (p *parser) hex4() (rune, error) {
	if len(p.data)-p.pos < 4 {
		return 0, p.errorf(p.pos, "invalid \\u escape")
	}
	n, err := strconv.ParseUint(string(p.data[p.pos:p.pos+4]), 16, 32)
	if err != nil {
		return 0, p.errorf(p.pos, "invalid \\u escape")
	}
	p.pos += 4
	return rune(n), nil
}
