package partialexecution_test

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/fault"
	pe "github.com/contextualflux/cfa/internal/partialexecution"
	"github.com/contextualflux/cfa/internal/projection"
	"github.com/contextualflux/cfa/internal/registry"
)

// silver is one dataset over three days; failed lists the days that fail.
func silver(failed ...string) []pe.UnitResult {
	var out []pe.UnitResult
	for _, d := range days {
		if slices.Contains(failed, d) {
			out = append(out, pe.Failed(u("silver_documentos", d), 3, shuffleF))
		} else {
			out = append(out, pe.Succeeded(u("silver_documentos", d), 1))
		}
	}
	return out
}

func TestApplyModes(t *testing.T) {
	t.Parallel()
	type want struct {
		overall   pe.OverallState
		rollback  bool
		publish   bool             // consistency_policy.publish_allowed
		status    pe.PublishStatus // publish requested
		actions   []pe.Action      // per day
		vote      decision.State
		pending   []string
		quarantd  []string
		lastOK    string
		promotion bool
	}
	var (
		c, q, d   = pe.ActionCommit, pe.ActionQuarantine, pe.ActionDiscard
		third     = []string{"2026-01-03"}
		committed = want{pe.OverallCommitted, false, true, pe.Published, []pe.Action{c, c, c}, decision.Approved, nil, nil, "2026-01-03", true}
	)
	tests := []struct {
		name    string
		mode    pe.Mode
		results []pe.UnitResult
		want    want
	}{
		// All succeeded: committed and published, whatever the mode.
		{"full_rollback, all succeed", pe.FullRollback, silver(), committed},
		{"selective_quarantine, all succeed", pe.SelectiveQuarantine, silver(), committed},
		{"partial_commit_no_publish, all succeed", pe.PartialCommitNoPublish, silver(), committed},
		{"degraded_publish, all succeed", pe.DegradedPublish, silver(), committed},

		// One of three failed.
		{"full_rollback, one fails", pe.FullRollback, silver("2026-01-03"),
			want{pe.OverallRolledBack, true, false, "", []pe.Action{d, d, d}, decision.RolledBack, days, nil, "", false}},
		{"selective_quarantine, one fails", pe.SelectiveQuarantine, silver("2026-01-03"),
			want{pe.OverallPartiallyCommitted, false, false, pe.CommittedNotPublished, []pe.Action{c, c, q}, decision.PartiallyCommitted, third, third, "2026-01-02", false}},
		{"partial_commit_no_publish, one fails", pe.PartialCommitNoPublish, silver("2026-01-03"),
			want{pe.OverallPartiallyCommitted, true, false, pe.CommittedNotPublished, []pe.Action{c, c, d}, decision.PartiallyCommitted, third, nil, "2026-01-02", false}},
		{"degraded_publish, one fails", pe.DegradedPublish, silver("2026-01-03"),
			want{pe.OverallPartiallyCommitted, true, false, pe.Degraded, []pe.Action{c, c, d}, decision.PartiallyCommitted, third, nil, "2026-01-02", false}},
		{"the first day fails: last_successful_partition is the latest committed", pe.SelectiveQuarantine, silver("2026-01-01"),
			want{pe.OverallPartiallyCommitted, false, false, pe.CommittedNotPublished, []pe.Action{q, c, c}, decision.PartiallyCommitted, []string{"2026-01-01"}, []string{"2026-01-01"}, "2026-01-03", false}},

		// Everything failed.
		{"full_rollback, all fail", pe.FullRollback, silver(days...),
			want{pe.OverallRolledBack, true, false, "", []pe.Action{d, d, d}, decision.RolledBack, days, nil, "", false}},
		{"selective_quarantine, all fail", pe.SelectiveQuarantine, silver(days...),
			want{pe.OverallQuarantined, false, false, "", []pe.Action{q, q, q}, decision.Quarantined, days, days, "", false}},
		{"partial_commit_no_publish, all fail", pe.PartialCommitNoPublish, silver(days...),
			want{pe.OverallRolledBack, true, false, "", []pe.Action{d, d, d}, decision.RolledBack, days, nil, "", false}},
		{"degraded_publish, all fail", pe.DegradedPublish, silver(days...),
			want{pe.OverallRolledBack, true, false, "", []pe.Action{d, d, d}, decision.RolledBack, days, nil, "", false}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o, err := pe.Apply(mustPolicy(tc.mode), pe.Run{ConsistencyUnit: byDate, PublishRequested: true, Results: tc.results})
			require.NoError(t, err)
			w := tc.want
			require.Equal(t, w.overall, o.State.OverallState)
			require.Equal(t, pe.ConsistencyPolicy{Mode: tc.mode, RollbackRequired: w.rollback, PublishAllowed: w.publish}, o.State.ConsistencyPolicy)
			require.Equal(t, w.status, o.PublishStatus)
			var actions []pe.Action
			for _, a := range o.Actions {
				actions = append(actions, a.Action)
				require.NotEmpty(t, a.Reason)
			}
			require.Equal(t, w.actions, actions)
			require.Equal(t, decision.AuthorityPartialFailurePolicy, o.Vote.Authority)
			require.Equal(t, w.vote, o.Vote.Outcome)
			require.NotEmpty(t, o.Vote.Reason)
			require.Equal(t, w.promotion, o.PromotionEligible)

			// One dataset: its result is the execution's.
			require.Len(t, o.Datasets, 1)
			ds := o.Datasets[0]
			require.Equal(t, "silver_documentos", ds.Dataset)
			require.Equal(t, w.overall, ds.State)
			require.Equal(t, w.publish, ds.PublishAllowed)
			require.Equal(t, w.pending, ds.PendingPartitions)
			require.Equal(t, w.quarantd, ds.QuarantinedUnits)
			require.Equal(t, w.lastOK, ds.LastSuccessfulPartition)
			require.Equal(t, w.status, ds.PublishStatus)

			var ok, failed []string
			for _, g := range o.State.SuccessfulUnits {
				ok = append(ok, g.Partitions...)
			}
			for _, g := range o.State.FailedUnits {
				failed = append(failed, g.Partitions...)
			}
			require.Len(t, append(ok, failed...), 3, "every unit is listed once")
		})
	}
}

