package cfs

import (
	"errors"
	"fmt"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// Codec errors: the canonical encoder refuses a message with
// ErrInvalidUTF8, ErrNaN, ErrInvalidTimestamp or ErrTooDeep; the strict
// decoder (DecodeCanonical) refuses bytes with any of them. Each rule is in
// docs/cfs-canonical-profile.md. Branch with errors.Is; errors.As on
// *DecodeError gives the field and byte offset.
var (
	// ErrTruncated: the input ends inside a tag, a varint, a fixed-width
	// value or a length-delimited field.
	ErrTruncated = errors.New("truncated input")
	// ErrUnknownField: a field number the message type does not declare
	// (canonical bytes carry no unknown fields).
	ErrUnknownField = errors.New("unknown field")
	// ErrWrongWireType: a field is written with a wire type its kind does
	// not use (groups included).
	ErrWrongWireType = errors.New("wrong wire type")
	// ErrUnpackedRepeated: a repeated scalar written element by element
	// instead of as one packed field.
	ErrUnpackedRepeated = errors.New("repeated scalar not packed")
	// ErrFieldOrder: a field number lower than the one before it.
	ErrFieldOrder = errors.New("fields out of field-number order")
	// ErrDuplicateField: a singular or packed field written twice.
	ErrDuplicateField = errors.New("duplicate field")
	// ErrOneofConflict: two members of one oneof are both written.
	ErrOneofConflict = errors.New("more than one member of a oneof")
	// ErrNonMinimalVarint: a tag, length or value varint longer than the
	// shortest encoding of its value.
	ErrNonMinimalVarint = errors.New("non-minimal varint")
	// ErrOutOfRange: a varint whose value does not fit its field (an
	// int32 not sign-extended to 64 bits, a bool other than 0 or 1).
	ErrOutOfRange = errors.New("value out of range for its field")
	// ErrDefaultEncoded: a scalar with implicit presence written at its
	// default value, or an empty packed field (ADR 0030: defaults are
	// absent).
	ErrDefaultEncoded = errors.New("default value encoded")
	// ErrMapOrder: map entries not in strictly increasing key order
	// (duplicate keys included).
	ErrMapOrder = errors.New("map keys out of order or duplicated")
	// ErrMapEntry: a map entry that is not exactly key (1) then value (2).
	ErrMapEntry = errors.New("malformed map entry")
	// ErrInvalidUTF8: a string (field, map key or value) that is not valid
	// UTF-8. The wording is the one protobuf-go used, which audit's
	// hand-written encoder repeats.
	ErrInvalidUTF8 = errors.New("string field contains invalid UTF-8")
	// ErrNaN: a NaN float or double (NaN has many bit patterns and equals
	// nothing, so it has no canonical form).
	ErrNaN = errors.New("NaN is not allowed")
	// ErrInvalidTimestamp: a google.protobuf.Timestamp outside
	// 0001-01-01..9999-12-31 or with nanos outside [0, 1e9), other than
	// the CFS "forever" (seconds = MAX_INT64, nanos = 0). "now" (0, 0) is
	// in range.
	ErrInvalidTimestamp = errors.New("invalid timestamp")
	// ErrTooDeep: messages nested deeper than MaxDepth.
	ErrTooDeep = errors.New("messages nested too deeply")
)

// MaxDepth is how deeply messages may nest, the limit protobuf-go's
// decoder applies by default.
const MaxDepth = 10000

// DecodeError is a refusal of DecodeCanonical: the message type, the field
// path (dotted names, map keys and list indexes in brackets), the byte
// offset in the input and the rule broken (one of the Err* sentinels).
type DecodeError struct {
	Type   protoreflect.FullName
	Field  string
	Offset int
	Detail string
	Err    error
}

func (e *DecodeError) Error() string {
	field := e.Field
	if field == "" {
		field = "(message)"
	}
	s := fmt.Sprintf("cfs: decode canonical %s: field %s at byte %d: %v", e.Type, field, e.Offset, e.Err)
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s + "; the bytes are not CFS canonical (docs/cfs-canonical-profile.md): re-encode them with cfs.Canonical"
}

func (e *DecodeError) Unwrap() error { return e.Err }

// fieldError is an encoder refusal below the top message: the sentinel, the
// field path and a detail.
type fieldError struct {
	path   string
	detail string
	err    error
}

func (e *fieldError) Error() string {
	s := e.err.Error()
	if e.path != "" {
		s += " at " + e.path
	}
	if e.detail != "" {
		s += ": " + e.detail
	}
	return s
}

func (e *fieldError) Unwrap() error { return e.err }

// prefixPath puts name in front of the path of a fieldError.
func prefixPath(err error, name string) error {
	var fe *fieldError
	if errors.As(err, &fe) {
		if fe.path == "" {
			fe.path = name
		} else if fe.path[0] == '[' {
			fe.path = name + fe.path
		} else {
			fe.path = name + "." + fe.path
		}
	}
	return err
}
