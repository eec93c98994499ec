package planner_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/planner"
	"github.com/contextualflux/cfa/internal/planner/plannertest"
	"github.com/contextualflux/cfa/internal/policy"
	"github.com/contextualflux/cfa/internal/registry"
	"github.com/contextualflux/cfa/internal/resolution"
	"github.com/contextualflux/cfa/internal/signature"
)

func TestPlanPublishOnly(t *testing.T) {
	t.Parallel()
	cat := plannertest.Catalog()
	sig := plannertest.PublishOnly(cat)
	tests := []struct {
		name string
		opts planner.Options
		unit planner.ConsistencyUnit
	}{
		{"batch_commits_the_dataset", planner.Options{}, planner.UnitDataset},
		{"composite_branch", planner.Options{Composite: true}, planner.UnitDagBranch},
		{"cross_dataset_atomic", planner.Options{CrossDatasetAtomic: true, Composite: true}, planner.UnitDataset},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, err := planner.Plan(sig, cat, tc.opts)
			require.NoError(t, err)
			require.Equal(t, []string{"01_publish_gold_faturamento_uf"}, kinds(p))
			s := p.Steps[0]
			require.Equal(t, planner.KindPublish, s.Kind)
			require.Equal(t, "gold_faturamento_uf", s.Dataset)
			require.Equal(t, planner.Params{Publish: "gold_faturamento_uf"}, s.Params)
			require.Equal(t, planner.MergeWithDeterministicKey, s.Idempotence)
			require.Empty(t, s.Inputs)
			require.Empty(t, s.Columns)

			require.True(t, p.PublishOnly())
			_, ok := p.LoadStep()
			require.False(t, ok, "a publish-only plan writes nothing")
			require.Equal(t, "gold_faturamento_uf", p.Target)
			require.Equal(t, "gold", p.TargetLayer)
			require.Equal(t, planner.MergeWithDeterministicKey, p.Strategy)
			require.Equal(t, tc.unit, p.ConsistencyUnit)
			require.NotEmpty(t, p.ConsistencyRule)
			require.Nil(t, p.Window)
			require.Equal(t, planner.Contract{ExpectedColumns: []string{}, ForbiddenColumns: []string{}}, p.Contract)
			require.Regexp(t, `^[0-9a-f]{64}$`, p.Hash)
			require.NoError(t, planner.Verify(p, sig, cat))

			// Read back from storage: same hash, still verifies.
			raw, err := json.Marshal(p)
			require.NoError(t, err)
			var back planner.ExecutionPlan
			require.NoError(t, json.Unmarshal(raw, &back))
			h, err := planner.HashPlan(back)
			require.NoError(t, err)
			require.Equal(t, p.Hash, h)
			require.NoError(t, planner.Verify(back, sig, cat))
		})
	}
}

// TestPublishOnlyPlansWhatResolutionResolves plans the 5.4 sub-intent
// publish_audit_view from its text, through resolution and the Policy
// Engine, so the fixture cannot drift from what the pipeline produces.
func TestPublishOnlyPlansWhatResolutionResolves(t *testing.T) {
	t.Parallel()
	cat := plannertest.Catalog()
	env := registry.EnvironmentState{VersionID: "reg_0001"}
	res := resolution.Resolve("publish gold_faturamento_uf", cat, env)
	require.True(t, res.Resolved, res.Reason)
	bundle, err := policy.Default()
	require.NoError(t, err)
	g, err := policy.Govern(res.Signature, env, cat, bundle)
	require.NoError(t, err)
	require.Empty(t, g.Final.Sources())
	require.Equal(t, plannertest.PublishOnly(cat).Operations, g.Final.Operations)

	got, err := planner.Plan(g.Final, cat, planner.Options{Composite: true})
	require.NoError(t, err)
	want, err := planner.Plan(plannertest.PublishOnly(cat), cat, planner.Options{Composite: true})
	require.NoError(t, err)
	require.Equal(t, want.Steps, got.Steps)
	require.Equal(t, want.ConsistencyUnit, got.ConsistencyUnit)
}

