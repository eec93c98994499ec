package dataplane_test

import (
	"context"

	"regexp"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/db/dbtest"
	"github.com/contextualflux/cfa/internal/dataplane"
)

func bronzeDigests(t *testing.T, db dataplane.Querier) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, d := range cat.Datasets {
		if d.Layer == dataplane.SchemaBronze {
			out[d.Name] = digest(t, db, dataplane.Table(d))
		}
	}
	return out
}

func TestSeedIsDeterministic(t *testing.T) {
	t.Parallel()
	d := dbtest.NewEmpty(t, "dataplane")
	ctx := context.Background()
	require.NoError(t, dataplane.Ensure(ctx, d.Pool, cat))
	opts := dataplane.Options{RowsPerPartition: 300, ClientCount: 40, Seed: 7, BreakPartition: "2026-01-02"}

	require.NoError(t, dataplane.Seed(ctx, d.Pool, cat, opts))
	first := bronzeDigests(t, d.Pool)
	firstDay := digest(t, d.Pool, "(SELECT * FROM bronze.nfe WHERE processing_date = '2026-01-01') ")

	other := opts
	other.Seed = 8
	require.NoError(t, dataplane.Seed(ctx, d.Pool, cat, other))
	require.NotEqual(t, first["nfe"], digest(t, d.Pool, "bronze.nfe"), "another seed, other rows")

	require.NoError(t, dataplane.Seed(ctx, d.Pool, cat, opts)) // reseeding replaces
	require.Equal(t, first, bronzeDigests(t, d.Pool))
	require.Equal(t, int64(900), count(t, d.Pool, "SELECT count(*) FROM bronze.nfe"))

	// A partition's rows do not depend on which other partitions are seeded.
	fewer := opts
	fewer.Partitions, fewer.BreakPartition = []string{"2026-01-01"}, ""
	require.NoError(t, dataplane.Seed(ctx, d.Pool, cat, fewer))
	require.Equal(t, firstDay, digest(t, d.Pool, "bronze.nfe"))
}

func TestSeedContent(t *testing.T) {
	t.Parallel()
	pool := seededDB(t)
	ctx := context.Background()
	nfe := dataset(t, "nfe")
	for _, p := range dataplane.DemoPartitions {
		t.Run("nfe null ratio "+p, func(t *testing.T) {
			m, err := dataplane.Measure(ctx, pool, nfe, p)
			require.NoError(t, err)
			require.Equal(t, int64(dataplane.DefaultRowsPerPartition), m.Rows)
			want := dataplane.BaseNullRatio
			if p == demoOpts.BreakPartition {
				want = dataplane.DefaultBreakNullRatio
			}
			for _, c := range m.Columns {
				switch c.Name {
				case "cliente_id", "cpf":
					require.InDelta(t, want, c.NullRatio, 1e-12, c.Name)
					require.Equal(t, int64(demoOpts.NullRows(p)), c.Nulls)
				default:
					require.Zero(t, c.Nulls, c.Name)
				}
			}
			worst, ok := m.MaxNullRatio()
			require.True(t, ok)
			require.Equal(t, p == demoOpts.BreakPartition, worst.NullRatio > 0.05, "only the break partition exceeds max_null_ratio")
		})
	}
	t.Run("clientes hold raw cpf and email", func(t *testing.T) {
		rows, err := pool.Query(ctx, "SELECT cpf, email FROM bronze.clientes ORDER BY cliente_id")
		require.NoError(t, err)
		n := 0
		cpfRE := regexp.MustCompile(`^\d{3}\.\d{3}\.\d{3}-\d{2}$`)
		for rows.Next() {
			var cpf, email string
			require.NoError(t, rows.Scan(&cpf, &email))
			require.Regexp(t, cpfRE, cpf)
			require.True(t, validCPF(cpf), cpf)
			require.Regexp(t, `^[a-z]+\.[a-z]+\.\d+@example\.com\.br$`, email)
			n++
		}
		require.NoError(t, rows.Err())
		require.Equal(t, dataplane.DefaultClientCount, n)
	})
	t.Run("nfe reference clientes and carry their cpf", func(t *testing.T) {
		require.Zero(t, count(t, pool, `SELECT count(*) FROM bronze.nfe n LEFT JOIN bronze.clientes c USING (cliente_id)
			WHERE n.cliente_id IS NOT NULL AND (c.cliente_id IS NULL OR c.cpf <> n.cpf)`))
		require.Zero(t, count(t, pool, `SELECT count(*) FROM bronze.nfe n
			WHERE valor_total <> (SELECT sum((i->>'quantidade')::int * (i->>'valor')::numeric) FROM jsonb_array_elements(n.itens) i)`))
	})
	t.Run("every bronze dataset has rows", func(t *testing.T) {
		for _, d := range cat.Datasets {
			if d.Layer == dataplane.SchemaBronze {
				require.Positive(t, count(t, pool, "SELECT count(*) FROM "+dataplane.Table(d)), d.Name)
			}
		}
		require.Equal(t, int64(3*dataplane.DefaultRowsPerPartition/10), count(t, pool, "SELECT count(*) FROM bronze.vendas_diarias"))
	})
}

func TestSeedRejectsBadOptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opts dataplane.Options
	}{
		{"break partition not seeded", dataplane.Options{BreakPartition: "2026-02-01"}},
		{"not a date", dataplane.Options{Partitions: []string{"2026-13-01"}}},
		{"duplicate partition", dataplane.Options{Partitions: []string{"2026-01-01", "2026-01-01"}}},
		{"negative rows", dataplane.Options{RowsPerPartition: -1}},
		{"ratio above one", dataplane.Options{BreakPartition: "2026-01-01", BreakNullRatio: 1.5}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Options are checked before any connection is used.
			err := dataplane.Seed(context.Background(), nil, cat, tc.opts)
			require.ErrorIs(t, err, dataplane.ErrInvalidOptions)
		})
	}
}

// validCPF checks the two CPF check digits the usual way: remainder r of
// the weighted sum by 11, digit 0 when r < 2, else 11 - r.
func validCPF(s string) bool {
	var d []int
	for _, r := range s {
		if r >= '0' && r <= '9' {
			d = append(d, int(r-'0'))
		}
	}
	if len(d) != 11 {
		return false
	}
	for k := 9; k <= 10; k++ {
		sum := 0
		for i := range k {
			sum += d[i] * (k + 1 - i)
		}
		want := 0
		if r := sum % 11; r >= 2 {
			want = 11 - r
		}
		if d[k] != want {
			return false
		}
	}
	return true
}
