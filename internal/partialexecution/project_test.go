package partialexecution_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	pe "github.com/contextualflux/cfa/internal/partialexecution"
	"github.com/contextualflux/cfa/internal/projection"
	"github.com/contextualflux/cfa/internal/registry"
)

// partial59 is the registry entry of 5.9 after the fiscal reconciliation.
var partial59 = registry.DatasetState{
	Name: "silver_documentos", State: registry.StatePartiallyCommitted, PublishAllowed: false,
	LastSuccessfulPartition: "2026-01-02", PendingPartitions: []string{"2026-01-03"}, QuarantinedUnits: []string{"2026-01-03"},
}

func TestProjectionOutcome(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		mode    pe.Mode
		results []pe.UnitResult
		want    projection.Outcome
	}{
		{"committed carries no mode", pe.FullRollback, silver(),
			projection.Outcome{Dataset: "silver_documentos", State: registry.StateCommitted, PublishAllowed: true, CommittedPartitions: days}},
		{"selective quarantine", pe.SelectiveQuarantine, silver("2026-01-03"),
			projection.Outcome{Dataset: "silver_documentos", State: registry.StatePartiallyCommitted, Mode: projection.SelectiveQuarantine,
				CommittedPartitions: days[:2], FailedPartitions: []string{"2026-01-03"}}},
		{"all quarantined", pe.SelectiveQuarantine, silver(days...),
			projection.Outcome{Dataset: "silver_documentos", State: registry.StateQuarantined, Mode: projection.SelectiveQuarantine, FailedPartitions: days}},
		{"full rollback lists every unit as not committed", pe.FullRollback, silver("2026-01-02"),
			projection.Outcome{Dataset: "silver_documentos", State: registry.StatePartiallyCommitted, Mode: projection.FullRollback, FailedPartitions: days}},
		{"a tolerant ingestion that wrote nothing leaves its units pending", pe.PartialCommitNoPublish, silver(days...),
			projection.Outcome{Dataset: "silver_documentos", State: registry.StatePartiallyCommitted, Mode: projection.PartialCommitNoPublish, FailedPartitions: days}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o, err := pe.Apply(mustPolicy(tc.mode), pe.Run{ConsistencyUnit: byDate, PublishRequested: true, Results: tc.results})
			require.NoError(t, err)
			require.Equal(t, []projection.Outcome{tc.want}, o.Projections())
		})
	}
}

// Reruns after the whitepaper's run, projected onto 5.9's registry.
func TestProjectOntoTheRegistry(t *testing.T) {
	t.Parallel()
	type want struct {
		state    string
		publish  bool
		status   pe.PublishStatus
		pending  []string
		quarantd []string
		lastOK   string
	}
	tests := []struct {
		name      string
		prev      []registry.DatasetState
		mode      pe.Mode
		requested bool
		results   []pe.UnitResult
		want      want
	}{
		{"a rerun that fixes the quarantined partition commits and publishes", []registry.DatasetState{partial59}, pe.SelectiveQuarantine, true,
			[]pe.UnitResult{pe.Succeeded(u("silver_documentos", "2026-01-03"), 1)},
			want{registry.StateCommitted, true, pe.Published, nil, nil, "2026-01-03"}},
		{"a rerun on another partition leaves 2026-01-03 pending and unpublished (I7)", []registry.DatasetState{partial59}, pe.SelectiveQuarantine, true,
			[]pe.UnitResult{pe.Succeeded(u("silver_documentos", "2026-01-04"), 1)},
			want{registry.StatePartiallyCommitted, false, pe.CommittedNotPublished, []string{"2026-01-03"}, []string{"2026-01-03"}, "2026-01-04"}},
		{"degraded_publish over an earlier gap publishes degraded", []registry.DatasetState{partial59}, pe.DegradedPublish, true,
			[]pe.UnitResult{pe.Succeeded(u("silver_documentos", "2026-01-04"), 1)},
			want{registry.StatePartiallyCommitted, false, pe.Degraded, []string{"2026-01-03"}, []string{"2026-01-03"}, "2026-01-04"}},
		{"a full rollback leaves the entry as it was", []registry.DatasetState{partial59}, pe.FullRollback, true,
			[]pe.UnitResult{pe.Succeeded(u("silver_documentos", "2026-01-03"), 1), pe.Failed(u("silver_documentos", "2026-01-04"), 3, nullF)},
			want{registry.StatePartiallyCommitted, false, "", []string{"2026-01-03"}, []string{"2026-01-03"}, "2026-01-02"}},
		{"a first run with nothing before", nil, pe.SelectiveQuarantine, false,
			[]pe.UnitResult{pe.Succeeded(u("silver_documentos", "2026-01-01"), 1)},
			want{registry.StateCommitted, true, pe.CommittedNotPublished, nil, nil, "2026-01-01"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o, err := pe.Apply(mustPolicy(tc.mode), pe.Run{ConsistencyUnit: byDate, PublishRequested: tc.requested, Results: tc.results})
			require.NoError(t, err)
			p, err := projection.Project(projection.Input{
				Previous:  registry.EnvironmentState{VersionID: genesis, Datasets: tc.prev},
				Outcomes:  o.Projections(),
				Execution: registry.ExecutionRecord{IntentID: "fiscal_reconciliation_002", Outcome: string(o.State.OverallState), PolicyBundleVersion: "v4.2"},
				Now:       at,
			})
			require.NoError(t, err)
			require.Len(t, p.Datasets, 1)
			m := p.Datasets[0]
			status := o.Datasets[0].PublishStatusAfter(m.State)
			require.Equal(t, tc.want, want{m.State, m.PublishAllowed, status, m.PendingPartitions, m.QuarantinedUnits, m.LastSuccessfulPartition})
		})
	}
}
