package vectors_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/contextualflux/cfa/internal/cfs"
	"github.com/contextualflux/cfa/internal/cfs/cfspb"
	"github.com/contextualflux/cfa/internal/cfs/vectors"
)

var update = flag.Bool("update", false, "rewrite testdata/cfs/vectors.json")

const file = "../../../" + vectors.Path

func load(t testing.TB) vectors.File {
	t.Helper()
	raw, err := os.ReadFile(file)
	require.NoError(t, err)
	var f vectors.File
	require.NoError(t, json.Unmarshal(raw, &f))
	return f
}

func newMessage(t testing.TB, name string) proto.Message {
	t.Helper()
	mt, err := protoregistry.GlobalTypes.FindMessageByName(protoreflect.FullName(name))
	require.NoError(t, err, name)
	return mt.New().Interface()
}

// The committed file is what the generator writes, byte for byte.
func TestVectorsFileIsCurrent(t *testing.T) {
	t.Parallel()
	want, err := vectors.Build()
	require.NoError(t, err)
	again, err := vectors.Build()
	require.NoError(t, err)
	require.Equal(t, want, again, "the generator is not reproducible")
	if *update {
		require.NoError(t, os.WriteFile(file, want, 0o644))
	}
	got, err := os.ReadFile(file)
	require.NoError(t, err)
	require.Equal(t, string(want), string(got), "vectors.json is stale: go run ./internal/cfs/cmd/vectors")
}

func TestVectorsCoverTheSpec(t *testing.T) {
	t.Parallel()
	f := load(t)
	require.GreaterOrEqual(t, len(f.Positive), 15)
	require.GreaterOrEqual(t, len(f.Negative), 12)
	types := map[string]bool{}
	names := map[string]bool{}
	for _, v := range f.Positive {
		var keys map[string]json.RawMessage
		raw, err := json.Marshal(v)
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(raw, &keys))
		require.Len(t, keys, 6, "exactly name, type, json, hex, sha256, multihash")
		require.True(t, bytes.HasPrefix(bytes.TrimSpace(v.JSON), []byte("{")), "%s: json is an object", v.Name)
		require.False(t, names[v.Name], "duplicate name %q", v.Name)
		names[v.Name] = true
		types[v.Type] = true
	}
	for _, typ := range []string{"Receipt", "Link", "Record", "QueryRequest", "QueryResponse", "ProposeRequest", "ProposeResponse",
		"ApplyRequest", "ApplyResponse", "SyncRequest", "SyncResponse", "SyncEntry", "Gate", "Policy", "View", "Tool", "SchemaEntry", "LinkType"} {
		require.True(t, types["cfs.v0."+typ], "no vector of %s", typ)
	}

	// The Link has a forever end and non-ASCII keys in byte order.
	var l cfspb.Link
	for _, v := range f.Positive {
		if v.Type == "cfs.v0.Link" {
			b, err := hex.DecodeString(v.Hex)
			require.NoError(t, err)
			require.NoError(t, cfs.DecodeCanonical(b, &l))
		}
	}
	require.True(t, cfs.IsForever(l.GetValid().GetTo()))
	for _, k := range []string{"ñ", "日本", "é", "e\u0301"} {
		require.Contains(t, l.GetProps(), k)
	}
	b, err := cfs.Canonical(&l)
	require.NoError(t, err)
	require.Less(t, bytes.Index(b, []byte("e\u0301")), bytes.Index(b, []byte("é")), "e+U+0301 (65 cc 81) sorts before é (c3 a9)")
	require.Less(t, bytes.Index(b, []byte("ñ")), bytes.Index(b, []byte("日本")))

	// Each SyncEntry arm, via the SyncResponse vector.
	arms := map[string]bool{}
	for _, v := range f.Positive {
		if v.Type == "cfs.v0.SyncEntry" || v.Type == "cfs.v0.SyncResponse" {
			m := newMessage(t, v.Type)
			raw, _ := hex.DecodeString(v.Hex)
			require.NoError(t, cfs.DecodeCanonical(raw, m))
			var entries []*cfspb.SyncEntry
			if e, ok := m.(*cfspb.SyncEntry); ok {
				entries = append(entries, e)
			} else {
				entries = m.(*cfspb.SyncResponse).GetEntries()
			}
			for _, e := range entries {
				arms[string(e.ProtoReflect().WhichOneof(e.ProtoReflect().Descriptor().Oneofs().ByName("entry")).Name())] = true
			}
		}
	}
	require.Equal(t, map[string]bool{"record": true, "link": true, "artifact_meta": true}, arms)
}

// Each positive vector: its JSON encodes to its hex, its hex decodes
// strictly and re-encodes to itself, and it validates.
func TestPositiveVectors(t *testing.T) {
	t.Parallel()
	for _, v := range load(t).Positive {
		t.Run(v.Name, func(t *testing.T) {
			t.Parallel()
			want, err := hex.DecodeString(v.Hex)
			require.NoError(t, err)

			fromJSON := newMessage(t, v.Type)
			require.NoError(t, cfs.UnmarshalJSON(v.JSON, fromJSON))
			got, err := cfs.Canonical(fromJSON)
			require.NoError(t, err)
			require.Equal(t, v.Hex, hex.EncodeToString(got))

			decoded := newMessage(t, v.Type)
			require.NoError(t, cfs.DecodeCanonical(want, decoded))
			again, err := cfs.Canonical(decoded)
			require.NoError(t, err)
			require.Equal(t, want, again)
			require.True(t, proto.Equal(fromJSON, decoded))
			require.NoError(t, cfs.Validate(decoded))

			// The integrity of sealed messages verifies, and the hex's
			// SHA-256 is the hash of the whole encoding.
			if fd := decoded.ProtoReflect().Descriptor().Fields().ByName(cfs.IntegrityField); fd != nil && len(decoded.ProtoReflect().Get(fd).Bytes()) > 0 {
				require.NoError(t, cfs.VerifyIntegrity(decoded))
			}
			digest, err := hex.DecodeString(v.SHA256)
			require.NoError(t, err)
			mh, err := cfs.MultihashHex(digest)
			require.NoError(t, err)
			require.Equal(t, v.Multihash, mh)
		})
	}
}

