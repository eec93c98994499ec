package planner_test

import (
	"errors"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/planner"
	"github.com/contextualflux/cfa/internal/planner/plannertest"
	"github.com/contextualflux/cfa/internal/signature"
)

func kinds(p planner.ExecutionPlan) []string {
	out := make([]string, len(p.Steps))
	for i, s := range p.Steps {
		out[i] = s.ID
	}
	return out
}

func step(t *testing.T, p planner.ExecutionPlan, id string) planner.Step {
	t.Helper()
	s, ok := p.Step(id)
	require.True(t, ok, "no step %s in %v", id, kinds(p))
	return s
}

func TestPlanWhitepaperReconciliation(t *testing.T) {
	t.Parallel()
	cat := plannertest.Catalog()
	p, err := planner.Plan(plannertest.Reconciliation(cat), cat, planner.Options{AsOf: plannertest.AsOf})
	require.NoError(t, err)

	require.Equal(t, []string{"01_extract_nfe", "02_extract_clientes", "03_anonymize_clientes", "04_join_nfe_clientes", "05_load_silver_documentos"}, kinds(p))
	require.Equal(t, &planner.Window{Column: "processing_date", From: "2026-02-21", To: "2026-03-23"}, step(t, p, "01_extract_nfe").Params.Filter)
	require.Nil(t, step(t, p, "02_extract_clientes").Params.Filter, "clientes is not partitioned on the filter column")
	require.NotContains(t, planner.Names(step(t, p, "01_extract_nfe").Columns), "cpf", "raw nfe.cpf is not needed, so never read")

	anon := step(t, p, "03_anonymize_clientes")
	require.Equal(t, []planner.HashedColumn{{Column: "cpf", As: "cpf_hash"}}, anon.Params.Hash)
	require.Equal(t, []string{"email"}, anon.Params.Drop)

	j := step(t, p, "04_join_nfe_clientes").Params.Join
	require.Equal(t, planner.JoinBroadcast, j.Strategy)
	require.Equal(t, "nfe.cliente_id = clientes.cliente_id", j.Condition())

	load := step(t, p, "05_load_silver_documentos")
	require.Equal(t, planner.LoadMerge, load.Params.Load.Mode)
	require.Equal(t, []string{"nfe_id", "processing_date"}, load.Params.Key)
	require.Equal(t, "nfe_id", load.Params.Load.MergeKey)
	for _, s := range p.Steps {
		require.Equal(t, planner.MergeWithDeterministicKey, s.Idempotence, s.ID)
	}
	require.Equal(t, []string{"nfe_id", "cliente_id", "cpf_hash", "valor_total", "uf", "emitted_at", "processing_date"}, p.Contract.ExpectedColumns)
	require.Equal(t, []string{"cpf", "email"}, p.Contract.ForbiddenColumns)
	require.Equal(t, planner.UnitPartition, p.ConsistencyUnit)
	require.Regexp(t, `^[0-9a-f]{64}$`, p.Hash)
	again, err := planner.HashPlan(p)
	require.NoError(t, err)
	require.Equal(t, p.Hash, again)
}

// smallCatalog has datasets the shipped catalog lacks: a source with no
// merge key (so its rows are not known unique) and type mismatches.
func smallCatalog() *catalog.Catalog {
	return &catalog.Catalog{SnapshotVersion: "catalog_small", Datasets: []catalog.Dataset{
		{Name: "eventos", Layer: "bronze", SizeBytes: 1 << 30, Classification: "internal", PartitionKey: "dt",
			Columns: []catalog.Column{{Name: "id", Type: "string"}, {Name: "dt", Type: "date"}, {Name: "valor", Type: "string"}}},
		{Name: "eventos_silver", Layer: "silver", Classification: "internal", PartitionKey: "dt", MergeKey: "id",
			Columns: []catalog.Column{{Name: "id", Type: "string"}, {Name: "dt", Type: "date"}, {Name: "valor", Type: "decimal(18,2)"}}},
		{Name: "eventos_raw", Layer: "bronze", Classification: "internal", PartitionKey: "dt",
			Columns: []catalog.Column{{Name: "id", Type: "string"}, {Name: "dt", Type: "date"}, {Name: "valor", Type: "string"}}},
	}}
}

