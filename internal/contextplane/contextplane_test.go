package contextplane_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/contextualflux/cfa/internal/cfs/cfspb"
	"github.com/contextualflux/cfa/internal/contextplane"
	"github.com/contextualflux/cfa/internal/planner"
	"github.com/contextualflux/cfa/internal/registry"
)

func TestProjectionMutations(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 3, 22, 14, 30, 0, 0, time.UTC)
	cases := []struct {
		name    string
		env     registry.EnvironmentState
		history []registry.ExecutionRecord
		want    []string
	}{
		{"empty registry", registry.EnvironmentState{}, nil, nil},
		{"dataset with partitions, sorted", registry.EnvironmentState{Datasets: []registry.DatasetState{
			{Name: "silver_documentos", State: registry.StatePartiallyCommitted, LastSuccessfulPartition: "2026-01-02",
				PendingPartitions: []string{"2026-01-03"}, QuarantinedUnits: []string{"2026-01-03"}},
			{Name: "clientes_anon", State: registry.StateCommitted, PublishAllowed: true},
		}}, nil, []string{"dataset:clientes_anon", "dataset:silver_documentos",
			"partition:silver_documentos/2026-01-02", "partition:silver_documentos/2026-01-03"}},
		{"one execution per intent", registry.EnvironmentState{}, []registry.ExecutionRecord{
			{IntentID: "i1", Outcome: "committed", Timestamp: at}, {IntentID: "i1", Outcome: "again"},
		}, []string{"execution:i1"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var ids []string
			for _, m := range contextplane.ProjectionMutations(tc.env, tc.history) {
				r := m.GetPutRecord()
				require.NotNil(t, r)
				require.Empty(t, r.Integrity, "the store seals")
				ids = append(ids, r.RecordId)
			}
			require.Equal(t, tc.want, ids)
		})
	}
}

func TestPartitionStatePrecedence(t *testing.T) {
	t.Parallel()
	rs := contextplane.PartitionRecords(registry.DatasetState{Name: "d", LastSuccessfulPartition: "p1",
		PendingPartitions: []string{"p1", "p2"}, QuarantinedUnits: []string{"p2"}})
	require.Len(t, rs, 2)
	require.Equal(t, contextplane.PartitionPending, rs[0].Props["state"].GetStringValue())
	require.Equal(t, contextplane.PartitionQuarantined, rs[1].Props["state"].GetStringValue())
}

func TestLineage(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 3, 22, 14, 30, 0, 0, time.UTC)
	load := planner.ExecutionPlan{Hash: "h1", Target: "silver_documentos", Steps: []planner.Step{
		{Kind: planner.KindExtract, Dataset: "nfe"}, {Kind: planner.KindExtract, Dataset: "clientes"},
		{Kind: planner.KindLoad, Dataset: "silver_documentos"},
	}}
	read := planner.ExecutionPlan{Hash: "h2", Steps: []planner.Step{
		{Kind: planner.KindExtract, Dataset: "nfe"},
		{Kind: planner.KindQuery, Params: planner.Params{Query: &planner.Query{}}},
	}}
	cases := []struct {
		name string
		plan planner.ExecutionPlan
		want []string
	}{
		{"load reads its sources and writes its target", load, []string{
			"lineage:i1:planned_by:plan:h1", "lineage:i1:reads:dataset:clientes", "lineage:i1:reads:dataset:nfe", "lineage:i1:writes:dataset:silver_documentos"}},
		{"read plan writes nothing", read, []string{"lineage:i1:planned_by:plan:h2", "lineage:i1:reads:dataset:nfe"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var ids []string
			for _, l := range contextplane.Lineage("i1", tc.plan, at, "v1") {
				require.Equal(t, "execution:i1", l.Source)
				require.Equal(t, at, l.Valid.From.AsTime())
				require.Equal(t, "v1", l.AssertionId)
				ids = append(ids, l.LinkId)
			}
			require.Equal(t, tc.want, ids)
		})
	}
}

func TestCompile(t *testing.T) {
	t.Parallel()
	rec := &cfspb.Record{RecordId: "dataset:a", Labels: []string{"dataset"},
		Props: map[string]*structpb.Value{"state": structpb.NewStringValue("stale")}}
	link := &cfspb.Link{LinkId: "l", Type: "reads", Source: "execution:i", Target: "dataset:a"}
	cases := []struct {
		name              string
		query             *cfspb.Query
		wantErr           bool
		matchRec, matchLn bool
	}{
		{"no query", nil, false, true, true},
		{"cel on record", &cfspb.Query{Language: "cel", Expression: `record.props.state == "stale"`}, false, true, false},
		{"cel missing prop is no match", &cfspb.Query{Language: "cel", Expression: `record.props.nope == "x"`}, false, false, false},
		{"cel on link", &cfspb.Query{Language: "cel", Expression: `link.type == "reads" && link.target.startsWith("dataset:")`}, false, false, true},
		{"cel labels", &cfspb.Query{Language: "cel", Expression: `"dataset" in record.labels`}, false, true, false},
		{"cel both kinds", &cfspb.Query{Language: "cel", Expression: `record.record_id == link.source`}, true, false, false},
		{"cel not bool", &cfspb.Query{Language: "cel", Expression: `1 + 2`}, true, false, false},
		{"cel syntax", &cfspb.Query{Language: "cel", Expression: `record.`}, true, false, false},
		{"labels", &cfspb.Query{Language: "labels", Expression: "dataset"}, false, true, false},
		{"labels all of", &cfspb.Query{Language: "labels", Expression: "dataset, partition"}, false, false, false},
		{"labels empty item", &cfspb.Query{Language: "labels", Expression: "dataset,,"}, true, false, false},
		{"unknown language", &cfspb.Query{Language: "sql", Expression: "select 1"}, true, false, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f, err := contextplane.Compile(tc.query)
			if tc.wantErr {
				require.ErrorIs(t, err, contextplane.ErrInvalidQuery)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.matchRec, f.MatchRecord(rec))
			require.Equal(t, tc.matchLn, f.MatchLink(link))
		})
	}
}

