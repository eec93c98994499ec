package audit

import (
	"bytes"
	"slices"
	"sync"
	"unicode/utf8"
)

// canonicalObject is the fast path of CanonicalDetails: one pass over the
// JSON, no decoding into `any`. It gives exactly what the encoding/json
// path gives (decode with UseNumber, encode with sorted keys and no HTML
// escaping) and returns ok=false for anything it does not handle the same
// way for sure (invalid JSON, invalid UTF-8, lone surrogates, duplicate
// keys, deep nesting, trailing data): the slow path then decides, with its
// error messages. canonjson_test.go fuzzes the two against each other.
func canonicalObject(src []byte) (string, bool) {
	c := canonPool.Get().(*canonJSON)
	defer canonPool.Put(c)
	*c = canonJSON{src: src, out: c.out[:0], keys: c.keys[:0], tmp: c.tmp[:0]}
	c.skipSpace()
	if c.pos >= len(src) || src[c.pos] != '{' {
		return "", false
	}
	out, ok := c.value(c.out, 0)
	c.out = out
	if !ok {
		return "", false
	}
	c.skipSpace()
	if c.pos != len(src) {
		return "", false
	}
	c.src = nil // the pool keeps the buffers, not the caller's details
	return string(out), true
}

// canonPool keeps canonicalObject's buffers between calls: Seal runs it
// for every event.
var canonPool = sync.Pool{New: func() any { return new(canonJSON) }}

// maxCanonDepth bounds the recursion; deeper documents take the slow path.
const maxCanonDepth = 256

type canonJSON struct {
	src  []byte
	pos  int
	out  []byte // the canonical JSON
	keys []byte // decoded keys that held escapes
	tmp  []byte // an object's members while they are reordered
}

// member is one "key":value of an object, written at out[start:end]; its
// decoded key is src[koff:koff+klen], or keys[...] when escaped.
type member struct {
	koff, klen int
	escaped    bool
	start, end int
}

func (c *canonJSON) key(m member) []byte {
	if m.escaped {
		return c.keys[m.koff : m.koff+m.klen]
	}
	return c.src[m.koff : m.koff+m.klen]
}

func (c *canonJSON) skipSpace() {
	for c.pos < len(c.src) {
		switch c.src[c.pos] {
		case ' ', '\t', '\n', '\r':
			c.pos++
		default:
			return
		}
	}
}

func (c *canonJSON) value(out []byte, depth int) ([]byte, bool) {
	if depth > maxCanonDepth {
		return out, false
	}
	c.skipSpace()
	if c.pos >= len(c.src) {
		return out, false
	}
	switch b := c.src[c.pos]; {
	case b == '{':
		return c.object(out, depth)
	case b == '[':
		return c.array(out, depth)
	case b == '"':
		raw, ok := c.scanString()
		if !ok {
			return out, false
		}
		return c.appendString(out, raw)
	case b == '-' || ('0' <= b && b <= '9'):
		return c.number(out)
	default:
		for _, lit := range [...]string{"true", "false", "null"} {
			if bytes.HasPrefix(c.src[c.pos:], []byte(lit)) {
				c.pos += len(lit)
				return append(out, lit...), true
			}
		}
		return out, false
	}
}

func (c *canonJSON) object(out []byte, depth int) ([]byte, bool) {
	c.pos++ // '{'
	base := len(out)
	out = append(out, '{')
	var stack [16]member
	members := stack[:0]
	c.skipSpace()
	if c.pos < len(c.src) && c.src[c.pos] == '}' {
		c.pos++
		return append(out, '}'), true
	}
	for {
		c.skipSpace()
		if c.pos >= len(c.src) || c.src[c.pos] != '"' {
			return out, false
		}
		raw, ok := c.scanString()
		if !ok {
			return out, false
		}
		m := member{koff: c.pos - len(raw) - 1, klen: len(raw)}
		if bytes.IndexByte(raw, '\\') >= 0 {
			m.escaped, m.koff = true, len(c.keys)
			if c.keys, ok = unescape(c.keys, raw); !ok {
				return out, false
			}
			m.klen = len(c.keys) - m.koff
		}
		if len(members) > 0 {
			out = append(out, ',')
		}
		m.start = len(out)
		if out, ok = c.appendString(out, raw); !ok {
			return out, false
		}
		c.skipSpace()
		if c.pos >= len(c.src) || c.src[c.pos] != ':' {
			return out, false
		}
		c.pos++
		out = append(out, ':')
		if out, ok = c.value(out, depth+1); !ok {
			return out, false
		}
		m.end = len(out)
		members = append(members, m)
		c.skipSpace()
		if c.pos >= len(c.src) {
			return out, false
		}
		if c.src[c.pos] == ',' {
			c.pos++
			continue
		}
		if c.src[c.pos] != '}' {
			return out, false
		}
		c.pos++
		break
	}
	sorted := true
	for i := 1; i < len(members); i++ {
		switch bytes.Compare(c.key(members[i-1]), c.key(members[i])) {
		case 0:
			return out, false // duplicate key: the slow path keeps the last
		case 1:
			sorted = false
		}
	}
	if !sorted {
		slices.SortFunc(members, func(a, b member) int { return bytes.Compare(c.key(a), c.key(b)) })
		for i := 1; i < len(members); i++ {
			if bytes.Equal(c.key(members[i-1]), c.key(members[i])) {
				return out, false
			}
		}
		c.tmp = append(c.tmp[:0], out[base:]...)
		out = append(out[:base], '{')
		for i, m := range members {
			if i > 0 {
				out = append(out, ',')
			}
			out = append(out, c.tmp[m.start-base:m.end-base]...)
		}
	}
	return append(out, '}'), true
}

