package db_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/db/dbtest"
	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/registry"
)

// newRegistry returns a store over a database of its own: "latest committed"
// is global, so registry tests must not share one.
func newRegistry(t *testing.T) (*db.Store, *dbtest.Database) {
	t.Helper()
	d := dbtest.New(t, "db_registry")
	return db.New(d.Pool), d
}

var day = time.Date(2026, 3, 22, 14, 30, 0, 0, time.UTC)

// The whitepaper 5.9 example environment_state.
var (
	silverPartial = registry.DatasetState{
		Name: "silver_documentos", State: registry.StatePartiallyCommitted, PublishAllowed: false,
		LastSuccessfulPartition: "2026-01-02", PendingPartitions: []string{"2026-01-03"},
		QuarantinedUnits: []string{"2026-01-03"}, UpdatedAt: day,
	}
	clientesCommitted = registry.DatasetState{
		Name: "clientes_anon", State: registry.StateCommitted, PublishAllowed: true, UpdatedAt: day,
	}
	fiscalRun = registry.ExecutionRecord{
		IntentID: "fiscal_reconciliation_001", Outcome: "partially_committed", ConsistencyUnit: "partition",
		Timestamp: day, PolicyBundleVersion: "v4.2",
	}
)

func TestLatestSnapshotIsGenesisOnNewDatabase(t *testing.T) {
	t.Parallel()
	s, _ := newRegistry(t)
	env, err := s.LatestSnapshot(context.Background())
	require.NoError(t, err)
	require.Equal(t, db.GenesisVersionID, env.VersionID)
	require.Empty(t, env.Datasets)
	require.False(t, env.CommittedAt.IsZero())
}

func TestCommitSnapshotCopyOnWrite(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := newRegistry(t)

	v1 := uuid.NewString()
	env1, err := s.CommitSnapshot(ctx, db.GenesisVersionID,
		[]registry.DatasetState{silverPartial, clientesCommitted}, []registry.ExecutionRecord{fiscalRun},
		"projection", "fiscal_reconciliation_001", v1)
	require.NoError(t, err)
	require.Equal(t, v1, env1.VersionID)
	require.Equal(t, []registry.DatasetState{clientesCommitted, silverPartial}, env1.Datasets, "sorted by name, round-trips exactly")

	// v2 overrides one dataset; the other is copied from v1.
	silverDone := silverPartial
	silverDone.State, silverDone.PublishAllowed = registry.StateCommitted, true
	silverDone.PendingPartitions, silverDone.QuarantinedUnits = nil, nil
	silverDone.LastSuccessfulPartition = "2026-01-03"
	v2 := uuid.NewString()
	env2, err := s.CommitSnapshot(ctx, v1, []registry.DatasetState{silverDone}, nil, "reprocess", "", v2)
	require.NoError(t, err)
	require.Equal(t, []registry.DatasetState{clientesCommitted, silverDone}, env2.Datasets)
	require.True(t, env2.CommittedAt.After(env1.CommittedAt))

	latest, err := s.LatestSnapshot(ctx)
	require.NoError(t, err)
	require.Equal(t, env2, latest)

	// v1 is still readable as it was (I8 reproducibility).
	old, err := s.SnapshotByVersion(ctx, v1)
	require.NoError(t, err)
	require.Equal(t, env1, old)

	list, err := s.ListSnapshots(ctx, 10)
	require.NoError(t, err)
	require.Len(t, list, 3)
	require.Equal(t, []string{v2, v1, db.GenesisVersionID}, []string{list[0].VersionID, list[1].VersionID, list[2].VersionID})
	require.Equal(t, v1, list[0].ParentVersionID)
	require.Equal(t, "fiscal_reconciliation_001", list[1].IntentID)

	hist, err := s.ExecutionHistory(ctx, v2, 10)
	require.NoError(t, err)
	require.Equal(t, []registry.ExecutionRecord{fiscalRun}, hist, "history accumulates across snapshots")
}

