package kernel_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/codegen"
	"github.com/contextualflux/cfa/internal/kernel"
	"github.com/contextualflux/cfa/internal/partialexecution"
	"github.com/contextualflux/cfa/internal/planner/plannertest"
	"github.com/contextualflux/cfa/internal/runtimevalidation"
	"github.com/contextualflux/cfa/internal/signature"
)

// TestPlanStepReachesEveryUnitKind: the signature's execution fields
// reach step 9 through kernel.Plan, and each plan's units are what the
// executor runs, commits and validates: time windows on their day with
// their own script, atomic targets each with its part.
func TestPlanStepReachesEveryUnitKind(t *testing.T) {
	t.Parallel()
	cat := plannertest.Catalog()
	base := plannertest.Reconciliation(cat)
	base.Constraints.TemporalFilter = &signature.TemporalFilter{Column: "processing_date", From: "2026-01-02", To: "2026-01-04"}
	micro := base.Clone()
	micro.ExecutionMode, micro.TimeWindow = signature.ModeMicroBatch, "12h"
	atomic := base.Clone()
	atomic.CrossDatasetAtomic = true
	atomic.Datasets = append(atomic.Datasets, signature.Dataset{Name: "clientes_anon", Role: signature.RoleTarget})
	tests := []struct {
		name      string
		sig       signature.Signature
		cu        partialexecution.ConsistencyUnit
		keys      []string          // kernel.UnitKeys on the days holding data
		partition map[string]string // unit key → the partition it runs on
		target    map[string]string // unit key → the dataset it writes
		minRows   int64             // expected_output_range.min of a unit
	}{
		{name: "batch", sig: base, cu: partialexecution.ConsistencyUnit{Type: partialexecution.UnitPartition, Key: "processing_date"},
			partition: map[string]string{"2026-01-02": "2026-01-02"}, target: map[string]string{"2026-01-02": "silver_documentos"}, minRows: 1000},
		{name: "micro_batch", sig: micro, cu: partialexecution.ConsistencyUnit{Type: partialexecution.UnitTimeWindow, Key: "emitted_at"},
			keys:      []string{"2026-01-03T00:00:00", "2026-01-03T12:00:00"},
			partition: map[string]string{"2026-01-03T12:00:00": "2026-01-03"}, target: map[string]string{"2026-01-03T12:00:00": "silver_documentos"}, minRows: 500},
		{name: "cross_dataset_atomic", sig: atomic, cu: partialexecution.ConsistencyUnit{Type: partialexecution.UnitDataset, Key: "clientes_anon,silver_documentos"},
			keys:      []string{"clientes_anon", "silver_documentos"},
			partition: map[string]string{"clientes_anon": "", "silver_documentos": ""}, target: map[string]string{"clientes_anon": "clientes_anon", "silver_documentos": "silver_documentos"}, minRows: 1000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h, err := tc.sig.Hash()
			require.NoError(t, err)
			out, err := kernel.Plan(kernel.PlanInput{Signed: kernel.Signed{Signature: tc.sig, Hash: h}, AsOf: plannertest.AsOf}, cat)
			require.NoError(t, err)
			require.Nil(t, out.Refusal)
			p := *out.Plan
			cu, partitioned := kernel.ConsistencyUnitOf(p)
			require.Equal(t, tc.cu, cu)
			require.Equal(t, tc.keys, kernel.UnitKeys(p, []string{"2026-01-03"}))
			code, f := kernel.Generate(p, cat, []codegen.Backend{codegen.DBT{}})
			require.Nil(t, f)
			st, err := kernel.ValidateStatic(kernel.StaticInput{Plan: &p, Code: code}, cat)
			require.NoError(t, err)
			require.True(t, st.Report.Passed, "%v", st.Report.Violations)
			for key, part := range tc.partition {
				u, err := kernel.UnitOf(p, key, partitioned)
				require.NoError(t, err)
				require.Equal(t, part, u.Partition, key)
				require.Equal(t, tc.target[key], u.Target, key)
				load, ok := u.Plan.LoadStep()
				require.True(t, ok)
				require.Equal(t, u.Target, load.Params.Load.Target)
				script, err := kernel.UnitScript(p, code.Postgres, key)
				require.NoError(t, err)
				require.Contains(t, script, `MERGE INTO "silver"."`+u.Target+`"`)
			}
			require.Equal(t, tc.minRows, kernel.UnitLimits(p, runtimevalidation.DefaultLimits()).ExpectedOutputRange.Min)
		})
	}
}

// TestAtomicUnitsRollBackTogether: the kernel applies full_rollback to a
// cross_dataset_atomic execution whatever mode was asked, and names each
// target in the partial execution state.
func TestAtomicUnitsRollBackTogether(t *testing.T) {
	t.Parallel()
	passed := func(k string) kernel.RanUnit {
		return kernel.RanUnit{Key: k, Report: &runtimevalidation.UnitReport{Dataset: k, Key: k, Attempt: 1, Passed: true,
			Metrics: runtimevalidation.UnitMetrics{Dataset: k, Key: k, Attempt: 1}}}
	}
	in := kernel.PartialInput{Target: "clientes_anon", Keys: []string{"clientes_anon", "silver_documentos"}, Atomic: true,
		ConsistencyUnit: partialexecution.ConsistencyUnit{Type: partialexecution.UnitDataset, Key: "clientes_anon,silver_documentos"},
		Mode:            string(partialexecution.SelectiveQuarantine), Limits: runtimevalidation.DefaultLimits()}
	for _, tc := range []struct {
		name    string
		ran     []kernel.RanUnit
		overall partialexecution.OverallState
		action  partialexecution.Action
	}{
		{"both_pass", []kernel.RanUnit{passed("clientes_anon"), passed("silver_documentos")}, partialexecution.OverallCommitted, partialexecution.ActionCommit},
		{"one_fails", []kernel.RanUnit{passed("clientes_anon"), {Key: "silver_documentos", Error: "statement failed"}}, partialexecution.OverallRolledBack, partialexecution.ActionDiscard},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in := in
			in.Ran = tc.ran
			k, err := kernel.ApplyPartialFailurePolicy(in)
			require.NoError(t, err)
			o := k.Outcome
			require.Equal(t, tc.overall, o.State.OverallState)
			require.Equal(t, partialexecution.FullRollback, o.State.ConsistencyPolicy.Mode)
			for _, a := range o.Actions {
				require.Equal(t, a.Key, a.Dataset)
				require.Equal(t, tc.action, a.Action, a.Key)
			}
			require.Len(t, o.Datasets, 2)
		})
	}
}