func TestPublishRequires(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		mode      pe.Mode
		requested bool
		failed    []string
		want      pe.PublishStatus
	}{
		{"all succeed, publish not asked: written, not published", pe.SelectiveQuarantine, false, nil, pe.CommittedNotPublished},
		{"all succeed, publish asked", pe.SelectiveQuarantine, true, nil, pe.Published},
		{"degraded_publish without a publish request stays unpublished", pe.DegradedPublish, false, []string{"2026-01-02"}, pe.CommittedNotPublished},
		{"degraded_publish with a publish request is degraded", pe.DegradedPublish, true, []string{"2026-01-02"}, pe.Degraded},
		{"partial_commit_no_publish never publishes a partial result", pe.PartialCommitNoPublish, true, []string{"2026-01-02"}, pe.CommittedNotPublished},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o, err := pe.Apply(mustPolicy(tc.mode), pe.Run{ConsistencyUnit: byDate, PublishRequested: tc.requested, Results: silver(tc.failed...)})
			require.NoError(t, err)
			require.Equal(t, tc.want, o.PublishStatus)
			require.Equal(t, tc.want, o.Datasets[0].PublishStatus)
		})
	}
}

// I7 over every mode, every mix of outcomes of three units, both publish
// requests, through State Projection onto registries that already hold
// pending or quarantined units.
func TestI7NeverPublishesPartialState(t *testing.T) {
	t.Parallel()
	priors := []struct {
		name string
		prev []registry.DatasetState
	}{
		{"no registry entry", nil},
		{"committed", []registry.DatasetState{{Name: "silver_documentos", State: registry.StateCommitted, PublishAllowed: true, LastSuccessfulPartition: "2025-12-31"}}},
		{"pending elsewhere", []registry.DatasetState{{Name: "silver_documentos", State: registry.StatePartiallyCommitted, PendingPartitions: []string{"2025-12-30"}}}},
		{"quarantined elsewhere", []registry.DatasetState{{Name: "silver_documentos", State: registry.StateQuarantined, PendingPartitions: []string{"2025-12-29"}, QuarantinedUnits: []string{"2025-12-29"}}}},
		{"the same days pending", []registry.DatasetState{{Name: "silver_documentos", State: registry.StatePartiallyCommitted, PendingPartitions: days, QuarantinedUnits: days}}},
	}
	for _, mode := range pe.Modes {
		for mask := range 8 {
			var failed []string
			for i, d := range days {
				if mask&(1<<i) != 0 {
					failed = append(failed, d)
				}
			}
			for _, requested := range []bool{false, true} {
				o, err := pe.Apply(mustPolicy(mode), pe.Run{ConsistencyUnit: byDate, PublishRequested: requested, Results: silver(failed...)})
				require.NoError(t, err)
				partial := o.State.OverallState != pe.OverallCommitted
				require.Equal(t, !partial, o.State.ConsistencyPolicy.PublishAllowed, "%s %v", mode, failed)
				if partial {
					require.NotEqual(t, pe.Published, o.PublishStatus)
				}
				if o.PublishStatus == pe.Degraded {
					require.Equal(t, pe.DegradedPublish, mode)
				}
				for _, p := range priors {
					ctx := []any{"mode", mode, "failed", failed, "prior", p.name}
					proj, err := projection.Project(projection.Input{
						Previous:  registry.EnvironmentState{VersionID: genesis, Datasets: p.prev},
						Outcomes:  o.Projections(),
						Execution: registry.ExecutionRecord{IntentID: "i", Outcome: string(o.State.OverallState), PolicyBundleVersion: "v4.2"},
						Now:       at,
					})
					require.NoError(t, err, ctx...)
					for _, row := range proj.Datasets {
						require.False(t, row.State == registry.StatePartiallyCommitted && row.PublishAllowed, ctx...)
						status := o.Datasets[0].PublishStatusAfter(row.State)
						if status == pe.Published {
							require.Equal(t, registry.StateCommitted, row.State, ctx...)
							require.True(t, row.PublishAllowed, ctx...)
						}
						if len(o.Datasets[0].CommittedPartitions) == 0 {
							require.Empty(t, status, "never publish without write: %v", ctx)
						}
					}
				}
			}
		}
	}
}

