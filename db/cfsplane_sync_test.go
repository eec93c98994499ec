package db_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/db/dbtest"
	"github.com/contextualflux/cfa/internal/cfs"
	"github.com/contextualflux/cfa/internal/cfs/cfspb"
)

// seedPlane writes a small history: records created and corrected, a
// link put and retracted.
func seedPlane(t *testing.T, d *dbtest.Database, s *db.Store) {
	t.Helper()
	applyPlane(t, s, d.Pool, "c1", putRecord("dataset:a", "committed"), putRecord("dataset:b", "committed"),
		putLink("l1", "reads", "execution:i1", "dataset:a"))
	applyPlane(t, s, d.Pool, "c2", putRecord("dataset:a", "partially_committed"), putLink("l2", "writes", "execution:i1", "dataset:b"))
	applyPlane(t, s, d.Pool, "c3", &cfspb.Mutation{Change: &cfspb.Mutation_RetractLinkId{RetractLinkId: "l1"}}, putRecord("dataset:c", "stale"))
	applyPlane(t, s, d.Pool, "c4", putRecord("dataset:a", "committed"))
}

// exportAll exports the whole plane, batch entries at a time, and returns
// the canonical bytes of every entry.
func exportAll(t *testing.T, s *db.Store, batch int32) [][]byte {
	t.Helper()
	var out [][]byte
	cursor := ""
	for {
		resp, err := s.ExportPlane(context.Background(), &cfspb.SyncRequest{Cursor: cursor, BatchSize: batch})
		require.NoError(t, err)
		for _, e := range resp.Entries {
			b, err := cfs.Canonical(e)
			require.NoError(t, err)
			out = append(out, b)
		}
		cursor = resp.NextCursor
		if !resp.HasMore {
			return out
		}
	}
}

// syncPlane copies from into to, batch entries per transaction, starting
// at to's stored cursor; stopAfter > 0 stops after that many batches.
func syncPlane(t *testing.T, from, to *db.Store, batch int32, stopAfter int) {
	t.Helper()
	ctx := context.Background()
	src, err := from.PlaneID(ctx)
	require.NoError(t, err)
	for n := 0; stopAfter == 0 || n < stopAfter; n++ {
		cursor, err := to.SyncCursor(ctx, src)
		require.NoError(t, err)
		resp, err := from.ExportPlane(ctx, &cfspb.SyncRequest{SourcePlane: src, Cursor: cursor, BatchSize: batch})
		require.NoError(t, err)
		require.NoError(t, to.ImportPlane(ctx, src, resp.Entries, resp.NextCursor))
		if !resp.HasMore {
			return
		}
	}
}

// TestPlaneSyncRoundTrip: MUST-007. Export plane A, import into an empty
// plane B, export B: the same bytes; an interrupted sync resumed from its
// stored cursor reaches the same state; AS-OF answers agree.
func TestPlaneSyncRoundTrip(t *testing.T) {
	t.Parallel()
	a, b, c := dbtest.New(t, "db"), dbtest.New(t, "db"), dbtest.New(t, "db")
	sa, sb, sc := db.New(a.Pool), db.New(b.Worker), db.New(c.Worker) // imports run as the worker
	seedPlane(t, a, sa)
	want := exportAll(t, sa, 3)
	require.Len(t, want, 8)

	syncPlane(t, sa, sb, 4, 0)
	require.Equal(t, want, exportAll(t, sb, 2), "export of B is byte-identical to A's")

	syncPlane(t, sa, sc, 2, 1) // interrupted after one batch
	require.Len(t, exportAll(t, sc, 100), 2)
	syncPlane(t, sa, sc, 2, 0) // resumed from the stored cursor
	require.Equal(t, want, exportAll(t, sc, 100))
	syncPlane(t, sa, sc, 2, 0) // nothing more
	require.Equal(t, want, exportAll(t, sc, 100))

	// The same history: every AS-OF answer agrees, derived versions included.
	ctx := context.Background()
	for _, asOf := range []*cfspb.QueryRequest{{}, {AsOfSystem: cfs.Forever(), AsOfValid: cfs.Forever()}} {
		ra, err := sa.QueryPlane(ctx, asOf)
		require.NoError(t, err)
		rb, err := sb.QueryPlane(ctx, asOf)
		require.NoError(t, err)
		require.Equal(t, canonical(t, ra), canonical(t, rb))
	}
}