func eventos() signature.Signature {
	return signature.Signature{Intent: "eventos", TargetLayer: "bronze_to_silver",
		Operations: []string{signature.OpIngest},
		Datasets:   []signature.Dataset{{Name: "eventos", Role: signature.RoleSource}, {Name: "eventos_silver", Role: signature.RoleTarget}},
		Constraints: signature.Constraints{MergeKey: "id", MergeKeyRequired: true,
			TemporalFilter: &signature.TemporalFilter{Column: "dt", From: "2026-01-01"}},
	}
}

// clientesAnon anonymizes clientes into the unpartitioned clientes_anon.
func clientesAnon() signature.Signature {
	return signature.Signature{Intent: "clientes_anon", TargetLayer: "bronze_to_silver",
		Datasets:    []signature.Dataset{{Name: "clientes", Role: signature.RoleSource}, {Name: "clientes_anon", Role: signature.RoleTarget}},
		Constraints: signature.Constraints{NoPIIRaw: true, MergeKey: "cliente_id", Anonymize: []string{"clientes.cpf", "clientes.email"}}}
}

func TestTemplates(t *testing.T) {
	t.Parallel()
	cat := plannertest.Catalog()
	tests := []struct {
		name  string
		sig   func() signature.Signature
		cat   *catalog.Catalog
		opts  planner.Options
		steps []string
		check func(t *testing.T, p planner.ExecutionPlan)
	}{
		{
			name: "join_hash_when_both_sides_are_large",
			sig:  func() signature.Signature { return plannertest.Reconciliation(cat) },
			opts: planner.Options{AsOf: plannertest.AsOf, BroadcastMaxBytes: 1 << 20},
			check: func(t *testing.T, p planner.ExecutionPlan) {
				require.Equal(t, planner.JoinHash, step(t, p, "04_join_nfe_clientes").Params.Join.Strategy)
			},
		},
		{
			name:  "aggregate_sums_numeric_counts_integer_and_publishes",
			sig:   func() signature.Signature { return plannertest.RevenueByState(cat) },
			steps: []string{"01_extract_silver_documentos", "02_aggregate_gold_faturamento_uf", "03_load_gold_faturamento_uf", "04_publish_gold_faturamento_uf"},
			check: func(t *testing.T, p planner.ExecutionPlan) {
				agg := step(t, p, "02_aggregate_gold_faturamento_uf").Params
				require.Equal(t, []string{"uf", "processing_date"}, agg.GroupBy)
				require.Equal(t, []planner.Measure{{Func: "sum", Column: "valor_total", As: "valor_total"}, {Func: "count", As: "documentos"}}, agg.Measures)
				require.Equal(t, planner.MergeWithDeterministicKey, step(t, p, "04_publish_gold_faturamento_uf").Idempotence)
				require.Equal(t, planner.UnitPartition, p.ConsistencyUnit)
			},
		},
		{
			name:  "dedupe_with_partition_overwrite",
			sig:   func() signature.Signature { return plannertest.DocumentDedupe(cat) },
			opts:  planner.Options{Strategy: planner.PartitionOverwriteSafe},
			steps: []string{"01_extract_nfe", "02_anonymize_nfe", "03_dedupe_silver_documentos", "04_load_silver_documentos"},
			check: func(t *testing.T, p planner.ExecutionPlan) {
				d := step(t, p, "03_dedupe_silver_documentos").Params
				require.Equal(t, []string{"nfe_id", "processing_date"}, d.Key)
				require.Equal(t, planner.Order{Column: "emitted_at", Desc: true}, d.OrderBy[0], "the latest version wins")
				load := step(t, p, "04_load_silver_documentos")
				require.Equal(t, planner.LoadPartitionOverwrite, load.Params.Load.Mode)
				require.Equal(t, &planner.Window{Column: "processing_date", From: "2026-03-15", To: "2026-03-22"}, load.Params.Load.Window)
				for _, s := range p.Steps {
					require.Equal(t, planner.PartitionOverwriteSafe, s.Idempotence, s.ID)
				}
			},
		},
		{
			name:  "anonymize_into_an_unpartitioned_target_commits_the_dataset",
			sig:   clientesAnon,
			steps: []string{"01_extract_clientes", "02_anonymize_clientes", "03_load_clientes_anon"},
			check: func(t *testing.T, p planner.ExecutionPlan) {
				require.Equal(t, []string{"cliente_id", "cpf_hash", "uf", "segmento", "created_at"}, p.Contract.ExpectedColumns)
				require.Equal(t, []string{"email"}, step(t, p, "02_anonymize_clientes").Params.Drop)
				require.Equal(t, planner.UnitDataset, p.ConsistencyUnit)
				require.Equal(t, []string{"cliente_id"}, step(t, p, "03_load_clientes_anon").Params.Key)
			},
		},
		{
			name:  "dedupe_added_when_rows_are_not_proven_unique",
			sig:   eventos,
			cat:   smallCatalog(),
			steps: []string{"01_extract_eventos", "02_dedupe_eventos_silver", "03_load_eventos_silver"},
			check: func(t *testing.T, p planner.ExecutionPlan) {
				require.NotEmpty(t, step(t, p, "02_dedupe_eventos_silver").Params.Auto)
				require.Equal(t, &planner.Window{Column: "dt", From: "2026-01-01"}, p.Window, "an open-ended window is allowed")
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := cat
			if tc.cat != nil {
				c = tc.cat
			}
			p, err := planner.Plan(tc.sig(), c, tc.opts)
			require.NoError(t, err)
			if tc.steps != nil {
				require.Equal(t, tc.steps, kinds(p))
			}
			tc.check(t, p)
		})
	}
}

