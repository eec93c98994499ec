package projection_test

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/contextualflux/cfa/internal/projection"
	"github.com/contextualflux/cfa/internal/registry"
)

// now is the whitepaper's execution_history timestamp, passed, never read.
var now = time.Date(2026, 3, 22, 14, 30, 0, 0, time.UTC)

const genesis = "00000000-0000-0000-0000-000000000000"

// whitepaperRegistry is 5.9's context_registry after
// fiscal_reconciliation_001, verbatim.
const whitepaperRegistry = `
context_registry:
  environment_state:
    datasets:
      - name: silver_documentos
        state: partially_committed
        last_successful_partition: "2026-01-02"
        pending_partitions: ["2026-01-03"]
        publish_allowed: false
        quarantined_units: ["2026-01-03"]
      - name: clientes_anon
        state: committed
        publish_allowed: true
  execution_history:
    - intent_id: fiscal_reconciliation_001
      outcome: partially_committed
      consistency_unit: partition
      timestamp: "2026-03-22T14:30:00Z"
      policy_bundle_version: "v4.2"
`

func whitepaperExpected(t *testing.T) ([]registry.DatasetState, []registry.ExecutionRecord) {
	t.Helper()
	var doc struct {
		CR struct {
			Env struct {
				Datasets []registry.DatasetState `yaml:"datasets"`
			} `yaml:"environment_state"`
			History []struct {
				IntentID            string `yaml:"intent_id"`
				Outcome             string `yaml:"outcome"`
				ConsistencyUnit     string `yaml:"consistency_unit"`
				Timestamp           string `yaml:"timestamp"`
				PolicyBundleVersion string `yaml:"policy_bundle_version"`
			} `yaml:"execution_history"`
		} `yaml:"context_registry"`
	}
	require.NoError(t, yaml.Unmarshal([]byte(whitepaperRegistry), &doc))
	ds := doc.CR.Env.Datasets
	for i := range ds {
		ds[i].UpdatedAt = now
	}
	var hist []registry.ExecutionRecord
	for _, h := range doc.CR.History {
		ts, err := time.Parse(time.RFC3339, h.Timestamp)
		require.NoError(t, err)
		hist = append(hist, registry.ExecutionRecord{IntentID: h.IntentID, Outcome: h.Outcome, ConsistencyUnit: h.ConsistencyUnit, Timestamp: ts, PolicyBundleVersion: h.PolicyBundleVersion})
	}
	return ds, hist
}

// fiscal001 is the whitepaper's fiscal reconciliation as 5.8 describes it:
// three processing_date partitions, 2026-01-03 failed after retries,
// selective_quarantine with publish_on_partial_success: false.
func fiscal001() projection.Input {
	return projection.Input{
		Previous: registry.EnvironmentState{VersionID: genesis},
		Outcomes: []projection.Outcome{
			{Dataset: "silver_documentos", State: registry.StatePartiallyCommitted, Mode: projection.SelectiveQuarantine,
				CommittedPartitions: []string{"2026-01-01", "2026-01-02"}, FailedPartitions: []string{"2026-01-03"}},
			// clientes is not partitioned (catalog): its anonymised copy commits whole.
			{Dataset: "clientes_anon", State: registry.StateCommitted, PublishAllowed: true},
		},
		Execution: registry.ExecutionRecord{IntentID: "fiscal_reconciliation_001", Outcome: "partially_committed", ConsistencyUnit: "partition",
			Timestamp: now, PolicyBundleVersion: "v4.2"},
		Now: now,
	}
}

func TestProjectWhitepaperExample(t *testing.T) {
	t.Parallel()
	want, hist := whitepaperExpected(t)
	p, err := projection.Project(fiscal001())
	require.NoError(t, err)
	// The whitepaper lists silver_documentos first; snapshots are sorted.
	require.Equal(t, []registry.DatasetState{want[1], want[0]}, p.Datasets)
	require.Equal(t, p.Datasets, p.Changed)
	require.Equal(t, hist, p.ExecutionHistory)
	require.Equal(t, genesis, p.ParentVersionID)
	require.Equal(t, projection.VersionID(genesis, "fiscal_reconciliation_001"), p.VersionID)
	require.Empty(t, p.Withheld)
	requireI7(t, p.Datasets)
}

