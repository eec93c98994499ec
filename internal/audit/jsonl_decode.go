package audit

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"strconv"
	"sync"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// decodeReceiptJSON is the fast path of ScanJSONL: it decodes a line as
// WriteJSONL writes it (cfs.MarshalJSON of a receipt Seal made: every
// field present once, proto names, enum names, standard base64, RFC 3339
// UTC timestamps) straight into a Receipt, with one string holding every
// decoded text of the line. It returns ok=false for anything else (and for
// anything protojson or FromProto would refuse), and the caller decodes
// the line with protojson: accepted lines give exactly what protojson and
// FromProto give (jsonl_decode_test.go holds it to that).
func decodeReceiptJSON(line []byte) (Receipt, bool) {
	r, _, ok := decodeReceiptJSONInto(line, nil)
	return r, ok
}

// decodeReceiptJSONInto is decodeReceiptJSON decoding the line's strings
// in scratch, which it returns for the next line.
func decodeReceiptJSONInto(line, scratch []byte) (Receipt, []byte, bool) {
	d := lineDecoder{src: line, text: scratch[:0]}
	r, ok := d.receipt()
	d.skipSpace()
	return r, d.text, ok && d.pos == len(d.src)
}

// text is a decoded string: text[off:off+n] of the line's decoder.
type text struct{ off, n int }

type lineDecoder struct {
	src  []byte
	pos  int
	text []byte // every decoded string of the line, end to end
}

// Fields of a receipt line, as bits: each must be present exactly once.
const (
	fReceiptID = 1 << iota
	fActor
	fAction
	fTargets
	fTimestamp
	fContext
	fPrevHash
	fIntegrity
	fAll = 1<<iota - 1
)

func (d *lineDecoder) receipt() (Receipt, bool) {
	var (
		seen                  int
		id, actorID, auth     text
		typ                   PrincipalType
		action                Action
		targetStack           [8]text
		targets               = targetStack[:0]
		ts                    time.Time
		entryStack            [16][2]text
		entries               = entryStack[:0]
		hashes                [2 * 64]byte // prev_hash and integrity, decoded
		prevLen, integrityLen int
	)
	ok := d.object(func(key []byte) bool {
		var bit int
		var ok bool
		switch string(key) {
		case "receipt_id":
			bit = fReceiptID
			id, ok = d.str()
		case "actor":
			bit = fActor
			actorID, typ, auth, ok = d.actor()
		case "action":
			bit = fAction
			var name []byte
			if name, ok = d.plain(); ok {
				action = actionNamed(name)
				ok = action != ""
			}
		case "targets":
			bit = fTargets
			targets, ok = d.strings(targets)
			ok = ok && len(targets) > 0
		case "timestamp":
			bit = fTimestamp
			var raw []byte
			if raw, ok = d.plain(); ok {
				ts, ok = parseTimestamp(raw)
			}
		case "context":
			bit = fContext
			entries, ok = d.entries(entries)
			ok = ok && len(entries) > 0
		case "prev_hash":
			bit = fPrevHash
			prevLen, ok = d.base64(hashes[:64])
		case "integrity":
			bit = fIntegrity
			integrityLen, ok = d.base64(hashes[64:])
		}
		if !ok || bit == 0 || seen&bit != 0 {
			return false
		}
		seen |= bit
		return true
	})
	if !ok || seen != fAll {
		return Receipt{}, false
	}

	all := string(d.text) // one allocation for every string of the receipt
	get := func(t text) string { return all[t.off : t.off+t.n] }
	r := Receipt{
		ReceiptID: get(id),
		Actor:     Principal{ID: get(actorID), Type: typ, AuthContext: get(auth)},
		Action:    action,
		Targets:   make([]string, len(targets)),
		Timestamp: ts,
		Context:   make(map[string]string, len(entries)),
	}
	for i, t := range targets {
		r.Targets[i] = get(t)
	}
	for _, e := range entries {
		k := get(e[0])
		if _, dup := r.Context[k]; dup {
			return Receipt{}, false // protojson refuses a duplicate key
		}
		r.Context[k] = get(e[1])
	}
	b := make([]byte, prevLen+integrityLen)
	copy(b, hashes[:prevLen])
	copy(b[prevLen:], hashes[64:64+integrityLen])
	r.PrevHash, r.Integrity = b[:prevLen:prevLen], b[prevLen:]
	pos, err := strconv.ParseInt(r.Context[CtxPosition], 10, 64)
	if err != nil {
		return Receipt{}, false // FromProto words the error
	}
	r.Position = pos
	return r, true
}

