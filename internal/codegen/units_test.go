package codegen_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/codegen"
	"github.com/contextualflux/cfa/internal/planner"
	"github.com/contextualflux/cfa/internal/planner/plannertest"
	"github.com/contextualflux/cfa/internal/signature"
	"github.com/contextualflux/cfa/internal/staticcheck"
)

// unitPlans are the plans of the two unit kinds the signature selects:
// the reconciliation of 2026-01-03 in 6h windows, and the reconciliation
// writing silver_documentos and clientes_anon atomically.
func unitPlans(t *testing.T, cat *catalog.Catalog) (micro, atomic planner.ExecutionPlan) {
	t.Helper()
	sig := plannertest.Reconciliation(cat)
	sig.Constraints.TemporalFilter = &signature.TemporalFilter{Column: "processing_date", From: "2026-01-03", To: "2026-01-04"}
	m := sig
	m.ExecutionMode, m.TimeWindow = signature.ModeMicroBatch, "6h"
	micro, err := planner.Plan(m, cat, planner.Options{})
	require.NoError(t, err)
	a := sig.Clone()
	a.CrossDatasetAtomic = true
	a.Datasets = append(a.Datasets, signature.Dataset{Name: "clientes_anon", Role: signature.RoleTarget})
	atomic, err = planner.Plan(a, cat, planner.Options{})
	require.NoError(t, err)
	return micro, atomic
}

