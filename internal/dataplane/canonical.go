package dataplane

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
)

// The fingerprint of ADR 0128 encodes every row with CanonicalRow, which
// runs encoding/json over the decoded values. Reading a unit's rows that
// way costs more than the unit's own statement (a JSON document per row
// is decoded into maps and encoded back). rowEncoder writes the same bytes
// without reflection: each value as json.Marshal writes it, and a JSON
// column straight from its text, for the documents appendCanonicalJSON
// handles; anything else goes through CanonicalRow's own path. The
// fingerprint test compares both encodings on every row of the demo data.

// rowEncoder encodes rows of one result set.
type rowEncoder struct {
	types  *pgtype.Map
	fields []pgconn.FieldDescription
	kinds  []valueKind // by column
	json   *jsonParser // reused: its buffers outlive a row
}

// valueKind says how a column's raw value is encoded: as pgx decodes it
// (viaPgx), or straight from the bytes of a type pgx decodes with its
// default codec into a value whose encoding the bytes determine.
type valueKind int

const (
	viaPgx valueKind = iota
	textKind
	jsonKind      // json or jsonb, decoded by encoding/json
	dateKind      // binary date → time.Time at UTC midnight
	timestampKind // binary timestamp or timestamptz → an instant
	numericKind   // binary numeric → pgtype.Numeric
	int2Kind
	int4Kind
	int8Kind
	float4Kind
	float8Kind
	boolKind
)

func newRowEncoder(rows pgx.Rows) rowEncoder {
	e := rowEncoder{types: rows.TypeMap(), fields: rows.FieldDescriptions(), json: &jsonParser{}}
	e.kinds = make([]valueKind, len(e.fields))
	for i, fd := range e.fields {
		e.kinds[i] = kindOf(e.types, fd)
	}
	return e
}

// kindOf is the column's kind when the type map decodes it with pgx's
// default codec, viaPgx otherwise (a codec registered on the connection
// may decode differently).
func kindOf(types *pgtype.Map, fd pgconn.FieldDescription) valueKind {
	dt, ok := types.TypeForOID(fd.DataTypeOID)
	if !ok {
		return viaPgx
	}
	std := reflect.ValueOf(json.Unmarshal).Pointer()
	binary := fd.Format == pgx.BinaryFormatCode
	switch c := dt.Codec.(type) {
	case pgtype.TextCodec:
		if textOID(fd.DataTypeOID) { // a text value's bytes are its string in either format
			return textKind
		}
	case *pgtype.JSONCodec:
		if fd.DataTypeOID == pgtype.JSONOID && c.Unmarshal != nil && reflect.ValueOf(c.Unmarshal).Pointer() == std {
			return jsonKind
		}
	case *pgtype.JSONBCodec:
		if fd.DataTypeOID == pgtype.JSONBOID && c.Unmarshal != nil && reflect.ValueOf(c.Unmarshal).Pointer() == std {
			return jsonKind
		}
	case pgtype.DateCodec:
		if binary {
			return dateKind
		}
	case *pgtype.TimestampCodec:
		if binary && c.ScanLocation == nil {
			return timestampKind
		}
	case *pgtype.TimestamptzCodec:
		if binary { // any location: the instant is the same
			return timestampKind
		}
	case pgtype.NumericCodec:
		if binary {
			return numericKind
		}
	case pgtype.Int2Codec:
		if binary {
			return int2Kind
		}
	case pgtype.Int4Codec:
		if binary {
			return int4Kind
		}
	case pgtype.Int8Codec:
		if binary {
			return int8Kind
		}
	case pgtype.Float4Codec:
		if binary {
			return float4Kind
		}
	case pgtype.Float8Codec:
		if binary {
			return float8Kind
		}
	case pgtype.BoolCodec:
		if binary {
			return boolKind
		}
	}
	return viaPgx
}

