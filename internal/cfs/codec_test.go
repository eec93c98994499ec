package cfs_test

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/contextualflux/cfa/internal/cfs"
	"github.com/contextualflux/cfa/internal/cfs/cfspb"
)

// cfsMessageTypes lists every message type of package cfs.v0.
func cfsMessageTypes(t testing.TB) []protoreflect.MessageType {
	t.Helper()
	var out []protoreflect.MessageType
	protoregistry.GlobalFiles.RangeFilesByPackage("cfs.v0", func(fd protoreflect.FileDescriptor) bool {
		for i := range fd.Messages().Len() {
			mt, err := protoregistry.GlobalTypes.FindMessageByName(fd.Messages().Get(i).FullName())
			require.NoError(t, err)
			out = append(out, mt)
		}
		return true
	})
	require.GreaterOrEqual(t, len(out), 30, "every CFS message type is registered")
	return out
}

// filler builds random messages of any type: about half the fields set,
// zero values, negative numbers, -0.0, non-ASCII and empty strings and keys
// often, NaN and out-of-range timestamps never (the encoder refuses them).
type filler struct{ r *rand.Rand }

var (
	stringPool = []string{"", "a", "e", "é", "e\u0301", "ñ", "日本", "Z", "z", "\u00ff", "😀", "key with spaces", "\x00", "x"}
	floatPool  = []float64{0, math.Copysign(0, -1), 1, -1, 0.5, 1e300, -1e-300, math.Inf(1), math.Inf(-1), math.MaxFloat64, math.SmallestNonzeroFloat64}
	int64Pool  = []int64{0, 1, -1, 127, 128, -128, math.MaxInt32, math.MinInt32, math.MaxInt64, math.MinInt64, 300}
)

func (f *filler) str() string {
	if f.r.IntN(4) == 0 {
		b := make([]rune, f.r.IntN(200))
		for i := range b {
			b[i] = rune(0x20 + f.r.IntN(0x3000))
			if b[i] >= 0xd800 && b[i] < 0xe000 {
				b[i] = 'x'
			}
		}
		return string(b)
	}
	return stringPool[f.r.IntN(len(stringPool))]
}

func (f *filler) scalar(fd protoreflect.FieldDescriptor) protoreflect.Value {
	switch fd.Kind() {
	case protoreflect.BoolKind:
		return protoreflect.ValueOfBool(f.r.IntN(2) == 0)
	case protoreflect.EnumKind:
		vals := fd.Enum().Values()
		if f.r.IntN(8) == 0 {
			return protoreflect.ValueOfEnum(protoreflect.EnumNumber(int32(int64Pool[f.r.IntN(len(int64Pool))])))
		}
		return protoreflect.ValueOfEnum(vals.Get(f.r.IntN(vals.Len())).Number())
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return protoreflect.ValueOfInt32(int32(int64Pool[f.r.IntN(len(int64Pool))]))
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return protoreflect.ValueOfInt64(int64Pool[f.r.IntN(len(int64Pool))])
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return protoreflect.ValueOfUint32(uint32(int64Pool[f.r.IntN(len(int64Pool))]))
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return protoreflect.ValueOfUint64(uint64(int64Pool[f.r.IntN(len(int64Pool))]))
	case protoreflect.FloatKind:
		return protoreflect.ValueOfFloat32(float32(floatPool[f.r.IntN(len(floatPool))]))
	case protoreflect.DoubleKind:
		return protoreflect.ValueOfFloat64(floatPool[f.r.IntN(len(floatPool))])
	case protoreflect.StringKind:
		return protoreflect.ValueOfString(f.str())
	case protoreflect.BytesKind:
		b := make([]byte, []int{0, 1, 32, 34, 200}[f.r.IntN(5)])
		for i := range b {
			b[i] = byte(f.r.IntN(256))
		}
		return protoreflect.ValueOfBytes(b)
	}
	panic("unexpected kind " + fd.Kind().String())
}

