package codegen_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/codegen"
	"github.com/contextualflux/cfa/internal/planner"
	"github.com/contextualflux/cfa/internal/planner/plannertest"
	"github.com/contextualflux/cfa/internal/staticcheck"
)

func goldenNamed(t *testing.T, name string) goldenCase {
	t.Helper()
	i := slices.IndexFunc(goldenCases, func(gc goldenCase) bool { return gc.name == name })
	require.GreaterOrEqual(t, i, 0, "no golden case %s", name)
	return goldenCases[i]
}

// ruleNames lists the distinct rules a report names, sorted.
func ruleNames(r staticcheck.Report) []staticcheck.Rule {
	var out []staticcheck.Rule
	for _, v := range r.Violations {
		out = append(out, v.Rule)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// validateScript generates the plan's Postgres script and validates it
// against the rules derived from the same plan, as the workflow does.
func validateScript(t *testing.T, p planner.ExecutionPlan, cat *catalog.Catalog) (string, staticcheck.Rules, staticcheck.Report, error) {
	t.Helper()
	art, err := codegen.Postgres{}.Generate(p, cat)
	if err != nil {
		return "", staticcheck.Rules{}, staticcheck.Report{}, err
	}
	rules, err := codegen.Postgres{}.StaticRules(p, cat)
	require.NoError(t, err)
	script := art.Files[0].Content
	return script, rules, staticcheck.Validate(script, rules), nil
}

func TestStaticRulesOfGoldenPlans(t *testing.T) {
	t.Parallel()
	cat := plannertest.Catalog()
	allowed := codegen.Postgres{}.AllowedFunctions()
	tests := []struct {
		name  string
		rules staticcheck.Rules
		// violations a correct script still gets; empty: the script passes.
		violations []staticcheck.Rule
	}{
		{name: "whitepaper_reconciliation", rules: staticcheck.Rules{
			HighVolumeTables: []string{"bronze.nfe"},
			TemporalColumns:  map[string]string{"bronze.nfe": "processing_date", "silver.silver_documentos": "processing_date"},
			TargetTable:      "silver.silver_documentos", TargetLayer: staticcheck.LayerSilver,
			ExpectedColumns:  []string{"nfe_id", "cliente_id", "cpf_hash", "valor_total", "uf", "emitted_at", "processing_date"},
			ForbiddenColumns: []string{"cpf", "email"},
			AllowedFunctions: allowed,
			SignedWindows: map[string]staticcheck.Window{
				"bronze.nfe":               {From: "2026-02-21", To: "2026-03-23"},
				"silver.silver_documentos": {From: "2026-02-21", To: "2026-03-23"},
			},
		}},
		{name: "aggregate_faturamento_uf", rules: staticcheck.Rules{
			TemporalColumns: map[string]string{"silver.silver_documentos": "processing_date", "gold.gold_faturamento_uf": "processing_date"},
			TargetTable:     "gold.gold_faturamento_uf", TargetLayer: staticcheck.LayerGold,
			ExpectedColumns:  []string{"uf", "processing_date", "valor_total", "documentos"},
			AllowedFunctions: allowed,
			SignedWindows: map[string]staticcheck.Window{
				"gold.gold_faturamento_uf": {From: "2026-03-01", To: "2026-03-22"},
				"silver.silver_documentos": {From: "2026-03-01", To: "2026-03-22"},
			},
		}},
		{name: "dedupe_documentos_overwrite", rules: staticcheck.Rules{
			HighVolumeTables: []string{"bronze.nfe"},
			TemporalColumns:  map[string]string{"bronze.nfe": "processing_date", "silver.silver_documentos": "processing_date"},
			TargetTable:      "silver.silver_documentos", TargetLayer: staticcheck.LayerSilver,
			ExpectedColumns:  []string{"nfe_id", "cliente_id", "cpf_hash", "valor_total", "uf", "emitted_at", "processing_date"},
			ForbiddenColumns: []string{"cpf"},
			AllowedFunctions: allowed,
			SignedWindows: map[string]staticcheck.Window{
				"bronze.nfe":               {From: "2026-03-15", To: "2026-03-22"},
				"silver.silver_documentos": {From: "2026-03-15", To: "2026-03-22"},
			},
		}},
		// Static validation fails closed on a script without a statement
		// (ADR 0065): the publish-only script, comments only, is reported as
		// parse_error. The workflow must not send a publish-only plan
		// (ExecutionPlan.PublishOnly) to static validation and execution, or
		// staticcheck must accept an empty script when nothing is written:
		// see docs/adr/0073.
		{name: "publish_only_faturamento_uf", rules: staticcheck.Rules{
			TemporalColumns:  map[string]string{},
			ExpectedColumns:  []string{},
			ForbiddenColumns: []string{},
			AllowedFunctions: allowed,
		}, violations: []staticcheck.Rule{staticcheck.RuleParseError}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			script, rules, report, err := validateScript(t, planFor(t, cat, goldenNamed(t, tc.name)), cat)
			require.NoError(t, err)
			require.Equal(t, tc.rules, rules)
			require.Equal(t, tc.violations, ruleNames(report), "%+v\n%s", report.Violations, script)
			// The rules name tables unquoted; the script quotes the same parts.
			for table := range rules.TemporalColumns {
				if table == rules.TargetTable || slices.Contains(rules.HighVolumeTables, table) {
					require.Contains(t, script, pgx.Identifier(strings.Split(table, ".")).Sanitize())
				}
			}
		})
	}
}

func TestStaticRulesRefuse(t *testing.T) {
	t.Parallel()
	cat := plannertest.Catalog()
	p := planFor(t, cat, goldenCases[0])
	t.Run("unknown_dataset", func(t *testing.T) {
		t.Parallel()
		q := p
		q.Steps = slices.Clone(p.Steps)
		q.Steps[1].Dataset = "boletos"
		_, err := codegen.Postgres{}.StaticRules(q, cat)
		require.ErrorIs(t, err, codegen.ErrInvalidPlan)
	})
	t.Run("unknown_target", func(t *testing.T) {
		t.Parallel()
		q := p
		q.Steps = slices.Clone(p.Steps)
		l := *q.Steps[4].Params.Load
		l.Target = "boletos"
		q.Steps[4].Params.Load = &l
		_, err := codegen.Postgres{}.StaticRules(q, cat)
		require.ErrorIs(t, err, codegen.ErrInvalidPlan)
	})
	t.Run("another_catalog", func(t *testing.T) {
		t.Parallel()
		other := *cat
		other.SnapshotVersion = "catalog_other"
		_, err := codegen.Postgres{}.StaticRules(p, &other)
		require.ErrorIs(t, err, codegen.ErrInvalidPlan)
	})
	t.Run("no_catalog", func(t *testing.T) {
		t.Parallel()
		_, err := codegen.Postgres{}.StaticRules(p, nil)
		require.ErrorIs(t, err, codegen.ErrInvalidPlan)
	})
}

// without removes the step with the given ID.
func without(p *planner.ExecutionPlan, id string) {
	p.Steps = slices.DeleteFunc(p.Steps, func(s planner.Step) bool { return s.ID == id })
}

// stepIndex is the index of the step with the given ID.
func stepIndex(t *testing.T, p planner.ExecutionPlan, id string) int {
	t.Helper()
	i := slices.IndexFunc(p.Steps, func(s planner.Step) bool { return s.ID == id })
	require.GreaterOrEqual(t, i, 0, "no step %s", id)
	return i
}

// renameColumn renames a column of a step's output (and its ORDER BY).
func renameColumn(s *planner.Step, from, to string) {
	for i := range s.Columns {
		if s.Columns[i].Name == from {
			s.Columns[i].Name = to
		}
	}
	for i := range s.Params.OrderBy {
		if s.Params.OrderBy[i].Column == from {
			s.Params.OrderBy[i].Column = to
		}
	}
}

// TestStaticValidationCatchesTamperedPlans crafts plans a bug or a tampered
// store could produce, re-signs them (planner.HashPlan, as an attacker who
// can hash would) and follows each through the layers: code generation
// refuses some before any SQL exists; the rest reach static validation,
// which must block them with the rule named. verify records what
// planner.Verify says of the same plan (nil: it passes).
func TestStaticValidationCatchesTamperedPlans(t *testing.T) {
	t.Parallel()
	cat := plannertest.Catalog()
	tests := []struct {
		name    string
		base    string
		edit    func(t *testing.T, p *planner.ExecutionPlan)
		refused error              // code generation refuses the plan
		rules   []staticcheck.Rule // static validation blocks it with these
		verify  error              // what planner.Verify says (nil: passes)
		// constraint Verify names, when it returns a ConstraintError
		constraint string
	}{
		// (a) The FinOps filter on nfe.
		{name: "extract_filter_removed_on_nfe", base: "whitepaper_reconciliation",
			edit: func(t *testing.T, p *planner.ExecutionPlan) {
				p.Steps[stepIndex(t, *p, "01_extract_nfe")].Params.Filter = nil
			},
			rules: []staticcheck.Rule{staticcheck.RuleUnboundedScan}, verify: planner.ErrUnboundedScan, constraint: planner.ConstraintTemporalFilter},
		{name: "extract_filter_moved_off_the_partition_key", base: "whitepaper_reconciliation",
			edit: func(t *testing.T, p *planner.ExecutionPlan) {
				p.Steps[stepIndex(t, *p, "01_extract_nfe")].Params.Filter.Column = "emitted_at"
			},
			rules: []staticcheck.Rule{staticcheck.RuleMissingTemporalPredicate}, verify: planner.ErrUnboundedScan, constraint: planner.ConstraintTemporalFilter},
		{name: "extract_filter_removed_before_an_overwrite", base: "dedupe_documentos_overwrite",
			edit: func(t *testing.T, p *planner.ExecutionPlan) {
				p.Steps[stepIndex(t, *p, "01_extract_nfe")].Params.Filter = nil
			},
			rules: []staticcheck.Rule{staticcheck.RuleUnboundedScan}, verify: planner.ErrUnboundedScan, constraint: planner.ConstraintTemporalFilter},

		// (b) Raw cpf towards the load.
		{name: "anonymize_removed", base: "dedupe_documentos_overwrite",
			edit: func(t *testing.T, p *planner.ExecutionPlan) {
				without(p, "02_anonymize_nfe")
				p.Steps[stepIndex(t, *p, "03_dedupe_silver_documentos")].Inputs = []string{"01_extract_nfe"}
			},
			refused: codegen.ErrUnknownColumn, verify: nil},
		{name: "anonymize_removed_and_raw_cpf_loaded", base: "dedupe_documentos_overwrite",
			edit: func(t *testing.T, p *planner.ExecutionPlan) {
				without(p, "02_anonymize_nfe")
				for _, id := range []string{"03_dedupe_silver_documentos", "04_load_silver_documentos"} {
					renameColumn(&p.Steps[stepIndex(t, *p, id)], "cpf_hash", "cpf")
				}
				p.Steps[stepIndex(t, *p, "03_dedupe_silver_documentos")].Inputs = []string{"01_extract_nfe"}
			},
			refused: codegen.ErrUnknownColumn, verify: planner.ErrConstraint, constraint: planner.ConstraintNoPIIRaw},
		// sum(cpf) AS cpf_hash: every identifier is the catalog's, so code
		// generation renders it, and the load's lineage still says sha256,
		// so Verify passes it. Only static validation sees the raw value.
		{name: "anonymize_swapped_for_an_aggregate_renaming_cpf", base: "whitepaper_reconciliation",
			edit: func(t *testing.T, p *planner.ExecutionPlan) {
				i := stepIndex(t, *p, "03_anonymize_clientes")
				p.Steps[i] = planner.Step{ID: "03_aggregate_clientes", Kind: planner.KindAggregate, Dataset: "clientes",
					Inputs: []string{"02_extract_clientes"}, Idempotence: planner.MergeWithDeterministicKey,
					Columns: []planner.Column{{Name: "cliente_id", Type: "string"}, {Name: "cpf_hash", Type: "string"}},
					Params: planner.Params{GroupBy: []string{"cliente_id"},
						Measures: []planner.Measure{{Func: planner.TransformSum, Column: "cpf", As: "cpf_hash"}}}}
				j := &p.Steps[stepIndex(t, *p, "04_join_nfe_clientes")]
				j.Inputs[1], j.Params.Join.Right = "03_aggregate_clientes", "03_aggregate_clientes"
			},
			rules: []staticcheck.Rule{staticcheck.RuleContractForbiddenColumn}, verify: nil},
		{name: "anonymize_removed_and_load_retargeted_at_bronze_nfe", base: "dedupe_documentos_overwrite",
			edit: func(t *testing.T, p *planner.ExecutionPlan) {
				without(p, "02_anonymize_nfe")
				d := &p.Steps[stepIndex(t, *p, "03_dedupe_silver_documentos")]
				d.Inputs = []string{"01_extract_nfe"}
				renameColumn(d, "cpf_hash", "cpf")
				l := &p.Steps[stepIndex(t, *p, "04_load_silver_documentos")]
				renameColumn(l, "cpf_hash", "cpf")
				l.Dataset, l.Params.Load.Target, l.Params.Load.Layer = "nfe", "nfe", "bronze"
				p.Target, p.TargetLayer = "nfe", "bronze"
			},
			rules:  []staticcheck.Rule{staticcheck.RuleContractForbiddenColumn, staticcheck.RuleContractMissingColumn},
			verify: planner.ErrConstraint, constraint: planner.ConstraintNoPIIRaw},

		// (c) Append instead of an idempotent write.
		{name: "load_switched_to_append", base: "whitepaper_reconciliation",
			edit: func(t *testing.T, p *planner.ExecutionPlan) {
				p.Steps[stepIndex(t, *p, "05_load_silver_documentos")].Params.Load.Mode = "append"
			},
			refused: codegen.ErrUnsupported, verify: planner.ErrAppendForbidden, constraint: planner.ConstraintIdempotency},
		{name: "load_declared_append_without_dedup", base: "whitepaper_reconciliation",
			edit: func(t *testing.T, p *planner.ExecutionPlan) {
				p.Steps[stepIndex(t, *p, "05_load_silver_documentos")].Idempotence = planner.AppendWithoutDedup
			},
			refused: codegen.ErrUnsupported, verify: planner.ErrAppendForbidden, constraint: planner.ConstraintIdempotency},
		{name: "overwrite_window_moved_off_the_partition_key", base: "dedupe_documentos_overwrite",
			edit: func(t *testing.T, p *planner.ExecutionPlan) {
				p.Steps[stepIndex(t, *p, "04_load_silver_documentos")].Params.Load.Window.Column = "emitted_at"
			},
			refused: codegen.ErrInvalidPlan, verify: planner.ErrConstraint, constraint: planner.ConstraintIdempotency},
		// Rows read outside the replaced window are appended on every run.
		// The script is a valid DELETE + INSERT; Verify refuses it, and static
		// validation sees the extract read before the signed window (ADR 0112).
		{name: "overwrite_narrower_than_the_extract", base: "dedupe_documentos_overwrite",
			edit: func(t *testing.T, p *planner.ExecutionPlan) {
				p.Steps[stepIndex(t, *p, "01_extract_nfe")].Params.Filter.From = "2026-01-01"
			},
			rules:  []staticcheck.Rule{staticcheck.RuleOutsideSignedWindow},
			verify: planner.ErrConstraint, constraint: planner.ConstraintIdempotency},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			gc := goldenNamed(t, tc.base)
			p := planFor(t, cat, gc)
			tc.edit(t, &p)
			rehash(t, &p)

			verr := planner.Verify(p, gc.sig(cat), cat)
			script, _, report, err := validateScript(t, p, cat)
			t.Logf("verify: %v\ncodegen: %v\nstatic validation: %v", verr, err, ruleNames(report))
			if tc.verify == nil {
				require.NoError(t, verr)
			} else {
				require.ErrorIs(t, verr, tc.verify)
			}
			if tc.constraint != "" {
				var ce *planner.ConstraintError
				require.ErrorAs(t, verr, &ce)
				require.Equal(t, tc.constraint, ce.Constraint)
			}
			if tc.refused != nil {
				require.ErrorIs(t, err, tc.refused)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.rules, ruleNames(report), "%+v\n%s", report.Violations, script)
		})
	}
}

// BenchmarkPlanGenerateValidate is steps 9–10 for the whitepaper's fiscal
// reconciliation: plan, generate the Postgres script, derive the static
// rules and validate the script on the Postgres syntax tree.
func BenchmarkPlanGenerateValidate(b *testing.B) {
	cat := plannertest.Catalog()
	sig := plannertest.Reconciliation(cat)
	opts := planner.Options{AsOf: plannertest.AsOf}
	b.ReportAllocs()
	for b.Loop() {
		p, err := planner.Plan(sig, cat, opts)
		if err != nil {
			b.Fatal(err)
		}
		art, err := (codegen.Postgres{}).Generate(p, cat)
		if err != nil {
			b.Fatal(err)
		}
		rules, err := (codegen.Postgres{}).StaticRules(p, cat)
		if err != nil {
			b.Fatal(err)
		}
		if rep := staticcheck.Validate(art.Files[0].Content, rules); !rep.Passed {
			b.Fatalf("static validation failed: %v", rep.Violations)
		}
	}
}
