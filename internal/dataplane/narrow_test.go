package dataplane_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/dataplane"
	"github.com/contextualflux/cfa/internal/planner"
	"github.com/contextualflux/cfa/internal/planner/plannertest"
)

func TestNarrowToPartition(t *testing.T) {
	t.Parallel()
	sources := []catalog.Dataset{dataset(t, "clientes"), dataset(t, "nfe")}
	t.Run("every read of a partitioned source becomes its partition", func(t *testing.T) {
		t.Parallel()
		in := `SELECT n.nfe_id FROM "bronze"."nfe" AS n JOIN "bronze"."clientes" c USING (cliente_id)
WHERE n.valor_total > (SELECT avg(valor_total) FROM "bronze"."nfe");`
		out, err := dataplane.NarrowToPartition(in, sources, "2026-01-02")
		require.NoError(t, err)
		require.Equal(t, `SELECT n.nfe_id FROM (SELECT * FROM "bronze"."nfe" WHERE "processing_date" = '2026-01-02'::date) AS n JOIN "bronze"."clientes" c USING (cliente_id)
WHERE n.valor_total > (SELECT avg(valor_total) FROM (SELECT * FROM "bronze"."nfe" WHERE "processing_date" = '2026-01-02'::date) AS "nfe");`, out)
	})
	t.Run("the generated reconciliation", func(t *testing.T) {
		t.Parallel()
		plan, sql := reconciliation(t)
		staged, err := dataplane.RedirectToStaging(sql, dataset(t, plan.Target))
		require.NoError(t, err)
		out, err := dataplane.NarrowToPartition(staged, sources, "2026-01-02")
		require.NoError(t, err)
		require.Equal(t, 1, strings.Count(out, `(SELECT * FROM "bronze"."nfe" WHERE "processing_date" = '2026-01-02'::date) AS "nfe"`))
		// Nothing else changed.
		require.Equal(t, staged, strings.Replace(out, `(SELECT * FROM "bronze"."nfe" WHERE "processing_date" = '2026-01-02'::date) AS "nfe"`, `"bronze"."nfe"`, 1))
	})
	for name, tc := range map[string]struct {
		script, partition string
	}{
		"a dataset unit (no partition)":      {`SELECT * FROM "bronze"."nfe";`, ""},
		"no partitioned source read":         {`SELECT * FROM "bronze"."clientes";`, "2026-01-02"},
		"a script that does not parse":       {`SELEC * FROM "bronze"."nfe";`, "2026-01-02"},
		"an unqualified name (a CTE, maybe)": {`WITH nfe AS (SELECT 1) SELECT * FROM nfe;`, "2026-01-02"},
	} {
		t.Run("unchanged/"+name, func(t *testing.T) {
			t.Parallel()
			out, err := dataplane.NarrowToPartition(tc.script, sources, tc.partition)
			require.NoError(t, err)
			require.Equal(t, tc.script, out)
		})
	}
	t.Run("refused/ONLY", func(t *testing.T) {
		t.Parallel()
		_, err := dataplane.NarrowToPartition(`SELECT * FROM ONLY "bronze"."nfe";`, sources, "2026-01-02")
		require.ErrorContains(t, err, "does not parse back")
	})
}

// planNode is the part of EXPLAIN (FORMAT JSON) the test reads.
type planNode struct {
	NodeType      string     `json:"Node Type"`
	Relation      string     `json:"Relation Name"`
	ActualRows    float64    `json:"Actual Rows"`
	RemovedFilter float64    `json:"Rows Removed by Filter"`
	IndexCond     string     `json:"Index Cond"`
	RecheckCond   string     `json:"Recheck Cond"`
	Plans         []planNode `json:"Plans"`
}

func (n planNode) find(relation string) []planNode {
	var out []planNode
	if n.Relation == relation {
		out = append(out, n)
	}
	for _, c := range n.Plans {
		out = append(out, c.find(relation)...)
	}
	return out
}