func TestMask(t *testing.T) {
	t.Parallel()
	rec := &cfspb.Record{RecordId: "r", TenantId: "t", Labels: []string{"x"}, Integrity: []byte{1},
		Props: map[string]*structpb.Value{"a": structpb.NewStringValue("1"), "b": structpb.NewStringValue("2")}}
	cases := []struct {
		name    string
		paths   []string
		wantErr bool
		check   func(t *testing.T, r *cfspb.Record)
	}{
		{"empty keeps all", nil, false, func(t *testing.T, r *cfspb.Record) { require.Equal(t, []byte{1}, r.Integrity) }},
		{"one prop", []string{"props.a"}, false, func(t *testing.T, r *cfspb.Record) {
			require.Equal(t, "r", r.RecordId)
			require.Len(t, r.Props, 1)
			require.Empty(t, r.Labels)
			require.Empty(t, r.Integrity)
		}},
		{"labels only", []string{"labels"}, false, func(t *testing.T, r *cfspb.Record) {
			require.Nil(t, r.Props)
			require.Equal(t, []string{"x"}, r.Labels)
			require.Empty(t, r.TenantId)
		}},
		{"unknown field", []string{"nope"}, true, nil},
		{"empty prop key", []string{"props."}, true, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m, err := contextplane.NewMask(&fieldmaskpb.FieldMask{Paths: tc.paths})
			if tc.wantErr {
				require.ErrorIs(t, err, contextplane.ErrInvalidMask)
				return
			}
			require.NoError(t, err)
			tc.check(t, m.Record(rec))
		})
	}
}

func TestCursors(t *testing.T) {
	t.Parallel()
	c := contextplane.QueryCursor{Kind: "link", After: "l1", AsOfValid: "forever", AsOfSystem: "2026-01-01T00:00:00Z", Query: "q"}
	got, err := contextplane.DecodeQueryCursor(c.Encode())
	require.NoError(t, err)
	require.Equal(t, c, got)
	_, err = contextplane.DecodeQueryCursor("not-a-cursor")
	require.ErrorIs(t, err, contextplane.ErrInvalidCursor)

	seq, err := contextplane.DecodeSyncCursor(contextplane.EncodeSyncCursor(42))
	require.NoError(t, err)
	require.EqualValues(t, 42, seq)
	seq, err = contextplane.DecodeSyncCursor("")
	require.NoError(t, err)
	require.Zero(t, seq)
	_, err = contextplane.DecodeSyncCursor(c.Encode())
	require.ErrorIs(t, err, contextplane.ErrInvalidCursor)
}

func TestChangedFields(t *testing.T) {
	t.Parallel()
	a := &cfspb.Record{RecordId: "r", Labels: []string{"x"}, Props: map[string]*structpb.Value{"a": structpb.NewStringValue("1"), "b": structpb.NewStringValue("2")}}
	b := &cfspb.Record{RecordId: "r", Labels: []string{"y"}, Props: map[string]*structpb.Value{"a": structpb.NewStringValue("9"), "c": structpb.NewStringValue("3")}}
	require.Equal(t, []string{"labels", "props.a", "props.b", "props.c"}, contextplane.ChangedRecordFields(a, b))
	require.Empty(t, contextplane.ChangedRecordFields(a, a))
}

// DatasetStateOf inverts DatasetRecord: a registry override proposed as a
// record is applied as the same state.
func TestDatasetStateOfInvertsDatasetRecord(t *testing.T) {
	at := time.Date(2026, 12, 3, 12, 0, 0, 123456000, time.UTC)
	for _, d := range []registry.DatasetState{
		{Name: "silver_documentos", State: registry.StateStale, PublishAllowed: false, UpdatedAt: at},
		{Name: "nfe", State: registry.StatePartiallyCommitted, LastSuccessfulPartition: "2026-01-02",
			PendingPartitions: []string{"2026-01-03"}, QuarantinedUnits: []string{"2026-01-04"}, UpdatedAt: at},
	} {
		got, ok, err := contextplane.DatasetStateOf(contextplane.DatasetRecord(d))
		require.NoError(t, err)
		require.True(t, ok)
		if d.PendingPartitions == nil {
			d.PendingPartitions, d.QuarantinedUnits = []string{}, []string{}
		}
		require.Equal(t, d, got)
	}
	_, ok, err := contextplane.DatasetStateOf(&cfspb.Record{RecordId: "doc:1", Labels: []string{"doc"}})
	require.NoError(t, err)
	require.False(t, ok, "not a dataset's record")
	_, _, err = contextplane.DatasetStateOf(&cfspb.Record{RecordId: "dataset:nfe", Labels: []string{"dataset"},
		Props: map[string]*structpb.Value{"state": structpb.NewBoolValue(true)}})
	require.ErrorContains(t, err, "prop state must be a string")
}