// TestGeneratePerUnit: a micro_batch plan renders one script per time
// window, narrowed to its day and event time; a cross_dataset_atomic plan
// one script per target. Every script passes static validation under the
// rules of the plan it belongs to, and a unit runs its own.
func TestGeneratePerUnit(t *testing.T) {
	t.Parallel()
	cat := plannertest.Catalog()
	micro, atomic := unitPlans(t, cat)
	day := `"processing_date" >= DATE '2026-01-03' AND "processing_date" < DATE '2026-01-04'`
	tests := []struct {
		name  string
		plan  planner.ExecutionPlan
		files map[string][]string // path → fragments its script holds
		none  map[string][]string // path → fragments it must not hold
	}{
		{name: "time_windows", plan: micro, files: map[string][]string{
			"silver_documentos.2026-01-03T00:00:00.sql": {day + ` AND ("emitted_at" < TIMESTAMP '2026-01-03 06:00:00' OR "emitted_at" IS NULL)`,
				"-- time_window: 2026-01-03T00:00:00, [2026-01-03T00:00:00, 2026-01-03T06:00:00) of 2026-01-03"},
			"silver_documentos.2026-01-03T06:00:00.sql": {day + ` AND "emitted_at" >= TIMESTAMP '2026-01-03 06:00:00' AND "emitted_at" < TIMESTAMP '2026-01-03 12:00:00'`},
			"silver_documentos.2026-01-03T12:00:00.sql": {day + ` AND "emitted_at" >= TIMESTAMP '2026-01-03 12:00:00' AND "emitted_at" < TIMESTAMP '2026-01-03 18:00:00'`},
			"silver_documentos.2026-01-03T18:00:00.sql": {day + ` AND "emitted_at" >= TIMESTAMP '2026-01-03 18:00:00'` + "\n"},
		}, none: map[string][]string{"silver_documentos.2026-01-03T06:00:00.sql": {"IS NULL"}}},
		{name: "cross_dataset_atomic", plan: atomic, files: map[string][]string{
			"clientes_anon.sql":     {`MERGE INTO "silver"."clientes_anon"`, `ON "t"."cliente_id" = "s"."cliente_id"`, "consistency_unit: dataset"},
			"silver_documentos.sql": {`MERGE INTO "silver"."silver_documentos"`, `LEFT JOIN "03_anonymize_clientes"`, "plan_hash: " + atomic.Parts[0].Hash},
		}, none: map[string][]string{"clientes_anon.sql": {"silver_documentos", "nfe"}, "silver_documentos.sql": {"clientes_anon"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			art, err := codegen.Postgres{}.Generate(tc.plan, cat)
			require.NoError(t, err)
			require.Equal(t, tc.plan.Hash, art.PlanHash)
			var paths []string
			for _, f := range art.Files {
				paths = append(paths, f.Path)
				for _, frag := range tc.files[f.Path] {
					require.Contains(t, f.Content, frag, f.Path)
				}
				for _, frag := range tc.none[f.Path] {
					require.NotContains(t, f.Content, frag, f.Path)
				}
			}
			require.Len(t, paths, len(tc.files))
			for p := range tc.files {
				require.Contains(t, paths, p)
			}
			again, err := codegen.Postgres{}.Generate(tc.plan, cat)
			require.NoError(t, err)
			require.Equal(t, art.Hash, again.Hash, "I8: byte-identical code")

			// Each file passes under the rules of its own plan; a target's
			// file fails under another target's rules.
			for _, q := range tc.plan.PerTarget() {
				rules, err := codegen.Postgres{}.StaticRules(q, cat)
				require.NoError(t, err)
				for _, f := range art.Files {
					mine := tc.plan.TimeWindows != nil || f.Path == codegen.UnitFile(q.Target, nil)
					rep := staticcheck.Validate(f.Content, rules)
					require.Equal(t, mine, rep.Passed, "%s under %s's rules: %v", f.Path, q.Target, rep.Violations)
				}
			}
			// A unit runs its own file.
			for _, f := range art.Files {
				key := strings.TrimSuffix(strings.TrimPrefix(f.Path, tc.plan.Target+"."), ".sql")
				if tc.plan.TimeWindows == nil {
					key = strings.TrimSuffix(f.Path, ".sql")
				}
				got, err := codegen.UnitFiles(tc.plan, art, key)
				require.NoError(t, err)
				require.Equal(t, []codegen.File{f}, got)
			}
			_, err = codegen.UnitFiles(tc.plan, art, "2026-01-04T00:00:00")
			require.ErrorIs(t, err, codegen.ErrInvalidPlan)
		})
	}
}

// TestGenerateDBTPerTarget: dbt gets one model per target of an atomic
// plan and one schema.yml declaring each source once and both models; a
// micro_batch plan stays one model over its window.
func TestGenerateDBTPerTarget(t *testing.T) {
	t.Parallel()
	cat := plannertest.Catalog()
	micro, atomic := unitPlans(t, cat)
	art, err := codegen.DBT{}.Generate(atomic, cat)
	require.NoError(t, err)
	var paths []string
	schema := ""
	for _, f := range art.Files {
		paths = append(paths, f.Path)
		if f.Path == "models/schema.yml" {
			schema = f.Content
		}
	}
	require.Equal(t, []string{"models/clientes_anon.sql", "models/schema.yml", "models/silver_documentos.sql", "packages.yml"}, paths)
	require.Equal(t, 1, strings.Count(schema, "- name: clientes\n"), schema)
	require.Equal(t, 1, strings.Count(schema, "- name: bronze\n"), schema)
	require.Contains(t, schema, "- name: clientes_anon\n")
	require.Contains(t, schema, "- name: silver_documentos\n")
	again, err := codegen.DBT{}.Generate(atomic, cat)
	require.NoError(t, err)
	require.Equal(t, art.Hash, again.Hash)

	art, err = codegen.DBT{}.Generate(micro, cat)
	require.NoError(t, err)
	model := art.Files[slices.IndexFunc(art.Files, func(f codegen.File) bool { return f.Path == "models/silver_documentos.sql" })]
	require.Contains(t, model.Content, `"processing_date" >= DATE '2026-01-03' AND "processing_date" < DATE '2026-01-04'`)
	require.NotContains(t, model.Content, `"emitted_at" <`)
}

// TestGenerateRefusesTamperedUnits: time windows or parts edited after
// planning, even re-hashed, are not rendered.
func TestGenerateRefusesTamperedUnits(t *testing.T) {
	t.Parallel()
	cat := plannertest.Catalog()
	tests := []struct {
		name string
		edit func(micro, atomic *planner.ExecutionPlan) *planner.ExecutionPlan
		is   error
	}{
		{name: "event_time_not_a_column", is: codegen.ErrUnknownColumn, edit: func(m, _ *planner.ExecutionPlan) *planner.ExecutionPlan {
			m.TimeWindows.EventTime = "cpf"
			return m
		}},
		{name: "window_bound_not_a_timestamp", is: codegen.ErrInvalidPlan, edit: func(m, _ *planner.ExecutionPlan) *planner.ExecutionPlan {
			m.TimeWindows.Units[1].To = "2026-01-03 12:00:00'; DROP TABLE x; --"
			return m
		}},
		{name: "window_off_its_day", is: codegen.ErrInvalidPlan, edit: func(m, _ *planner.ExecutionPlan) *planner.ExecutionPlan {
			m.TimeWindows.Units[1].Partition = "2026-01-02"
			return m
		}},
		{name: "part_of_another_signature", is: codegen.ErrInvalidPlan, edit: func(_, a *planner.ExecutionPlan) *planner.ExecutionPlan {
			a.Parts[0].SignatureHash = strings.Repeat("0", 64)
			return a
		}},
		{name: "part_writing_the_same_target", is: codegen.ErrInvalidPlan, edit: func(_, a *planner.ExecutionPlan) *planner.ExecutionPlan {
			a.Parts = append(a.Parts, a.Parts[0])
			return a
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			micro, atomic := unitPlans(t, cat)
			tw := *micro.TimeWindows
			tw.Units = append([]planner.WindowUnit(nil), tw.Units...)
			micro.TimeWindows = &tw
			atomic.Parts = append([]planner.ExecutionPlan(nil), atomic.Parts...)
			p := tc.edit(&micro, &atomic)
			rehash(t, p)
			_, err := codegen.Postgres{}.Generate(*p, cat)
			require.ErrorIs(t, err, tc.is)
		})
	}
}
