package cfs

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"sync"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// The canonical encoder. It walks a message through protoreflect and writes
// every byte itself with protowire's primitives, by the rules of
// docs/cfs-canonical-profile.md; protobuf-go's marshaller (deterministic
// mode or not) is never called. A test holds it equal to deterministic
// marshalling on random messages of every CFS type, so bytes stored before
// it still verify.

// sortedFields returns md's fields in field-number order. Descriptors are
// immutable, so the order is computed once per message type.
func sortedFields(md protoreflect.MessageDescriptor) []protoreflect.FieldDescriptor {
	if v, ok := fieldOrder.Load(md); ok {
		return v.([]protoreflect.FieldDescriptor)
	}
	fds := md.Fields()
	out := make([]protoreflect.FieldDescriptor, fds.Len())
	for i := range out {
		out[i] = fds.Get(i)
	}
	slices.SortFunc(out, func(a, b protoreflect.FieldDescriptor) int { return cmp.Compare(a.Number(), b.Number()) })
	v, _ := fieldOrder.LoadOrStore(md, out)
	return v.([]protoreflect.FieldDescriptor)
}

var fieldOrder sync.Map // protoreflect.MessageDescriptor -> []protoreflect.FieldDescriptor

func appendMessage(b []byte, m protoreflect.Message, depth int) ([]byte, error) {
	return appendFields(b, m, depth, nil)
}

// appendFields writes m's fields but skip (Integrity leaves out the
// integrity field without copying the message).
func appendFields(b []byte, m protoreflect.Message, depth int, skip protoreflect.FieldDescriptor) ([]byte, error) {
	if depth > MaxDepth {
		return b, &fieldError{err: ErrTooDeep, detail: fmt.Sprintf("more than %d levels", MaxDepth)}
	}
	md := m.Descriptor()
	if md.FullName() == timestampName {
		if err := checkTimestampMessage(m); err != nil {
			return b, err
		}
	}
	var err error
	for _, fd := range sortedFields(md) {
		if fd == skip {
			continue
		}
		switch {
		case fd.IsMap():
			if !m.Has(fd) {
				continue
			}
			b, err = appendMap(b, fd, m.Get(fd).Map(), depth)
		case fd.IsList():
			if !m.Has(fd) {
				continue
			}
			b, err = appendList(b, fd, m.Get(fd).List(), depth)
		case fd.HasPresence():
			// Message fields, oneof members and proto3 optional: written
			// whenever set, even at their zero value.
			if !m.Has(fd) {
				continue
			}
			b, err = appendField(b, fd, m.Get(fd), depth)
		default:
			// Implicit presence: a scalar at its default is absent.
			v := m.Get(fd)
			if isDefaultScalar(fd, v) {
				continue
			}
			b, err = appendField(b, fd, v, depth)
		}
		if err != nil {
			return b, prefixPath(err, string(fd.Name()))
		}
	}
	return b, nil
}

// isDefaultScalar reports whether v is the default of the singular scalar
// field fd. Floats compare by bits: -0.0 is not the default and is written.
func isDefaultScalar(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
	switch fd.Kind() {
	case protoreflect.BoolKind:
		return !v.Bool()
	case protoreflect.EnumKind:
		return v.Enum() == 0
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind,
		protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return v.Int() == 0
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind, protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return v.Uint() == 0
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		return math.Float64bits(v.Float()) == 0
	case protoreflect.StringKind:
		return v.String() == ""
	case protoreflect.BytesKind:
		return len(v.Bytes()) == 0
	}
	return false
}

// appendField writes one tag and value of a singular field or list element.
func appendField(b []byte, fd protoreflect.FieldDescriptor, v protoreflect.Value, depth int) ([]byte, error) {
	num := fd.Number()
	switch fd.Kind() {
	case protoreflect.MessageKind:
		b = protowire.AppendTag(b, num, protowire.BytesType)
		return appendNested(b, v.Message(), depth+1)
	case protoreflect.GroupKind:
		return b, &fieldError{err: ErrWrongWireType, detail: "groups are not part of the CFS profile"}
	case protoreflect.StringKind:
		s := v.String()
		if !utf8.ValidString(s) {
			return b, &fieldError{err: ErrInvalidUTF8}
		}
		b = protowire.AppendTag(b, num, protowire.BytesType)
		return protowire.AppendString(b, s), nil
	case protoreflect.BytesKind:
		b = protowire.AppendTag(b, num, protowire.BytesType)
		return protowire.AppendBytes(b, v.Bytes()), nil
	}
	b = protowire.AppendTag(b, num, scalarWireType(fd.Kind()))
	return appendScalar(b, fd.Kind(), v)
}

