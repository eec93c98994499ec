package dataplane_test

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/db/dbtest"
	"github.com/contextualflux/cfa/internal/dataplane"
)

// objects describes every object Ensure manages, OIDs included, so a
// recreated object shows as a change.
const objects = `
WITH ns AS (SELECT oid, nspname FROM pg_namespace
            WHERE nspname IN ('bronze', 'silver', 'gold', 'staging', 'quarantine', 'silver_published', 'gold_published', 'public')),
rel AS (SELECT c.oid, c.relname, c.relkind, c.relrowsecurity, c.relacl, ns.nspname FROM pg_class c JOIN ns ON ns.oid = c.relnamespace
        WHERE ns.nspname <> 'public' OR c.relname LIKE 'cfa_publication%')
SELECT string_agg(x, E'\n' ORDER BY x) FROM (
  SELECT format('schema %s %s', nspname, oid) FROM ns
  UNION ALL SELECT format('rel %s.%s %s %s rls=%s acl=%s', nspname, relname, oid, relkind, relrowsecurity, relacl) FROM rel
  UNION ALL SELECT format('col %s.%s.%s %s notnull=%s default=%s', rel.nspname, rel.relname, a.attname,
      format_type(a.atttypid, a.atttypmod), a.attnotnull, pg_get_expr(d.adbin, d.adrelid))
    FROM pg_attribute a JOIN rel ON rel.oid = a.attrelid LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    WHERE a.attnum > 0 AND NOT a.attisdropped
  UNION ALL SELECT format('con %s %s %s %s', conrelid::regclass, conname, oid, pg_get_constraintdef(oid))
    FROM pg_constraint WHERE conrelid IN (SELECT oid FROM rel)
  UNION ALL SELECT format('pol %s %s %s %s', p.polrelid::regclass, p.polname, p.oid, pg_get_expr(p.polqual, p.polrelid))
    FROM pg_policy p WHERE p.polrelid IN (SELECT oid FROM rel)
  UNION ALL SELECT format('view %s.%s %s', schemaname, viewname, definition) FROM pg_views
    WHERE schemaname IN ('silver_published', 'gold_published')
) s(x)`

func TestEnsureTwiceIsANoOp(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t, "dataplane") // next to the control plane's tables
	ctx := context.Background()
	require.NoError(t, dataplane.Ensure(ctx, d.Pool, cat))
	var before string
	require.NoError(t, d.Pool.QueryRow(ctx, objects).Scan(&before))
	require.NoError(t, dataplane.Seed(ctx, d.Pool, cat, dataplane.Options{RowsPerPartition: 50, ClientCount: 10}))

	// Several workers starting at once.
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = dataplane.Ensure(ctx, d.Pool, cat) }()
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	var after string
	require.NoError(t, d.Pool.QueryRow(ctx, objects).Scan(&after))
	require.Equal(t, before, after)
	require.Equal(t, int64(150), count(t, d.Pool, "SELECT count(*) FROM bronze.nfe"), "Ensure kept the data")
}

