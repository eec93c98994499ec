package partialexecution_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/decision"
	pe "github.com/contextualflux/cfa/internal/partialexecution"
	rv "github.com/contextualflux/cfa/internal/runtimevalidation"
)

// runtimeReport validates three partitions of silver_documentos; the days
// in broken shuffle too much, the days in warned write columns out of order.
func runtimeReport(t *testing.T, broken, warned []string) rv.Report {
	t.Helper()
	contract := []rv.Column{{Name: "nfe_id", Type: "string"}, {Name: "processing_date", Type: "date"}}
	var reports []rv.UnitReport
	for _, d := range days {
		m := rv.UnitMetrics{Dataset: "silver_documentos", Key: d, Attempt: 1, RowsOut: 5_000,
			OutputSchema: []rv.Column{{Name: "nfe_id", Type: "text"}, {Name: "processing_date", Type: "date"}}}
		for _, b := range broken {
			if b == d {
				m.ShuffleMB = 730
			}
		}
		for _, w := range warned {
			if w == d {
				m.OutputSchema[0], m.OutputSchema[1] = m.OutputSchema[1], m.OutputSchema[0]
			}
		}
		r, err := rv.Validate(rv.DefaultLimits(), contract, m)
		require.NoError(t, err)
		reports = append(reports, r)
	}
	rep, err := rv.Aggregate(rv.DefaultLimits(), reports)
	require.NoError(t, err)
	return rep
}

// From runtime validation through the partial failure policy to the
// Decision Engine, for every mode: strictest_outcome gives the state the
// whitepaper expects, and each reachable post-execution state is reached.
func TestDecisionAfterExecution(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		mode   pe.Mode
		broken []string
		warned []string
		want   decision.State
		by     decision.Authority
	}{
		{"clean run", pe.SelectiveQuarantine, nil, nil, decision.Approved, decision.AuthorityPolicyEngine},
		{"runtime warnings only", pe.SelectiveQuarantine, nil, []string{"2026-01-02"}, decision.ApprovedWithWarnings, decision.AuthorityRuntimeValidation},
		{"selective_quarantine, one failed", pe.SelectiveQuarantine, []string{"2026-01-03"}, nil, decision.PartiallyCommitted, decision.AuthorityPartialFailurePolicy},
		{"partial_commit_no_publish, one failed", pe.PartialCommitNoPublish, []string{"2026-01-03"}, nil, decision.PartiallyCommitted, decision.AuthorityPartialFailurePolicy},
		{"degraded_publish, one failed", pe.DegradedPublish, []string{"2026-01-03"}, nil, decision.PartiallyCommitted, decision.AuthorityPartialFailurePolicy},
		{"full_rollback, one failed", pe.FullRollback, []string{"2026-01-03"}, nil, decision.RolledBack, decision.AuthorityPartialFailurePolicy},
		{"selective_quarantine, all failed", pe.SelectiveQuarantine, days, nil, decision.Quarantined, decision.AuthorityPartialFailurePolicy},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rep := runtimeReport(t, tc.broken, tc.warned)
			var results []pe.UnitResult
			for _, ur := range rep.Units {
				unit := pe.Unit{Dataset: ur.Dataset, Key: ur.Key}
				if f, failed := ur.Primary(); failed {
					results = append(results, pe.Failed(unit, 3, f))
				} else {
					results = append(results, pe.Succeeded(unit, ur.Attempt))
				}
			}
			o, err := pe.Apply(mustPolicy(tc.mode), pe.Run{ConsistencyUnit: byDate, PublishRequested: true, Results: results})
			require.NoError(t, err)
			d, err := decision.Decide(decision.Input{Votes: []decision.Vote{
				{Authority: decision.AuthorityPolicyEngine, Outcome: decision.Approved},
				rep.Vote(),
				o.Vote,
			}})
			require.NoError(t, err)
			require.Equal(t, tc.want, d.State)
			require.Equal(t, string(tc.by), d.DecidedBy)
		})
	}
}
