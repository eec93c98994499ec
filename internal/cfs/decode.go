package cfs

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// DecodeCanonical decodes b into m (reset first) and accepts only the
// canonical encoding: exactly the bytes Canonical gives for the message it
// returns, so Canonical(m) == b whenever it returns nil. Anything else is
// refused with a *DecodeError wrapping one of the Err* sentinels (unknown
// field, field order, duplicate field, non-minimal varint, default written,
// map order, truncation, wrong wire type, invalid UTF-8, NaN, invalid
// timestamp, ...). The rules are in docs/cfs-canonical-profile.md.
//
// It checks the encoding only; schema rules (ids present, hash lengths,
// enum values defined) are Validate's.
func DecodeCanonical(b []byte, m proto.Message) error {
	if m == nil || !m.ProtoReflect().IsValid() {
		return fmt.Errorf("cfs: decode canonical into a nil message: pass a non-nil message")
	}
	proto.Reset(m)
	r := m.ProtoReflect()
	d := decoder{typ: r.Descriptor().FullName()}
	return d.message(b, 0, r, 0)
}

type decoder struct {
	typ  protoreflect.FullName
	path []string // field names, list indexes and map keys down to the current field
}

func (d *decoder) fail(off int, err error, format string, args ...any) error {
	var sb strings.Builder
	for _, p := range d.path {
		if sb.Len() > 0 && p[0] != '[' {
			sb.WriteByte('.')
		}
		sb.WriteString(p)
	}
	return &DecodeError{Type: d.typ, Field: sb.String(), Offset: off, Detail: fmt.Sprintf(format, args...), Err: err}
}

func (d *decoder) push(s string) { d.path = append(d.path, s) }
func (d *decoder) pop()          { d.path = d.path[:len(d.path)-1] }

// varint consumes a minimal varint at b (offset off in the input).
func (d *decoder) varint(b []byte, off int) (uint64, int, error) {
	v, n := protowire.ConsumeVarint(b)
	if n < 0 {
		if errors.Is(protowire.ParseError(n), io.ErrUnexpectedEOF) {
			return 0, 0, d.fail(off, ErrTruncated, "varint")
		}
		return 0, 0, d.fail(off, ErrNonMinimalVarint, "varint longer than 10 bytes or above 2^64")
	}
	if n != protowire.SizeVarint(v) {
		return 0, 0, d.fail(off, ErrNonMinimalVarint, "%d written in %d bytes, want %d", v, n, protowire.SizeVarint(v))
	}
	return v, n, nil
}

// bytesField consumes a length prefix and returns the payload and the
// total bytes consumed.
func (d *decoder) bytesField(b []byte, off int) ([]byte, int, error) {
	l, n, err := d.varint(b, off)
	if err != nil {
		return nil, 0, err
	}
	if l > uint64(len(b)-n) {
		return nil, 0, d.fail(off, ErrTruncated, "length %d, %d bytes left", l, len(b)-n)
	}
	return b[n : n+int(l)], n + int(l), nil
}

