package cfs_test

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/contextualflux/cfa/internal/cfs"
	"github.com/contextualflux/cfa/internal/cfs/cfspb"
)

func sealedReceipt(t *testing.T) *cfspb.Receipt {
	t.Helper()
	r := receipt()
	require.NoError(t, cfs.SetIntegrity(r))
	return r
}

func TestValidateAcceptsWellFormedMessages(t *testing.T) {
	t.Parallel()
	mh := append([]byte{0x12, 0x20}, bytes.Repeat([]byte{7}, 32)...)
	for _, m := range []proto.Message{
		sealedReceipt(t), receipt(), record(t), link(),
		&cfspb.Gate{GateId: "g", Evidence: []*cfspb.Evidence{{RequirementId: "r", ReceiptId: "x/1"}}},
		&cfspb.Policy{PolicyId: "p", Effect: cfspb.Effect_DENY, Valid: cfs.OpenInterval(t0)},
		&cfspb.View{ViewId: "v"}, &cfspb.Tool{ToolId: "t"},
		&cfspb.QueryRequest{Limit: 10}, &cfspb.SyncRequest{},
		&cfspb.ApplyRequest{ProposalId: "p1"},
		&cfspb.Artifact{ArtifactId: "a", Multihash: mh, Size: 3},
		&cfspb.Change{BeforeIntegrity: bytes.Repeat([]byte{1}, 32)},
	} {
		require.NoError(t, cfs.Validate(m), "%T", m)
	}
}

func TestValidateRefuses(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		msg   proto.Message
		field string
	}{
		{"record without id", &cfspb.Record{}, "record_id"},
		{"link without source", func() proto.Message { l := link(); l.Source = ""; return l }(), "source"},
		{"link without target", func() proto.Message { l := link(); l.Target = ""; return l }(), "target"},
		{"link without id", func() proto.Message { l := link(); l.LinkId = ""; return l }(), "link_id"},
		{"interval to before from", func() proto.Message {
			l := link()
			l.Valid = cfs.ClosedInterval(t0, t0.Add(-time.Second))
			return l
		}(), "valid"},
		{"empty interval", &cfspb.Policy{PolicyId: "p", Valid: cfs.ClosedInterval(t0, t0)}, "valid"},
		{"integrity of 31 bytes", func() proto.Message { r := sealedReceipt(t); r.Integrity = r.Integrity[:31]; return r }(), "integrity"},
		{"prev_hash missing", func() proto.Message { r := receipt(); r.PrevHash = nil; return r }(), "prev_hash"},
		{"receipt without actor id", func() proto.Message { r := receipt(); r.Actor.Id = ""; return r }(), "actor"},
		{"receipt without actor", func() proto.Message { r := receipt(); r.Actor = nil; return r }(), "actor"},
		{"receipt without id", func() proto.Message { r := receipt(); r.ReceiptId = ""; return r }(), "receipt_id"},
		{"undefined action", func() proto.Message { r := receipt(); r.Action = 9; return r }(), "action"},
		{"undefined principal type", func() proto.Message { r := receipt(); r.Actor.Type = 9; return r }(), "actor.type"},
		{"undefined matcher type", &cfspb.PrincipalMatcher{Types: []cfspb.PrincipalType{1, 7}}, "types[1]"},
		{"gate without id", &cfspb.Gate{}, "gate_id"},
		{"evidence without receipt", &cfspb.Gate{GateId: "g", Evidence: []*cfspb.Evidence{{RequirementId: "r"}}}, "evidence[0].receipt_id"},
		{"undefined gate status", &cfspb.Gate{GateId: "g", Status: 5}, "status"},
		{"policy without id", &cfspb.Policy{}, "policy_id"},
		{"view without id", &cfspb.View{}, "view_id"},
		{"tool without id", &cfspb.Tool{}, "tool_id"},
		{"apply without proposal", &cfspb.ApplyRequest{Approver: "ana"}, "proposal_id"},
		{"negative limit", &cfspb.QueryRequest{Limit: -1}, "limit"},
		{"negative batch size", &cfspb.SyncRequest{BatchSize: -5}, "batch_size"},
		{"multihash of another function", &cfspb.Artifact{ArtifactId: "a", Multihash: append([]byte{0x13, 0x20}, make([]byte, 32)...)}, "multihash"},
		{"multihash too short", &cfspb.Artifact{ArtifactId: "a", Multihash: []byte{0x12, 0x20, 1}}, "multihash"},
		{"timestamp out of range", &cfspb.View{ViewId: "v", ExpiresAt: &timestamppb.Timestamp{Seconds: 1 << 40}}, "expires_at"},
		{"nested: a query response's link", &cfspb.QueryResponse{Links: []*cfspb.Link{{LinkId: "l", Source: "a"}}}, "links[0].target"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := cfs.Validate(tc.msg)
			require.ErrorIs(t, err, cfs.ErrInvalid)
			var ve *cfs.ValidationError
			require.True(t, errors.As(err, &ve))
			var fields []string
			for _, v := range ve.Violations {
				fields = append(fields, v.Field)
			}
			require.Contains(t, fields, tc.field, "%v", err)
		})
	}
}