func (f *filler) fill(m protoreflect.Message, depth int) {
	md := m.Descriptor()
	if md.FullName() == "google.protobuf.Timestamp" {
		ts := []*timestamppb.Timestamp{{}, cfs.Forever(), {Seconds: 1768473000, Nanos: 123456789},
			{Seconds: -62135596800}, {Seconds: 253402300799, Nanos: 999999999}, {Nanos: 1}, {Seconds: -1, Nanos: 5}}[f.r.IntN(7)]
		m.Set(md.Fields().ByNumber(1), protoreflect.ValueOfInt64(ts.Seconds))
		m.Set(md.Fields().ByNumber(2), protoreflect.ValueOfInt32(ts.Nanos))
		return
	}
	for i := range md.Oneofs().Len() {
		od := md.Oneofs().Get(i)
		if f.r.IntN(3) == 0 || depth > 4 {
			continue
		}
		fd := od.Fields().Get(f.r.IntN(od.Fields().Len()))
		if fd.Message() != nil {
			v := m.NewField(fd)
			if f.r.IntN(3) > 0 {
				f.fill(v.Message(), depth+1)
			}
			m.Set(fd, v)
		} else if f.r.IntN(3) == 0 {
			m.Set(fd, m.NewField(fd)) // zero value, still written
		} else {
			m.Set(fd, f.scalar(fd))
		}
	}
	for i := range md.Fields().Len() {
		fd := md.Fields().Get(i)
		if fd.ContainingOneof() != nil || f.r.IntN(2) == 0 {
			continue
		}
		switch {
		case fd.IsMap():
			if depth > 4 {
				continue
			}
			mp := m.Mutable(fd).Map()
			for range f.r.IntN(6) {
				k := f.scalar(fd.MapKey()).MapKey()
				if fd.MapValue().Message() != nil {
					v := mp.NewValue()
					if f.r.IntN(4) > 0 {
						f.fill(v.Message(), depth+1)
					}
					mp.Set(k, v)
				} else {
					mp.Set(k, f.scalar(fd.MapValue()))
				}
			}
		case fd.IsList():
			if depth > 4 {
				continue
			}
			l := m.Mutable(fd).List()
			for range f.r.IntN(5) {
				if fd.Message() != nil {
					v := l.NewElement()
					f.fill(v.Message(), depth+1)
					l.Append(v)
				} else {
					l.Append(f.scalar(fd))
				}
			}
		case fd.Message() != nil:
			if depth > 4 {
				continue
			}
			v := m.NewField(fd)
			if f.r.IntN(4) > 0 {
				f.fill(v.Message(), depth+1)
			}
			m.Set(fd, v)
		default:
			if f.r.IntN(4) == 0 {
				continue // the zero value: absent
			}
			m.Set(fd, f.scalar(fd))
		}
	}
}

// The new encoder gives, for every CFS message type, the bytes protobuf-go's
// deterministic mode gives (which every hash stored so far was computed on),
// and its output decodes strictly back to the same message and bytes.
func TestCanonicalEqualsDeterministicMarshal(t *testing.T) {
	t.Parallel()
	f := &filler{r: rand.New(rand.NewPCG(1, 2))}
	det := proto.MarshalOptions{Deterministic: true}
	n, reordered := 0, 0
	for _, mt := range cfsMessageTypes(t) {
		for range 300 {
			m := mt.New()
			f.fill(m, 0)
			want, err := det.Marshal(m.Interface())
			require.NoError(t, err)
			got, err := cfs.Canonical(m.Interface())
			require.NoError(t, err, "%s", mt.Descriptor().FullName())
			if !bytes.Equal(want, got) {
				// protobuf-go writes oneof members after the other fields
				// ("historic wire output"); the profile writes them in
				// field-number order, as the other languages do.
				require.True(t, reachesMixedOneof(mt.Descriptor(), map[protoreflect.FullName]bool{}),
					"%s: %x vs %x", mt.Descriptor().FullName(), got, want)
				var viaGo, viaCanonical = mt.New().Interface(), mt.New().Interface()
				require.NoError(t, proto.Unmarshal(want, viaGo))
				require.NoError(t, proto.Unmarshal(got, viaCanonical))
				require.True(t, proto.Equal(viaGo, viaCanonical))
				reordered++
			}

			back := mt.New().Interface()
			require.NoError(t, cfs.DecodeCanonical(got, back), "%s: %x", mt.Descriptor().FullName(), got)
			require.True(t, proto.Equal(m.Interface(), back), "%s", mt.Descriptor().FullName())
			again, err := cfs.Canonical(back)
			require.NoError(t, err)
			require.Equal(t, got, again)
			n++
		}
	}
	t.Logf("%d random messages, %d with a oneof member before a later field", n, reordered)
	require.Less(t, reordered, n/10)
}