func (d *decoder) message(b []byte, base int, m protoreflect.Message, depth int) error {
	if depth > MaxDepth {
		return d.fail(base, ErrTooDeep, "more than %d levels", MaxDepth)
	}
	md := m.Descriptor()
	fields := md.Fields()
	var prev protoreflect.FieldDescriptor
	var prevKey protoreflect.MapKey
	index := 0 // of the next element of a repeated field or map
	for p := 0; p < len(b); {
		off := base + p
		tag, n, err := d.varint(b[p:], off)
		if err != nil {
			return err
		}
		p += n
		num, wt := protowire.DecodeTag(tag)
		var fd protoreflect.FieldDescriptor
		if num >= protowire.MinValidNumber && num <= protowire.MaxValidNumber {
			fd = fields.ByNumber(num)
		}
		if fd == nil {
			return d.fail(off, ErrUnknownField, "field number %d (wire type %d) is not declared by %s", num, wt, md.FullName())
		}
		d.push(string(fd.Name()))
		if prev != nil {
			switch {
			case num < prev.Number():
				return d.fail(off, ErrFieldOrder, "field %d (%s) after field %d", num, fd.Name(), prev.Number())
			case num == prev.Number() && !fd.IsMap() && (!fd.IsList() || fd.IsPacked()):
				return d.fail(off, ErrDuplicateField, "%s written twice", fd.Name())
			}
		}
		if fd != prev {
			index = 0
		}
		prev = fd
		want := scalarWireType(fd.Kind())
		if fd.IsMap() || (fd.IsList() && fd.IsPacked()) {
			want = protowire.BytesType
		}
		if wt != want {
			if fd.IsList() && fd.IsPacked() && wt == scalarWireType(fd.Kind()) {
				return d.fail(off, ErrUnpackedRepeated, "repeated %s elements must be packed in one field", fd.Kind())
			}
			return d.fail(off, ErrWrongWireType, "wire type %d, want %d for %s", wt, want, fd.Kind())
		}
		switch {
		case fd.IsMap():
			entry, n, err := d.bytesField(b[p:], base+p)
			if err != nil {
				return err
			}
			d.push("[" + strconv.Itoa(index) + "]")
			k, err := d.mapEntry(entry, base+p+n-len(entry), fd, m.Mutable(fd).Map(), depth)
			if err != nil {
				return err
			}
			if index > 0 && compareMapKeys(fd.MapKey().Kind(), prevKey, k) >= 0 {
				return d.fail(off, ErrMapOrder, "key %q after key %q: keys must strictly increase (strings by UTF-8 bytes)", k.String(), prevKey.String())
			}
			d.pop()
			prevKey = k
			index++
			p += n
		case fd.IsList() && fd.IsPacked():
			payload, n, err := d.bytesField(b[p:], base+p)
			if err != nil {
				return err
			}
			if len(payload) == 0 {
				return d.fail(off, ErrDefaultEncoded, "empty packed field: an empty list is absent")
			}
			l := m.Mutable(fd).List()
			start := base + p + n - len(payload)
			for q := 0; q < len(payload); {
				v, k, err := d.scalar(payload[q:], start+q, fd.Kind())
				if err != nil {
					return err
				}
				l.Append(v)
				q += k
			}
			p += n
		case fd.IsList():
			l := m.Mutable(fd).List()
			d.push("[" + strconv.Itoa(index) + "]")
			v, n, err := d.value(b[p:], base+p, fd, func() protoreflect.Value { return l.NewElement() }, depth)
			if err != nil {
				return err
			}
			d.pop()
			l.Append(v)
			index++
			p += n
		default:
			if od := fd.ContainingOneof(); od != nil {
				if other := m.WhichOneof(od); other != nil {
					return d.fail(off, ErrOneofConflict, "%s and %s of oneof %s", other.Name(), fd.Name(), od.Name())
				}
			}
			v, n, err := d.value(b[p:], base+p, fd, func() protoreflect.Value { return m.NewField(fd) }, depth)
			if err != nil {
				return err
			}
			if !fd.HasPresence() && isDefaultScalar(fd, v) {
				return d.fail(off, ErrDefaultEncoded, "%s at its default is absent (ADR 0030)", fd.Name())
			}
			m.Set(fd, v)
			p += n
		}
		d.pop()
	}
	if md.FullName() == timestampName {
		if err := checkTimestampMessage(m); err != nil {
			return d.fail(base, ErrInvalidTimestamp, "%s", err.(*fieldError).detail)
		}
	}
	return nil
}

// value consumes one value of field fd (a singular field, a list element
// or a map key or value). newMsg gives the message to decode into.
func (d *decoder) value(b []byte, off int, fd protoreflect.FieldDescriptor, newMsg func() protoreflect.Value, depth int) (protoreflect.Value, int, error) {
	switch fd.Kind() {
	case protoreflect.MessageKind:
		payload, n, err := d.bytesField(b, off)
		if err != nil {
			return protoreflect.Value{}, 0, err
		}
		v := newMsg()
		if err := d.message(payload, off+n-len(payload), v.Message(), depth+1); err != nil {
			return protoreflect.Value{}, 0, err
		}
		return v, n, nil
	case protoreflect.StringKind:
		payload, n, err := d.bytesField(b, off)
		if err != nil {
			return protoreflect.Value{}, 0, err
		}
		if !utf8.Valid(payload) {
			return protoreflect.Value{}, 0, d.fail(off, ErrInvalidUTF8, "%q", payload)
		}
		return protoreflect.ValueOfString(string(payload)), n, nil
	case protoreflect.BytesKind:
		payload, n, err := d.bytesField(b, off)
		if err != nil {
			return protoreflect.Value{}, 0, err
		}
		return protoreflect.ValueOfBytes(append([]byte{}, payload...)), n, nil
	case protoreflect.GroupKind:
		return protoreflect.Value{}, 0, d.fail(off, ErrWrongWireType, "groups are not part of the CFS profile")
	}
	return d.scalar(b, off, fd.Kind())
}