// explainAnalyze runs EXPLAIN ANALYZE of sql in tx and returns its plan.
func explainAnalyze(t *testing.T, tx pgx.Tx, sql string, args ...any) planNode {
	t.Helper()
	var raw []byte
	require.NoError(t, tx.QueryRow(context.Background(), "EXPLAIN (ANALYZE, FORMAT JSON) "+strings.TrimSuffix(strings.TrimSpace(sql), ";"), args...).Scan(&raw))
	var out []struct {
		Plan planNode `json:"Plan"`
	}
	require.NoError(t, json.Unmarshal(raw, &out))
	require.Len(t, out, 1)
	return out[0].Plan
}

// TestAUnitReadsItsPartitionThroughAnIndex (issue 15): a partition unit of
// the reconciliation, as the sandbox role inside BeginUnit, reads nfe with
// an index condition on its partition and nothing else (no row of another
// partition read then discarded by row security), stages what the
// un-narrowed script stages, and its source fingerprint reads the same way.
func TestAUnitReadsItsPartitionThroughAnIndex(t *testing.T) {
	t.Parallel()
	days := []string{"2026-01-01", "2026-01-02", "2026-01-03", "2026-01-04", "2026-01-05", "2026-01-06", "2026-01-07", "2026-01-08"}
	const rows = 1000
	pool := freshDB(t, dataplane.Options{Partitions: days, RowsPerPartition: rows, ClientCount: 50, Seed: 5})
	ctx := context.Background()
	_, err := pool.Exec(ctx, "ANALYZE")
	require.NoError(t, err)
	plan, sql := script(t, plannertest.Reconciliation(cat), planner.Options{AsOf: days[len(days)-1]})
	target := dataset(t, plan.Target)
	sources := []catalog.Dataset{dataset(t, "clientes"), dataset(t, "nfe")}
	role, err := dataplane.EnsureSandboxRole(ctx, pool, cat, dataplane.ScopeOf(plan))
	require.NoError(t, err)
	staged, err := dataplane.RedirectToStaging(sql, target)
	require.NoError(t, err)
	const day = "2026-01-04"
	narrowed, err := dataplane.NarrowToPartition(staged, sources, day)
	require.NoError(t, err)

	u := dataplane.Unit{IntentID: "intent-narrow", Key: day, Partition: day}
	var digests []string
	for _, script := range []string{staged, narrowed} {
		require.NoError(t, inUnit(t, pool, role, u, false, func(tx pgx.Tx) error {
			p := explainAnalyze(t, tx, script)
			scans := p.find("nfe")
			require.Len(t, scans, 1)
			if script == narrowed {
				scan := scans[0]
				require.Contains(t, []string{"Index Scan", "Bitmap Heap Scan", "Index Only Scan"}, scan.NodeType, "the unit's source scan uses the partition key's index")
				require.Contains(t, scan.IndexCond+scan.RecheckCond, "'"+day+"'::date", "the index condition is the unit's partition")
				if scan.NodeType == "Bitmap Heap Scan" {
					require.Len(t, scan.Plans, 1)
					require.Contains(t, scan.Plans[0].IndexCond, "'"+day+"'::date")
				}
				require.Equal(t, float64(rows), scan.ActualRows, "it reads its partition")
				require.Zero(t, scan.RemovedFilter, "row security discards nothing: the guard, not the filter")
			}
			digests = append(digests, digest(t, tx, "(SELECT nfe_id, cliente_id, cpf_hash, valor_total, uf, emitted_at, processing_date FROM staging.silver_documentos)"))
			return nil
		}))
	}
	require.Equal(t, digests[0], digests[1], "narrowed or not, the unit stages the same rows")

	// What FingerprintUnit reads of a partitioned source, the same way.
	require.NoError(t, inUnit(t, pool, role, u, false, func(tx pgx.Tx) error {
		p := explainAnalyze(t, tx, `SELECT * FROM "bronze"."nfe" WHERE "processing_date" = $1::date`, day)
		require.Contains(t, []string{"Index Scan", "Bitmap Heap Scan", "Index Only Scan"}, p.NodeType)
		require.Equal(t, float64(rows), p.ActualRows)
		return nil
	}))
}