// appendRow appends the canonical encoding of the current row of rows.
func (e rowEncoder) appendRow(dst []byte, raw [][]byte) ([]byte, error) {
	dst = append(dst, '[')
	for i, b := range raw {
		if i > 0 {
			dst = append(dst, ',')
		}
		fd := &e.fields[i]
		if b == nil {
			dst = append(dst, "null"...)
			continue
		}
		if out, ok := e.appendRaw(dst, e.kinds[i], fd, b); ok {
			dst = out
			continue
		}
		var v any
		if dt, ok := e.types.TypeForOID(fd.DataTypeOID); ok {
			var err error
			if v, err = dt.Codec.DecodeValue(e.types, fd.DataTypeOID, fd.Format, b); err != nil {
				return nil, fmt.Errorf("column %d: %w", i+1, err)
			}
		} else if fd.Format == pgx.TextFormatCode {
			v = string(b)
		} else {
			v = slices.Clone(b)
		}
		var err error
		if dst, err = appendCanonicalValue(dst, v); err != nil {
			return nil, fmt.Errorf("column %d: %w", i+1, err)
		}
	}
	return append(dst, ']'), nil
}

// appendRaw encodes a value of a known kind from its bytes; ok is false
// for a value it leaves to pgx (an infinity, a date out of range, a JSON
// document appendCanonicalJSON declines).
func (e rowEncoder) appendRaw(dst []byte, k valueKind, fd *pgconn.FieldDescription, b []byte) ([]byte, bool) {
	switch k {
	case textKind:
		return appendJSONBytes(dst, b), true
	case jsonKind:
		if text, ok := jsonText(fd, b); ok {
			return e.json.canonical(dst, text)
		}
	case dateKind:
		if len(b) == 4 {
			// pgx refuses dates past its range, and decodes ±infinity to
			// another type: those take its path.
			if days := int32(binary.BigEndian.Uint32(b)); days > -700_000 && days < 2_900_000 {
				return appendTime(dst, time.Date(2000, 1, int(1+days), 0, 0, 0, 0, time.UTC)), true
			}
		}
	case timestampKind:
		if len(b) == 8 {
			if us := int64(binary.BigEndian.Uint64(b)); us > -60_000_000_000_000_000 && us < 250_000_000_000_000_000 {
				return appendTime(dst, time.UnixMicro(pgEpochMicros+us)), true
			}
		}
	case numericKind:
		return appendNumeric(dst, b)
	case int2Kind:
		if len(b) == 2 {
			return strconv.AppendInt(dst, int64(int16(binary.BigEndian.Uint16(b))), 10), true
		}
	case int4Kind:
		if len(b) == 4 {
			return strconv.AppendInt(dst, int64(int32(binary.BigEndian.Uint32(b))), 10), true
		}
	case int8Kind:
		if len(b) == 8 {
			return strconv.AppendInt(dst, int64(binary.BigEndian.Uint64(b)), 10), true
		}
	case float4Kind:
		if len(b) == 4 {
			return appendJSONString(dst, floatText(float64(math.Float32frombits(binary.BigEndian.Uint32(b))))), true
		}
	case float8Kind:
		if len(b) == 8 {
			return appendJSONString(dst, floatText(math.Float64frombits(binary.BigEndian.Uint64(b)))), true
		}
	case boolKind:
		if len(b) == 1 {
			return strconv.AppendBool(dst, b[0] != 0), true
		}
	}
	return dst, false
}

// pgEpochMicros is 2000-01-01 00:00 UTC in microseconds since 1970, the
// epoch of Postgres's binary dates and times.
const pgEpochMicros = 946_684_800_000_000