func TestPlanRefuses(t *testing.T) {
	t.Parallel()
	cat := plannertest.Catalog()
	opts := planner.Options{AsOf: plannertest.AsOf}
	rec := func(edit func(*signature.Signature)) func() signature.Signature {
		return func() signature.Signature {
			s := plannertest.Reconciliation(cat)
			edit(&s)
			return s
		}
	}
	tests := []struct {
		name       string
		sig        func() signature.Signature
		cat        *catalog.Catalog
		opts       *planner.Options // nil: AsOf set, everything else default
		is         error
		constraint string
	}{
		{name: "high_volume_without_filter", sig: rec(func(s *signature.Signature) { s.Constraints.TemporalFilter = nil }),
			is: planner.ErrUnboundedScan, constraint: planner.ConstraintTemporalFilter},
		{name: "filter_on_a_column_no_source_is_partitioned_by", sig: rec(func(s *signature.Signature) { s.Constraints.TemporalFilter.Column = "emitted_at" }),
			is: planner.ErrConstraint, constraint: planner.ConstraintTemporalFilter},
		{name: "missing_merge_key_for_silver", sig: rec(func(s *signature.Signature) { s.Constraints.MergeKey = "" }),
			is: planner.ErrConstraint, constraint: planner.ConstraintMergeKeyRequired},
		{name: "merge_key_not_a_target_column", sig: rec(func(s *signature.Signature) { s.Constraints.MergeKey = "cpf" }),
			is: planner.ErrUnknownColumn},
		{name: "append_refused", sig: rec(func(*signature.Signature) {}), opts: &planner.Options{AsOf: plannertest.AsOf, Strategy: planner.AppendWithoutDedup},
			is: planner.ErrAppendForbidden, constraint: planner.ConstraintIdempotency},
		{name: "append_refused_when_nothing_makes_the_write_idempotent", cat: smallCatalog(), sig: func() signature.Signature {
			s := eventos()
			s.TargetLayer, s.Constraints.MergeKey, s.Constraints.MergeKeyRequired, s.Constraints.TemporalFilter = "bronze", "", false, nil
			s.Datasets[1].Name = "eventos_raw"
			return s
		}, is: planner.ErrAppendForbidden, constraint: planner.ConstraintIdempotency},
		{name: "unknown_anonymize_column", sig: rec(func(s *signature.Signature) {
			s.Constraints.Anonymize = append(s.Constraints.Anonymize, "clientes.telefone")
		}),
			is: planner.ErrUnknownColumn},
		{name: "anonymize_a_dataset_not_read", sig: rec(func(s *signature.Signature) { s.Constraints.Anonymize = []string{"produtos.ncm"} }),
			is: planner.ErrUnknownDataset},
		{name: "raw_pii_when_cpf_is_not_anonymized", sig: rec(func(s *signature.Signature) { s.Constraints.Anonymize = nil }),
			is: planner.ErrNoTemplate}, // silver_documentos needs cpf_hash and nothing hashes cpf
		{name: "unknown_dataset", sig: rec(func(s *signature.Signature) { s.Datasets[0].Name = "boletos" }), is: planner.ErrUnknownDataset},
		{name: "last_days_without_as_of", sig: rec(func(*signature.Signature) {}), opts: &planner.Options{}, is: planner.ErrInvalidOptions},
		{name: "impossible_date", sig: rec(func(s *signature.Signature) {
			s.Constraints.TemporalFilter = &signature.TemporalFilter{Column: "processing_date", From: "2026-02-30"}
		}), is: planner.ErrInvalidOptions},
		{name: "empty_window", sig: rec(func(s *signature.Signature) {
			s.Constraints.TemporalFilter = &signature.TemporalFilter{Column: "processing_date", From: "2026-03-02", To: "2026-03-01"}
		}), is: planner.ErrConstraint, constraint: planner.ConstraintTemporalFilter},
		{name: "catalog_snapshot_mismatch", sig: rec(func(s *signature.Signature) { s.ExecutionContext.CatalogSnapshotVersion = "catalog_old" }),
			is: planner.ErrCatalogMismatch},
		{name: "target_layer_mismatch", sig: rec(func(s *signature.Signature) { s.TargetLayer = "silver_to_gold" }),
			is: planner.ErrConstraint, constraint: planner.ConstraintTargetLayer},
		{name: "two_targets", sig: rec(func(s *signature.Signature) {
			s.Datasets = append(s.Datasets, signature.Dataset{Name: "gold_faturamento_uf", Role: signature.RoleTarget})
		}), is: planner.ErrNoTemplate},
		{name: "join_with_one_source", sig: func() signature.Signature {
			s := plannertest.DocumentDedupe(cat)
			s.Operations = append(s.Operations, signature.OpJoin)
			return s
		}, is: planner.ErrNoTemplate},
		{name: "no_join_key", sig: rec(func(s *signature.Signature) {
			s.Datasets = append(s.Datasets, signature.Dataset{Name: "produtos", Role: signature.RoleSource})
		}), is: planner.ErrNoTemplate},
		{name: "publish_blocked", sig: func() signature.Signature {
			s := plannertest.RevenueByState(cat)
			s.Constraints.PublishBlocked = []string{"gold_faturamento_uf"}
			return s
		}, is: planner.ErrConstraint, constraint: planner.ConstraintPublishBlocked},
		{name: "partition_overwrite_of_an_unpartitioned_target", sig: clientesAnon,
			opts: &planner.Options{Strategy: planner.PartitionOverwriteSafe}, is: planner.ErrConstraint, constraint: planner.ConstraintIdempotency},
		{name: "enforce_types", cat: smallCatalog(), sig: func() signature.Signature {
			s := eventos()
			s.Constraints.EnforceTypes = true
			return s
		}, is: planner.ErrConstraint, constraint: planner.ConstraintEnforceTypes},
		{name: "micro_batch_into_unpartitioned_target", sig: clientesAnon, opts: &planner.Options{ExecutionMode: planner.ModeMicroBatch}, is: planner.ErrInvalidOptions},
		{name: "unknown_execution_mode", sig: rec(func(*signature.Signature) {}), opts: &planner.Options{ExecutionMode: "streaming"}, is: planner.ErrInvalidOptions},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := cat
			if tc.cat != nil {
				c = tc.cat
			}
			o := opts
			if tc.opts != nil {
				o = *tc.opts
			}
			_, err := planner.Plan(tc.sig(), c, o)
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

// TestVerifyCatchesCraftedPlans edits a good plan the way a bug or a
// tampered store could, and checks Verify names the broken constraint.
func TestVerifyCatchesCraftedPlans(t *testing.T) {
	t.Parallel()
	cat := plannertest.Catalog()
	sig := plannertest.Reconciliation(cat)
	good, err := planner.Plan(sig, cat, planner.Options{AsOf: plannertest.AsOf})
	require.NoError(t, err)
	require.NoError(t, planner.Verify(good, sig, cat))
	loadIdx := len(good.Steps) - 1

	tests := []struct {
		name       string
		edit       func(p *planner.ExecutionPlan)
		is         error
		constraint string
	}{
		{name: "raw_pii_reaches_the_load", edit: func(p *planner.ExecutionPlan) {
			cols := p.Steps[loadIdx].Columns
			i := slices.IndexFunc(cols, func(c planner.Column) bool { return c.Name == "cpf_hash" })
			cols[i].Transform = "" // the value is clientes.cpf unmasked under another name
		}, is: planner.ErrConstraint, constraint: planner.ConstraintNoPIIRaw},
		{name: "forbidden_column_name_in_the_load", edit: func(p *planner.ExecutionPlan) {
			p.Steps[loadIdx].Columns = append(p.Steps[loadIdx].Columns, planner.Column{Name: "email", Type: "string", Origin: "clientes.email", Transform: "sha256"})
		}, is: planner.ErrConstraint, constraint: planner.ConstraintNoPIIRaw},
		{name: "append_declared", edit: func(p *planner.ExecutionPlan) { p.Steps[loadIdx].Idempotence = planner.AppendWithoutDedup },
			is: planner.ErrAppendForbidden, constraint: planner.ConstraintIdempotency},
		{name: "load_without_merge_key", edit: func(p *planner.ExecutionPlan) { p.Steps[loadIdx].Params.Load.MergeKey = "" },
			is: planner.ErrConstraint, constraint: planner.ConstraintMergeKeyRequired},
		{name: "unknown_load_mode", edit: func(p *planner.ExecutionPlan) { p.Steps[loadIdx].Params.Load.Mode = "append" },
			is: planner.ErrAppendForbidden},
		{name: "high_volume_extract_without_filter", edit: func(p *planner.ExecutionPlan) { p.Steps[0].Params.Filter = nil },
			is: planner.ErrUnboundedScan, constraint: planner.ConstraintTemporalFilter},
		{name: "step_kind_outside_the_templates", edit: func(p *planner.ExecutionPlan) { p.Steps[2].Kind = "python" }, is: planner.ErrNoTemplate},
		{name: "input_is_not_an_earlier_step", edit: func(p *planner.ExecutionPlan) { p.Steps[0].Inputs = []string{"05_load_silver_documentos"} },
			is: planner.ErrNoTemplate},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, err := planner.Plan(sig, cat, planner.Options{AsOf: plannertest.AsOf}) // a fresh deep copy
			require.NoError(t, err)
			tc.edit(&p)
			err = planner.Verify(p, sig, cat)
			require.ErrorIs(t, err, tc.is)
			if tc.constraint != "" {
				var ce *planner.ConstraintError
				require.ErrorAs(t, err, &ce)
				require.Equal(t, tc.constraint, ce.Constraint)
			}
		})
	}
}

