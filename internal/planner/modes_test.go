package planner_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/planner"
	"github.com/contextualflux/cfa/internal/planner/plannertest"
	"github.com/contextualflux/cfa/internal/signature"
)

// oneDay bounds the reconciliation to 2026-01-03.
var oneDay = &signature.TemporalFilter{Column: "processing_date", From: "2026-01-03", To: "2026-01-04"}

// atomicPair is "atomically update silver_documentos and clientes_anon":
// the reconciliation writing both targets in one transaction.
func atomicPair(s *signature.Signature) {
	s.CrossDatasetAtomic = true
	s.Datasets = append(s.Datasets, signature.Dataset{Name: "clientes_anon", Role: signature.RoleTarget})
}

// TestPlanExecutionModesFromTheSignature: the signature's execution_mode,
// time_window and cross_dataset_atomic reach the 5.5 selection rules, and
// each unit kind plans to its units.
func TestPlanExecutionModesFromTheSignature(t *testing.T) {
	t.Parallel()
	cat := plannertest.Catalog()
	rec := func(edit func(*signature.Signature)) signature.Signature {
		s := plannertest.Reconciliation(cat)
		s.Constraints.TemporalFilter = &signature.TemporalFilter{Column: "processing_date", From: "2026-01-01", To: "2026-01-04"}
		edit(&s)
		return s
	}
	revenue := func(edit func(*signature.Signature)) signature.Signature {
		s := plannertest.RevenueByState(cat)
		edit(&s)
		return s
	}
	tests := []struct {
		name       string
		sig        signature.Signature
		unit       planner.ConsistencyUnit
		rule       string
		windows    int    // time_window units; 0: none
		first      string // first window key
		last       string // last window key
		eventTime  string
		targets    []string // PerTarget's targets, in order
		windowOpen [2]bool  // OpenStart of the first, OpenEnd of the last
	}{
		{name: "batch_by_default", sig: rec(func(*signature.Signature) {}), unit: planner.UnitPartition, rule: "execution_mode == batch",
			targets: []string{"silver_documentos"}},
		{name: "batch_spelled_out", sig: rec(func(s *signature.Signature) { s.ExecutionMode = signature.ModeBatch }), unit: planner.UnitPartition,
			rule: "execution_mode == batch", targets: []string{"silver_documentos"}},
		{name: "micro_batch_15m_over_one_day", sig: rec(func(s *signature.Signature) {
			s.ExecutionMode, s.TimeWindow, s.Constraints.TemporalFilter = signature.ModeMicroBatch, "15m", oneDay
		}), unit: planner.UnitTimeWindow, rule: "execution_mode == micro_batch", windows: 96,
			first: "2026-01-03T00:00:00", last: "2026-01-03T23:45:00", eventTime: "emitted_at", targets: []string{"silver_documentos"}, windowOpen: [2]bool{true, true}},
		{name: "micro_batch_6h_over_three_days", sig: rec(func(s *signature.Signature) {
			s.ExecutionMode, s.TimeWindow = signature.ModeMicroBatch, "6h"
		}), unit: planner.UnitTimeWindow, rule: "execution_mode == micro_batch", windows: 12,
			first: "2026-01-01T00:00:00", last: "2026-01-03T18:00:00", eventTime: "emitted_at", targets: []string{"silver_documentos"}, windowOpen: [2]bool{true, true}},
		{name: "micro_batch_24h_is_one_window_a_day", sig: rec(func(s *signature.Signature) {
			s.ExecutionMode, s.TimeWindow = signature.ModeMicroBatch, "24h"
		}), unit: planner.UnitTimeWindow, rule: "execution_mode == micro_batch", windows: 3,
			first: "2026-01-01T00:00:00", last: "2026-01-03T00:00:00", targets: []string{"silver_documentos"}, windowOpen: [2]bool{true, true}},
		{name: "micro_batch_aggregate_by_day", sig: revenue(func(s *signature.Signature) {
			s.ExecutionMode, s.TimeWindow = signature.ModeMicroBatch, "24h"
			s.Constraints.TemporalFilter = &signature.TemporalFilter{Column: "processing_date", From: "2026-03-20", To: "2026-03-22"}
		}), unit: planner.UnitTimeWindow, rule: "execution_mode == micro_batch", windows: 2,
			first: "2026-03-20T00:00:00", last: "2026-03-21T00:00:00", targets: []string{"gold_faturamento_uf"}, windowOpen: [2]bool{true, true}},
		{name: "cross_dataset_atomic_one_target", sig: rec(func(s *signature.Signature) { s.CrossDatasetAtomic = true }),
			unit: planner.UnitDataset, rule: "cross_dataset_atomic == true", targets: []string{"silver_documentos"}},
		{name: "cross_dataset_atomic_two_targets", sig: rec(atomicPair), unit: planner.UnitDataset, rule: "cross_dataset_atomic == true",
			targets: []string{"clientes_anon", "silver_documentos"}},
		{name: "cross_dataset_atomic_outranks_micro_batch", sig: rec(func(s *signature.Signature) {
			atomicPair(s)
			s.ExecutionMode, s.TimeWindow = signature.ModeMicroBatch, "15m"
		}), unit: planner.UnitDataset, rule: "cross_dataset_atomic == true", targets: []string{"clientes_anon", "silver_documentos"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, err := planner.Plan(tc.sig, cat, planner.Options{AsOf: plannertest.AsOf})
			require.NoError(t, err)
			var targets []string
			for _, q := range p.PerTarget() {
				targets = append(targets, q.Target)
				require.Equal(t, tc.unit, q.ConsistencyUnit, q.Target)
				require.Equal(t, tc.rule, q.ConsistencyRule, q.Target)
				load, ok := q.LoadStep()
				require.True(t, ok)
				require.Equal(t, q.Target, load.Params.Load.Target)
			}
			require.Equal(t, tc.targets, targets)
			if tc.windows == 0 {
				require.Nil(t, p.TimeWindows)
			} else {
				tw := p.TimeWindows
				require.NotNil(t, tw)
				require.Len(t, tw.Units, tc.windows)
				require.Equal(t, tc.first, tw.Units[0].Key)
				require.Equal(t, tc.last, tw.Units[len(tw.Units)-1].Key)
				require.Equal(t, tc.eventTime, tw.EventTime)
				require.Equal(t, "processing_date", tw.Column)
				require.Equal(t, tc.windowOpen, [2]bool{tw.Units[0].OpenStart(), tw.Units[len(tw.Units)-1].OpenEnd()})
				for _, u := range tw.Units {
					require.Equal(t, u.Key[:10], u.Partition, "a window lies in one day")
					got, ok := tw.Unit(u.Key)
					require.True(t, ok)
					require.Equal(t, u, got)
				}
			}
			// I8: the same inputs plan to the same bytes.
			again, err := planner.Plan(tc.sig, cat, planner.Options{AsOf: plannertest.AsOf})
			require.NoError(t, err)
			a, _ := json.Marshal(p)
			b, _ := json.Marshal(again)
			require.Equal(t, string(a), string(b))
			require.NoError(t, planner.Verify(p, tc.sig, cat))
			require.NoError(t, planner.Conform(p, again))
		})
	}
}