func TestCommitSnapshotIsIdempotent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := newRegistry(t)
	v := uuid.NewString()
	first, err := s.CommitSnapshot(ctx, db.GenesisVersionID, []registry.DatasetState{silverPartial}, []registry.ExecutionRecord{fiscalRun}, "p", "i1", v)
	require.NoError(t, err)

	// The activity is retried after its commit succeeded: same result, no new version.
	again, err := s.CommitSnapshot(ctx, db.GenesisVersionID, []registry.DatasetState{silverPartial}, []registry.ExecutionRecord{fiscalRun}, "p", "i1", v)
	require.NoError(t, err)
	require.Equal(t, first, again)
	list, err := s.ListSnapshots(ctx, 10)
	require.NoError(t, err)
	require.Len(t, list, 2)
	hist, err := s.ExecutionHistory(ctx, v, 10)
	require.NoError(t, err)
	require.Len(t, hist, 1)
}

func TestCommitSnapshotRejectsStaleParent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := newRegistry(t)
	_, err := s.CommitSnapshot(ctx, db.GenesisVersionID, []registry.DatasetState{clientesCommitted}, nil, "first", "", uuid.NewString())
	require.NoError(t, err)

	_, err = s.CommitSnapshot(ctx, db.GenesisVersionID, []registry.DatasetState{silverPartial}, nil, "second", "", uuid.NewString())
	require.ErrorIs(t, err, db.ErrStaleParent)
}

func TestConcurrentCommitsOnOneParentLetOneWin(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := newRegistry(t)

	const writers = 8
	errs := make([]error, writers)
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			_, errs[i] = s.CommitSnapshot(ctx, db.GenesisVersionID, []registry.DatasetState{silverPartial}, nil, "race", "", uuid.NewString())
		})
	}
	wg.Wait()

	won := 0
	for _, err := range errs {
		if err == nil {
			won++
			continue
		}
		require.ErrorIs(t, err, db.ErrStaleParent)
	}
	require.Equal(t, 1, won)
	list, err := s.ListSnapshots(ctx, 10)
	require.NoError(t, err)
	require.Len(t, list, 2)
}

func TestUncommittedSnapshotIsNeverServed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, d := newRegistry(t)
	base, err := s.CommitSnapshot(ctx, db.GenesisVersionID, []registry.DatasetState{clientesCommitted}, nil, "base", "", uuid.NewString())
	require.NoError(t, err)

	// A write underway on another connection: inserted, not yet committed.
	inFlight := uuid.NewString()
	tx, err := d.Pool.Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = tx.Rollback(ctx) }()
	writeWriting(ctx, t, tx, inFlight, base.VersionID)

	latest, err := s.LatestSnapshot(ctx)
	require.NoError(t, err)
	require.Equal(t, base, latest)
	require.NoError(t, tx.Rollback(ctx))

	// A crashed writer left a 'writing' snapshot committed in the table.
	crashed := uuid.NewString()
	tx, err = d.Pool.Begin(ctx)
	require.NoError(t, err)
	writeWriting(ctx, t, tx, crashed, base.VersionID)
	require.NoError(t, tx.Commit(ctx))

	latest, err = s.LatestSnapshot(ctx)
	require.NoError(t, err)
	require.Equal(t, base, latest, "a 'writing' snapshot with a higher seq is not the latest committed")
	_, err = s.SnapshotByVersion(ctx, crashed)
	require.ErrorIs(t, err, db.ErrSnapshotNotFound)
	list, err := s.ListSnapshots(ctx, 10)
	require.NoError(t, err)
	require.Len(t, list, 2)

	// Retrying the crashed writer's version replaces the abandoned row.
	env, err := s.CommitSnapshot(ctx, base.VersionID, []registry.DatasetState{silverPartial}, nil, "retry", "", crashed)
	require.NoError(t, err)
	require.Equal(t, []registry.DatasetState{clientesCommitted, silverPartial}, env.Datasets)
}