// TestVerifyCatchesAnOverwriteWiderThanItsWindow: an overwrite that reads
// more than it deletes appends the rest again on every run.
func TestVerifyCatchesAnOverwriteWiderThanItsWindow(t *testing.T) {
	t.Parallel()
	cat := plannertest.Catalog()
	sig := plannertest.DocumentDedupe(cat)
	opts := planner.Options{Strategy: planner.PartitionOverwriteSafe}
	tests := []struct {
		name string
		edit func(p *planner.ExecutionPlan)
	}{
		{name: "extract_reads_before_the_window", edit: func(p *planner.ExecutionPlan) { p.Steps[0].Params.Filter.From = "2026-01-01" }},
		{name: "extract_reads_past_the_window", edit: func(p *planner.ExecutionPlan) { p.Steps[0].Params.Filter.To = "" }},
		{name: "partition_key_lineage_lost", edit: func(p *planner.ExecutionPlan) {
			cols := p.Steps[len(p.Steps)-1].Columns
			cols[slices.IndexFunc(cols, func(c planner.Column) bool { return c.Name == "processing_date" })].Origin = "nfe.emitted_at"
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, err := planner.Plan(sig, cat, opts)
			require.NoError(t, err)
			require.NoError(t, planner.Verify(p, sig, cat))
			tc.edit(&p)
			var ce *planner.ConstraintError
			require.ErrorAs(t, planner.Verify(p, sig, cat), &ce)
			require.Equal(t, planner.ConstraintIdempotency, ce.Constraint)
		})
	}
}