func TestPlanRefusesPublishOnly(t *testing.T) {
	t.Parallel()
	cat := plannertest.Catalog()
	pub := func(edit func(*signature.Signature)) func() signature.Signature {
		return func() signature.Signature {
			s := plannertest.PublishOnly(cat)
			edit(&s)
			return s
		}
	}
	tests := []struct {
		name       string
		sig        func() signature.Signature
		opts       planner.Options
		is         error
		constraint string
	}{
		{name: "publish_blocked", sig: pub(func(s *signature.Signature) { s.Constraints.PublishBlocked = []string{"gold_faturamento_uf"} }),
			is: planner.ErrConstraint, constraint: planner.ConstraintPublishBlocked},
		{name: "no_source_without_publish", sig: pub(func(s *signature.Signature) { s.Operations = []string{signature.OpMerge} }),
			is: planner.ErrNoTemplate},
		{name: "no_source_aggregate", sig: pub(func(s *signature.Signature) {
			s.Operations = append(s.Operations, signature.OpAggregate)
		}), is: planner.ErrNoTemplate},
		{name: "no_source_two_targets", sig: pub(func(s *signature.Signature) {
			s.Datasets = append(s.Datasets, signature.Dataset{Name: "silver_documentos", Role: signature.RoleTarget})
		}), is: planner.ErrNoTemplate},
		{name: "no_dataset_at_all", sig: pub(func(s *signature.Signature) { s.Datasets = nil }), is: planner.ErrNoTemplate},
		{name: "anonymize_without_source", sig: pub(func(s *signature.Signature) { s.Constraints.Anonymize = []string{"clientes.cpf"} }),
			is: planner.ErrNoTemplate},
		{name: "temporal_filter_without_source", sig: pub(func(s *signature.Signature) {
			s.Constraints.TemporalFilter = &signature.TemporalFilter{Column: "processing_date", From: "2026-03-01"}
		}), is: planner.ErrConstraint, constraint: planner.ConstraintTemporalFilter},
		{name: "partition_overwrite_forced", sig: pub(func(*signature.Signature) {}), opts: planner.Options{Strategy: planner.PartitionOverwriteSafe},
			is: planner.ErrConstraint, constraint: planner.ConstraintIdempotency},
		{name: "append_forced", sig: pub(func(*signature.Signature) {}), opts: planner.Options{Strategy: planner.AppendWithoutDedup},
			is: planner.ErrAppendForbidden, constraint: planner.ConstraintIdempotency},
		{name: "micro_batch_has_no_window", sig: pub(func(*signature.Signature) {}), opts: planner.Options{ExecutionMode: planner.ModeMicroBatch},
			is: planner.ErrInvalidOptions},
		{name: "target_layer_mismatch", sig: pub(func(s *signature.Signature) { s.TargetLayer = "silver" }),
			is: planner.ErrConstraint, constraint: planner.ConstraintTargetLayer},
		{name: "unknown_target", sig: pub(func(s *signature.Signature) { s.Datasets[0].Name = "gold_vendas_loja" }), is: planner.ErrUnknownDataset},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := planner.Plan(tc.sig(), cat, tc.opts)
			require.Error(t, err)
			require.ErrorIs(t, err, tc.is, err.Error())
			if tc.constraint != "" {
				var ce *planner.ConstraintError
				require.ErrorAs(t, err, &ce)
				require.Equal(t, tc.constraint, ce.Constraint)
			}
		})
	}
}