// appendTime writes t as CanonicalRow does: RFC 3339 in UTC with the
// fraction's trailing zeros dropped (time.RFC3339Nano), quoted (it needs
// no escaping). Years 1 to 9999 are written here, others by time.
func appendTime(dst []byte, t time.Time) []byte {
	t = t.UTC()
	year, month, day := t.Date()
	if year < 1 || year > 9999 {
		dst = append(dst, '"')
		dst = t.AppendFormat(dst, time.RFC3339Nano)
		return append(dst, '"')
	}
	hour, minute, second := t.Clock()
	dst = append(dst, '"')
	dst = appendDigits(dst, year, 4)
	dst = append(dst, '-')
	dst = appendDigits(dst, int(month), 2)
	dst = append(dst, '-')
	dst = appendDigits(dst, day, 2)
	dst = append(dst, 'T')
	dst = appendDigits(dst, hour, 2)
	dst = append(dst, ':')
	dst = appendDigits(dst, minute, 2)
	dst = append(dst, ':')
	dst = appendDigits(dst, second, 2)
	if ns := t.Nanosecond(); ns != 0 {
		width := 9
		for ns%10 == 0 {
			ns, width = ns/10, width-1
		}
		dst = append(dst, '.')
		dst = appendDigits(dst, ns, width)
	}
	return append(dst, 'Z', '"')
}

// appendDigits writes n, zero-padded to width digits.
func appendDigits(dst []byte, n, width int) []byte {
	var b [20]byte
	i := len(b)
	for n > 0 || width > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		width--
	}
	return append(dst, b[i:]...)
}

// appendNumeric writes a binary numeric as pgx's pgtype.Numeric writes
// itself to JSON (MarshalJSON, what CanonicalRow copies): the digits of
// the value scaled to its display scale, trailing zeros of an integer
// folded into the exponent and written back, a zero without digits as 0.
// NaN and the infinities are left to pgx.
func appendNumeric(dst, b []byte) ([]byte, bool) {
	if len(b) < 8 {
		return dst, false
	}
	ndigits := int(binary.BigEndian.Uint16(b[0:]))
	weight := int(int16(binary.BigEndian.Uint16(b[2:])))
	sign := binary.BigEndian.Uint16(b[4:])
	dscale := int(int16(binary.BigEndian.Uint16(b[6:])))
	if (sign != 0 && sign != 0x4000) || len(b) != 8+2*ndigits || dscale < 0 {
		return dst, false
	}
	if ndigits == 0 {
		return append(dst, '0'), true
	}
	// The integer of every base-10000 digit, in decimal.
	var buf [64]byte
	digits := buf[:0]
	for i := 0; i < ndigits; i++ {
		d := int(binary.BigEndian.Uint16(b[8+2*i:]))
		if d > 9999 {
			return dst, false
		}
		if i == 0 {
			digits = strconv.AppendInt(digits, int64(d), 10)
		} else {
			digits = append(digits, byte('0'+d/1000), byte('0'+d/100%10), byte('0'+d/10%10), byte('0'+d%10))
		}
	}
	exp := (weight - ndigits + 1) * 4
	if dscale > 0 {
		switch frac := (ndigits - weight - 1) * 4; {
		case dscale > frac:
			for range dscale - frac {
				digits = append(digits, '0')
			}
			exp -= dscale - frac
		case dscale < frac:
			cut := frac - dscale
			if cut >= len(digits) {
				digits = digits[:0]
			} else {
				digits = digits[:len(digits)-cut]
			}
			exp += cut
		}
	}
	digits = bytes.TrimLeft(digits, "0")
	if len(digits) == 0 {
		digits = []byte{'0'}
	} else if exp >= 0 {
		for len(digits) > 1 && digits[len(digits)-1] == '0' {
			digits = digits[:len(digits)-1]
			exp++
		}
	}
	if sign != 0 && !(len(digits) == 1 && digits[0] == '0') {
		dst = append(dst, '-')
	}
	switch {
	case exp > 0:
		dst = append(dst, digits...)
		for range exp {
			dst = append(dst, '0')
		}
	case exp < 0 && len(digits) <= -exp:
		dst = append(dst, '0', '.')
		for range -exp - len(digits) {
			dst = append(dst, '0')
		}
		dst = append(dst, digits...)
	case exp < 0:
		at := len(digits) + exp
		dst = append(dst, digits[:at]...)
		dst = append(dst, '.')
		dst = append(dst, digits[at:]...)
	default:
		dst = append(dst, digits...)
	}
	return dst, true
}