// TestPlanCrossDatasetAtomicParts: each target of an atomic plan reads the
// sources that make it, under the keys the catalog declares for it.
func TestPlanCrossDatasetAtomicParts(t *testing.T) {
	t.Parallel()
	cat := plannertest.Catalog()
	sig := plannertest.Reconciliation(cat)
	atomicPair(&sig)
	p, err := planner.Plan(sig, cat, planner.Options{AsOf: plannertest.AsOf})
	require.NoError(t, err)
	require.Len(t, p.Parts, 1)

	anon := p.PerTarget()[0]
	require.Equal(t, "clientes_anon", anon.Target)
	require.Equal(t, []string{"01_extract_clientes", "02_anonymize_clientes", "03_load_clientes_anon"}, kinds(anon))
	require.Nil(t, anon.Window, "clientes is not partitioned: the signed window does not apply to it")
	load, _ := anon.LoadStep()
	require.Equal(t, "cliente_id", load.Params.Load.MergeKey, "the catalog's key of clientes_anon, not nfe_id")

	docs := p.Parts[0]
	require.Equal(t, "silver_documentos", docs.Target)
	require.Equal(t, []string{"01_extract_nfe", "02_extract_clientes", "03_anonymize_clientes", "04_join_nfe_clientes", "05_load_silver_documentos"}, kinds(docs))
	h, err := planner.HashPlan(docs)
	require.NoError(t, err)
	require.Equal(t, h, docs.Hash, "a part carries its own hash")
	whole, err := planner.HashPlan(p)
	require.NoError(t, err)
	require.Equal(t, whole, p.Hash, "the plan's hash covers its parts")
	for _, q := range p.PerTarget() {
		require.Equal(t, p.SignatureHash, q.SignatureHash)
		got, ok := p.ForTarget(q.Target)
		require.True(t, ok)
		require.Equal(t, q.Steps, got.Steps)
	}

	// A supplied plan that drops or changes a part is outside the signature.
	dropped := p
	dropped.Parts = nil
	require.ErrorIs(t, planner.Conform(dropped, p), planner.ErrOutsideSignature)
	require.Error(t, planner.Verify(dropped, sig, cat))
	edited := p
	edited.Parts = []planner.ExecutionPlan{docs}
	edited.Parts[0].Window = &planner.Window{Column: "processing_date", From: "2020-01-01", To: "2026-03-23"}
	require.Error(t, planner.Verify(edited, sig, cat))
	require.ErrorIs(t, planner.Conform(edited, p), planner.ErrOutsideSignature)
}

