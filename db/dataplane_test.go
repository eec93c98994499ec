package db_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	catalogfiles "github.com/contextualflux/cfa/catalog"
	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/db/dbtest"
	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/dataplane"
)

func TestPartitionCounts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := db.New(dbtest.New(t, "db_dataplane").Pool)
	cat, err := catalog.Load(catalogfiles.FS)
	require.NoError(t, err)
	require.NoError(t, s.EnsureDataPlane(ctx, cat))
	require.NoError(t, s.SeedDataPlane(ctx, cat, dataplane.Options{RowsPerPartition: 10}))

	nfe, _ := cat.Get("nfe")
	counts, err := s.PartitionCounts(ctx, nfe, db.InTarget)
	require.NoError(t, err)
	require.Len(t, counts, len(dataplane.DemoPartitions))
	for i, c := range counts {
		require.Equal(t, dataplane.DemoPartitions[i], c.Partition)
		require.Equal(t, int64(10), c.Rows)
	}
	silver, _ := cat.Get("silver_documentos")
	counts, err = s.PartitionCounts(ctx, silver, db.InQuarantine)
	require.NoError(t, err)
	require.Empty(t, counts, "nothing was quarantined")
}