// scalar consumes one numeric or bool value (no tag) and checks that it is
// the shortest encoding of a value in its kind's range.
func (d *decoder) scalar(b []byte, off int, k protoreflect.Kind) (protoreflect.Value, int, error) {
	switch scalarWireType(k) {
	case protowire.Fixed32Type:
		v, n := protowire.ConsumeFixed32(b)
		if n < 0 {
			return protoreflect.Value{}, 0, d.fail(off, ErrTruncated, "fixed32")
		}
		switch k {
		case protoreflect.FloatKind:
			f := math.Float32frombits(v)
			if f != f {
				return protoreflect.Value{}, 0, d.fail(off, ErrNaN, "float bits %#08x", v)
			}
			return protoreflect.ValueOfFloat32(f), n, nil
		case protoreflect.Sfixed32Kind:
			return protoreflect.ValueOfInt32(int32(v)), n, nil
		}
		return protoreflect.ValueOfUint32(v), n, nil
	case protowire.Fixed64Type:
		v, n := protowire.ConsumeFixed64(b)
		if n < 0 {
			return protoreflect.Value{}, 0, d.fail(off, ErrTruncated, "fixed64")
		}
		switch k {
		case protoreflect.DoubleKind:
			f := math.Float64frombits(v)
			if f != f {
				return protoreflect.Value{}, 0, d.fail(off, ErrNaN, "double bits %#016x", v)
			}
			return protoreflect.ValueOfFloat64(f), n, nil
		case protoreflect.Sfixed64Kind:
			return protoreflect.ValueOfInt64(int64(v)), n, nil
		}
		return protoreflect.ValueOfUint64(v), n, nil
	}
	v, n, err := d.varint(b, off)
	if err != nil {
		return protoreflect.Value{}, 0, err
	}
	outOfRange := func() (protoreflect.Value, int, error) {
		return protoreflect.Value{}, 0, d.fail(off, ErrOutOfRange, "varint %d for %s", v, k)
	}
	switch k {
	case protoreflect.BoolKind:
		if v > 1 {
			return outOfRange()
		}
		return protoreflect.ValueOfBool(v == 1), n, nil
	case protoreflect.EnumKind, protoreflect.Int32Kind:
		// Negative int32 and enum values are sign-extended to 10 bytes.
		if v != uint64(int64(int32(v))) {
			return outOfRange()
		}
		if k == protoreflect.EnumKind {
			return protoreflect.ValueOfEnum(protoreflect.EnumNumber(int32(v))), n, nil
		}
		return protoreflect.ValueOfInt32(int32(v)), n, nil
	case protoreflect.Int64Kind:
		return protoreflect.ValueOfInt64(int64(v)), n, nil
	case protoreflect.Uint32Kind:
		if v > math.MaxUint32 {
			return outOfRange()
		}
		return protoreflect.ValueOfUint32(uint32(v)), n, nil
	case protoreflect.Uint64Kind:
		return protoreflect.ValueOfUint64(v), n, nil
	case protoreflect.Sint32Kind:
		x := protowire.DecodeZigZag(v)
		if x != int64(int32(x)) {
			return outOfRange()
		}
		return protoreflect.ValueOfInt32(int32(x)), n, nil
	case protoreflect.Sint64Kind:
		return protoreflect.ValueOfInt64(protowire.DecodeZigZag(v)), n, nil
	}
	return protoreflect.Value{}, 0, d.fail(off, ErrWrongWireType, "kind %s", k)
}

// mapEntry decodes one entry (key field 1 then value field 2, both always
// written), stores it in mp and returns its key.
func (d *decoder) mapEntry(b []byte, base int, fd protoreflect.FieldDescriptor, mp protoreflect.Map, depth int) (protoreflect.MapKey, error) {
	kfd, vfd := fd.MapKey(), fd.MapValue()
	var vals [2]protoreflect.Value
	p := 0
	for i, f := range [2]protoreflect.FieldDescriptor{kfd, vfd} {
		off := base + p
		if p == len(b) {
			return protoreflect.MapKey{}, d.fail(off, ErrMapEntry, "entry ends before its %s: canonical entries carry key and value", f.Name())
		}
		tag, n, err := d.varint(b[p:], off)
		if err != nil {
			return protoreflect.MapKey{}, err
		}
		num, wt := protowire.DecodeTag(tag)
		if num != f.Number() {
			return protoreflect.MapKey{}, d.fail(off, ErrMapEntry, "field %d, want %s (%d)", num, f.Name(), f.Number())
		}
		if wt != scalarWireType(f.Kind()) {
			return protoreflect.MapKey{}, d.fail(off, ErrWrongWireType, "map %s: wire type %d, want %d", f.Name(), wt, scalarWireType(f.Kind()))
		}
		p += n
		v, n, err := d.value(b[p:], base+p, f, mp.NewValue, depth)
		if err != nil {
			return protoreflect.MapKey{}, err
		}
		vals[i] = v
		p += n
	}
	if p != len(b) {
		return protoreflect.MapKey{}, d.fail(base+p, ErrMapEntry, "%d bytes after the value", len(b)-p)
	}
	k := vals[0].MapKey()
	mp.Set(k, vals[1])
	return k, nil
}