// reachesMixedOneof reports whether md, or a message below it, has a oneof
// member numbered below a field outside the oneof (cfs.v0.SyncEntry): the
// one shape where protobuf-go's order differs from field-number order.
func reachesMixedOneof(md protoreflect.MessageDescriptor, seen map[protoreflect.FullName]bool) bool {
	if seen[md.FullName()] {
		return false
	}
	seen[md.FullName()] = true
	minOneof, maxPlain := protoreflect.FieldNumber(1<<29), protoreflect.FieldNumber(0)
	for i := range md.Fields().Len() {
		fd := md.Fields().Get(i)
		if od := fd.ContainingOneof(); od != nil && !od.IsSynthetic() {
			minOneof = min(minOneof, fd.Number())
		} else {
			maxPlain = max(maxPlain, fd.Number())
		}
		if fd.IsMap() {
			fd = fd.MapValue()
		}
		if fd.Message() != nil && reachesMixedOneof(fd.Message(), seen) {
			return true
		}
	}
	return minOneof < maxPlain
}

// SyncEntry is written in field-number order: the oneof entry (1-3) before
// commit_id (4) and commit_time (5). protobuf-go's marshaller would put the
// oneof last.
func TestCanonicalWritesOneofsInNumberOrder(t *testing.T) {
	t.Parallel()
	e := &cfspb.SyncEntry{Entry: &cfspb.SyncEntry_Record{Record: &cfspb.Record{RecordId: "r"}}, CommitId: "c"}
	b, err := cfs.Canonical(e)
	require.NoError(t, err)
	require.Equal(t, []byte{0x0a, 0x03, 0x0a, 0x01, 'r', 0x22, 0x01, 'c'}, b)
	legacy, err := proto.MarshalOptions{Deterministic: true}.Marshal(e)
	require.NoError(t, err)
	require.Equal(t, []byte{0x22, 0x01, 'c', 0x0a, 0x03, 0x0a, 0x01, 'r'}, legacy)
	err = cfs.DecodeCanonical(legacy, &cfspb.SyncEntry{})
	require.ErrorIs(t, err, cfs.ErrFieldOrder)
}

func TestCanonicalRefuses(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		msg  proto.Message
		want error
	}{
		{"NaN in a Value", &cfspb.Record{Props: map[string]*structpb.Value{"x": structpb.NewNumberValue(math.NaN())}}, cfs.ErrNaN},
		{"invalid UTF-8 in a map key", &cfspb.Receipt{Context: map[string]string{"\xff": "v"}}, cfs.ErrInvalidUTF8},
		{"invalid UTF-8 in a list", &cfspb.Receipt{Targets: []string{"ok", "\xc3"}}, cfs.ErrInvalidUTF8},
		{"timestamp after 9999", &cfspb.Receipt{Timestamp: &timestamppb.Timestamp{Seconds: 253402300800}}, cfs.ErrInvalidTimestamp},
		{"negative nanos", &cfspb.Receipt{Timestamp: &timestamppb.Timestamp{Seconds: 5, Nanos: -1}}, cfs.ErrInvalidTimestamp},
		{"forever with nanos", &cfspb.Link{Valid: &cfspb.Interval{To: &timestamppb.Timestamp{Seconds: cfs.ForeverSeconds, Nanos: 1}}}, cfs.ErrInvalidTimestamp},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := cfs.Canonical(tc.msg)
			require.ErrorIs(t, err, tc.want)
		})
	}
	_, err := cfs.Canonical(&cfspb.Link{Valid: &cfspb.Interval{To: &timestamppb.Timestamp{Seconds: -62135596801}}})
	require.ErrorContains(t, err, "at valid.to")
}

