package db_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/db/dbtest"
	"github.com/contextualflux/cfa/internal/registry"
)

func TestProjectExecutionIsAtomicAndIdempotent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := dbtest.New(t, "db_projection")
	s := db.New(d.Pool)
	_, err := d.Pool.Exec(ctx, `CREATE TABLE moved (unit text PRIMARY KEY)`)
	require.NoError(t, err)
	ds := "silver_documentos"
	_, err = s.AcquireScopes(ctx, lockReq("p1", "", db.LockScope{Dataset: ds, Partition: "2026-01-01"}))
	require.NoError(t, err)
	st, err := s.AcquireScopes(ctx, lockReq("p2", "", db.LockScope{Dataset: ds}))
	require.NoError(t, err)
	require.False(t, st.Held)

	version := uuid.NewString()
	moves := func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO moved VALUES ('2026-01-01') ON CONFLICT DO NOTHING`)
		return err
	}
	build := func(fail bool) func(context.Context, pgx.Tx, registry.EnvironmentState) (db.ProjectionCommit, error) {
		return func(ctx context.Context, tx pgx.Tx, latest registry.EnvironmentState) (db.ProjectionCommit, error) {
			if fail {
				return db.ProjectionCommit{}, errors.New("storage lost")
			}
			return db.ProjectionCommit{ParentVersionID: latest.VersionID, VersionID: version,
				Datasets: []registry.DatasetState{{Name: ds, State: registry.StatePartiallyCommitted, PendingPartitions: []string{"2026-01-03"}}},
				History:  []registry.ExecutionRecord{{IntentID: "p1", Outcome: "partially_committed", Timestamp: time.Now(), PolicyBundleVersion: "v1"}},
			}, nil
		}
	}

	_, err = s.ProjectExecution(ctx, "p1", moves, build(true))
	require.ErrorContains(t, err, "storage lost")
	var n int
	require.NoError(t, d.Pool.QueryRow(ctx, `SELECT count(*) FROM moved`).Scan(&n))
	require.Zero(t, n, "a failed projection moves nothing")
	st, err = s.AcquireScopes(ctx, lockReq("p2", "", db.LockScope{Dataset: ds}))
	require.NoError(t, err)
	require.False(t, st.Held, "and releases nothing (I4)")

	res, err := s.ProjectExecution(ctx, "p1", moves, build(false))
	require.NoError(t, err)
	require.False(t, res.Replayed)
	require.Equal(t, version, res.Environment.VersionID)
	require.Equal(t, []string{"wf-p2"}, res.Wake)
	got, ok := res.Environment.Dataset(ds)
	require.True(t, ok)
	require.Equal(t, registry.StatePartiallyCommitted, got.State)

	again, err := s.ProjectExecution(ctx, "p1", func(context.Context, pgx.Tx) error {
		return fmt.Errorf("moves must not run on a replay")
	}, func(context.Context, pgx.Tx, registry.EnvironmentState) (db.ProjectionCommit, error) {
		return db.ProjectionCommit{}, fmt.Errorf("must not be called on a replay")
	})
	require.NoError(t, err)
	require.True(t, again.Replayed)
	require.Equal(t, version, again.Environment.VersionID)
	latest, err := s.LatestSnapshot(ctx)
	require.NoError(t, err)
	require.Equal(t, version, latest.VersionID, "no second snapshot")

	st, err = s.AcquireScopes(ctx, lockReq("p2", "", db.LockScope{Dataset: ds}))
	require.NoError(t, err)
	require.True(t, st.Held)
}
