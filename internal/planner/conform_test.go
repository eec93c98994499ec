package planner_test

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/fault"
	"github.com/contextualflux/cfa/internal/planner"
	"github.com/contextualflux/cfa/internal/planner/plannertest"
	"github.com/contextualflux/cfa/internal/signature"
)

func stepAt(t *testing.T, p *planner.ExecutionPlan, id string) *planner.Step {
	t.Helper()
	i := slices.IndexFunc(p.Steps, func(s planner.Step) bool { return s.ID == id })
	require.GreaterOrEqual(t, i, 0, "no step %s in %v", id, kinds(*p))
	return &p.Steps[i]
}

// setWindow moves the plan's window and the nfe extract's filter together,
// as a hand edit of `cfa plan ID -o json` would.
func setWindow(t *testing.T, p *planner.ExecutionPlan, from, to string) {
	t.Helper()
	w := &planner.Window{Column: "processing_date", From: from, To: to}
	p.Window = w
	f := *w
	stepAt(t, p, "01_extract_nfe").Params.Filter = &f
}

// TestSuppliedPlanOutsideSignatureIsBlocked is finding 3 of issue 10: a plan
// exported for the whitepaper reconciliation (last_days 30 as of
// 2026-03-22), edited and re-hashed, passes the integrity check but not the
// signature: each edit below is a Static Safety Fault that blocks, named by
// the aspect it widens or changes. A narrower window is accepted.
func TestSuppliedPlanOutsideSignatureIsBlocked(t *testing.T) {
	t.Parallel()
	cat := plannertest.Catalog()
	sig := plannertest.Reconciliation(cat)
	sigHash, err := sig.Canonical().Hash()
	require.NoError(t, err)
	governed, err := planner.Plan(sig, cat, planner.Options{AsOf: plannertest.AsOf})
	require.NoError(t, err)
	require.Equal(t, &planner.Window{Column: "processing_date", From: "2026-02-21", To: "2026-03-23"}, governed.Window, "fixture")
	require.Nil(t, planner.Conformance(governed, governed, sig, cat), "the governed plan is inside its own envelope")

	tests := []struct {
		name string
		edit func(t *testing.T, p *planner.ExecutionPlan)
		// constraint names the aspect; "" when the plan conforms.
		constraint string
		// byVerify: Verify alone (no as-of date) sees it; else only Conform.
		byVerify bool
	}{
		{name: "window_moved_to_2000_01_01_and_rehashed", edit: func(t *testing.T, p *planner.ExecutionPlan) {
			setWindow(t, p, "2000-01-01", "2026-03-23")
		}, constraint: planner.ConstraintTemporalFilter, byVerify: true},
		{name: "window_to_9999_12_31", edit: func(t *testing.T, p *planner.ExecutionPlan) {
			setWindow(t, p, "2026-02-21", "9999-12-31")
		}, constraint: planner.ConstraintTemporalFilter, byVerify: true},
		{name: "window_shifted_to_2000_keeping_30_days", edit: func(t *testing.T, p *planner.ExecutionPlan) {
			setWindow(t, p, "2000-01-01", "2000-01-31")
		}, constraint: planner.ConstraintTemporalFilter},
		{name: "plan_window_moved_filter_kept", edit: func(t *testing.T, p *planner.ExecutionPlan) {
			p.Window = &planner.Window{Column: "processing_date", From: "2025-06-01", To: "2026-03-23"}
		}, constraint: planner.ConstraintTemporalFilter, byVerify: true},
		{name: "join_on_uf_instead_of_cliente_id", edit: func(t *testing.T, p *planner.ExecutionPlan) {
			// Consistent enough for code generation: clientes' uf is read and
			// carried to the join.
			uf := planner.Column{Name: "uf", Type: "string", Origin: "clientes.uf"}
			for _, id := range []string{"02_extract_clientes", "03_anonymize_clientes"} {
				s := stepAt(t, p, id)
				s.Columns = append(s.Columns, uf)
			}
			j := stepAt(t, p, "04_join_nfe_clientes").Params.Join
			j.LeftColumn, j.RightColumn = "uf", "uf"
		}, constraint: planner.ConstraintJoinKey, byVerify: true},
		{name: "other_target", edit: func(t *testing.T, p *planner.ExecutionPlan) {
			l := stepAt(t, p, "05_load_silver_documentos")
			p.Target, l.Dataset, l.Params.Load.Target = "gold_faturamento_uf", "gold_faturamento_uf", "gold_faturamento_uf"
		}, constraint: planner.ConstraintTarget, byVerify: true},
		{name: "other_merge_key", edit: func(t *testing.T, p *planner.ExecutionPlan) {
			l := stepAt(t, p, "05_load_silver_documentos")
			l.Params.Load.MergeKey, l.Params.Key = "valor_total", []string{"valor_total", "processing_date"}
		}, constraint: planner.ConstraintMergeKey, byVerify: true},
		{name: "extra_column_written", edit: func(t *testing.T, p *planner.ExecutionPlan) {
			l := stepAt(t, p, "05_load_silver_documentos")
			l.Columns = append(l.Columns, planner.Column{Name: "segmento", Type: "string", Origin: "clientes.segmento"})
			p.Contract.ExpectedColumns = append(p.Contract.ExpectedColumns, "segmento")
		}, constraint: planner.ConstraintColumns, byVerify: true},
		{name: "extra_column_read", edit: func(t *testing.T, p *planner.ExecutionPlan) {
			e := stepAt(t, p, "01_extract_nfe")
			e.Columns = append(e.Columns, planner.Column{Name: "cpf", Type: "string", Origin: "nfe.cpf"})
		}, constraint: planner.ConstraintColumns},
		{name: "source_the_signature_does_not_read", edit: func(t *testing.T, p *planner.ExecutionPlan) {
			e := stepAt(t, p, "02_extract_clientes")
			e.Dataset = "clientes_anon"
			for i := range e.Columns {
				e.Columns[i].Origin = "clientes_anon." + e.Columns[i].Name
			}
		}, constraint: planner.ConstraintSources, byVerify: true},
		{name: "narrower_window_is_accepted", edit: func(t *testing.T, p *planner.ExecutionPlan) {
			setWindow(t, p, "2026-03-01", "2026-03-23")
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, err := planner.Plan(sig, cat, planner.Options{AsOf: plannertest.AsOf}) // a fresh deep copy
			require.NoError(t, err)
			tc.edit(t, &p)
			p.Hash, err = planner.HashPlan(p)
			require.NoError(t, err)
			require.Nil(t, planner.CheckSupplied(p, sigHash, cat.SnapshotVersion), "re-hashed: intact, for this signature and catalog")

			f := planner.Conformance(p, governed, sig, cat)
			if tc.constraint == "" {
				require.Nil(t, f)
				return
			}
			require.NotNil(t, f, "a plan outside the signature must not conform")
			require.Equal(t, fault.CodeOutsideSignature, f.Code)
			require.Equal(t, fault.StaticSafetyFaults, f.Family)
			require.Equal(t, fault.StageStaticValidation, f.Stage)
			require.Equal(t, "block", f.MandatoryAction)
			require.True(t, f.DetectedBeforeExecution)
			require.Equal(t, planner.RuleOutsideSignature, f.Rule)
			require.NotEmpty(t, f.Remediation)

			err = planner.Verify(p, sig, cat)
			if !tc.byVerify {
				require.NoError(t, err, "only the governed plan's dates show it")
				err = planner.Conform(p, governed)
			}
			require.ErrorIs(t, err, planner.ErrOutsideSignature)
			var ce *planner.ConstraintError
			require.ErrorAs(t, err, &ce)
			require.Equal(t, tc.constraint, ce.Constraint, err.Error())
			require.Contains(t, f.Message, "outside the signed signature ("+tc.constraint+")")
		})
	}
}

