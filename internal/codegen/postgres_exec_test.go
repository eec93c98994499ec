package codegen_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/db/dbtest"
	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/codegen"
	"github.com/contextualflux/cfa/internal/planner/plannertest"
)

// createCatalogTables creates one table per catalog dataset in a schema
// named after its layer, with the types codegen.PostgresType maps to.
func createCatalogTables(t *testing.T, tx pgx.Tx, cat *catalog.Catalog) {
	t.Helper()
	ctx := context.Background()
	for _, s := range []string{"bronze", "silver", "gold", "staging"} {
		_, err := tx.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{s}.Sanitize())
		require.NoError(t, err)
	}
	for _, d := range cat.Datasets {
		cols := make([]string, len(d.Columns))
		for i, c := range d.Columns {
			pt, err := codegen.PostgresType(c.Type)
			require.NoError(t, err)
			cols[i] = pgx.Identifier{c.Name}.Sanitize() + " " + pt
		}
		_, err := tx.Exec(ctx, fmt.Sprintf("CREATE TABLE %s (%s)", pgx.Identifier{d.Layer, d.Name}.Sanitize(), strings.Join(cols, ", ")))
		require.NoError(t, err)
	}
}

// snapshot renders a table's rows in a fixed order, to compare runs.
func snapshot(t *testing.T, tx pgx.Tx, table string) string {
	t.Helper()
	var s string
	err := tx.QueryRow(context.Background(),
		"SELECT coalesce(string_agg(r::text, E'\\n' ORDER BY r::text), '') FROM "+table+" AS r").Scan(&s)
	require.NoError(t, err)
	return s
}

// TestPostgresScriptsRunAndAreIdempotent runs each golden plan's script on a
// real Postgres against the catalog's tables, twice: the second run (a
// retry) must leave the target exactly as the first left it.
func TestPostgresScriptsRunAndAreIdempotent(t *testing.T) {
	t.Parallel()
	cat := plannertest.Catalog()
	const seed = `
INSERT INTO bronze.clientes (cliente_id, cpf, email, uf, segmento, created_at) VALUES
  ('c1', '111.111.111-11', 'a@example.com', 'SP', 'varejo', '2025-01-01'),
  ('c2', '222.222.222-22', 'b@example.com', 'RJ', 'atacado', '2025-01-01');
INSERT INTO bronze.nfe (nfe_id, cpf, cliente_id, emitente_cnpj, valor_total, uf, emitted_at, processing_date, itens) VALUES
  ('n1', '111.111.111-11', 'c1', '00', 10.00, 'SP', '2026-03-16 10:00', '2026-03-16', '[]'),
  ('n2', '222.222.222-22', 'c2', '00', 20.00, 'RJ', '2026-03-17 10:00', '2026-03-17', '[]'),
  ('n3', '333.333.333-33', 'c9', '00', 30.00, 'SP', '2026-03-17 11:00', '2026-03-17', '[]'),
  ('old', '111.111.111-11', 'c1', '00', 99.00, 'SP', '2025-01-01 10:00', '2025-01-01', '[]');
INSERT INTO silver.silver_documentos (nfe_id, cliente_id, cpf_hash, valor_total, uf, emitted_at, processing_date) VALUES
  ('n1', 'c1', 'h1', 10.00, 'SP', '2026-03-16 10:00', '2026-03-16'),
  ('n2', 'c2', 'h2', 20.00, 'RJ', '2026-03-17 10:00', '2026-03-17'),
  ('n3', 'c9', NULL, 30.00, 'SP', '2026-03-17 11:00', '2026-03-17'),
  ('stale', 'c1', 'h1', 5.00, 'SP', '2026-03-18 10:00', '2026-03-18');
`
	tests := []struct {
		gc     goldenCase
		extra  string // rows only this case needs
		target string
		check  string // must return true after each run
	}{
		{gc: goldenCases[0], target: "silver.silver_documentos",
			// n1..n3 in the window merged onto the seeded rows (no new row);
			// the hash is of the client's cpf; the 2025 row is outside the window.
			check: `SELECT count(*) = 4
			  AND count(*) FILTER (WHERE nfe_id = 'old') = 0
			  AND bool_and(cpf_hash IS DISTINCT FROM '111.111.111-11')
			  AND (SELECT cpf_hash FROM silver.silver_documentos WHERE nfe_id = 'n1') = encode(sha256(convert_to('111.111.111-11', 'UTF8')), 'hex')
			  AND (SELECT cpf_hash FROM silver.silver_documentos WHERE nfe_id = 'n3') IS NULL
			FROM silver.silver_documentos`},
		{gc: goldenCases[1], target: "gold.gold_faturamento_uf",
			check: `SELECT count(*) = 4
			  AND (SELECT valor_total = 30.00 AND documentos = 1 FROM gold.gold_faturamento_uf WHERE uf = 'SP' AND processing_date = '2026-03-17')
			FROM gold.gold_faturamento_uf`},
		{gc: goldenCases[2], target: "silver.silver_documentos",
			// A duplicate of n2 with a later emitted_at: the later one wins;
			// the window [03-15, 03-22) is replaced, so "stale" goes.
			extra: `INSERT INTO bronze.nfe (nfe_id, cpf, cliente_id, emitente_cnpj, valor_total, uf, emitted_at, processing_date, itens)
			  VALUES ('n2', '222.222.222-22', 'c2', '00', 25.00, 'RJ', '2026-03-17 12:00', '2026-03-17', '[]')`,
			check: `SELECT count(*) = 3
			  AND count(*) FILTER (WHERE nfe_id = 'stale') = 0
			  AND (SELECT valor_total FROM silver.silver_documentos WHERE nfe_id = 'n2') = 25.00
			FROM silver.silver_documentos`},
		{gc: goldenCases[3], target: "gold.gold_faturamento_uf",
			// Publish only: the script is comments, it runs and changes nothing.
			extra: `INSERT INTO gold.gold_faturamento_uf (uf, processing_date, valor_total, documentos) VALUES ('SP', '2026-03-17', 30.00, 1)`,
			check: `SELECT count(*) = 1 AND bool_and(uf = 'SP' AND valor_total = 30.00) FROM gold.gold_faturamento_uf`},
	}
	for _, tc := range tests {
		t.Run(tc.gc.name, func(t *testing.T) {
			t.Parallel()
			db := dbtest.NewEmpty(t, "codegen")
			tx := dbtest.Tx(t, db.Pool)
			ctx := context.Background()
			createCatalogTables(t, tx, cat)
			_, err := tx.Exec(ctx, seed)
			require.NoError(t, err)
			if tc.extra != "" {
				_, err = tx.Exec(ctx, tc.extra)
				require.NoError(t, err)
			}
			art, err := codegen.Postgres{}.Generate(planFor(t, cat, tc.gc), cat)
			require.NoError(t, err)
			script := art.Files[0].Content

			var first string
			for run := 1; run <= 2; run++ {
				_, err = tx.Exec(ctx, script)
				require.NoError(t, err, "run %d of\n%s", run, script)
				var ok bool
				require.NoError(t, tx.QueryRow(ctx, tc.check).Scan(&ok))
				require.True(t, ok, "run %d: target content:\n%s", run, snapshot(t, tx, tc.target))
				if run == 1 {
					first = snapshot(t, tx, tc.target)
				} else {
					require.Equal(t, first, snapshot(t, tx, tc.target), "a retry changed the target")
				}
			}
		})
	}
}