// textOID: pgx decodes the type into a string of the value's bytes.
func textOID(oid uint32) bool {
	switch oid {
	case pgtype.TextOID, pgtype.VarcharOID, pgtype.BPCharOID, pgtype.NameOID:
		return true
	}
	return false
}

// jsonText is the JSON text of a json or jsonb value.
func jsonText(fd *pgconn.FieldDescription, b []byte) ([]byte, bool) {
	switch fd.DataTypeOID {
	case pgtype.JSONOID:
		return b, true
	case pgtype.JSONBOID:
		if fd.Format == pgx.TextFormatCode {
			return b, true
		}
		if len(b) > 0 && b[0] == 1 { // the binary format's version
			return b[1:], true
		}
	}
	return nil, false
}

// appendCanonicalValue appends what CanonicalRow writes for one decoded
// value.
func appendCanonicalValue(dst []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(dst, "null"...), nil
	case string:
		return appendJSONString(dst, x), nil
	case bool:
		return strconv.AppendBool(dst, x), nil
	case int16:
		return strconv.AppendInt(dst, int64(x), 10), nil
	case int32:
		return strconv.AppendInt(dst, int64(x), 10), nil
	case int64:
		return strconv.AppendInt(dst, x, 10), nil
	case int:
		return strconv.AppendInt(dst, int64(x), 10), nil
	case time.Time:
		return appendTime(dst, x), nil
	case pgtype.Numeric:
		// Digits, or null, "NaN", "Infinity", "-Infinity": what
		// json.Marshal copies of this json.RawMessage.
		b, err := x.MarshalJSON()
		if err != nil {
			return nil, err
		}
		return append(dst, b...), nil
	case float64:
		return appendJSONString(dst, floatText(x)), nil
	case float32:
		return appendJSONString(dst, floatText(float64(x))), nil
	case []byte:
		return appendJSONString(dst, hex.EncodeToString(x)), nil
	case [16]byte:
		return appendJSONString(dst, hex.EncodeToString(x[:])), nil
	}
	c, err := canonicalValue(v)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	return append(dst, b...), nil
}

// appendJSONString appends s as json.Marshal writes it (HTML characters
// escaped); the common case, printable ASCII with nothing to escape, is
// copied.
func appendJSONString(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if !plainByte(s[i]) {
			b, _ := json.Marshal(s) // a string always encodes
			return append(dst, b...)
		}
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}