// sentinels maps the error names of the vectors file to the errors.
var sentinels = map[string]error{
	"ErrTruncated":        cfs.ErrTruncated,
	"ErrUnknownField":     cfs.ErrUnknownField,
	"ErrWrongWireType":    cfs.ErrWrongWireType,
	"ErrUnpackedRepeated": cfs.ErrUnpackedRepeated,
	"ErrFieldOrder":       cfs.ErrFieldOrder,
	"ErrDuplicateField":   cfs.ErrDuplicateField,
	"ErrOneofConflict":    cfs.ErrOneofConflict,
	"ErrNonMinimalVarint": cfs.ErrNonMinimalVarint,
	"ErrOutOfRange":       cfs.ErrOutOfRange,
	"ErrDefaultEncoded":   cfs.ErrDefaultEncoded,
	"ErrMapOrder":         cfs.ErrMapOrder,
	"ErrMapEntry":         cfs.ErrMapEntry,
	"ErrInvalidUTF8":      cfs.ErrInvalidUTF8,
	"ErrNaN":              cfs.ErrNaN,
	"ErrInvalidTimestamp": cfs.ErrInvalidTimestamp,
	"ErrInvalid":          cfs.ErrInvalid,
}

// Each negative vector is refused with the error it names: by
// DecodeCanonical, or for schema rules (ErrInvalid) by Validate after a
// successful strict decode.
func TestNegativeVectors(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, v := range load(t).Negative {
		t.Run(v.Name, func(t *testing.T) {
			t.Parallel()
			want, ok := sentinels[v.Error]
			require.True(t, ok, "unknown error name %q", v.Error)
			b, err := hex.DecodeString(v.Hex)
			require.NoError(t, err)
			m := newMessage(t, v.Type)
			err = cfs.DecodeCanonical(b, m)
			if v.Error == "ErrInvalid" {
				require.NoError(t, err, "schema vectors are canonical bytes")
				err = cfs.Validate(m)
			}
			require.ErrorIs(t, err, want)
			// protobuf-go's lenient decoder accepts most of them: strictness
			// is this decoder's.
			_ = proto.Unmarshal(b, newMessage(t, v.Type))
		})
		seen[v.Error] = true
	}
	require.GreaterOrEqual(t, len(seen), 12, "negative vectors cover at least 12 distinct errors")
}

// fuzzTypes are the message types the fuzzer decodes into, picked by the
// first input byte.
var fuzzTypes = []string{"cfs.v0.Link", "cfs.v0.Record", "cfs.v0.Receipt", "cfs.v0.QueryRequest",
	"cfs.v0.SyncEntry", "cfs.v0.Policy", "cfs.v0.Gate", "cfs.v0.View", "cfs.v0.ProposeRequest", "cfs.v0.SyncResponse"}

// FuzzCanonicalRoundTrip: for any bytes protobuf-go's lenient decoder
// accepts into a CFS type, canonical(decode(canonical(x))) == canonical(x)
// and the strict decoder accepts canonical(x); for any bytes the strict
// decoder accepts, they are their own canonical encoding.
func FuzzCanonicalRoundTrip(f *testing.F) {
	index := map[string]byte{}
	for i, name := range fuzzTypes {
		index[name] = byte(i)
	}
	for _, v := range load(f).Positive {
		b, _ := hex.DecodeString(v.Hex)
		if i, ok := index[v.Type]; ok {
			f.Add(append([]byte{i}, b...))
		}
	}
	for _, v := range load(f).Negative {
		b, _ := hex.DecodeString(v.Hex)
		if i, ok := index[v.Type]; ok {
			f.Add(append([]byte{i}, b...))
		}
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) == 0 {
			return
		}
		name := fuzzTypes[int(in[0])%len(fuzzTypes)]
		data := in[1:]

		strict := newMessage(t, name)
		if err := cfs.DecodeCanonical(data, strict); err == nil {
			c, err := cfs.Canonical(strict)
			require.NoError(t, err)
			require.Equal(t, data, c, "accepted bytes that are not canonical")
		} else {
			var de *cfs.DecodeError
			require.ErrorAs(t, err, &de)
		}

		x := newMessage(t, name)
		if proto.Unmarshal(data, x) != nil {
			return
		}
		c1, err := cfs.Canonical(x)
		if err != nil {
			// NaN, an out-of-range timestamp or a too deep message: no
			// canonical form.
			require.True(t, strings.Contains(err.Error(), "NaN") || strings.Contains(err.Error(), "timestamp") ||
				strings.Contains(err.Error(), "deeply") || strings.Contains(err.Error(), "UTF-8"), "%v", err)
			return
		}
		y := newMessage(t, name)
		require.NoError(t, cfs.DecodeCanonical(c1, y), "canonical bytes refused: %x", c1)
		c2, err := cfs.Canonical(y)
		require.NoError(t, err)
		require.Equal(t, c1, c2)
	})
}
