package codegen_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/codegen"
	"github.com/contextualflux/cfa/internal/planner"
	"github.com/contextualflux/cfa/internal/planner/plannertest"
	"github.com/contextualflux/cfa/internal/staticcheck"
)

// TestStaticValidationBlocksASuppliedPlanOutsideTheSignedWindow is finding 3
// of issue 10 in static validation, as the workflow runs it: the rules come
// from the governed plan (ADR 0075), the code from a supplied plan whose
// window was moved and re-hashed. Code that reads or rewrites outside the
// signed window is blocked by outside_signed_window, whatever the supplied
// plan claims about itself; a narrower window passes.
func TestStaticValidationBlocksASuppliedPlanOutsideTheSignedWindow(t *testing.T) {
	t.Parallel()
	cat := plannertest.Catalog()
	move := func(from, to string) func(t *testing.T, p *planner.ExecutionPlan) {
		return func(t *testing.T, p *planner.ExecutionPlan) {
			w := planner.Window{Column: "processing_date", From: from, To: to}
			p.Window = &w
			f := w
			p.Steps[stepIndex(t, *p, "01_extract_nfe")].Params.Filter = &f
			if l := p.Steps[len(p.Steps)-1].Params.Load; l != nil && l.Window != nil {
				lw := w
				l.Window = &lw
			}
		}
	}
	tests := []struct {
		name  string
		base  string
		edit  func(t *testing.T, p *planner.ExecutionPlan)
		rules []staticcheck.Rule
	}{
		{name: "window_moved_to_2000_01_01", base: "whitepaper_reconciliation", edit: move("2000-01-01", "2026-03-23"),
			rules: []staticcheck.Rule{staticcheck.RuleOutsideSignedWindow}},
		{name: "window_to_9999_12_31", base: "whitepaper_reconciliation", edit: move("2026-02-21", "9999-12-31"),
			rules: []staticcheck.Rule{staticcheck.RuleOutsideSignedWindow}},
		{name: "window_shifted_keeping_30_days", base: "whitepaper_reconciliation", edit: move("2000-01-01", "2000-01-31"),
			rules: []staticcheck.Rule{staticcheck.RuleOutsideSignedWindow}},
		{name: "overwrite_of_a_wider_window", base: "dedupe_documentos_overwrite", edit: move("2025-06-01", "2026-03-22"),
			rules: []staticcheck.Rule{staticcheck.RuleOutsideSignedWindow}},
		{name: "narrower_window_passes", base: "whitepaper_reconciliation", edit: move("2026-03-01", "2026-03-23")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			gc := goldenNamed(t, tc.base)
			governed := planFor(t, cat, gc)
			supplied := planFor(t, cat, gc)
			tc.edit(t, &supplied)
			rehash(t, &supplied)

			rules, err := codegen.Postgres{}.StaticRules(governed, cat)
			require.NoError(t, err)
			art, err := codegen.Postgres{}.Generate(supplied, cat)
			require.NoError(t, err, "the supplied plan renders: only its window differs")
			report := staticcheck.Validate(art.Files[0].Content, rules)
			require.Equal(t, tc.rules, ruleNames(report), "%+v\n%s", report.Violations, art.Files[0].Content)
			if tc.name == "overwrite_of_a_wider_window" {
				require.Len(t, report.Violations, 2, "the DELETE and the extract: %+v", report.Violations)
			}
		})
	}
}