func TestCanonicalWritesSetOneofsAndEmptyMessages(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		msg  proto.Message
		hex  []byte
	}{
		{"empty message", &cfspb.Receipt{}, []byte{}},
		{"set empty nested message", &cfspb.Receipt{Actor: &cfspb.Principal{}}, []byte{0x12, 0x00}},
		{"timestamp now is an empty message", &cfspb.Receipt{Timestamp: cfs.NowSentinel()}, []byte{0x2a, 0x00}},
		{"oneof string at its zero value", &cfspb.Mutation{Change: &cfspb.Mutation_RetractLinkId{}}, []byte{0x1a, 0x00}},
		{"Value null", &cfspb.Record{Props: map[string]*structpb.Value{"": structpb.NewNullValue()}},
			[]byte{0x22, 0x06, 0x0a, 0x00, 0x12, 0x02, 0x08, 0x00}},
		{"nil map value is an empty message", &cfspb.Record{Props: map[string]*structpb.Value{"k": nil}},
			[]byte{0x22, 0x05, 0x0a, 0x01, 'k', 0x12, 0x00}},
		{"negative int32 takes ten bytes", &cfspb.QueryRequest{Limit: -1},
			[]byte{0x20, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}},
		{"packed enums", &cfspb.PrincipalMatcher{Types: []cfspb.PrincipalType{1, 0, 4}}, []byte{0x12, 0x03, 0x01, 0x00, 0x04}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b, err := cfs.Canonical(tc.msg)
			require.NoError(t, err)
			require.Equal(t, tc.hex, b)
			back := tc.msg.ProtoReflect().New().Interface()
			require.NoError(t, cfs.DecodeCanonical(b, back))
		})
	}
}

func TestCanonicalLongNestedLengths(t *testing.T) {
	t.Parallel()
	// Nested lengths of 127, 128 and 16384 bytes take 1, 2 and 3 varint
	// bytes: the length slot is widened in place.
	for _, n := range []int{0, 120, 125, 126, 127, 128, 16380, 16384, 1 << 21} {
		l := &cfspb.Link{LinkId: "l", Valid: &cfspb.Interval{From: cfs.Timestamp(t0)}, Props: map[string]*structpb.Value{
			"big": structpb.NewStringValue(string(bytes.Repeat([]byte{'x'}, n))),
		}}
		want, err := proto.MarshalOptions{Deterministic: true}.Marshal(l)
		require.NoError(t, err)
		got, err := cfs.Canonical(l)
		require.NoError(t, err)
		require.Equal(t, want, got, "n=%d", n)
	}
}

func TestDecodeCanonicalErrorsAreTyped(t *testing.T) {
	t.Parallel()
	var r cfspb.Receipt
	err := cfs.DecodeCanonical([]byte{0x0a, 0x01, 'a', 0x0a, 0x01, 'b'}, &r)
	require.ErrorIs(t, err, cfs.ErrDuplicateField)
	var de *cfs.DecodeError
	require.True(t, errors.As(err, &de))
	require.Equal(t, 3, de.Offset)
	require.Equal(t, "receipt_id", de.Field)
	require.Equal(t, protoreflect.FullName("cfs.v0.Receipt"), de.Type)

	// The path names nested fields, list indexes and map entries.
	b, err := cfs.Canonical(&cfspb.QueryResponse{Records: []*cfspb.Record{{RecordId: "a"}, {RecordId: "b", Props: map[string]*structpb.Value{"k": structpb.NewBoolValue(true)}}}})
	require.NoError(t, err)
	bad := bytes.Replace(b, []byte{0x20, 0x01}, []byte{0x20, 0x02}, 1) // bool_value 2
	err = cfs.DecodeCanonical(bad, &cfspb.QueryResponse{})
	require.ErrorIs(t, err, cfs.ErrOutOfRange)
	require.True(t, errors.As(err, &de))
	require.Equal(t, "records[1].props[0].bool_value", de.Field)
}