// appendNested writes a length-prefixed message. An unset (nil) message,
// as a list element or map value, is written as an empty one.
func appendNested(b []byte, m protoreflect.Message, depth int) ([]byte, error) {
	mark := len(b)
	b = append(b, 0) // one-byte length slot, widened by closeLen
	if m.IsValid() {
		var err error
		if b, err = appendMessage(b, m, depth); err != nil {
			return b, err
		}
	}
	return closeLen(b, mark), nil
}

// closeLen fills the one-byte length slot at mark with the length of what
// follows it, shifting the body when the length needs more varint bytes.
func closeLen(b []byte, mark int) []byte {
	n := len(b) - mark - 1
	if n < 0x80 {
		b[mark] = byte(n)
		return b
	}
	k := protowire.SizeVarint(uint64(n))
	b = append(b, make([]byte, k-1)...)
	copy(b[mark+k:], b[mark+1:len(b)-(k-1)])
	protowire.AppendVarint(b[mark:mark], uint64(n))
	return b
}

func scalarWireType(k protoreflect.Kind) protowire.Type {
	switch k {
	case protoreflect.Fixed32Kind, protoreflect.Sfixed32Kind, protoreflect.FloatKind:
		return protowire.Fixed32Type
	case protoreflect.Fixed64Kind, protoreflect.Sfixed64Kind, protoreflect.DoubleKind:
		return protowire.Fixed64Type
	case protoreflect.StringKind, protoreflect.BytesKind, protoreflect.MessageKind:
		return protowire.BytesType
	case protoreflect.GroupKind:
		return protowire.StartGroupType
	}
	return protowire.VarintType
}

// appendScalar writes the value (no tag) of a numeric or bool scalar.
func appendScalar(b []byte, k protoreflect.Kind, v protoreflect.Value) ([]byte, error) {
	switch k {
	case protoreflect.BoolKind:
		return protowire.AppendVarint(b, protowire.EncodeBool(v.Bool())), nil
	case protoreflect.EnumKind:
		return protowire.AppendVarint(b, uint64(int64(v.Enum()))), nil
	case protoreflect.Int32Kind, protoreflect.Int64Kind:
		return protowire.AppendVarint(b, uint64(v.Int())), nil
	case protoreflect.Uint32Kind, protoreflect.Uint64Kind:
		return protowire.AppendVarint(b, v.Uint()), nil
	case protoreflect.Sint32Kind, protoreflect.Sint64Kind:
		return protowire.AppendVarint(b, protowire.EncodeZigZag(v.Int())), nil
	case protoreflect.Fixed32Kind:
		return protowire.AppendFixed32(b, uint32(v.Uint())), nil
	case protoreflect.Sfixed32Kind:
		return protowire.AppendFixed32(b, uint32(v.Int())), nil
	case protoreflect.Fixed64Kind:
		return protowire.AppendFixed64(b, v.Uint()), nil
	case protoreflect.Sfixed64Kind:
		return protowire.AppendFixed64(b, uint64(v.Int())), nil
	case protoreflect.FloatKind:
		f := v.Float()
		if math.IsNaN(f) {
			return b, &fieldError{err: ErrNaN}
		}
		return protowire.AppendFixed32(b, math.Float32bits(float32(f))), nil
	case protoreflect.DoubleKind:
		f := v.Float()
		if math.IsNaN(f) {
			return b, &fieldError{err: ErrNaN}
		}
		return protowire.AppendFixed64(b, math.Float64bits(f)), nil
	}
	return b, &fieldError{err: ErrWrongWireType, detail: "kind " + k.String() + " is not a scalar"}
}