// TestSuppliedAbsoluteWindowIsCheckedWithoutTheAsOfDate: with from/to in
// the signature, Verify alone sees a window that reaches past them.
func TestSuppliedAbsoluteWindowIsCheckedWithoutTheAsOfDate(t *testing.T) {
	t.Parallel()
	cat := plannertest.Catalog()
	sig := plannertest.RevenueByState(cat) // processing_date in [2026-03-01, 2026-03-22)
	for _, w := range []planner.Window{
		{Column: "processing_date", From: "2000-01-01", To: "2026-03-22"},
		{Column: "processing_date", From: "2026-03-01", To: "9999-12-31"},
		{Column: "processing_date", From: "2026-03-01"},
		{Column: "emitted_at", From: "2026-03-01", To: "2026-03-22"},
	} {
		p, err := planner.Plan(sig, cat, planner.Options{})
		require.NoError(t, err)
		f := w
		p.Window, stepAt(t, &p, "01_extract_silver_documentos").Params.Filter = &w, &f
		err = planner.Verify(p, sig, cat)
		require.ErrorIs(t, err, planner.ErrOutsideSignature, "%+v", w)
		require.ErrorContains(t, err, "processing_date in [2026-03-01, 2026-03-22)")
	}
}

// TestMergeKeyMustBeAKey is finding 4 of issue 10: merge_key valor_total
// became DISTINCT ON (valor_total, processing_date) and dropped 663 of 6,000
// documents. A merge key is accepted only when the catalog declares it
// unique for the target (its merge_key, with the partition key); otherwise
// planning refuses, naming the key. No dedupe keeps one row per a key the
// catalog does not declare unique.
func TestMergeKeyMustBeAKey(t *testing.T) {
	t.Parallel()
	cat := plannertest.Catalog()
	small := smallCatalog()
	withKey := func(sig func(*catalog.Catalog) signature.Signature, key string) func() signature.Signature {
		return func() signature.Signature {
			s := sig(cat)
			s.Constraints.MergeKey = key
			return s
		}
	}
	tests := []struct {
		name string
		sig  func() signature.Signature
		cat  *catalog.Catalog
		opts planner.Options
		// refused: the message must name these; nil: planned, with every
		// dedupe on a declared key.
		refused []string
	}{
		{name: "merge_key_valor_total_is_blocked", sig: withKey(plannertest.Reconciliation, "valor_total"),
			refused: []string{`merge key "valor_total"`, "silver_documentos", "(nfe_id, processing_date)", `merge on "nfe_id"`}},
		{name: "merge_key_valor_total_with_overwrite_is_blocked", sig: withKey(plannertest.DocumentDedupe, "valor_total"),
			opts: planner.Options{Strategy: planner.PartitionOverwriteSafe}, refused: []string{`merge key "valor_total"`}},
		{name: "merge_key_uf_of_the_documents_is_blocked", sig: withKey(plannertest.Reconciliation, "uf"),
			refused: []string{`merge key "uf"`}},
		{name: "merge_key_the_partition_key_alone_is_blocked", sig: withKey(plannertest.Reconciliation, "processing_date"),
			refused: []string{`merge key "processing_date"`}},
		{name: "merge_key_of_a_target_without_a_declared_key_is_blocked", cat: small, sig: func() signature.Signature {
			s := eventos()
			s.TargetLayer, s.Datasets[1].Name = "bronze", "eventos_raw"
			return s
		}, refused: []string{`merge key "id"`, "eventos_raw", "no key"}},
		{name: "the_catalog_merge_key_is_accepted", sig: withKey(plannertest.Reconciliation, "nfe_id")},
		{name: "the_gold_merge_key_is_accepted", sig: withKey(plannertest.RevenueByState, "uf")},
		{name: "the_dedupe_of_the_documents_is_on_their_key", sig: withKey(plannertest.DocumentDedupe, "nfe_id"),
			opts: planner.Options{Strategy: planner.PartitionOverwriteSafe}},
		{name: "overwrite_without_merge_key_adds_no_dedupe_on_the_partition_key", cat: small, sig: func() signature.Signature {
			s := eventos()
			s.TargetLayer, s.Datasets[1].Name, s.Constraints.MergeKey, s.Constraints.MergeKeyRequired = "bronze", "eventos_raw", "", false
			return s
		}},
		{name: "dedupe_asked_without_any_declared_key_is_refused", cat: small, sig: func() signature.Signature {
			s := eventos()
			s.TargetLayer, s.Datasets[1].Name, s.Constraints.MergeKey, s.Constraints.MergeKeyRequired = "bronze", "eventos_raw", "", false
			s.Operations = append(s.Operations, signature.OpDedupe)
			return s
		}, refused: []string{"eventos_raw", "declares unique"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := cat
			if tc.cat != nil {
				c = tc.cat
			}
			o := tc.opts
			o.AsOf = plannertest.AsOf
			p, err := planner.Plan(tc.sig(), c, o)
			if tc.refused == nil {
				require.NoError(t, err)
				target, _ := c.Get(p.Target)
				for _, s := range p.Steps {
					if s.Kind == planner.KindDedupe {
						require.True(t, declared(c, s.Params.Key, target, tc.sig().Sources()), "step %s dedupes on %v", s.ID, s.Params.Key)
					}
				}
				return
			}
			require.Error(t, err)
			for _, want := range tc.refused {
				require.ErrorContains(t, err, want)
			}
			if tc.name == "dedupe_asked_without_any_declared_key_is_refused" {
				require.ErrorIs(t, err, planner.ErrNoTemplate)
				return
			}
			require.ErrorIs(t, err, planner.ErrMergeKeyNotUnique)
			f := planner.RefusalFault(err)
			require.Equal(t, fault.CodePlanConstraintViolated, f.Code)
			require.Equal(t, planner.ConstraintMergeKeyUnique, f.Rule)
			require.Equal(t, "block", f.MandatoryAction)
			require.True(t, f.DetectedBeforeExecution)
			require.Contains(t, f.Message, tc.refused[0], "the fault names the key")
		})
	}
}