// writeWriting inserts a 'writing' snapshot with a poisoned dataset row, as
// a writer does before it marks the snapshot committed.
func writeWriting(ctx context.Context, t *testing.T, tx pgx.Tx, id, parent string) {
	t.Helper()
	_, err := tx.Exec(ctx, `INSERT INTO registry_snapshots (version_id, parent_version_id, status, reason)
		VALUES ($1, $2, 'writing', 'in flight')`, id, parent)
	require.NoError(t, err)
	_, err = tx.Exec(ctx, `INSERT INTO registry_dataset_states (version_id, dataset, state, updated_at)
		VALUES ($1, 'clientes_anon', 'quarantined', now())`, id)
	require.NoError(t, err)
}

func TestCommittedSnapshotIsImmutable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, d := newRegistry(t)
	env, err := s.CommitSnapshot(ctx, db.GenesisVersionID, []registry.DatasetState{silverPartial}, []registry.ExecutionRecord{fiscalRun}, "p", "", uuid.NewString())
	require.NoError(t, err)

	tests := []struct {
		name string
		sql  string
	}{
		{"update snapshot reason", `UPDATE registry_snapshots SET reason = 'rewritten' WHERE version_id = $1`},
		{"revert snapshot to writing", `UPDATE registry_snapshots SET status = 'writing', committed_at = NULL WHERE version_id = $1`},
		{"delete snapshot", `DELETE FROM registry_snapshots WHERE version_id = $1`},
		{"delete genesis", `DELETE FROM registry_snapshots WHERE version_id = '` + db.GenesisVersionID + `' AND $1::uuid IS NOT NULL`},
		{"update dataset state", `UPDATE registry_dataset_states SET publish_allowed = true, state = 'committed' WHERE version_id = $1`},
		{"delete dataset state", `DELETE FROM registry_dataset_states WHERE version_id = $1`},
		{"add dataset to committed snapshot", `INSERT INTO registry_dataset_states (version_id, dataset, state, updated_at) VALUES ($1, 'new_ds', 'committed', now())`},
		{"update execution history", `UPDATE registry_execution_history SET outcome = 'approved' WHERE version_id = $1`},
		{"delete execution history", `DELETE FROM registry_execution_history WHERE version_id = $1`},
		{"truncate dataset states", `TRUNCATE registry_dataset_states, registry_execution_history, registry_snapshots`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tx := dbtest.Tx(t, d.Pool)
			var err error
			if tt.name == "truncate dataset states" {
				_, err = tx.Exec(ctx, tt.sql)
			} else {
				_, err = tx.Exec(ctx, tt.sql, env.VersionID)
			}
			require.Error(t, err)
			require.Contains(t, err.Error(), "immutable")
		})
	}

	again, err := s.SnapshotByVersion(ctx, env.VersionID)
	require.NoError(t, err)
	require.Equal(t, env, again)
}

func TestCommitSnapshotValidatesDatasets(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := newRegistry(t)
	publishedPartial := silverPartial
	publishedPartial.PublishAllowed = true
	badState := clientesCommitted
	badState.State = "half_done"

	tests := []struct {
		name     string
		datasets []registry.DatasetState
		want     string
	}{
		{"partially committed cannot be published (I7)", []registry.DatasetState{publishedPartial}, "registry_dataset_states_publish_check"},
		{"state outside the enum", []registry.DatasetState{badState}, "registry_dataset_states_state_check"},
		{"duplicate dataset", []registry.DatasetState{clientesCommitted, clientesCommitted}, "appears twice"},
		{"empty name", []registry.DatasetState{{State: registry.StateCommitted}}, "empty name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.CommitSnapshot(ctx, db.GenesisVersionID, tt.datasets, nil, "bad", "", uuid.NewString())
			require.ErrorContains(t, err, tt.want)
		})
	}
	latest, err := s.LatestSnapshot(ctx)
	require.NoError(t, err)
	require.Equal(t, db.GenesisVersionID, latest.VersionID, "a failed commit leaves nothing behind")
}