func (c *canonJSON) array(out []byte, depth int) ([]byte, bool) {
	c.pos++ // '['
	out = append(out, '[')
	c.skipSpace()
	if c.pos < len(c.src) && c.src[c.pos] == ']' {
		c.pos++
		return append(out, ']'), true
	}
	for n := 0; ; n++ {
		if n > 0 {
			out = append(out, ',')
		}
		var ok bool
		if out, ok = c.value(out, depth+1); !ok {
			return out, false
		}
		c.skipSpace()
		if c.pos >= len(c.src) {
			return out, false
		}
		switch c.src[c.pos] {
		case ',':
			c.pos++
		case ']':
			c.pos++
			return append(out, ']'), true
		default:
			return out, false
		}
	}
}

// number copies a JSON number literal as written (json.Number keeps it).
func (c *canonJSON) number(out []byte) ([]byte, bool) {
	s, i := c.src, c.pos
	digits := func() bool {
		start := i
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
		}
		return i > start
	}
	if s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case !digits():
		return out, false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if !digits() {
			return out, false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if !digits() {
			return out, false
		}
	}
	out = append(out, s[c.pos:i]...)
	c.pos = i
	return out, true
}

// scanString returns the raw contents of the string at c.pos (between the
// quotes, escapes not decoded) and moves past it.
func (c *canonJSON) scanString() ([]byte, bool) {
	start := c.pos + 1
	for i := start; i < len(c.src); i++ {
		switch c.src[i] {
		case '"':
			c.pos = i + 1
			return c.src[start:i], true
		case '\\':
			i++ // the escaped byte; unescape checks it
		}
	}
	return nil, false
}

// appendString writes the string whose raw JSON contents are raw as
// encoding/json writes its decoded value with HTML escaping off.
func (c *canonJSON) appendString(out, raw []byte) ([]byte, bool) {
	// Most strings need no change: no escapes, no control bytes, valid
	// UTF-8 without U+2028/U+2029.
	plain := true
	for i := 0; i < len(raw); {
		b := raw[i]
		if b < utf8.RuneSelf {
			if b < 0x20 {
				return out, false // invalid JSON
			}
			if b == '\\' {
				plain = false
				break
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(raw[i:])
		if r == utf8.RuneError && size == 1 {
			return out, false // encoding/json would substitute U+FFFD
		}
		if r == '\u2028' || r == '\u2029' {
			plain = false
			break
		}
		i += size
	}
	if plain {
		out = append(out, '"')
		out = append(out, raw...)
		return append(out, '"'), true
	}
	start := len(c.keys)
	decoded, ok := unescape(c.keys, raw)
	if !ok {
		return out, false
	}
	out = appendJSONString(out, decoded[start:])
	c.keys = decoded[:start]
	return out, true
}

// unescape appends the decoded value of a JSON string's raw contents. It
// refuses invalid escapes, control bytes, invalid UTF-8 and lone
// surrogates (which encoding/json turns into U+FFFD).
func unescape(dst, raw []byte) ([]byte, bool) {
	for i := 0; i < len(raw); {
		switch b := raw[i]; {
		case b < 0x20:
			return dst, false
		case b == '\\':
			var n int
			var ok bool
			if dst, n, ok = appendEscape(dst, raw[i:]); !ok {
				return dst, false
			}
			i += n
		case b < utf8.RuneSelf:
			dst = append(dst, b)
			i++
		default:
			r, size := utf8.DecodeRune(raw[i:])
			if r == utf8.RuneError && size == 1 {
				return dst, false
			}
			dst = append(dst, raw[i:i+size]...)
			i += size
		}
	}
	return dst, true
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

const hexDigits = "0123456789abcdef"

// appendJSONString is encoding/json's string encoder with HTML escaping
// off, for a valid UTF-8 value.
func appendJSONString(out, s []byte) []byte {
	out = append(out, '"')
	start := 0
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' {
				i++
				continue
			}
			out = append(out, s[start:i]...)
			switch b {
			case '\\', '"':
				out = append(out, '\\', b)
			case '\b':
				out = append(out, '\\', 'b')
			case '\f':
				out = append(out, '\\', 'f')
			case '\n':
				out = append(out, '\\', 'n')
			case '\r':
				out = append(out, '\\', 'r')
			case '\t':
				out = append(out, '\\', 't')
			default:
				out = append(out, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		if r == '\u2028' || r == '\u2029' {
			out = append(out, s[start:i]...)
			out = append(out, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			start = i + size
		}
		i += size
	}
	out = append(out, s[start:]...)
	return append(out, '"')
}