// TestPlaneSyncRefusesTampering: an entry whose integrity does not verify
// refuses the whole batch, naming the entry; nothing is written.
func TestPlaneSyncRefusesTampering(t *testing.T) {
	t.Parallel()
	a, b := dbtest.New(t, "db"), dbtest.New(t, "db")
	sa, sb := db.New(a.Pool), db.New(b.Pool)
	seedPlane(t, a, sa)
	ctx := context.Background()
	src, err := sa.PlaneID(ctx)
	require.NoError(t, err)
	resp, err := sa.ExportPlane(ctx, &cfspb.SyncRequest{})
	require.NoError(t, err)
	resp.Entries[3].GetRecord().Props["state"] = structpb.NewStringValue("committed-by-nobody")
	err = sb.ImportPlane(ctx, src, resp.Entries, resp.NextCursor)
	require.ErrorIs(t, err, db.ErrSyncRefused)
	require.ErrorIs(t, err, cfs.ErrIntegrityMismatch)
	require.Contains(t, err.Error(), "entry 3 (record dataset:a)")
	require.Empty(t, exportAll(t, sb, 100))
	cursor, err := sb.SyncCursor(ctx, src)
	require.NoError(t, err)
	require.Empty(t, cursor)
}

func canonical(t *testing.T, m *cfspb.QueryResponse) []byte {
	t.Helper()
	b, err := cfs.Canonical(m)
	require.NoError(t, err)
	return b
}

// TestPlaneQueryRepeatable: MUST-003. A query with an explicit
// as_of_system answers with the same bytes after later writes; pages
// follow the cursor; CEL, labels and the field mask select.
func TestPlaneQueryRepeatable(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t, "db")
	s := db.New(d.Pool)
	ctx := context.Background()
	_, t1 := applyPlane(t, s, d.Pool, "c1", putRecord("dataset:a", "committed"), putRecord("dataset:b", "stale"),
		putLink("l1", "reads", "execution:i1", "dataset:a"))
	at := cfs.Timestamp(t1)
	req := &cfspb.QueryRequest{AsOfSystem: at}
	first, err := s.QueryPlane(ctx, req)
	require.NoError(t, err)
	require.Len(t, first.Records, 2)
	require.Len(t, first.Links, 1)
	applyPlane(t, s, d.Pool, "c2", putRecord("dataset:a", "quarantined"), putRecord("dataset:z", "committed"),
		&cfspb.Mutation{Change: &cfspb.Mutation_RetractLinkId{RetractLinkId: "l1"}})
	again, err := s.QueryPlane(ctx, req)
	require.NoError(t, err)
	require.True(t, bytes.Equal(canonical(t, first), canonical(t, again)), "same bytes after later writes")

	now, err := s.QueryPlane(ctx, &cfspb.QueryRequest{})
	require.NoError(t, err)
	require.Len(t, now.Records, 3)
	require.Empty(t, now.Links, "l1 is retracted: not valid now")

	for _, tc := range []struct {
		name  string
		query *cfspb.Query
		want  []string
	}{
		{"cel on props", &cfspb.Query{Language: "cel", Expression: `record.props.state == "committed"`}, []string{"dataset:z"}},
		{"cel on links", &cfspb.Query{Language: "cel", Expression: `link.type == "reads"`}, nil},
		{"labels", &cfspb.Query{Language: "labels", Expression: "dataset"}, []string{"dataset:a", "dataset:b", "dataset:z"}},
		{"no query", nil, []string{"dataset:a", "dataset:b", "dataset:z"}},
	} {
		resp, err := s.QueryPlane(ctx, &cfspb.QueryRequest{Query: tc.query})
		require.NoError(t, err, tc.name)
		var ids []string
		for _, r := range resp.Records {
			ids = append(ids, r.RecordId)
		}
		require.Equal(t, tc.want, ids, tc.name)
	}
	_, err = s.QueryPlane(ctx, &cfspb.QueryRequest{Query: &cfspb.Query{Language: "cel", Expression: `record.props.state ==`}})
	require.ErrorIs(t, err, db.ErrInvalidQuery)
	_, err = s.QueryPlane(ctx, &cfspb.QueryRequest{Query: &cfspb.Query{Language: "sql", Expression: `select 1`}})
	require.ErrorIs(t, err, db.ErrInvalidQuery)

	// Pages of one, at the first page's times, then no cursor.
	var ids []string
	page := &cfspb.QueryRequest{Limit: 1, AsOfSystem: at}
	for {
		resp, err := s.QueryPlane(ctx, page)
		require.NoError(t, err)
		for _, r := range resp.Records {
			ids = append(ids, r.RecordId)
		}
		for _, l := range resp.Links {
			ids = append(ids, l.LinkId)
		}
		if resp.NextCursor == "" {
			break
		}
		page.Cursor = resp.NextCursor
	}
	require.Equal(t, []string{"dataset:a", "dataset:b", "l1"}, ids)

	masked, err := s.QueryPlane(ctx, &cfspb.QueryRequest{Fields: &fieldmaskpb.FieldMask{Paths: []string{"labels"}}})
	require.NoError(t, err)
	for _, r := range masked.Records {
		require.Empty(t, r.Props, "props are masked")
		require.Empty(t, r.Integrity, "a masked record carries no integrity")
		require.Equal(t, []string{"dataset"}, r.Labels)
	}
}