func TestSelectConsistencyUnit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		opts        planner.Options
		partitioned bool
		want        planner.ConsistencyUnit
	}{
		{"batch_partitioned", planner.Options{ExecutionMode: planner.ModeBatch}, true, planner.UnitPartition},
		{"default_mode_is_batch", planner.Options{}, true, planner.UnitPartition},
		{"batch_unpartitioned_commits_the_dataset", planner.Options{}, false, planner.UnitDataset},
		{"cross_dataset_atomic", planner.Options{CrossDatasetAtomic: true}, true, planner.UnitDataset},
		{"cross_dataset_atomic_outranks_composite", planner.Options{CrossDatasetAtomic: true, Composite: true}, true, planner.UnitDataset},
		{"composite", planner.Options{Composite: true, ExecutionMode: planner.ModeMicroBatch}, true, planner.UnitDagBranch},
		{"micro_batch", planner.Options{ExecutionMode: planner.ModeMicroBatch}, true, planner.UnitTimeWindow},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, rule, err := planner.SelectConsistencyUnit(tc.opts, tc.partitioned)
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
			require.NotEmpty(t, rule)
		})
	}
}

func TestLastDaysWindowEndsOnAsOfInclusive(t *testing.T) {
	t.Parallel()
	cat := plannertest.Catalog()
	sig := plannertest.Reconciliation(cat)
	sig.Constraints.TemporalFilter.LastDays = 1
	p, err := planner.Plan(sig, cat, planner.Options{AsOf: "2026-03-01"})
	require.NoError(t, err)
	require.Equal(t, &planner.Window{Column: "processing_date", From: "2026-03-01", To: "2026-03-02"}, p.Window)
}