// appendJSONBytes is appendJSONString of string(s).
func appendJSONBytes(dst, s []byte) []byte {
	for _, c := range s {
		if !plainByte(c) {
			return appendJSONString(dst, string(s))
		}
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}

// plainByte is a byte json.Marshal writes as itself inside a string.
func plainByte(c byte) bool {
	return c >= 0x20 && c < 0x7f && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
}

// maxJSONDepth bounds the recursion of appendCanonicalJSON; deeper
// documents take the slow path.
const maxJSONDepth = 200

// appendCanonicalJSON appends json.Marshal(v) for v decoded from src by
// json.Unmarshal into an any (objects as maps, numbers as float64), for
// the documents it handles: keys and strings of plain bytes (plainByte,
// no escape sequences), no key twice in an object. ok is false for any
// other document, and for invalid JSON; dst is then returned as it was.
func appendCanonicalJSON(dst, src []byte) (out []byte, ok bool) {
	var p jsonParser
	return p.canonical(dst, src)
}

// jsonParser reads one document at a time; its buffers are kept for the
// next.
type jsonParser struct {
	src []byte
	pos int
	// members and values hold an object's members until they are sorted,
	// one of each per depth (objects at one depth never overlap).
	members [][]member
	values  [][]byte
}

type member struct{ key, value []byte }

func (p *jsonParser) canonical(dst, src []byte) (out []byte, ok bool) {
	p.src, p.pos = src, 0
	n := len(dst)
	out, ok = p.value(dst, 0)
	if ok {
		p.space()
		ok = p.pos == len(src)
	}
	if !ok {
		return dst[:n], false
	}
	return out, true
}

func (p *jsonParser) space() {
	for p.pos < len(p.src) {
		switch p.src[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *jsonParser) value(dst []byte, depth int) ([]byte, bool) {
	p.space()
	if p.pos >= len(p.src) || depth > maxJSONDepth {
		return dst, false
	}
	switch c := p.src[p.pos]; {
	case c == '{':
		return p.object(dst, depth)
	case c == '[':
		return p.array(dst, depth)
	case c == '"':
		s, ok := p.str()
		if !ok {
			return dst, false
		}
		dst = append(dst, '"')
		dst = append(dst, s...)
		return append(dst, '"'), true
	case c == 't':
		return p.literal(dst, "true")
	case c == 'f':
		return p.literal(dst, "false")
	case c == 'n':
		return p.literal(dst, "null")
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number(dst)
	}
	return dst, false
}

func (p *jsonParser) literal(dst []byte, word string) ([]byte, bool) {
	if !strings.HasPrefix(string(p.src[p.pos:min(len(p.src), p.pos+len(word))]), word) {
		return dst, false
	}
	p.pos += len(word)
	return append(dst, word...), true
}

// str reads a string of plain bytes and returns its content.
func (p *jsonParser) str() ([]byte, bool) {
	p.pos++ // the opening quote
	start := p.pos
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		if c == '"' {
			s := p.src[start:p.pos]
			p.pos++
			return s, true
		}
		if !plainByte(c) {
			return nil, false
		}
		p.pos++
	}
	return nil, false
}

// number reads a JSON number and writes it as encoding/json writes the
// float64 json.Unmarshal makes of it.
func (p *jsonParser) number(dst []byte) ([]byte, bool) {
	start := p.pos
	if out, ok := p.plainDecimal(dst); ok {
		return out, true
	}
	p.pos = start
	if p.src[p.pos] == '-' {
		p.pos++
	}
	digits := func() int {
		n := 0
		for p.pos < len(p.src) && p.src[p.pos] >= '0' && p.src[p.pos] <= '9' {
			p.pos++
			n++
		}
		return n
	}
	intStart := p.pos
	if n := digits(); n == 0 || (n > 1 && p.src[intStart] == '0') {
		return dst, false
	}
	if p.pos < len(p.src) && p.src[p.pos] == '.' {
		p.pos++
		if digits() == 0 {
			return dst, false
		}
	}
	if p.pos < len(p.src) && (p.src[p.pos] == 'e' || p.src[p.pos] == 'E') {
		p.pos++
		if p.pos < len(p.src) && (p.src[p.pos] == '+' || p.src[p.pos] == '-') {
			p.pos++
		}
		if digits() == 0 {
			return dst, false
		}
	}
	f, err := strconv.ParseFloat(string(p.src[start:p.pos]), 64)
	if err != nil {
		return dst, false // out of range: json.Unmarshal fails on it too
	}
	return appendJSONFloat(dst, f), true
}

// plainDecimal writes a number without exponent of at most 15
// significant digits, at least 1e-6 in magnitude unless zero: its float64
// is the nearest to it, and the shortest decimal that reads back as that
// float64 is the number itself (15 digits always round-trip), so
// encoding/json writes its digits, the fraction's trailing zeros dropped.
// ok is false for any other number (p.pos is then wherever it stopped).
func (p *jsonParser) plainDecimal(dst []byte) ([]byte, bool) {
	src, i := p.src, p.pos
	neg := src[i] == '-'
	if neg {
		i++
	}
	intStart := i
	for i < len(src) && src[i] >= '0' && src[i] <= '9' {
		i++
	}
	intDigits := src[intStart:i]
	if len(intDigits) == 0 || (len(intDigits) > 1 && intDigits[0] == '0') {
		return dst, false
	}
	var frac []byte
	if i < len(src) && src[i] == '.' {
		i++
		fracStart := i
		for i < len(src) && src[i] >= '0' && src[i] <= '9' {
			i++
		}
		if i == fracStart {
			return dst, false
		}
		frac = src[fracStart:i]
	}
	if i < len(src) && (src[i] == 'e' || src[i] == 'E') {
		return dst, false
	}
	frac = bytes.TrimRight(frac, "0")
	significant := len(intDigits) + len(frac)
	if intDigits[0] == '0' { // 0.000ddd: the zeros lead
		significant = len(bytes.TrimLeft(frac, "0"))
		if len(frac)-significant >= 6 && significant > 0 { // below 1e-6: exponent form
			return dst, false
		}
	}
	if significant > 15 {
		return dst, false
	}
	p.pos = i
	if neg {
		dst = append(dst, '-')
	}
	dst = append(dst, intDigits...)
	if len(frac) > 0 {
		dst = append(dst, '.')
		dst = append(dst, frac...)
	}
	return dst, true
}

// appendJSONFloat writes f as encoding/json writes a float64.
func appendJSONFloat(dst []byte, f float64) []byte {
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	if format == 'e' { // e-09 → e-9
		n := len(dst)
		if n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst
}

func (p *jsonParser) array(dst []byte, depth int) ([]byte, bool) {
	p.pos++ // [
	dst = append(dst, '[')
	p.space()
	if p.pos < len(p.src) && p.src[p.pos] == ']' {
		p.pos++
		return append(dst, ']'), true
	}
	for {
		var ok bool
		if dst, ok = p.value(dst, depth+1); !ok {
			return dst, false
		}
		p.space()
		if p.pos >= len(p.src) {
			return dst, false
		}
		switch p.src[p.pos] {
		case ',':
			p.pos++
			dst = append(dst, ',')
		case ']':
			p.pos++
			return append(dst, ']'), true
		default:
			return dst, false
		}
	}
}

// object writes the members sorted by key, as encoding/json writes a map.
func (p *jsonParser) object(dst []byte, depth int) ([]byte, bool) {
	p.pos++ // {
	for len(p.members) <= depth {
		p.members, p.values = append(p.members, nil), append(p.values, nil)
	}
	members, scratch := p.members[depth][:0], p.values[depth][:0]
	defer func() { p.members[depth], p.values[depth] = members[:0], scratch[:0] }()
	p.space()
	if p.pos < len(p.src) && p.src[p.pos] == '}' {
		p.pos++
		return append(dst, "{}"...), true
	}
	for {
		p.space()
		if p.pos >= len(p.src) || p.src[p.pos] != '"' {
			return dst, false
		}
		key, ok := p.str()
		if !ok {
			return dst, false
		}
		p.space()
		if p.pos >= len(p.src) || p.src[p.pos] != ':' {
			return dst, false
		}
		p.pos++
		start := len(scratch)
		if scratch, ok = p.value(scratch, depth+1); !ok {
			return dst, false
		}
		members = append(members, member{key: key, value: scratch[start:len(scratch):len(scratch)]})
		p.space()
		if p.pos >= len(p.src) {
			return dst, false
		}
		if p.src[p.pos] == '}' {
			p.pos++
			break
		}
		if p.src[p.pos] != ',' {
			return dst, false
		}
		p.pos++
	}
	for i := 1; i < len(members); i++ { // insertion sort: objects are small
		for j := i; j > 0 && bytes.Compare(members[j-1].key, members[j].key) > 0; j-- {
			members[j-1], members[j] = members[j], members[j-1]
		}
	}
	dst = append(dst, '{')
	for i, m := range members {
		if i > 0 {
			if bytes.Equal(members[i-1].key, m.key) {
				return dst, false // json.Unmarshal keeps the last: take the slow path
			}
			dst = append(dst, ',')
		}
		dst = append(dst, '"')
		dst = append(dst, m.key...)
		dst = append(dst, '"', ':')
		dst = append(dst, m.value...)
	}
	return append(dst, '}'), true
}