// actionNamed and principalNamed return the package constants, so a
// receipt does not keep its line's memory through them ("" when unknown).
func actionNamed(name []byte) Action {
	switch string(name) {
	case "READ":
		return ActionRead
	case "WRITE":
		return ActionWrite
	case "INVOKE":
		return ActionInvoke
	case "APPROVE":
		return ActionApprove
	case "SYNC":
		return ActionSync
	}
	return ""
}

func principalNamed(name []byte) PrincipalType {
	switch string(name) {
	case "HUMAN":
		return PrincipalHuman
	case "AGENT":
		return PrincipalAgent
	case "SERVICE":
		return PrincipalService
	case "SYSTEM":
		return PrincipalSystem
	}
	return ""
}

func (d *lineDecoder) actor() (id text, typ PrincipalType, auth text, ok bool) {
	seen := 0
	ok = d.object(func(key []byte) bool {
		var bit int
		var ok bool
		switch string(key) {
		case "id":
			bit = 1
			id, ok = d.str()
		case "type":
			bit = 2
			var name []byte
			if name, ok = d.plain(); ok {
				typ = principalNamed(name)
				ok = typ != ""
			}
		case "auth_context":
			bit = 4
			auth, ok = d.str()
		}
		if !ok || bit == 0 || seen&bit != 0 {
			return false
		}
		seen |= bit
		return true
	})
	return id, typ, auth, ok && seen == 7
}