// TestVerifyCatchesCraftedPublishPlans edits a publish-only plan (or its
// signature) the way a tampered store could; Verify accepts only the
// template's exact shape. Rehashing would not help: Verify reads content.
func TestVerifyCatchesCraftedPublishPlans(t *testing.T) {
	t.Parallel()
	cat := plannertest.Catalog()
	publishOnly := func(t *testing.T) (planner.ExecutionPlan, signature.Signature) {
		sig := plannertest.PublishOnly(cat)
		p, err := planner.Plan(sig, cat, planner.Options{})
		require.NoError(t, err)
		return p, sig
	}
	retarget := func(p *planner.ExecutionPlan, name, layer string) {
		p.Target, p.TargetLayer = name, layer
		p.Steps[0].ID, p.Steps[0].Dataset, p.Steps[0].Params.Publish = "01_publish_"+name, name, name
	}
	tests := []struct {
		name       string
		base       func(t *testing.T) (planner.ExecutionPlan, signature.Signature)
		edit       func(p *planner.ExecutionPlan, sig *signature.Signature)
		is         error
		constraint string
	}{
		{name: "target_differs_from_the_signature", edit: func(p *planner.ExecutionPlan, _ *signature.Signature) {
			retarget(p, "silver_documentos", "silver")
		}, is: planner.ErrNoTemplate},
		{name: "publishes_another_dataset_than_its_step", edit: func(p *planner.ExecutionPlan, _ *signature.Signature) {
			p.Steps[0].Params.Publish = "silver_documentos"
		}, is: planner.ErrNoTemplate},
		{name: "signature_blocks_the_target", edit: func(_ *planner.ExecutionPlan, sig *signature.Signature) {
			sig.Constraints.PublishBlocked = []string{"gold_faturamento_uf"}
		}, is: planner.ErrConstraint, constraint: planner.ConstraintPublishBlocked},
		{name: "signature_does_not_ask_to_publish", edit: func(_ *planner.ExecutionPlan, sig *signature.Signature) {
			sig.Operations = []string{signature.OpMerge}
		}, is: planner.ErrNoTemplate},
		{name: "step_id_renumbered", edit: func(p *planner.ExecutionPlan, _ *signature.Signature) {
			p.Steps[0].ID = "02_publish_gold_faturamento_uf"
		}, is: planner.ErrNoTemplate},
		{name: "target_layer_changed", edit: func(p *planner.ExecutionPlan, _ *signature.Signature) { p.TargetLayer = "silver" },
			is: planner.ErrNoTemplate},
		{name: "load_added", edit: func(p *planner.ExecutionPlan, _ *signature.Signature) {
			p.Steps = append(p.Steps, planner.Step{ID: "02_load_gold_faturamento_uf", Kind: planner.KindLoad, Dataset: "gold_faturamento_uf",
				Idempotence: planner.MergeWithDeterministicKey, Params: planner.Params{Key: []string{"uf"},
					Load: &planner.Load{Mode: planner.LoadMerge, Target: "gold_faturamento_uf", Layer: "gold", MergeKey: "uf"}}})
		}, is: planner.ErrNoTemplate},
		{name: "publish_reads_an_earlier_step", edit: func(p *planner.ExecutionPlan, _ *signature.Signature) {
			p.Steps = append([]planner.Step{{ID: "00_extract_silver_documentos", Kind: planner.KindExtract, Dataset: "silver_documentos",
				Idempotence: planner.MergeWithDeterministicKey}}, p.Steps...)
			p.Steps[1].Inputs = []string{"00_extract_silver_documentos"}
		}, is: planner.ErrNoTemplate},
		{name: "idempotence_changed", edit: func(p *planner.ExecutionPlan, _ *signature.Signature) {
			p.Steps[0].Idempotence = planner.PartitionOverwriteSafe
		}, is: planner.ErrConstraint, constraint: planner.ConstraintIdempotency},
		{name: "append_declared", edit: func(p *planner.ExecutionPlan, _ *signature.Signature) {
			p.Steps[0].Idempotence = planner.AppendWithoutDedup
		}, is: planner.ErrAppendForbidden, constraint: planner.ConstraintIdempotency},
		{name: "strategy_changed", edit: func(p *planner.ExecutionPlan, _ *signature.Signature) { p.Strategy = planner.PartitionOverwriteSafe },
			is: planner.ErrConstraint, constraint: planner.ConstraintIdempotency},
		{name: "contract_added", edit: func(p *planner.ExecutionPlan, _ *signature.Signature) {
			p.Contract.ExpectedColumns = []string{"uf"}
		}, is: planner.ErrNoTemplate},
		{name: "window_added", edit: func(p *planner.ExecutionPlan, _ *signature.Signature) {
			p.Window = &planner.Window{Column: "processing_date", From: "2026-03-01"}
		}, is: planner.ErrNoTemplate},
		{name: "step_parameters_added", edit: func(p *planner.ExecutionPlan, _ *signature.Signature) {
			p.Steps[0].Params.Key = []string{"uf"}
		}, is: planner.ErrNoTemplate},
		{name: "partition_unit", edit: func(p *planner.ExecutionPlan, _ *signature.Signature) { p.ConsistencyUnit = planner.UnitPartition },
			is: planner.ErrNoTemplate},
		{name: "publish_only_plan_for_a_signature_with_sources", edit: func(_ *planner.ExecutionPlan, sig *signature.Signature) {
			*sig = plannertest.RevenueByState(cat)
		}, is: planner.ErrNoTemplate},
		{name: "plan_with_a_load_for_the_publish_only_signature", edit: func(p *planner.ExecutionPlan, _ *signature.Signature) {
			other, err := planner.Plan(plannertest.RevenueByState(cat), cat, planner.Options{})
			require.NoError(t, err)
			*p = other
		}, is: planner.ErrNoTemplate},
		{name: "blocked_publish_after_a_load", base: func(t *testing.T) (planner.ExecutionPlan, signature.Signature) {
			sig := plannertest.RevenueByState(cat)
			p, err := planner.Plan(sig, cat, planner.Options{})
			require.NoError(t, err)
			sig.Constraints.PublishBlocked = []string{"gold_faturamento_uf"}
			return p, sig
		}, edit: func(*planner.ExecutionPlan, *signature.Signature) {}, is: planner.ErrConstraint, constraint: planner.ConstraintPublishBlocked},
		{name: "publish_before_the_load", base: func(t *testing.T) (planner.ExecutionPlan, signature.Signature) {
			sig := plannertest.RevenueByState(cat)
			p, err := planner.Plan(sig, cat, planner.Options{})
			require.NoError(t, err)
			return p, sig
		}, edit: func(p *planner.ExecutionPlan, _ *signature.Signature) {
			p.Steps[3].Inputs = []string{"02_aggregate_gold_faturamento_uf"}
		}, is: planner.ErrNoTemplate},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			base := publishOnly
			if tc.base != nil {
				base = tc.base
			}
			p, sig := base(t)
			tc.edit(&p, &sig)
			err := planner.Verify(p, sig, cat)
			require.ErrorIs(t, err, tc.is)
			if tc.constraint != "" {
				var ce *planner.ConstraintError
				require.ErrorAs(t, err, &ce)
				require.Equal(t, tc.constraint, ce.Constraint)
			}
		})
	}
}