// TestPlanExecutionModeRefusals: what the signature's execution fields ask
// and no template gives is a refusal naming execution_mode; options that
// contradict the signature are the caller's error.
func TestPlanExecutionModeRefusals(t *testing.T) {
	t.Parallel()
	cat := plannertest.Catalog()
	rec := func(edit func(*signature.Signature)) func() signature.Signature {
		return func() signature.Signature {
			s := plannertest.Reconciliation(cat)
			s.Constraints.TemporalFilter = oneDay
			edit(&s)
			return s
		}
	}
	micro := func(w string) func(*signature.Signature) {
		return func(s *signature.Signature) { s.ExecutionMode, s.TimeWindow = signature.ModeMicroBatch, w }
	}
	tests := []struct {
		name       string
		sig        func() signature.Signature
		opts       planner.Options
		is         error
		constraint string
	}{
		{name: "unknown_execution_mode", sig: rec(func(s *signature.Signature) { s.ExecutionMode = "streaming" }),
			is: planner.ErrConstraint, constraint: planner.ConstraintExecutionMode},
		{name: "time_window_without_micro_batch", sig: rec(func(s *signature.Signature) { s.TimeWindow = "15m" }),
			is: planner.ErrConstraint, constraint: planner.ConstraintExecutionMode},
		{name: "micro_batch_without_time_window", sig: rec(micro("")), is: planner.ErrConstraint, constraint: planner.ConstraintExecutionMode},
		{name: "time_window_not_a_duration", sig: rec(micro("quarter")), is: planner.ErrConstraint, constraint: planner.ConstraintExecutionMode},
		{name: "time_window_not_dividing_a_day", sig: rec(micro("7m")), is: planner.ErrConstraint, constraint: planner.ConstraintExecutionMode},
		{name: "time_window_longer_than_a_day", sig: rec(micro("48h")), is: planner.ErrConstraint, constraint: planner.ConstraintExecutionMode},
		{name: "time_window_under_a_minute", sig: rec(micro("30s")), is: planner.ErrConstraint, constraint: planner.ConstraintExecutionMode},
		{name: "too_many_windows", sig: rec(func(s *signature.Signature) {
			micro("5m")(s)
			s.Constraints.TemporalFilter = &signature.TemporalFilter{Column: "processing_date", LastDays: 2}
		}), is: planner.ErrConstraint, constraint: planner.ConstraintExecutionMode},
		{name: "micro_batch_into_an_unpartitioned_target", sig: func() signature.Signature {
			s := plannertest.Reconciliation(cat)
			s.Datasets = []signature.Dataset{{Name: "clientes", Role: signature.RoleSource}, {Name: "clientes_anon", Role: signature.RoleTarget}}
			s.Operations = []string{signature.OpAnonymize, signature.OpMerge}
			s.Constraints.TemporalFilter, s.Constraints.MergeKey = nil, "cliente_id"
			micro("15m")(&s)
			return s
		}, is: planner.ErrConstraint, constraint: planner.ConstraintExecutionMode},
		{name: "micro_batch_with_an_open_window", sig: rec(func(s *signature.Signature) {
			micro("15m")(s)
			s.Constraints.TemporalFilter = &signature.TemporalFilter{Column: "processing_date", From: "2026-01-03"}
		}), is: planner.ErrConstraint, constraint: planner.ConstraintExecutionMode},
		{name: "sub_day_windows_of_an_aggregate", sig: func() signature.Signature {
			s := plannertest.RevenueByState(cat)
			micro("1h")(&s)
			s.Constraints.TemporalFilter = &signature.TemporalFilter{Column: "processing_date", From: "2026-03-20", To: "2026-03-21"}
			return s
		}, is: planner.ErrConstraint, constraint: planner.ConstraintExecutionMode},
		{name: "micro_batch_by_partition_overwrite", sig: func() signature.Signature {
			s := plannertest.DocumentDedupe(cat)
			micro("1h")(&s)
			s.Constraints.TemporalFilter = oneDay
			return s
		}, opts: planner.Options{Strategy: planner.PartitionOverwriteSafe}, is: planner.ErrConstraint, constraint: planner.ConstraintExecutionMode},
		{name: "two_targets_without_cross_dataset_atomic", sig: rec(func(s *signature.Signature) {
			atomicPair(s)
			s.CrossDatasetAtomic = false
		}), is: planner.ErrNoTemplate},
		{name: "options_contradict_the_signature", sig: rec(micro("15m")), opts: planner.Options{ExecutionMode: planner.ModeBatch},
			is: planner.ErrInvalidOptions},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			opts := tc.opts
			opts.AsOf = plannertest.AsOf
			_, err := planner.Plan(tc.sig(), cat, opts)
			require.Error(t, err)
			require.ErrorIs(t, err, tc.is, err.Error())
			if tc.constraint != "" {
				var ce *planner.ConstraintError
				require.ErrorAs(t, err, &ce)
				require.Equal(t, tc.constraint, ce.Constraint, err.Error())
			}
		})
	}
}

func TestParseTimeWindow(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in string
		ok bool
	}{{"15m", true}, {"1h", true}, {"24h", true}, {"90s", true}, {"1h30m", true}, {"59s", false}, {"25h", false}, {"7m", false}, {"", false}, {"-15m", false}} {
		_, err := planner.ParseTimeWindow(tc.in)
		require.Equal(t, tc.ok, err == nil, "%q: %v", tc.in, err)
	}
}