func (d *lineDecoder) skipSpace() {
	for d.pos < len(d.src) {
		switch d.src[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

// consume skips space and then c, if it is there.
func (d *lineDecoder) consume(c byte) bool {
	d.skipSpace()
	if d.pos < len(d.src) && d.src[d.pos] == c {
		d.pos++
		return true
	}
	return false
}

// object walks an object whose keys need no unescaping, calling member
// with each key once the decoder stands before its value.
func (d *lineDecoder) object(member func(key []byte) bool) bool {
	if !d.consume('{') {
		return false
	}
	if d.consume('}') {
		return true
	}
	for {
		d.skipSpace()
		key, ok := d.plain()
		if !ok || !d.consume(':') {
			return false
		}
		d.skipSpace()
		if !member(key) {
			return false
		}
		if d.consume(',') {
			continue
		}
		return d.consume('}')
	}
}

// strings decodes an array of strings.
func (d *lineDecoder) strings(out []text) ([]text, bool) {
	if !d.consume('[') {
		return out, false
	}
	if d.consume(']') {
		return out, true
	}
	for {
		d.skipSpace()
		t, ok := d.str()
		if !ok {
			return out, false
		}
		out = append(out, t)
		if d.consume(',') {
			continue
		}
		return out, d.consume(']')
	}
}

// entries decodes an object of strings (a map<string, string>).
func (d *lineDecoder) entries(out [][2]text) ([][2]text, bool) {
	if !d.consume('{') {
		return out, false
	}
	if d.consume('}') {
		return out, true
	}
	for {
		d.skipSpace()
		k, ok := d.str()
		if !ok || !d.consume(':') {
			return out, false
		}
		d.skipSpace()
		v, ok := d.str()
		if !ok {
			return out, false
		}
		out = append(out, [2]text{k, v})
		if d.consume(',') {
			continue
		}
		return out, d.consume('}')
	}
}

// plainByte: printable ASCII that a JSON string holds as is.
var plainByte = func() (t [256]bool) {
	for b := 0x20; b < 0x80; b++ {
		t[b] = b != '"' && b != '\\'
	}
	return t
}()

// plainRun is the length of the run of plain bytes at the start of b,
// eight bytes at a time while none of them needs a look.
func plainRun(b []byte) int {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	i := 0
	for ; i+8 <= len(b); i += 8 {
		x := binary.LittleEndian.Uint64(b[i:])
		quote, backslash := x^(ones*'"'), x^(ones*'\\')
		control := (x - ones*0x20) &^ x // a byte below 0x20 sets its high bit
		zero := (quote-ones)&^quote | (backslash-ones)&^backslash
		if (control|zero|x)&highs != 0 {
			break
		}
	}
	for i < len(b) && plainByte[b[i]] {
		i++
	}
	return i
}

// plain returns the contents of a string of plain bytes only (a key, an
// enum name, a timestamp, base64), without copying it.
func (d *lineDecoder) plain() ([]byte, bool) {
	if d.pos >= len(d.src) || d.src[d.pos] != '"' {
		return nil, false
	}
	start := d.pos + 1
	i := start
	for i < len(d.src) && plainByte[d.src[i]] {
		i++
	}
	if i >= len(d.src) || d.src[i] != '"' {
		return nil, false
	}
	d.pos = i + 1
	return d.src[start:i], true
}

// str decodes a string into d.text. It refuses what protojson refuses
// (control bytes, invalid UTF-8, bad escapes, lone surrogates).
func (d *lineDecoder) str() (text, bool) {
	src := d.src
	if d.pos >= len(src) || src[d.pos] != '"' {
		return text{}, false
	}
	off := len(d.text)
	i := d.pos + 1
	start := i
	for i < len(src) {
		i += plainRun(src[i:])
		if i >= len(src) {
			break
		}
		switch b := src[i]; {
		case b == '"':
			d.text = append(d.text, src[start:i]...)
			d.pos = i + 1
			return text{off, len(d.text) - off}, true
		case b == '\\':
			d.text = append(d.text, src[start:i]...)
			if i+1 < len(src) && (src[i+1] == '"' || src[i+1] == '\\') {
				// Quotes in details are escaped everywhere: the common case.
				d.text = append(d.text, src[i+1])
				i += 2
			} else {
				var n int
				var ok bool
				if d.text, n, ok = appendEscape(d.text, src[i:]); !ok {
					return text{}, false
				}
				i += n
			}
			start = i
		case b < 0x20:
			return text{}, false
		default:
			r, size := utf8.DecodeRune(src[i:])
			if r == utf8.RuneError && size == 1 {
				return text{}, false
			}
			i += size
		}
	}
	return text{}, false
}

// appendEscape decodes the escape at the start of s (s[0] == '\\') as
// encoding/json and protojson do, and says how many bytes it took. It
// refuses invalid escapes and lone surrogates, on which the two differ.
func appendEscape(dst, s []byte) ([]byte, int, bool) {
	if len(s) < 2 {
		return dst, 0, false
	}
	switch s[1] {
	case '"', '\\', '/':
		return append(dst, s[1]), 2, true
	case 'b':
		return append(dst, '\b'), 2, true
	case 'f':
		return append(dst, '\f'), 2, true
	case 'n':
		return append(dst, '\n'), 2, true
	case 'r':
		return append(dst, '\r'), 2, true
	case 't':
		return append(dst, '\t'), 2, true
	case 'u':
		r, ok := hex4(s[2:])
		if !ok {
			return dst, 0, false
		}
		if !utf16.IsSurrogate(r) {
			return utf8.AppendRune(dst, r), 6, true
		}
		if len(s) < 12 || s[6] != '\\' || s[7] != 'u' {
			return dst, 0, false
		}
		r2, ok := hex4(s[8:])
		if !ok {
			return dst, 0, false
		}
		if r = utf16.DecodeRune(r, r2); r == utf8.RuneError {
			return dst, 0, false
		}
		return utf8.AppendRune(dst, r), 12, true
	}
	return dst, 0, false
}

// base64 decodes a standard, padded base64 string of at most len(dst)
// bytes into dst; protojson takes other forms, and so does the slow path.
func (d *lineDecoder) base64(dst []byte) (int, bool) {
	raw, ok := d.plain()
	if !ok || len(raw) == 0 || len(raw)%4 != 0 || base64.StdEncoding.DecodedLen(len(raw)) > len(dst) {
		return 0, false
	}
	for _, c := range raw {
		if c == '-' || c == '_' {
			return 0, false
		}
	}
	n, err := base64.StdEncoding.Decode(dst, raw)
	return n, err == nil && n > 0
}

// parseTimestamp parses YYYY-MM-DDTHH:MM:SS[.fraction]Z, fraction of 1 to
// 9 digits, years 0001 to 9999, as time.Parse(time.RFC3339Nano) does, but
// not the value cfs.MarshalJSON writes for "forever".
func parseTimestamp(s []byte) (time.Time, bool) {
	if len(s) < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[len(s)-1] != 'Z' {
		return time.Time{}, false
	}
	num := func(b []byte) (int, bool) {
		n := 0
		for _, c := range b {
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, true
	}
	year, ok1 := num(s[0:4])
	month, ok2 := num(s[5:7])
	day, ok3 := num(s[8:10])
	hour, ok4 := num(s[11:13])
	minute, ok5 := num(s[14:16])
	sec, ok6 := num(s[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || year < 1 || month < 1 || month > 12 ||
		day < 1 || day > daysIn(time.Month(month), year) || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	nanos := 0
	if frac := s[19 : len(s)-1]; len(frac) > 0 {
		if frac[0] != '.' || len(frac) < 2 || len(frac) > 10 {
			return time.Time{}, false
		}
		n, ok := num(frac[1:])
		if !ok {
			return time.Time{}, false
		}
		for range 10 - len(frac) {
			n *= 10
		}
		nanos = n
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nanos, time.UTC)
	if year == 9999 && t.Unix() == maxJSONSeconds && nanos == 999999999 {
		return time.Time{}, false
	}
	return time.Unix(t.Unix(), int64(nanos)).UTC(), true
}

// maxJSONSeconds is 9999-12-31T23:59:59Z, which with 999999999 ns is how
// cfs.MarshalJSON writes "forever".
const maxJSONSeconds = 253402300799

func daysIn(m time.Month, year int) int {
	if m == time.February {
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	}
	return 31 - int(m-1)%7%2
}

// UnmarshalContext decodes a receipt's context stored as a JSON object of
// strings (the context column of audit_events): the map json.Unmarshal
// gives, nil for null, and its error as is. Objects of well-formed
// strings, the common case, take the decoder of ScanJSONL, several times
// faster than encoding/json; anything else goes to encoding/json.
func UnmarshalContext(b []byte) (map[string]string, error) {
	scratch := contextScratch.Get().(*[]byte)
	defer contextScratch.Put(scratch)
	d := lineDecoder{src: b, text: (*scratch)[:0]}
	var stack [16][2]text
	d.skipSpace()
	entries, ok := d.entries(stack[:0])
	d.skipSpace()
	*scratch = d.text
	if ok && d.pos == len(d.src) {
		all := string(d.text)
		m := make(map[string]string, len(entries))
		for _, e := range entries {
			// A duplicate key: the last one wins, as in encoding/json.
			m[all[e[0].off:e[0].off+e[0].n]] = all[e[1].off : e[1].off+e[1].n]
		}
		return m, nil
	}
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	return m, nil
}

var contextScratch = sync.Pool{New: func() any { return new([]byte) }}