func TestApplyIgnoresInputOrder(t *testing.T) {
	t.Parallel()
	results := append(fiscalResults(), pe.Failed(u("clientes_anon", "2026-01-04"), 1, driftF), pe.Failed(u("nfe", "2026-01-04"), 3, nullF))
	for _, mode := range pe.Modes {
		want, err := pe.Apply(mustPolicy(mode), pe.Run{ConsistencyUnit: byDate, PublishRequested: true, Results: results})
		require.NoError(t, err)
		rng := rand.New(rand.NewPCG(7, uint64(len(mode))))
		for range 20 {
			shuffled := slices.Clone(results)
			rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
			got, err := pe.Apply(mustPolicy(mode), pe.Run{ConsistencyUnit: byDate, PublishRequested: true, Results: shuffled})
			require.NoError(t, err)
			require.Equal(t, want, got)
		}
	}
}

func TestFailedUnitsGroupByDatasetAndCode(t *testing.T) {
	t.Parallel()
	results := []pe.UnitResult{
		pe.Failed(u("nfe", "2026-01-03"), 3, shuffleF),
		pe.Failed(u("nfe", "2026-01-01"), 3, shuffleF),
		pe.Failed(u("nfe", "2026-01-02"), 3, nullF),
		pe.Succeeded(u("clientes_anon", "2026-01-01"), 1),
	}
	o, err := pe.Apply(selective, pe.Run{ConsistencyUnit: byDate, Results: results})
	require.NoError(t, err)
	require.Equal(t, []pe.FailedUnitGroup{
		{Dataset: "nfe", Partitions: []string{"2026-01-02"}, ErrorCode: nullF.Code, FaultFamily: fault.RuntimeBehavioralFaults},
		{Dataset: "nfe", Partitions: []string{"2026-01-01", "2026-01-03"}, ErrorCode: shuffleF.Code, FaultFamily: fault.RuntimeBehavioralFaults},
	}, o.State.FailedUnits)
	// nfe has nothing committed and units in quarantine; clientes_anon is fine.
	require.Equal(t, pe.OverallCommitted, o.Datasets[0].State)
	require.True(t, o.Datasets[0].PublishAllowed)
	require.Equal(t, pe.OverallQuarantined, o.Datasets[1].State)
}

func TestApplyUnitTypes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		unit   pe.ConsistencyUnit
		lastOK string
	}{
		{"partition units track the last successful partition", byDate, "2026-01-02"},
		{"time windows too", pe.ConsistencyUnit{Type: pe.UnitTimeWindow, Key: "emitted_at"}, "2026-01-02"},
		{"dag branches have no order", pe.ConsistencyUnit{Type: pe.UnitDagBranch}, ""},
		{"dataset units have no order", pe.ConsistencyUnit{Type: pe.UnitDataset}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o, err := pe.Apply(selective, pe.Run{ConsistencyUnit: tc.unit, Results: silver("2026-01-03")})
			require.NoError(t, err)
			require.Equal(t, tc.unit, o.State.ConsistencyUnit)
			require.Equal(t, tc.lastOK, o.Datasets[0].LastSuccessfulPartition)
		})
	}
}

