package cfs

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// IntegrityField is the name of the field that carries a message's own hash
// in Record, Link and Receipt. It is cleared before hashing.
const IntegrityField = "integrity"

// Sentinel errors a caller can branch on with errors.Is.
var (
	// ErrNoIntegrityField: the message type has no bytes field named integrity.
	ErrNoIntegrityField = errors.New("message type has no bytes integrity field")
	// ErrIntegrityMissing: the integrity field is empty (never sealed).
	ErrIntegrityMissing = errors.New("integrity field is empty")
	// ErrIntegrityMismatch: the stored hash differs from the recomputed one.
	ErrIntegrityMismatch = errors.New("integrity mismatch")
)

// Canonical returns the CFS canonical encoding of m, written by the rules
// of docs/cfs-canonical-profile.md (docs/adr/0144): fields in number order,
// scalars at their default absent (ADR 0030), map entries sorted by key
// bytes with key and value always written, repeated fields in insertion
// order, unknown fields never written. It refuses invalid UTF-8, NaN and
// timestamps outside the CFS range, so every encoding it returns is
// accepted by DecodeCanonical.
func Canonical(m proto.Message) ([]byte, error) {
	if m == nil || !m.ProtoReflect().IsValid() {
		return nil, fmt.Errorf("cfs: canonical encoding of a nil message: pass a non-nil message")
	}
	return canonicalAppend(make([]byte, 0, 256), m.ProtoReflect(), nil)
}

// canonicalAppend appends the canonical encoding of m without its field
// skip (nil: all fields).
func canonicalAppend(b []byte, m protoreflect.Message, skip protoreflect.FieldDescriptor) ([]byte, error) {
	b, err := appendFields(b, m, 0, skip)
	if err != nil {
		name := m.Descriptor().FullName()
		if errors.Is(err, ErrInvalidUTF8) {
			// The wording protobuf-go gave, which audit's encoder repeats.
			return nil, fmt.Errorf("cfs: canonical encoding of %s: %w (strings must be valid UTF-8)", name, ErrInvalidUTF8)
		}
		return nil, fmt.Errorf("cfs: canonical encoding of %s: %w", name, err)
	}
	return b, nil
}

// Integrity returns SHA-256 of the canonical encoding of m with its
// integrity field cleared. m is not modified. It works for any message with
// a bytes field named integrity (Record, Link, Receipt).
func Integrity(m proto.Message) ([]byte, error) {
	if m == nil || !m.ProtoReflect().IsValid() {
		return nil, fmt.Errorf("cfs: integrity of a nil message: pass a non-nil message")
	}
	fd, err := integrityField(m.ProtoReflect().Descriptor())
	if err != nil {
		return nil, err
	}
	var buf [512]byte
	b, err := canonicalAppend(buf[:0], m.ProtoReflect(), fd)
	if err != nil {
		return nil, fmt.Errorf("cfs: integrity: %w", err)
	}
	sum := sha256.Sum256(b)
	return sum[:], nil
}

// SetIntegrity computes Integrity(m) and stores it in m's integrity field.
func SetIntegrity(m proto.Message) error {
	sum, err := Integrity(m)
	if err != nil {
		return err
	}
	fd, _ := integrityField(m.ProtoReflect().Descriptor()) // checked by Integrity
	m.ProtoReflect().Set(fd, protoreflect.ValueOfBytes(sum))
	return nil
}

// VerifyIntegrity recomputes Integrity(m) and compares it with the stored
// value. It returns an error wrapping ErrIntegrityMissing or
// ErrIntegrityMismatch when the message does not verify.
func VerifyIntegrity(m proto.Message) error {
	want, err := Integrity(m)
	if err != nil {
		return err
	}
	md := m.ProtoReflect()
	fd, _ := integrityField(md.Descriptor())
	got := md.Get(fd).Bytes()
	name := md.Descriptor().FullName()
	if len(got) == 0 {
		return fmt.Errorf("cfs: verify %s: %w: seal it with SetIntegrity before storing", name, ErrIntegrityMissing)
	}
	if !bytes.Equal(got, want) {
		return fmt.Errorf("cfs: verify %s: %w: stored %x, computed %x; the message changed after it was sealed",
			name, ErrIntegrityMismatch, got, want)
	}
	return nil
}

func integrityField(md protoreflect.MessageDescriptor) (protoreflect.FieldDescriptor, error) {
	fd := md.Fields().ByName(IntegrityField)
	if fd == nil || fd.Kind() != protoreflect.BytesKind || fd.Cardinality() == protoreflect.Repeated {
		return nil, fmt.Errorf("cfs: %s: %w; only Record, Link and Receipt carry one", md.FullName(), ErrNoIntegrityField)
	}
	return fd, nil
}

// walkMessages calls f on m and every populated message below it, depth
// first, until f returns false.
func walkMessages(m protoreflect.Message, f func(protoreflect.Message) bool) bool {
	if !f(m) {
		return false
	}
	cont := true
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsMap():
			if fd.MapValue().Message() == nil {
				return true
			}
			v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
				cont = walkMessages(mv.Message(), f)
				return cont
			})
		case fd.IsList():
			if fd.Message() == nil {
				return true
			}
			l := v.List()
			for i := 0; i < l.Len() && cont; i++ {
				cont = walkMessages(l.Get(i).Message(), f)
			}
		case fd.Message() != nil:
			cont = walkMessages(v.Message(), f)
		}
		return cont
	})
	return cont
}