func TestProject(t *testing.T) {
	t.Parallel()
	later := now.Add(48 * time.Hour)
	first, err := projection.Project(fiscal001())
	require.NoError(t, err)
	after001 := first.Snapshot(now)
	require.Equal(t, first.VersionID, after001.VersionID)

	sd := func(d registry.DatasetState) registry.DatasetState { d.Name = "silver_documentos"; return d }
	clientes := after001.Datasets[0]
	rerun := func(o ...projection.Outcome) projection.Input {
		return projection.Input{Previous: after001, Outcomes: o, Now: later,
			Execution: registry.ExecutionRecord{IntentID: "fiscal_reconciliation_002", Outcome: "approved", ConsistencyUnit: "partition", PolicyBundleVersion: "v4.2"}}
	}
	cases := []struct {
		name     string
		in       projection.Input
		changed  []registry.DatasetState // nil: nothing changed
		withheld []string
	}{
		{"rerun fixing the failed partition commits and publishes it", rerun(projection.Outcome{
			Dataset: "silver_documentos", State: registry.StateCommitted, PublishAllowed: true, CommittedPartitions: []string{"2026-01-03"}}),
			[]registry.DatasetState{sd(registry.DatasetState{State: registry.StateCommitted, PublishAllowed: true, LastSuccessfulPartition: "2026-01-03", UpdatedAt: later})}, nil},
		{"a commit elsewhere leaves earlier pending units and withholds publish (I7)", rerun(projection.Outcome{
			Dataset: "silver_documentos", State: registry.StateCommitted, PublishAllowed: true, CommittedPartitions: []string{"2026-01-04"}}),
			[]registry.DatasetState{sd(registry.DatasetState{State: registry.StatePartiallyCommitted, LastSuccessfulPartition: "2026-01-04",
				PendingPartitions: []string{"2026-01-03"}, QuarantinedUnits: []string{"2026-01-03"}, UpdatedAt: later})}, []string{"silver_documentos"}},
		{"last_successful_partition never moves back", rerun(projection.Outcome{
			Dataset: "silver_documentos", State: registry.StatePartiallyCommitted, Mode: projection.SelectiveQuarantine,
			CommittedPartitions: []string{"2025-12-31"}, FailedPartitions: []string{"2026-01-05"}}),
			[]registry.DatasetState{sd(registry.DatasetState{State: registry.StatePartiallyCommitted, LastSuccessfulPartition: "2026-01-02",
				PendingPartitions: []string{"2026-01-03", "2026-01-05"}, QuarantinedUnits: []string{"2026-01-03", "2026-01-05"}, UpdatedAt: later})}, nil},
		{"a rerun failing the same partition changes nothing and keeps updated_at", rerun(projection.Outcome{
			Dataset: "silver_documentos", State: registry.StatePartiallyCommitted, Mode: projection.SelectiveQuarantine, FailedPartitions: []string{"2026-01-03"}}),
			nil, nil},
		{"partial_commit_no_publish leaves failed units pending, not quarantined", rerun(projection.Outcome{
			Dataset: "silver_documentos", State: registry.StatePartiallyCommitted, Mode: projection.PartialCommitNoPublish,
			CommittedPartitions: []string{"2026-01-03"}, FailedPartitions: []string{"2026-01-05"}}),
			[]registry.DatasetState{sd(registry.DatasetState{State: registry.StatePartiallyCommitted, LastSuccessfulPartition: "2026-01-03",
				PendingPartitions: []string{"2026-01-05"}, UpdatedAt: later})}, nil},
		{"degraded_publish is not trusted publication: withheld (I7)", rerun(projection.Outcome{
			Dataset: "silver_documentos", State: registry.StatePartiallyCommitted, PublishAllowed: true, Mode: projection.DegradedPublish,
			CommittedPartitions: []string{"2026-01-03"}, FailedPartitions: []string{"2026-01-04"}}),
			[]registry.DatasetState{sd(registry.DatasetState{State: registry.StatePartiallyCommitted, LastSuccessfulPartition: "2026-01-03",
				PendingPartitions: []string{"2026-01-04"}, UpdatedAt: later})}, []string{"silver_documentos"}},
		{"quarantined verdict quarantines the dataset and never publishes", rerun(projection.Outcome{
			Dataset: "silver_documentos", State: registry.StateQuarantined, PublishAllowed: true, Mode: projection.SelectiveQuarantine,
			FailedPartitions: []string{"2026-01-04"}}),
			[]registry.DatasetState{sd(registry.DatasetState{State: registry.StateQuarantined, LastSuccessfulPartition: "2026-01-02",
				PendingPartitions: []string{"2026-01-03", "2026-01-04"}, QuarantinedUnits: []string{"2026-01-03", "2026-01-04"}, UpdatedAt: later})}, []string{"silver_documentos"}},
		{"full_rollback projects history only", rerun(projection.Outcome{
			Dataset: "silver_documentos", State: registry.StatePartiallyCommitted, Mode: projection.FullRollback, FailedPartitions: []string{"2026-01-03", "2026-01-04"}}),
			nil, nil},
		{"full_rollback of a dataset never projected adds nothing", rerun(projection.Outcome{
			Dataset: "gold_resumo", State: registry.StateQuarantined, Mode: projection.FullRollback}),
			nil, nil},
		{"a new dataset is added in name order", rerun(projection.Outcome{
			Dataset: "gold_resumo", State: registry.StateCommitted}),
			[]registry.DatasetState{{Name: "gold_resumo", State: registry.StateCommitted, UpdatedAt: later}}, nil},
		{"an unpartitioned dataset is quarantined whole", rerun(projection.Outcome{
			Dataset: "clientes_anon", State: registry.StateQuarantined, Mode: projection.SelectiveQuarantine}),
			[]registry.DatasetState{{Name: "clientes_anon", State: registry.StateQuarantined, UpdatedAt: later}}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			before := cloneEnv(tc.in.Previous)
			p, err := projection.Project(tc.in)
			require.NoError(t, err)
			require.Equal(t, before, tc.in.Previous, "Project must not modify the previous snapshot")
			require.Equal(t, tc.changed, p.Changed)
			require.Equal(t, tc.withheld, p.Withheld)
			require.Len(t, p.ExecutionHistory, 1)
			require.Equal(t, later, p.ExecutionHistory[0].Timestamp, "a zero timestamp takes Now")
			require.Equal(t, after001.VersionID, p.ParentVersionID)
			requireI7(t, p.Datasets)

			// Copy-on-write: every dataset is the changed entry or the
			// previous one unchanged, sorted by name.
			want := map[string]registry.DatasetState{}
			for _, d := range tc.in.Previous.Datasets {
				want[d.Name] = d
			}
			for _, d := range tc.changed {
				want[d.Name] = d
			}
			require.Len(t, p.Datasets, len(want))
			for i, d := range p.Datasets {
				require.Equal(t, want[d.Name], d)
				if i > 0 {
					require.Less(t, p.Datasets[i-1].Name, d.Name)
				}
			}
			_, stillThere := want[clientes.Name]
			require.True(t, stillThere)

			again, err := projection.Project(tc.in)
			require.NoError(t, err)
			require.Equal(t, p, again, "deterministic")
		})
	}
}

