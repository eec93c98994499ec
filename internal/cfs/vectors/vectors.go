// Package vectors builds testdata/cfs/vectors.json, the CFS canonical
// encoding test vectors: positive ones (a message as protojson, its
// canonical bytes, their SHA-256 and multihash) and negative ones (bytes
// DecodeCanonical or Validate must refuse, with the error they must give).
// Regenerate with `go run ./internal/cfs/cmd/vectors`; the output is the
// same byte for byte on every run, and a test holds the committed file to
// it.
package vectors

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/contextualflux/cfa/internal/cfs"
	"github.com/contextualflux/cfa/internal/cfs/cfspb"
)

// Path is where the vectors live, from the repository root.
const Path = "testdata/cfs/vectors.json"

// File is the vectors file.
type File struct {
	Positive []Positive `json:"positive"`
	Negative []Negative `json:"negative"`
}

// Positive is a message and its canonical encoding.
type Positive struct {
	Name      string          `json:"name"`
	Type      string          `json:"type"`
	JSON      json.RawMessage `json:"json"`
	Hex       string          `json:"hex"`
	SHA256    string          `json:"sha256"`
	Multihash string          `json:"multihash"`
}

// Negative is bytes a conforming decoder refuses, and the error (the name
// of a cfs.Err* sentinel) it refuses them with.
type Negative struct {
	Name  string `json:"name"`
	Type  string `json:"type"`
	Hex   string `json:"hex"`
	Error string `json:"error"`
}

var (
	t0 = time.Date(2026, 1, 15, 10, 30, 0, 123456789, time.UTC)
	t1 = time.Date(2026, 1, 16, 8, 0, 0, 0, time.UTC)
)

func ts(t time.Time) *timestamppb.Timestamp { return cfs.Timestamp(t) }