// shuffled returns a copy of sig with every set-like slice permuted, and a
// catalog with its datasets permuted: none of these orders carries meaning.
func shuffled(r *rand.Rand, sig signature.Signature, cat *catalog.Catalog) (signature.Signature, *catalog.Catalog) {
	perm := func(n int, swap func(i, j int)) { r.Shuffle(n, swap) }
	s := sig
	s.Datasets = slices.Clone(sig.Datasets)
	perm(len(s.Datasets), func(i, j int) { s.Datasets[i], s.Datasets[j] = s.Datasets[j], s.Datasets[i] })
	s.Operations = slices.Clone(sig.Operations)
	perm(len(s.Operations), func(i, j int) { s.Operations[i], s.Operations[j] = s.Operations[j], s.Operations[i] })
	s.Constraints.Anonymize = slices.Clone(sig.Constraints.Anonymize)
	perm(len(s.Constraints.Anonymize), func(i, j int) {
		s.Constraints.Anonymize[i], s.Constraints.Anonymize[j] = s.Constraints.Anonymize[j], s.Constraints.Anonymize[i]
	})
	c := *cat
	c.Datasets = slices.Clone(cat.Datasets)
	perm(len(c.Datasets), func(i, j int) { c.Datasets[i], c.Datasets[j] = c.Datasets[j], c.Datasets[i] })
	for i := range c.Datasets {
		c.Datasets[i].PII = slices.Clone(c.Datasets[i].PII)
		perm(len(c.Datasets[i].PII), func(a, b int) {
			c.Datasets[i].PII[a], c.Datasets[i].PII[b] = c.Datasets[i].PII[b], c.Datasets[i].PII[a]
		})
	}
	return s, &c
}

func TestPlanIsDeterministic(t *testing.T) {
	t.Parallel()
	cat := plannertest.Catalog()
	for _, sig := range []signature.Signature{plannertest.Reconciliation(cat), plannertest.RevenueByState(cat), plannertest.DocumentDedupe(cat), plannertest.PublishOnly(cat)} {
		want, err := planner.Plan(sig, cat, planner.Options{AsOf: plannertest.AsOf})
		require.NoError(t, err)
		r := rand.New(rand.NewPCG(1, 2))
		for range 100 {
			s, c := shuffled(r, sig, cat)
			got, err := planner.Plan(s, c, planner.Options{AsOf: plannertest.AsOf})
			require.NoError(t, err)
			require.Equal(t, want.Hash, got.Hash)
			require.Equal(t, want, got)
		}
	}
}

func TestConstraintErrorNamesTheConstraint(t *testing.T) {
	t.Parallel()
	cat := plannertest.Catalog()
	sig := plannertest.Reconciliation(cat)
	sig.Constraints.TemporalFilter = nil
	_, err := planner.Plan(sig, cat, planner.Options{})
	require.ErrorContains(t, err, "temporal_filter")
	require.ErrorContains(t, err, "nfe")
	require.True(t, errors.Is(err, planner.ErrConstraint))
}
