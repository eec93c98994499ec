package dataplane_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/dataplane"
)

func TestSchemaDiff(t *testing.T) {
	t.Parallel()
	want := []dataplane.ColumnType{{Name: "nfe_id", Type: "text"}, {Name: "cpf_hash", Type: "text"}, {Name: "processing_date", Type: "date"}}
	tests := []struct {
		name string
		got  []dataplane.ColumnType
		diff []string
	}{
		{"equal", want, nil},
		{"missing", want[:2], []string{"missing column processing_date date"}},
		{"retyped", []dataplane.ColumnType{want[0], {Name: "cpf_hash", Type: "bytea"}, want[2]}, []string{"column cpf_hash is bytea, want text"}},
		{"reordered", []dataplane.ColumnType{want[1], want[0], want[2]}, []string{"column nfe_id out of order", "column cpf_hash out of order"}},
		{"raw pii added", append(want[:3:3], dataplane.ColumnType{Name: "cpf", Type: "text"}), []string{"unexpected column cpf text"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.diff, dataplane.SchemaDiff(want, tc.got))
		})
	}
}

func TestMeasure(t *testing.T) {
	t.Parallel()
	pool := seededDB(t)
	ctx := context.Background()
	t.Run("whole table", func(t *testing.T) {
		m, err := dataplane.Measure(ctx, pool, dataset(t, "clientes"), "")
		require.NoError(t, err)
		require.Equal(t, int64(dataplane.DefaultClientCount), m.Rows)
		require.Len(t, m.Columns, 6)
		require.Len(t, m.Schema, 6)
		worst, ok := m.MaxNullRatio()
		require.True(t, ok)
		require.Zero(t, worst.NullRatio)
	})
	t.Run("empty partition", func(t *testing.T) {
		m, err := dataplane.Measure(ctx, pool, dataset(t, "nfe"), "2025-06-01")
		require.NoError(t, err)
		require.Zero(t, m.Rows)
		c, ok := m.Column("cliente_id")
		require.True(t, ok)
		require.Zero(t, c.NullRatio)
	})
	t.Run("partition of an unpartitioned dataset", func(t *testing.T) {
		_, err := dataplane.Measure(ctx, pool, dataset(t, "clientes"), "2026-01-01")
		require.ErrorIs(t, err, dataplane.ErrInvalidOptions)
	})
	t.Run("unit of a bronze dataset", func(t *testing.T) {
		_, err := dataplane.MeasureUnit(ctx, pool, dataset(t, "nfe"), "i", "k")
		require.ErrorIs(t, err, dataplane.ErrNotGoverned)
	})
	t.Run("staging unit without rows", func(t *testing.T) {
		m, err := dataplane.MeasureUnit(ctx, pool, dataset(t, "silver_documentos"), "nobody", "2026-01-01")
		require.NoError(t, err)
		require.Zero(t, m.Rows)
		want, err := dataplane.ExpectedSchema(dataset(t, "silver_documentos"))
		require.NoError(t, err)
		require.Equal(t, want, m.Schema, "the unit columns are not part of the output schema")
	})
}

func TestDuplicateKeys(t *testing.T) {
	t.Parallel()
	pool := seededDB(t)
	ctx := context.Background()
	clientes := dataset(t, "clientes")
	n, err := dataplane.DuplicateKeys(ctx, pool, clientes, nil)
	require.NoError(t, err)
	require.Zero(t, n, "the seed keeps cliente_id unique")

	// A duplicated key, seen inside a transaction that is rolled back.
	tx, err := pool.Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = tx.Rollback(ctx) }()
	_, err = tx.Exec(ctx, `INSERT INTO bronze.clientes SELECT * FROM bronze.clientes ORDER BY cliente_id LIMIT 2`)
	require.NoError(t, err)
	n, err = dataplane.DuplicateKeys(ctx, tx, clientes, nil)
	require.NoError(t, err)
	require.Equal(t, int64(2), n)

	keyless := clientes
	keyless.MergeKey = ""
	n, err = dataplane.DuplicateKeys(ctx, pool, keyless, nil)
	require.NoError(t, err)
	require.Zero(t, n)

	// A key the database keeps unique is not read: a governed target's
	// primary key (docs/adr/0141). Keyed otherwise, it is.
	silver := dataset(t, "silver_documentos")
	_, err = tx.Exec(ctx, `INSERT INTO silver.silver_documentos (nfe_id, processing_date, uf) VALUES ('a', '2026-01-02', 'SP'), ('b', '2026-01-02', 'SP')`)
	require.NoError(t, err)
	n, err = dataplane.DuplicateKeys(ctx, tx, silver, []string{"2026-01-02"})
	require.NoError(t, err)
	require.Zero(t, n)
	byUF := silver
	byUF.MergeKey = "uf"
	n, err = dataplane.DuplicateKeys(ctx, tx, byUF, []string{"2026-01-02"})
	require.NoError(t, err)
	require.Equal(t, int64(1), n, "(uf, processing_date) is not unique: the partition is read")

	// Partitioned: only the partitions given are read.
	nfe := dataset(t, "nfe")
	_, err = tx.Exec(ctx, `INSERT INTO bronze.nfe SELECT * FROM bronze.nfe WHERE processing_date = '2026-01-02' ORDER BY nfe_id LIMIT 3`)
	require.NoError(t, err)
	for _, c := range []struct {
		partitions []string
		want       int64
	}{{[]string{"2026-01-02"}, 3}, {[]string{"2026-01-01", "2026-01-03"}, 0}, {nil, 0}} {
		n, err = dataplane.DuplicateKeys(ctx, tx, nfe, c.partitions)
		require.NoError(t, err)
		require.Equal(t, c.want, n, "%v", c.partitions)
	}
}