// appendList writes a non-empty repeated field: scalars packed in one
// field, strings, bytes and messages one field per element, in list order.
func appendList(b []byte, fd protoreflect.FieldDescriptor, l protoreflect.List, depth int) ([]byte, error) {
	var err error
	if fd.IsPacked() {
		b = protowire.AppendTag(b, fd.Number(), protowire.BytesType)
		mark := len(b)
		b = append(b, 0)
		for i := range l.Len() {
			if b, err = appendScalar(b, fd.Kind(), l.Get(i)); err != nil {
				return b, prefixPath(err, "["+strconv.Itoa(i)+"]")
			}
		}
		return closeLen(b, mark), nil
	}
	for i := range l.Len() {
		if b, err = appendField(b, fd, l.Get(i), depth); err != nil {
			return b, prefixPath(err, "["+strconv.Itoa(i)+"]")
		}
	}
	return b, nil
}

// appendMap writes one entry per key in ascending key order (strings by
// their UTF-8 bytes, integers numerically, false before true), each with
// both its key and its value, even at their defaults.
func appendMap(b []byte, fd protoreflect.FieldDescriptor, mp protoreflect.Map, depth int) ([]byte, error) {
	keys := make([]protoreflect.MapKey, 0, mp.Len())
	mp.Range(func(k protoreflect.MapKey, _ protoreflect.Value) bool {
		keys = append(keys, k)
		return true
	})
	kfd, vfd := fd.MapKey(), fd.MapValue()
	sortKeys(keys, kfd.Kind())
	var err error
	for _, k := range keys {
		b = protowire.AppendTag(b, fd.Number(), protowire.BytesType)
		mark := len(b)
		b = append(b, 0)
		if b, err = appendField(b, kfd, k.Value(), depth); err != nil {
			return b, prefixPath(err, "[key]")
		}
		if b, err = appendField(b, vfd, mp.Get(k), depth); err != nil {
			return b, prefixPath(err, "["+strconv.Quote(k.String())+"]")
		}
		b = closeLen(b, mark)
	}
	return b, nil
}

func sortKeys(keys []protoreflect.MapKey, k protoreflect.Kind) {
	slices.SortFunc(keys, func(x, y protoreflect.MapKey) int { return compareMapKeys(k, x, y) })
}

// compareMapKeys orders map keys: strings by bytes (Go's string order),
// signed and unsigned integers numerically, false before true.
func compareMapKeys(k protoreflect.Kind, x, y protoreflect.MapKey) int {
	switch k {
	case protoreflect.StringKind:
		return cmp.Compare(x.String(), y.String())
	case protoreflect.BoolKind:
		return cmp.Compare(b2i(x.Bool()), b2i(y.Bool()))
	case protoreflect.Uint32Kind, protoreflect.Uint64Kind, protoreflect.Fixed32Kind, protoreflect.Fixed64Kind:
		return cmp.Compare(x.Uint(), y.Uint())
	}
	return cmp.Compare(x.Int(), y.Int())
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Range of google.protobuf.Timestamp: 0001-01-01T00:00:00Z to
// 9999-12-31T23:59:59.999999999Z.
const (
	minTimestampSeconds = -62135596800
	maxTimestampSeconds = 253402300799
)

// checkTimestamp applies the CFS timestamp rule: in range with nanos in
// [0, 1e9), or "forever" (seconds = MAX_INT64, nanos = 0).
func checkTimestamp(seconds int64, nanos int32) error {
	if seconds == ForeverSeconds && nanos == 0 {
		return nil
	}
	if seconds < minTimestampSeconds || seconds > maxTimestampSeconds || nanos < 0 || nanos >= 1e9 {
		return &fieldError{err: ErrInvalidTimestamp, detail: fmt.Sprintf(
			"seconds=%d nanos=%d: want 0001-01-01..9999-12-31 with nanos in [0, 1e9), or forever (seconds=%d, nanos=0)",
			seconds, nanos, int64(ForeverSeconds))}
	}
	return nil
}

func checkTimestampMessage(m protoreflect.Message) error {
	fds := m.Descriptor().Fields()
	return checkTimestamp(m.Get(fds.ByNumber(1)).Int(), int32(m.Get(fds.ByNumber(2)).Int()))
}