func TestEnsureLayout(t *testing.T) {
	t.Parallel()
	pool := seededDB(t)
	ctx := context.Background()
	tests := []struct {
		name, schema, table string
		want                []string // leading columns, then the unit's
	}{
		{"bronze nfe", "bronze", "nfe", []string{"nfe_id", "cpf", "cliente_id", "emitente_cnpj", "valor_total", "uf", "emitted_at", "processing_date", "itens"}},
		{"silver target", "silver", "silver_documentos", []string{"nfe_id", "cliente_id", "cpf_hash", "valor_total", "uf", "emitted_at", "processing_date"}},
		{"staging copy", "staging", "silver_documentos", []string{"nfe_id", "cliente_id", "cpf_hash", "valor_total", "uf", "emitted_at", "processing_date", "cfa_intent_id", "cfa_unit_key"}},
		{"quarantine copy", "quarantine", "gold_faturamento_uf", []string{"uf", "processing_date", "valor_total", "documentos", "cfa_intent_id", "cfa_unit_key", "cfa_fault_code", "cfa_quarantined_at"}},
		{"published view", "silver_published", "silver_documentos", []string{"nfe_id", "cliente_id", "cpf_hash", "valor_total", "uf", "emitted_at", "processing_date", "cfa_publish_status"}},
		{"unpartitioned staging", "staging", "clientes_anon", []string{"cliente_id", "cpf_hash", "uf", "segmento", "created_at", "cfa_intent_id", "cfa_unit_key"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := dataplane.Schema(ctx, pool, tc.schema, tc.table)
			require.NoError(t, err)
			names := make([]string, len(got))
			for i, c := range got {
				names[i] = c.Name
			}
			require.Equal(t, tc.want, names)
		})
	}
	t.Run("types follow codegen.PostgresType", func(t *testing.T) {
		want, err := dataplane.ExpectedSchema(dataset(t, "nfe"))
		require.NoError(t, err)
		got, err := dataplane.Schema(ctx, pool, "bronze", "nfe")
		require.NoError(t, err)
		require.Empty(t, dataplane.SchemaDiff(want, got))
		require.Contains(t, got, dataplane.ColumnType{Name: "valor_total", Type: "numeric(18,2)"})
		require.Contains(t, got, dataplane.ColumnType{Name: "itens", Type: "jsonb"})
	})
	t.Run("governed targets are keyed on merge key plus partition key", func(t *testing.T) {
		var defs []string
		rows, err := pool.Query(ctx, `SELECT conrelid::regclass::text || ' ' || pg_get_constraintdef(oid) FROM pg_constraint
			WHERE contype IN ('p', 'u') AND connamespace IN (SELECT oid FROM pg_namespace WHERE nspname IN ('bronze', 'silver', 'gold', 'staging'))
			ORDER BY 1`)
		require.NoError(t, err)
		for rows.Next() {
			var s string
			require.NoError(t, rows.Scan(&s))
			defs = append(defs, s)
		}
		require.NoError(t, rows.Err())
		require.Equal(t, []string{
			"gold.gold_faturamento_uf PRIMARY KEY (uf, processing_date)",
			"silver.clientes_anon PRIMARY KEY (cliente_id)",
			"silver.silver_documentos PRIMARY KEY (nfe_id, processing_date)",
			"staging.clientes_anon UNIQUE (cfa_intent_id, cfa_unit_key, cliente_id)",
			"staging.gold_faturamento_uf UNIQUE (cfa_intent_id, cfa_unit_key, uf, processing_date)",
			"staging.silver_documentos UNIQUE (cfa_intent_id, cfa_unit_key, nfe_id, processing_date)",
		}, defs)
	})
}

func TestEnsureDetectsDrift(t *testing.T) {
	t.Parallel()
	d := dbtest.NewEmpty(t, "dataplane")
	ctx := context.Background()
	require.NoError(t, dataplane.Ensure(ctx, d.Pool, cat))
	_, err := d.Pool.Exec(ctx, "ALTER TABLE silver.silver_documentos ADD COLUMN cpf text")
	require.NoError(t, err)
	err = dataplane.Ensure(ctx, d.Pool, cat)
	require.ErrorIs(t, err, dataplane.ErrSchemaDrift)
	require.ErrorContains(t, err, "silver.silver_documentos: unexpected column cpf text")
}

// TestEnsureUpgradesItsPolicies (docs/adr/0140): a policy an earlier
// Ensure made, with the predicates of then and no version in its comment,
// is altered to the current ones; a current one is left alone.
func TestEnsureUpgradesItsPolicies(t *testing.T) {
	t.Parallel()
	d := dbtest.NewEmpty(t, "dataplane")
	ctx := context.Background()
	require.NoError(t, dataplane.Ensure(ctx, d.Pool, cat))
	const policy = `SELECT p.oid::text || ' ' || pg_get_expr(p.polqual, p.polrelid) || ' ' || coalesce(obj_description(p.oid, 'pg_policy'), '')
FROM pg_policy p WHERE p.polrelid = 'bronze.nfe'::regclass AND p.polname = 'cfa_unit_partition'`
	var current string
	require.NoError(t, d.Pool.QueryRow(ctx, policy).Scan(&current))
	require.Contains(t, current, "SELECT", "the partition is read once per statement")

	_, err := d.Pool.Exec(ctx, `ALTER POLICY cfa_unit_partition ON bronze.nfe USING
  (nullif(current_setting('cfa.unit_partition', true), '') IS NULL OR processing_date = nullif(current_setting('cfa.unit_partition', true), '')::date);
COMMENT ON POLICY cfa_unit_partition ON bronze.nfe IS NULL`)
	require.NoError(t, err)
	require.NoError(t, dataplane.Ensure(ctx, d.Pool, cat))
	var upgraded string
	require.NoError(t, d.Pool.QueryRow(ctx, policy).Scan(&upgraded))
	require.Equal(t, current, upgraded, "the same policy (oid), with the current predicate and version")
}
