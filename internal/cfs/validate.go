package cfs

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	"buf.build/go/protovalidate"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/contextualflux/cfa/internal/cfs/cfspb"
)

// ErrInvalid: a CFS message breaks a schema rule (MUST-001). The error is a
// *ValidationError listing every violation.
var ErrInvalid = errors.New("CFS schema validation failed")

// Violation is one broken rule: the field path, the rule id and what to do.
type Violation struct {
	Field   string
	Rule    string
	Message string
}

// ValidationError is Validate's refusal. errors.Is(err, ErrInvalid) holds.
type ValidationError struct {
	Type       protoreflect.FullName
	Violations []Violation
}

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Violations))
	for i, v := range e.Violations {
		parts[i] = fmt.Sprintf("%s: %s [%s]", v.Field, v.Message, v.Rule)
	}
	return fmt.Sprintf("cfs: validate %s: %v: %s", e.Type, ErrInvalid, strings.Join(parts, "; "))
}

func (e *ValidationError) Unwrap() error { return ErrInvalid }

var validator = sync.OnceValues(func() (protovalidate.Validator, error) {
	return protovalidate.New()
})

// Validate checks m against the CFS schema rules (MUST-001): the
// protovalidate annotations in proto/cfs/v0 (ids present, hash and
// multihash lengths, enums defined, limits non-negative, a receipt's actor
// named) and the rules CEL cannot state over CFS timestamps (below). It
// returns nil or a *ValidationError wrapping ErrInvalid.
func Validate(m proto.Message) error {
	if m == nil || !m.ProtoReflect().IsValid() {
		return fmt.Errorf("cfs: validate a nil message: pass a non-nil message")
	}
	v, err := validator()
	if err != nil {
		return fmt.Errorf("cfs: build the protovalidate validator: %w", err)
	}
	r := m.ProtoReflect()
	var out []Violation
	if err := v.Validate(m); err != nil {
		var ve *protovalidate.ValidationError
		if !errors.As(err, &ve) {
			return fmt.Errorf("cfs: validate %s: %w", r.Descriptor().FullName(), err)
		}
		for _, x := range ve.Violations {
			out = append(out, Violation{
				Field:   protovalidate.FieldPathString(x.Proto.GetField()),
				Rule:    x.Proto.GetRuleId(),
				Message: x.Proto.GetMessage(),
			})
		}
	}
	out = append(out, goRules(r, "")...)
	if len(out) > 0 {
		return &ValidationError{Type: r.Descriptor().FullName(), Violations: out}
	}
	return nil
}

var intervalName = (&cfspb.Interval{}).ProtoReflect().Descriptor().FullName()

// goRules are the rules over timestamps, kept in Go because CEL converts
// google.protobuf.Timestamp to its own timestamp type, which cannot hold
// the CFS "forever" (seconds = MAX_INT64):
//   - every Timestamp is in 0001-01-01..9999-12-31 with nanos in [0, 1e9),
//     or "forever" (the canonical encoder's rule, docs/cfs-canonical-profile.md);
//   - an Interval with both ends set has from < to (it is half-open).
func goRules(m protoreflect.Message, path string) []Violation {
	var out []Violation
	walkFields(m, path, func(x protoreflect.Message, p string) {
		switch x.Descriptor().FullName() {
		case timestampName:
			if err := checkTimestampMessage(x); err != nil {
				out = append(out, Violation{Field: p, Rule: "cfs.timestamp.range", Message: err.(*fieldError).detail})
			}
		case intervalName:
			iv, ok := x.Interface().(*cfspb.Interval)
			if ok && iv.GetFrom() != nil && iv.GetTo() != nil && CompareTimestamps(iv.GetFrom(), iv.GetTo()) >= 0 {
				out = append(out, Violation{Field: p, Rule: "cfs.interval.from_before_to",
					Message: fmt.Sprintf("from %s must be before to %s: intervals are half-open [from, to)", tsString(iv.GetFrom()), tsString(iv.GetTo()))})
			}
		}
	})
	return out
}

func tsString(ts *timestamppb.Timestamp) string {
	if IsForever(ts) {
		return "forever"
	}
	return fmt.Sprintf("%d.%09ds", ts.GetSeconds(), ts.GetNanos())
}

// walkFields calls f on m and every set message below it with its path.
func walkFields(m protoreflect.Message, path string, f func(protoreflect.Message, string)) {
	f(m, path)
	join := func(name string) string {
		if path == "" {
			return name
		}
		return path + "." + name
	}
	for _, fd := range sortedFields(m.Descriptor()) {
		if !m.Has(fd) {
			continue
		}
		switch {
		case fd.IsMap():
			if fd.MapValue().Message() == nil {
				continue
			}
			mp := m.Get(fd).Map()
			keys := make([]protoreflect.MapKey, 0, mp.Len())
			mp.Range(func(k protoreflect.MapKey, _ protoreflect.Value) bool { keys = append(keys, k); return true })
			kind := fd.MapKey().Kind()
			sortKeys(keys, kind)
			for _, k := range keys {
				if v := mp.Get(k).Message(); v.IsValid() {
					walkFields(v, fmt.Sprintf("%s[%q]", join(string(fd.Name())), k.String()), f)
				}
			}
		case fd.IsList():
			if fd.Message() == nil {
				continue
			}
			l := m.Get(fd).List()
			for i := range l.Len() {
				if v := l.Get(i).Message(); v.IsValid() {
					walkFields(v, fmt.Sprintf("%s[%d]", join(string(fd.Name())), i), f)
				}
			}
		case fd.Message() != nil:
			if v := m.Get(fd).Message(); v.IsValid() {
				walkFields(v, join(string(fd.Name())), f)
			}
		}
	}
}