func TestOverrideDatasetStatesIsAudited(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := newRegistry(t)
	for _, op := range []db.Operator{{Reason: "no one"}, {By: "maria"}, {By: " ", Reason: " "}} {
		_, _, err := s.OverrideDatasetStates(ctx, []registry.DatasetState{clientesCommitted}, op)
		require.ErrorContains(t, err, "--by and --reason", "an override says who and why")
	}
	latest, err := s.LatestSnapshot(ctx)
	require.NoError(t, err)
	require.Equal(t, db.GenesisVersionID, latest.VersionID, "a refused override commits nothing")

	env, actionID, err := s.OverrideDatasetStates(ctx, []registry.DatasetState{clientesCommitted}, db.Operator{By: "maria", Reason: "seed"})
	require.NoError(t, err)
	trail, err := s.AuditByIntent(ctx, actionID)
	require.NoError(t, err)
	require.Len(t, trail, 3)
	require.NoError(t, audit.CompletePerIntent(trail))
	require.Equal(t, audit.EventRegistrySnapshot, trail[1].EventType())
	require.Equal(t, "maria", trail[1].Actor.ID)
	require.Contains(t, trail[1].Context[audit.CtxDetails], `"reason":"seed"`)
	require.Contains(t, trail[1].Context[audit.CtxDetails], env.VersionID)
	require.Equal(t, []string{"dataset:clientes_anon"}, trail[1].Targets)

	partial := silverPartial
	partial.UpdatedAt = time.Time{} // stamped with the commit time
	env, _, err = s.OverrideDatasetStates(ctx, []registry.DatasetState{partial}, db.Operator{By: "test", Reason: "demo: silver_documentos partially committed"})
	require.NoError(t, err)
	require.Len(t, env.Datasets, 2)
	got, ok := env.Dataset("silver_documentos")
	require.True(t, ok)
	require.Equal(t, registry.StatePartiallyCommitted, got.State)
	require.False(t, got.PublishAllowed)
	require.False(t, got.UpdatedAt.IsZero())
}

func TestSnapshotByVersionErrors(t *testing.T) {
	t.Parallel()
	_, err := testStore.SnapshotByVersion(context.Background(), uuid.NewString())
	require.ErrorIs(t, err, db.ErrSnapshotNotFound)
	_, err = testStore.SnapshotByVersion(context.Background(), "not-a-uuid")
	require.ErrorContains(t, err, "is not a uuid")
}

func TestResolveProjectionFailureIsAudited(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := newRegistry(t)
	require.NoError(t, s.RecordProjectionFailure(ctx, db.ProjectionFailure{IntentID: "failed-1", Scopes: []string{"dataset:silver_documentos"},
		ParentVersionID: db.GenesisVersionID, Cause: "storage lost", FailedAt: day}))

	_, err := s.ResolveProjectionFailure(ctx, "failed-1", db.Operator{By: "maria"})
	require.ErrorContains(t, err, "--by and --reason")
	ok, err := s.ResolveProjectionFailure(ctx, "no-such-intent", db.Operator{By: "maria", Reason: "checked"})
	require.NoError(t, err)
	require.False(t, ok, "nothing to resolve")

	ok, err = s.ResolveProjectionFailure(ctx, "failed-1", db.Operator{By: "maria", Reason: "registry checked against the data"})
	require.NoError(t, err)
	require.True(t, ok)
	open, err := s.OpenProjectionFailures(ctx)
	require.NoError(t, err)
	require.Empty(t, open)

	var trail []audit.Receipt
	for after := int64(0); ; {
		page, err := s.AuditChain(ctx, after, 100)
		require.NoError(t, err)
		if len(page) == 0 {
			break
		}
		trail, after = append(trail, page...), page[len(page)-1].Position
	}
	require.Len(t, trail, 3, "one operator action, and no event for the refused or empty calls")
	require.NoError(t, audit.CompletePerIntent(trail))
	require.Equal(t, audit.EventProjectionFailureResolved, trail[1].EventType())
	require.Equal(t, []string{"intent:failed-1"}, trail[1].Targets)
	require.Contains(t, trail[1].Context[audit.CtxDetails], "registry checked against the data")
}
