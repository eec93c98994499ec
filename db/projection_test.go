package db_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	catalogfiles "github.com/contextualflux/cfa/catalog"
	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/db/dbtest"
	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/registry"
)

func TestProjectExecutionIsAtomicAndIdempotent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := dbtest.New(t, "db_projection")
	s := db.New(d.Pool)
	ds := "silver_documentos"
	_, err := s.AcquireScopes(ctx, lockReq("p1", "", db.LockScope{Dataset: ds, Partition: "2026-01-01"}))
	require.NoError(t, err)
	st, err := s.AcquireScopes(ctx, lockReq("p2", "", db.LockScope{Dataset: ds}))
	require.NoError(t, err)
	require.False(t, st.Held)

	// One staged row of unit 2026-01-01: the projection discards it.
	cat, err := catalog.Load(catalogfiles.FS)
	require.NoError(t, err)
	require.NoError(t, s.EnsureDataPlane(ctx, cat))
	target, ok := cat.Get(ds)
	require.True(t, ok)
	_, err = d.Pool.Exec(ctx, `INSERT INTO staging.silver_documentos (nfe_id, processing_date, cfa_intent_id, cfa_unit_key)
		VALUES ('n1', '2026-01-01', 'p1', '2026-01-01')`)
	require.NoError(t, err)
	staged := func() (n int) {
		require.NoError(t, d.Pool.QueryRow(ctx, `SELECT count(*) FROM staging.silver_documentos WHERE cfa_intent_id = 'p1'`).Scan(&n))
		return n
	}

	version := uuid.NewString()
	request := func(fail bool) db.ProjectionRequest {
		return db.ProjectionRequest{
			IntentID: "p1", Catalog: cat, Target: target,
			Moves: []db.UnitMove{{Key: "2026-01-01", Partition: "2026-01-01", Move: db.MoveDiscard}},
			Project: func(latest registry.EnvironmentState) (db.ProjectionCommit, []db.PublicationChange, error) {
				if fail {
					return db.ProjectionCommit{}, nil, errors.New("storage lost")
				}
				return db.ProjectionCommit{ParentVersionID: latest.VersionID, VersionID: version,
					Datasets: []registry.DatasetState{{Name: ds, State: registry.StatePartiallyCommitted, PendingPartitions: []string{"2026-01-03"}}},
					History:  []registry.ExecutionRecord{{IntentID: "p1", Outcome: "partially_committed", Timestamp: time.Now(), PolicyBundleVersion: "v1"}},
				}, nil, nil
			},
		}
	}

	_, err = s.ProjectExecution(ctx, request(true))
	require.ErrorContains(t, err, "storage lost")
	require.Equal(t, 1, staged(), "a failed projection moves nothing")
	st, err = s.AcquireScopes(ctx, lockReq("p2", "", db.LockScope{Dataset: ds}))
	require.NoError(t, err)
	require.False(t, st.Held, "and releases nothing (I4)")

	res, err := s.ProjectExecution(ctx, request(false))
	require.NoError(t, err)
	require.False(t, res.Replayed)
	require.Equal(t, int64(1), res.Moved["discarded"])
	require.Zero(t, staged())
	require.Equal(t, version, res.Environment.VersionID)
	require.Equal(t, []string{"wf-p2"}, res.Wake)
	got, ok := res.Environment.Dataset(ds)
	require.True(t, ok)
	require.Equal(t, registry.StatePartiallyCommitted, got.State)

	replay := request(false)
	replay.Moves = []db.UnitMove{{Key: "x", Move: "not a move"}} // would fail if it ran
	replay.Project = func(registry.EnvironmentState) (db.ProjectionCommit, []db.PublicationChange, error) {
		return db.ProjectionCommit{}, nil, fmt.Errorf("must not be called on a replay")
	}
	again, err := s.ProjectExecution(ctx, replay)
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