// declared reports whether key holds the identity (merge key, plus the
// partition key) of the target or one of the sources.
func declared(cat *catalog.Catalog, key []string, target catalog.Dataset, sources []signature.Dataset) bool {
	ds := []catalog.Dataset{target}
	for _, s := range sources {
		d, _ := cat.Get(s.Name)
		ds = append(ds, d)
	}
	for _, d := range ds {
		if d.MergeKey == "" {
			continue
		}
		id := []string{d.MergeKey}
		if d.PartitionKey != "" && d.PartitionKey != d.MergeKey {
			id = append(id, d.PartitionKey)
		}
		if !slices.ContainsFunc(id, func(k string) bool { return !slices.Contains(key, k) }) {
			return true
		}
	}
	return false
}

// TestSuppliedDedupeOnAColumnThatIsNotAKeyIsBlocked: a supplied plan may not
// bring back the DISTINCT ON of finding 4 through its own dedupe step.
func TestSuppliedDedupeOnAColumnThatIsNotAKeyIsBlocked(t *testing.T) {
	t.Parallel()
	cat := plannertest.Catalog()
	sig := plannertest.DocumentDedupe(cat)
	opts := planner.Options{Strategy: planner.PartitionOverwriteSafe}
	governed, err := planner.Plan(sig, cat, opts)
	require.NoError(t, err)
	p, err := planner.Plan(sig, cat, opts)
	require.NoError(t, err)
	d := stepAt(t, &p, "03_dedupe_silver_documentos")
	d.Params.Key, d.Params.Unique = []string{"valor_total", "processing_date"}, []string{"valor_total", "processing_date"}
	p.Hash, err = planner.HashPlan(p)
	require.NoError(t, err)

	f := planner.Conformance(p, governed, sig, cat)
	require.NotNil(t, f)
	require.Equal(t, fault.CodeOutsideSignature, f.Code)
	var ce *planner.ConstraintError
	require.ErrorAs(t, planner.Verify(p, sig, cat), &ce)
	require.Equal(t, planner.ConstraintDedupeKey, ce.Constraint)
	require.Contains(t, f.Message, "(valor_total, processing_date)")
}