func TestProjectSortsAnUnsortedPrevious(t *testing.T) {
	t.Parallel()
	prev := registry.EnvironmentState{VersionID: genesis, Datasets: []registry.DatasetState{
		{Name: "z", State: registry.StateCommitted}, {Name: "a", State: registry.StateCommitted},
	}}
	p, err := projection.Project(projection.Input{Previous: prev, Now: now, Outcomes: []projection.Outcome{{Dataset: "m", State: registry.StateCommitted}},
		Execution: registry.ExecutionRecord{IntentID: "i", Outcome: "approved", PolicyBundleVersion: "v4.2"}})
	require.NoError(t, err)
	var names []string
	for _, d := range p.Datasets {
		names = append(names, d.Name)
	}
	require.Equal(t, []string{"a", "m", "z"}, names)
}

func TestProjectRejects(t *testing.T) {
	t.Parallel()
	with := func(f func(*projection.Input)) projection.Input {
		in := fiscal001()
		f(&in)
		return in
	}
	out := func(f func(*projection.Outcome)) func(*projection.Input) {
		return func(in *projection.Input) { f(&in.Outcomes[0]) }
	}
	cases := []struct {
		name string
		in   projection.Input
		want string
	}{
		{"no clock", with(func(in *projection.Input) { in.Now = time.Time{} }), "Now is zero"},
		{"no parent", with(func(in *projection.Input) { in.Previous.VersionID = "" }), "no version_id"},
		{"no intent", with(func(in *projection.Input) { in.Execution.IntentID = "" }), "no intent_id"},
		{"no outcome", with(func(in *projection.Input) { in.Execution.Outcome = "" }), "no outcome"},
		{"no policy bundle", with(func(in *projection.Input) { in.Execution.PolicyBundleVersion = "" }), "no policy_bundle_version"},
		{"unknown consistency unit", with(func(in *projection.Input) { in.Execution.ConsistencyUnit = "row" }), `consistency_unit "row"`},
		{"dataset twice", with(func(in *projection.Input) { in.Outcomes[1].Dataset = in.Outcomes[0].Dataset }), "two outcomes"},
		{"no dataset", with(out(func(o *projection.Outcome) { o.Dataset = " " })), "has no dataset"},
		{"stale is the sweeper's", with(out(func(o *projection.Outcome) { o.State = registry.StateStale })), "never projects stale"},
		{"unknown state", with(out(func(o *projection.Outcome) { o.State = "published" })), `state "published"`},
		{"unknown mode", with(out(func(o *projection.Outcome) { o.Mode = "best_effort" })), `mode "best_effort"`},
		{"failures without a mode", with(out(func(o *projection.Outcome) { o.Mode = "" })), "no partial failure mode"},
		{"committed and failed at once", with(out(func(o *projection.Outcome) { o.FailedPartitions = []string{"2026-01-02"} })), "both committed and failed"},
		{"blank partition", with(out(func(o *projection.Outcome) { o.FailedPartitions = []string{""} })), "blank"},
		{"full_rollback that committed", with(out(func(o *projection.Outcome) { o.Mode = projection.FullRollback })), "full_rollback commits nothing"},
		{"committed verdict with failures", with(out(func(o *projection.Outcome) { o.State = registry.StateCommitted })), "committed verdict lists failed"},
		{"partially_committed with no failed unit", with(out(func(o *projection.Outcome) { o.FailedPartitions = nil })), "lists no failed partitions"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := projection.Project(tc.in)
			require.ErrorIs(t, err, projection.ErrInvalidInput)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

func TestVersionID(t *testing.T) {
	t.Parallel()
	a := projection.VersionID(genesis, "fiscal_reconciliation_001")
	require.Equal(t, a, projection.VersionID(genesis, "fiscal_reconciliation_001"), "a retried commit reuses its version_id")
	require.NotEqual(t, a, projection.VersionID(a, "fiscal_reconciliation_001"), "a rebase on a new parent gets a new version_id")
	require.NotEqual(t, a, projection.VersionID(genesis, "fiscal_reconciliation_002"))
	u, err := uuid.Parse(a)
	require.NoError(t, err)
	require.Equal(t, uuid.Version(5), u.Version())
}

// requireI7 checks I7 on a whole snapshot.
func requireI7(t *testing.T, ds []registry.DatasetState) {
	t.Helper()
	for _, d := range ds {
		switch d.State {
		case registry.StatePartiallyCommitted, registry.StateStale, registry.StateQuarantined:
			require.False(t, d.PublishAllowed, "I7: %s is %s and publish_allowed", d.Name, d.State)
		}
	}
}

func cloneEnv(e registry.EnvironmentState) registry.EnvironmentState {
	out := e
	out.Datasets = nil
	for _, d := range e.Datasets {
		d.PendingPartitions = append([]string(nil), d.PendingPartitions...)
		d.QuarantinedUnits = append([]string(nil), d.QuarantinedUnits...)
		out.Datasets = append(out.Datasets, d)
	}
	return out
}