func hash32(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

func mustStruct(m map[string]any) *structpb.Struct {
	s, err := structpb.NewStruct(m)
	if err != nil {
		panic(err)
	}
	return s
}

func sealed[M proto.Message](m M) M {
	if err := cfs.SetIntegrity(m); err != nil {
		panic(err)
	}
	return m
}

func receipt() *cfspb.Receipt {
	return sealed(&cfspb.Receipt{
		ReceiptId: "intent-7f3a/4",
		Actor:     &cfspb.Principal{Id: "cfa-worker", Type: cfspb.PrincipalType_SERVICE, AuthContext: "mtls:spiffe://cfa/worker"},
		Action:    cfspb.Action_INVOKE,
		Targets:   []string{"intent-7f3a", "warehouse.orders"},
		Timestamp: ts(t0),
		Context: map[string]string{
			"intent_id": "intent-7f3a", "seq": "4", "stage": "planner", "position": "128",
			"details": `{"rows":42}`, "correlation_id": "",
		},
		PrevHash: hash32(0xab),
	})
}

func record() *cfspb.Record {
	return sealed(&cfspb.Record{
		RecordId: "0194f1c2-7b1e-7000-8000-000000000001",
		TenantId: "acme",
		Labels:   []string{"Dataset", "Finance"},
		Props: mustStruct(map[string]any{
			"name":    "orders",
			"rows":    42,
			"ratio":   -0.25,
			"pii":     false,
			"owner":   nil,
			"columns": []any{"id", "amount", map[string]any{"nested": true}},
		}).Fields,
		CreatedAt: ts(t0),
	})
}

func link() *cfspb.Link {
	return sealed(&cfspb.Link{
		LinkId: "link-0001",
		Type:   "derived_from",
		Source: "record-a",
		Target: "record-b",
		// Keys sort by their UTF-8 bytes: "Z" (5a) < "e" (65) < "e\u0301"
		// (65 cc 81) < "z" (7a) < "é" (c3 a9) < "ñ" (c3 b1) < "日本" (e6 97 a5 ...).
		Props: map[string]*structpb.Value{
			"ñ":       structpb.NewStringValue("eñe"),
			"日本":      structpb.NewNumberValue(2),
			"é":       structpb.NewStringValue("precomposed"),
			"e\u0301": structpb.NewStringValue("combining acute"),
			"e":       structpb.NewBoolValue(true),
			"z":       structpb.NewNullValue(),
			"Z":       structpb.NewNumberValue(0),
		},
		Valid:       cfs.OpenInterval(t0),
		System:      cfs.ClosedInterval(t0, t1),
		AssertionId: "assertion-9",
	})
}

func artifact() *cfspb.Artifact {
	sum := sha256.Sum256([]byte("policy bundle v4.2"))
	return &cfspb.Artifact{
		ArtifactId:  "bundle-v4.2",
		MediaType:   "application/vnd.cfa.policy-bundle+tar",
		Multihash:   append([]byte{0x12, 0x20}, sum[:]...),
		Size:        18,
		Annotations: map[string]string{"version": "v4.2", "author": "ana"},
		CreatedAt:   ts(t1),
	}
}

func positives() []struct {
	name string
	msg  proto.Message
} {
	query := &cfspb.Query{Language: "cel", Expression: `"Dataset" in record.labels`}
	return []struct {
		name string
		msg  proto.Message
	}{
		{"receipt", receipt()},
		{"receipt with defaults: action READ, no auth context, empty context value", sealed(&cfspb.Receipt{
			ReceiptId: "r-read",
			Actor:     &cfspb.Principal{Id: "ana", Type: cfspb.PrincipalType_HUMAN},
			Action:    cfspb.Action_READ,
			Targets:   []string{"registry"},
			Timestamp: ts(t1),
			Context:   map[string]string{"": "", "session": ""},
			PrevHash:  make([]byte, 32),
		})},
		{"link with a forever interval and non-ASCII map keys", link()},
		{"record", record()},
		{"record with defaults: only an id", sealed(&cfspb.Record{RecordId: "r0"})},
		{"query request with now and a field mask", &cfspb.QueryRequest{
			Query:      query,
			AsOfValid:  cfs.NowSentinel(),
			AsOfSystem: ts(t0),
			Limit:      100,
			Cursor:     "c:41",
			Fields:     &fieldmaskpb.FieldMask{Paths: []string{"record_id", "props.name"}},
		}},
		{"query response", &cfspb.QueryResponse{
			Records: []*cfspb.Record{record()}, Links: []*cfspb.Link{link()}, NextCursor: "c:42", Receipt: receipt(),
		}},
		{"propose request", &cfspb.ProposeRequest{
			Mutations: []*cfspb.Mutation{
				{Change: &cfspb.Mutation_PutRecord{PutRecord: &cfspb.Record{RecordId: "r9", Labels: []string{"Note"}}}},
				{Change: &cfspb.Mutation_PutLink{PutLink: &cfspb.Link{LinkId: "l9", Type: "about", Source: "r9", Target: "record-a"}}},
				{Change: &cfspb.Mutation_RetractLinkId{RetractLinkId: "link-0001"}},
			},
			Intent:    "correct the owner of orders",
			Citations: []string{"ticket:OPS-17"},
		}},
		{"propose response", &cfspb.ProposeResponse{
			ProposalId: "prop-1",
			Diff: &cfspb.Diff{Changes: []*cfspb.Change{
				{Target: "r9", Kind: "record", Op: "create", AfterIntegrity: hash32(0x01), ChangedFields: []string{"labels"}},
				{Target: "link-0001", Kind: "link", Op: "retract", BeforeIntegrity: hash32(0x02)},
			}},
			Affected: []string{"r9", "record-a", "record-b"},
		}},
		{"apply request", &cfspb.ApplyRequest{ProposalId: "prop-1", Approver: "ana", ApprovalRef: "review/prop-1/1"}},
		{"apply response", &cfspb.ApplyResponse{Success: true, Receipts: []*cfspb.Receipt{receipt()}, CommitId: "commit-77"}},
		{"sync request", &cfspb.SyncRequest{
			SourcePlane: "plane-a", Cursor: "commit-76",
			Filter:    &cfspb.SyncFilter{TenantId: "acme", Labels: []string{"Dataset"}, LinkTypes: []string{"derived_from"}, IncludeArtifacts: true},
			BatchSize: 500,
		}},
		{"sync response with each entry arm", &cfspb.SyncResponse{
			Entries: []*cfspb.SyncEntry{
				{Entry: &cfspb.SyncEntry_Record{Record: record()}, CommitId: "commit-77", CommitTime: ts(t1)},
				{Entry: &cfspb.SyncEntry_Link{Link: link()}, CommitId: "commit-77", CommitTime: ts(t1)},
				{Entry: &cfspb.SyncEntry_ArtifactMeta{ArtifactMeta: artifact()}, CommitId: "commit-78", CommitTime: ts(t1)},
			},
			NextCursor: "commit-78", HasMore: true,
		}},
		{"sync entry: record", &cfspb.SyncEntry{Entry: &cfspb.SyncEntry_Record{Record: record()}, CommitId: "commit-77", CommitTime: ts(t1)}},
		{"sync entry: link", &cfspb.SyncEntry{Entry: &cfspb.SyncEntry_Link{Link: link()}, CommitId: "commit-77", CommitTime: ts(t1)}},
		{"sync entry: artifact", &cfspb.SyncEntry{Entry: &cfspb.SyncEntry_ArtifactMeta{ArtifactMeta: artifact()}, CommitId: "commit-78"}},
		{"mutation: a oneof member at its zero value is written", &cfspb.Mutation{Change: &cfspb.Mutation_RetractLinkId{}}},
		{"gate", &cfspb.Gate{
			GateId: "promotion:orders",
			Requirements: []*cfspb.Requirement{
				{Id: "tests", Description: "quality checks passed", Check: query, Satisfied: true},
				{Id: "owner", Description: "owner approved"},
			},
			Unlocks:   []string{"publish:gold.orders"},
			Status:    cfspb.GateStatus_PENDING,
			Evidence:  []*cfspb.Evidence{{RequirementId: "tests", ReceiptId: "intent-7f3a/4", VerifiedAt: ts(t0)}},
			ExpiresAt: ts(t1),
		}},
		{"policy", &cfspb.Policy{
			PolicyId:  "deny-pii-after-hours",
			Effect:    cfspb.Effect_DENY,
			Principal: &cfspb.PrincipalMatcher{Ids: []string{"ana"}, Types: []cfspb.PrincipalType{cfspb.PrincipalType_AGENT, cfspb.PrincipalType_HUMAN}},
			Resource:  &cfspb.ResourceMatcher{Patterns: []string{"gold.*"}, Labels: []string{"PII"}},
			Conditions: []*cfspb.Condition{{Attribute: "time.hour", Operator: "between",
				Operands: []*structpb.Value{structpb.NewNumberValue(18), structpb.NewNumberValue(8)}}},
			Priority: -10,
			Valid:    cfs.OpenInterval(t0),
		}},
		{"view with a field mask", &cfspb.View{
			ViewId:      "finance-view",
			BaseQuery:   query,
			FieldMask:   &fieldmaskpb.FieldMask{Paths: []string{"props.name", "props.rows", "labels"}},
			PolicyRefs:  []string{"deny-pii-after-hours"},
			RefreshMode: cfspb.RefreshMode_SNAPSHOT,
			ExpiresAt:   ts(t1),
		}},
		{"tool", &cfspb.Tool{
			ToolId: "tool:run-sql", Name: "run_sql", Description: "Runs a validated SQL script",
			InputSchema:         &cfspb.Schema{JsonSchema: mustStruct(map[string]any{"type": "object", "required": []any{"sql"}})},
			RequiredPermissions: []string{"warehouse:write"},
			SideEffects:         []*cfspb.SideEffect{{Type: "update", ResourcePattern: "silver.*"}},
			AuditLevel:          cfspb.AuditLevel_FULL,
		}},
		{"schema entry superseding a version", &cfspb.SchemaEntry{
			Namespace: "com.glitchy", Name: "IncidentReport", Version: "1.1.0",
			Schema:     &cfspb.Schema{JsonSchema: mustStruct(map[string]any{"type": "object"})},
			Supersedes: &cfspb.SchemaEntry{Namespace: "com.glitchy", Name: "IncidentReport", Version: "1.0.0"},
		}},
		{"link type", &cfspb.LinkType{Namespace: "com.glitchy", Predicate: "escalated_to", SourceLabel: "Incident", TargetLabel: "Team", Cardinality: cfspb.Cardinality_MANY_TO_ONE}},
		{"query request with every field at its default is empty", &cfspb.QueryRequest{}},
	}
}

// tag is a field key; lenField a length-delimited field.
func tag(num protowire.Number, typ protowire.Type) []byte { return protowire.AppendTag(nil, num, typ) }

func lenField(num protowire.Number, payload ...[]byte) []byte {
	b := tag(num, protowire.BytesType)
	p := bytes.Join(payload, nil)
	b = protowire.AppendVarint(b, uint64(len(p)))
	return append(b, p...)
}

func varintField(num protowire.Number, v uint64) []byte {
	return protowire.AppendVarint(tag(num, protowire.VarintType), v)
}

func str(num protowire.Number, s string) []byte { return lenField(num, []byte(s)) }

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func negatives() []Negative {
	ctxEntry := func(k, v string) []byte { return lenField(6, str(1, k), str(2, v)) }
	prev := lenField(7, hash32(0))
	nan := math.Float64bits(math.NaN())
	neg := []struct {
		name, typ string
		b         []byte
		err       string
	}{
		{"unknown field 15", "cfs.v0.Receipt", cat(str(1, "r"), varintField(15, 1)), "ErrUnknownField"},
		{"fields out of order: action before receipt_id", "cfs.v0.Receipt", cat(varintField(3, 2), str(1, "r")), "ErrFieldOrder"},
		{"oneof written last, as protobuf-go orders it", "cfs.v0.SyncEntry", cat(str(4, "c"), lenField(1, str(1, "r"))), "ErrFieldOrder"},
		{"duplicate singular field", "cfs.v0.Receipt", cat(str(1, "a"), str(1, "b")), "ErrDuplicateField"},
		{"two members of a oneof", "cfs.v0.SyncEntry", cat(lenField(1, str(1, "r")), lenField(2, str(1, "l"))), "ErrOneofConflict"},
		{"non-minimal varint value: action 2 in two bytes", "cfs.v0.Receipt", cat(str(1, "r"), tag(3, protowire.VarintType), []byte{0x82, 0x00}), "ErrNonMinimalVarint"},
		{"non-minimal length prefix", "cfs.v0.Receipt", cat(tag(1, protowire.BytesType), []byte{0x81, 0x00, 'r'}), "ErrNonMinimalVarint"},
		{"non-minimal tag", "cfs.v0.Receipt", []byte{0x8a, 0x00, 0x01, 'r'}, "ErrNonMinimalVarint"},
		{"int32 not sign-extended: limit -1 in five bytes", "cfs.v0.QueryRequest", cat(tag(4, protowire.VarintType), []byte{0xff, 0xff, 0xff, 0xff, 0x0f}), "ErrOutOfRange"},
		{"bool written as 2", "cfs.v0.ApplyResponse", varintField(1, 2), "ErrOutOfRange"},
		{"timestamp after 9999-12-31", "cfs.v0.Receipt", cat(str(1, "r"), lenField(5, varintField(1, 253402300800))), "ErrInvalidTimestamp"},
		{"timestamp nanos of 1e9", "cfs.v0.Receipt", cat(str(1, "r"), lenField(5, varintField(1, 1), varintField(2, 1e9))), "ErrInvalidTimestamp"},
		{"timestamp negative nanos", "cfs.v0.Receipt", cat(str(1, "r"), lenField(5, varintField(1, 1), varintField(2, uint64(math.MaxUint64)))), "ErrInvalidTimestamp"},
		{"forever with nanos", "cfs.v0.Link", lenField(6, lenField(2, varintField(1, math.MaxInt64), varintField(2, 1))), "ErrInvalidTimestamp"},
		{"NaN number value", "cfs.v0.Record", lenField(4, str(1, "x"), lenField(2, protowire.AppendFixed64(tag(2, protowire.Fixed64Type), nan))), "ErrNaN"},
		{"invalid UTF-8 in a string", "cfs.v0.Receipt", lenField(1, []byte{0xff, 'r'}), "ErrInvalidUTF8"},
		{"invalid UTF-8 in a map key", "cfs.v0.Receipt", cat(str(1, "r"), ctxEntry("\xc3(", "v")), "ErrInvalidUTF8"},
		{"default written: action READ (0)", "cfs.v0.Receipt", cat(str(1, "r"), varintField(3, 0)), "ErrDefaultEncoded"},
		{"default written: empty string", "cfs.v0.Receipt", str(1, ""), "ErrDefaultEncoded"},
		{"default written: empty packed list", "cfs.v0.PrincipalMatcher", lenField(2), "ErrDefaultEncoded"},
		{"map keys out of order", "cfs.v0.Receipt", cat(str(1, "r"), ctxEntry("seq", "1"), ctxEntry("intent_id", "i")), "ErrMapOrder"},
		{"map keys out of byte order: é (c3 a9) before e\u0301 (65 cc 81)", "cfs.v0.Receipt", cat(ctxEntry("é", "1"), ctxEntry("e\u0301", "2")), "ErrMapOrder"},
		{"duplicate map key", "cfs.v0.Receipt", cat(ctxEntry("k", "1"), ctxEntry("k", "2")), "ErrMapOrder"},
		{"map entry without its value", "cfs.v0.Receipt", lenField(6, str(1, "k")), "ErrMapEntry"},
		{"map entry value before key", "cfs.v0.Receipt", lenField(6, str(2, "v"), str(1, "k")), "ErrMapEntry"},
		{"truncated string", "cfs.v0.Receipt", []byte{0x0a, 0x05, 'a', 'b'}, "ErrTruncated"},
		{"truncated varint", "cfs.v0.Receipt", []byte{0x18, 0x80}, "ErrTruncated"},
		{"wrong wire type: receipt_id as varint", "cfs.v0.Receipt", varintField(1, 1), "ErrWrongWireType"},
		{"repeated enum not packed", "cfs.v0.PrincipalMatcher", cat(varintField(2, 1), varintField(2, 2)), "ErrUnpackedRepeated"},
		{"schema: prev_hash of 31 bytes", "cfs.v0.Receipt", cat(str(1, "r"), lenField(2, str(1, "ana")), lenField(7, hash32(0)[:31])), "ErrInvalid"},
		{"schema: link without target", "cfs.v0.Link", cat(str(1, "l"), str(3, "a")), "ErrInvalid"},
		{"schema: interval from after to", "cfs.v0.Policy", cat(str(1, "p"), lenField(7, lenField(1, varintField(1, 20)), lenField(2, varintField(1, 10)))), "ErrInvalid"},
		{"schema: receipt actor without id", "cfs.v0.Receipt", cat(str(1, "r"), lenField(2, varintField(2, 1)), prev), "ErrInvalid"},
	}
	out := make([]Negative, len(neg))
	for i, n := range neg {
		out[i] = Negative{Name: n.name, Type: n.typ, Hex: hex.EncodeToString(n.b), Error: n.err}
	}
	return out
}

// Build returns the vectors file's bytes.
func Build() ([]byte, error) {
	var f File
	for _, p := range positives() {
		b, err := cfs.Canonical(p.msg)
		if err != nil {
			return nil, fmt.Errorf("vectors: %s: %w", p.name, err)
		}
		if err := cfs.Validate(p.msg); err != nil {
			return nil, fmt.Errorf("vectors: %s: %w", p.name, err)
		}
		j, err := cfs.MarshalJSON(p.msg)
		if err != nil {
			return nil, fmt.Errorf("vectors: %s: %w", p.name, err)
		}
		sum := sha256.Sum256(b)
		mh, err := cfs.MultihashHex(sum[:])
		if err != nil {
			return nil, err
		}
		f.Positive = append(f.Positive, Positive{
			Name: p.name, Type: string(p.msg.ProtoReflect().Descriptor().FullName()),
			JSON: j, Hex: hex.EncodeToString(b), SHA256: hex.EncodeToString(sum[:]), Multihash: mh,
		})
	}
	f.Negative = negatives()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(f); err != nil {
		return nil, fmt.Errorf("vectors: encode: %w", err)
	}
	return buf.Bytes(), nil
}
