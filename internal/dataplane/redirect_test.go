package dataplane_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/dataplane"
	"github.com/contextualflux/cfa/internal/planner"
	"github.com/contextualflux/cfa/internal/planner/plannertest"
)

func TestRedirectToStaging(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		plan   func(*testing.T) (planner.ExecutionPlan, string)
		writes int
	}{
		{"merge", reconciliation, 1},
		{"partition overwrite", func(t *testing.T) (planner.ExecutionPlan, string) {
			return script(t, plannertest.DocumentDedupe(cat), planner.Options{Strategy: planner.PartitionOverwriteSafe})
		}, 2},
		{"aggregate reading silver into gold", func(t *testing.T) (planner.ExecutionPlan, string) {
			return script(t, plannertest.RevenueByState(cat), planner.Options{})
		}, 1},
		{"publish only", func(t *testing.T) (planner.ExecutionPlan, string) {
			return script(t, plannertest.PublishOnly(cat), planner.Options{Composite: true})
		}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			plan, sql := tc.plan(t)
			target := dataset(t, plan.Target)
			out, err := dataplane.RedirectToStaging(sql, target)
			require.NoError(t, err)
			require.Equal(t, tc.writes, strings.Count(out, dataplane.StagingTable(target)))
			// Only the writes changed: swapping them back gives the input.
			require.Equal(t, sql, strings.ReplaceAll(out, dataplane.StagingTable(target), dataplane.Table(target)))
		})
	}
	t.Run("reads of the target stay on the target", func(t *testing.T) {
		t.Parallel()
		target := dataset(t, "silver_documentos")
		in := `MERGE INTO "silver"."silver_documentos" AS t USING (SELECT * FROM "silver"."silver_documentos") AS s ON t.nfe_id = s.nfe_id WHEN MATCHED THEN DO NOTHING;`
		out, err := dataplane.RedirectToStaging(in, target)
		require.NoError(t, err)
		require.Equal(t, `MERGE INTO "staging"."silver_documentos" AS t USING (SELECT * FROM "silver"."silver_documentos") AS s ON t.nfe_id = s.nfe_id WHEN MATCHED THEN DO NOTHING;`, out)
	})

	_, sql := reconciliation(t)
	refused := []struct {
		name   string
		script string
		target string
		err    error
	}{
		{"another target", sql, "gold_faturamento_uf", dataplane.ErrUnexpectedWrite},
		{"a bronze target", sql, "nfe", dataplane.ErrNotGoverned},
		{"a second write", sql + "\nDELETE FROM gold.gold_faturamento_uf WHERE uf = 'SP';", "silver_documentos", dataplane.ErrUnexpectedWrite},
		{"DDL", sql + "\nDROP TABLE bronze.nfe;", "silver_documentos", dataplane.ErrUnexpectedWrite},
		{"SET ROLE", "RESET ROLE;\n" + sql, "silver_documentos", dataplane.ErrUnexpectedWrite},
		{"data-modifying CTE", `WITH d AS (DELETE FROM bronze.nfe RETURNING *) SELECT 1;`, "silver_documentos", dataplane.ErrUnexpectedWrite},
		{"unquoted spelling", `DELETE FROM silver.silver_documentos WHERE processing_date = DATE '2026-01-01';`, "silver_documentos", dataplane.ErrUnexpectedWrite},
	}
	for _, tc := range refused {
		t.Run("refused/"+tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := dataplane.RedirectToStaging(tc.script, dataset(t, tc.target))
			require.ErrorIs(t, err, tc.err)
		})
	}
}