func TestApplyRefuses(t *testing.T) {
	t.Parallel()
	envF := fault.Fault{Code: "STORAGE_QUOTA_EXCEEDED", Family: fault.EnvironmentalFaults}
	forbidden := fault.Fault{Code: "STATIC_FORBIDDEN_OPERATION", Family: fault.StaticSafetyFaults}
	tests := []struct {
		name    string
		policy  pe.Policy
		unit    pe.ConsistencyUnit
		results []pe.UnitResult
		is      error
		err     string
	}{
		{"no results", selective, byDate, nil, pe.ErrInvalidResults, "no unit results"},
		{"an environmental fault", selective, byDate, append(silver(), pe.Failed(u("nfe", "x"), 1, envF)), pe.ErrPanicRequired, "STORAGE_QUOTA_EXCEEDED"},
		{"a forbidden operation at run time (I6)", selective, byDate, append(silver(), pe.Failed(u("nfe", "x"), 1, forbidden)), pe.ErrPanicRequired, "I6"},
		{"a unit twice", selective, byDate, append(silver(), pe.Succeeded(u("silver_documentos", "2026-01-01"), 2)), pe.ErrInvalidResults, "two results"},
		{"attempts 0", selective, byDate, []pe.UnitResult{pe.Succeeded(u("nfe", "d"), 0)}, pe.ErrInvalidResults, "the first run is attempt 1"},
		{"failed without a code", selective, byDate, []pe.UnitResult{pe.Failed(u("nfe", "d"), 1, fault.Fault{Family: fault.RuntimeBehavioralFaults})}, pe.ErrInvalidResults, "no error_code"},
		{"the whitepaper's short family name", selective, byDate, []pe.UnitResult{pe.Failed(u("nfe", "d"), 1, fault.Fault{Code: "X", Family: "runtime_behavioral"})}, pe.ErrInvalidResults, "fault_family"},
		{"successful with a code", selective, byDate, []pe.UnitResult{{Unit: u("nfe", "d"), Status: pe.StatusSuccessful, Attempts: 1, ErrorCode: "X"}}, pe.ErrInvalidResults, "carries error_code"},
		{"unknown status", selective, byDate, []pe.UnitResult{{Unit: u("nfe", "d"), Status: "ok", Attempts: 1}}, pe.ErrInvalidResults, `status "ok"`},
		{"empty key", selective, byDate, []pe.UnitResult{pe.Succeeded(u("nfe", ""), 1)}, pe.ErrInvalidResults, "empty dataset or key"},
		{"unknown unit type", selective, pe.ConsistencyUnit{Type: "row"}, silver(), pe.ErrInvalidResults, "consistency_unit.type"},
		{"partition without key column", selective, pe.ConsistencyUnit{Type: pe.UnitPartition}, silver(), pe.ErrInvalidResults, "consistency_unit.key"},
		{"invalid policy", pe.Policy{Mode: pe.SelectiveQuarantine}, byDate, silver(), pe.ErrInvalidPolicy, "allowed_partial_commit"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := pe.Apply(tc.policy, pe.Run{ConsistencyUnit: tc.unit, Results: tc.results})
			require.ErrorIs(t, err, tc.is)
			require.ErrorContains(t, err, tc.err)
		})
	}
}

func TestPolicyValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		policy pe.Policy
		err    string
	}{
		{"every default is valid: full_rollback", mustPolicy(pe.FullRollback), ""},
		{"every default is valid: selective_quarantine", mustPolicy(pe.SelectiveQuarantine), ""},
		{"every default is valid: partial_commit_no_publish", mustPolicy(pe.PartialCommitNoPublish), ""},
		{"every default is valid: degraded_publish", mustPolicy(pe.DegradedPublish), ""},
		{"promotion_eligible is free", func() pe.Policy { p := selective; p.PromotionEligible = true; return p }(), ""},
		{"unknown mode", pe.Policy{Mode: "best_effort"}, "not one of"},
		{"publishing a partial selective result breaks I7", func() pe.Policy { p := selective; p.PublishOnPartialSuccess = true; return p }(), "I7"},
		{"degraded_publish that does not publish", func() pe.Policy { p := mustPolicy(pe.DegradedPublish); p.PublishOnPartialSuccess = false; return p }(), "use partial_commit_no_publish"},
		{"full_rollback with a partial commit", func() pe.Policy { p := mustPolicy(pe.FullRollback); p.AllowedPartialCommit = true; return p }(), "allowed_partial_commit must be false"},
		{"full_rollback of the failed unit only", func() pe.Policy {
			p := mustPolicy(pe.FullRollback)
			p.RollbackScope = pe.RollbackFailedUnitOnly
			return p
		}(), "rollback_scope must be all_consistency_units"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := tc.policy.Validate()
			if tc.err == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, pe.ErrInvalidPolicy)
			require.ErrorContains(t, err, tc.err)
		})
	}
}
