package cfs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// MaxJSONTimestamp is how "forever" travels in JSON: the largest timestamp
// protojson accepts. MarshalJSON refuses a real timestamp equal to it, so
// the mapping is lossless (docs/adr/0031).
const MaxJSONTimestamp = "9999-12-31T23:59:59.999999999Z"

const (
	maxJSONSeconds = 253402300799
	maxJSONNanos   = 999999999
)

// ErrReservedTimestamp: a timestamp equals MaxJSONTimestamp, which JSON
// transport reserves for "forever".
var ErrReservedTimestamp = errors.New("timestamp " + MaxJSONTimestamp + " is reserved for forever in JSON transport")

var (
	jsonMarshal   = protojson.MarshalOptions{UseProtoNames: true, EmitDefaultValues: true}
	jsonUnmarshal = protojson.UnmarshalOptions{}
)

// MarshalJSON is the CFS JSON transport of m: protojson with the spec's
// snake_case names and default scalars shown, compacted to one stable line,
// with "forever" timestamps written as MaxJSONTimestamp. Integrity is
// unaffected: it is always computed on Canonical.
func MarshalJSON(m proto.Message) ([]byte, error) {
	c := proto.Clone(m)
	var err error
	forEachTimestamp(c.ProtoReflect(), func(ts *timestamppb.Timestamp) {
		switch {
		case IsForever(ts):
			ts.Seconds, ts.Nanos = maxJSONSeconds, maxJSONNanos
		case ts.GetSeconds() == maxJSONSeconds && ts.GetNanos() == maxJSONNanos && err == nil:
			err = ErrReservedTimestamp
		}
	})
	name := m.ProtoReflect().Descriptor().FullName()
	if err != nil {
		return nil, fmt.Errorf("cfs: marshal %s to JSON: %w; use cfs.Forever() for an open end", name, err)
	}
	b, err := jsonMarshal.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("cfs: marshal %s to JSON: %w", name, err)
	}
	// protojson adds random whitespace on purpose; compact it so exports
	// are byte-stable across builds and usable as golden files.
	var out bytes.Buffer
	if err := json.Compact(&out, b); err != nil {
		return nil, fmt.Errorf("cfs: compact JSON of %s: %w", name, err)
	}
	return out.Bytes(), nil
}

// UnmarshalJSON is the inverse of MarshalJSON. Unknown fields are rejected:
// canonical encoding keeps none, so they could not be verified.
func UnmarshalJSON(b []byte, m proto.Message) error {
	if err := jsonUnmarshal.Unmarshal(b, m); err != nil {
		return fmt.Errorf("cfs: unmarshal %s from JSON: %w", m.ProtoReflect().Descriptor().FullName(), err)
	}
	forEachTimestamp(m.ProtoReflect(), func(ts *timestamppb.Timestamp) {
		if ts.GetSeconds() == maxJSONSeconds && ts.GetNanos() == maxJSONNanos {
			ts.Seconds, ts.Nanos = ForeverSeconds, 0
		}
	})
	return nil
}

var timestampName = (&timestamppb.Timestamp{}).ProtoReflect().Descriptor().FullName()

// forEachTimestamp calls f on every populated Timestamp in m, m included.
func forEachTimestamp(m protoreflect.Message, f func(*timestamppb.Timestamp)) {
	walkMessages(m, func(x protoreflect.Message) bool {
		if x.Descriptor().FullName() == timestampName {
			if ts, ok := x.Interface().(*timestamppb.Timestamp); ok {
				f(ts)
			}
		}
		return true
	})
}
