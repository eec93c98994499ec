package db_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/db/dbtest"
	"github.com/contextualflux/cfa/internal/cfs"
	"github.com/contextualflux/cfa/internal/cfs/cfspb"
)

func putRecord(id, state string) *cfspb.Mutation {
	return &cfspb.Mutation{Change: &cfspb.Mutation_PutRecord{PutRecord: &cfspb.Record{
		RecordId: id, Labels: []string{"dataset"},
		Props: map[string]*structpb.Value{"state": structpb.NewStringValue(state)},
	}}}
}

func putLink(id, typ, src, dst string) *cfspb.Mutation {
	return &cfspb.Mutation{Change: &cfspb.Mutation_PutLink{PutLink: &cfspb.Link{LinkId: id, Type: typ, Source: src, Target: dst}}}
}

// applyPlane applies muts in a transaction of their own and returns the
// server time of that transaction.
func applyPlane(t *testing.T, s *db.Store, pool interface {
	Begin(context.Context) (pgx.Tx, error)
}, commit string, muts ...*cfspb.Mutation) (*cfspb.Diff, time.Time) {
	t.Helper()
	ctx := context.Background()
	tx, err := pool.Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = tx.Rollback(ctx) }()
	diff, err := s.ApplyMutations(ctx, tx, commit, "test", "tester", muts)
	require.NoError(t, err)
	var now time.Time // the system time the versions got
	require.NoError(t, tx.QueryRow(ctx, "SELECT cfs_plane_now()").Scan(&now))
	require.NoError(t, tx.Commit(ctx))
	return diff, now.UTC()
}

// TestPlaneRecordVersionsAsOf: MUST-003 and MUST-004 on records: a put
// appends a version, the old one stays readable as of an earlier system
// time and valid time, and an unchanged put writes nothing.
func TestPlaneRecordVersionsAsOf(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t, "db")
	s := db.New(d.Pool)
	ctx := context.Background()

	diff, t1 := applyPlane(t, s, d.Pool, "c1", putRecord("dataset:a", "committed"))
	require.Len(t, diff.Changes, 1)
	require.Equal(t, "create", diff.Changes[0].Op)
	diff, _ = applyPlane(t, s, d.Pool, "c1b", putRecord("dataset:a", "committed"))
	require.Empty(t, diff.Changes, "an unchanged put writes nothing")
	diff, t2 := applyPlane(t, s, d.Pool, "c2", putRecord("dataset:a", "stale"))
	require.Len(t, diff.Changes, 1)
	require.Equal(t, "update", diff.Changes[0].Op)
	require.Equal(t, []string{"props.state"}, diff.Changes[0].ChangedFields)

	now, err := s.GetRecordAsOf(ctx, "dataset:a", time.Time{}, time.Time{})
	require.NoError(t, err)
	require.Equal(t, "stale", now.Props["state"].GetStringValue())
	require.NoError(t, cfs.VerifyIntegrity(now))
	require.Equal(t, t1, now.CreatedAt.AsTime(), "created_at is the first version's")

	mid := t1.Add(time.Microsecond)
	old, err := s.GetRecordAsOf(ctx, "dataset:a", time.Time{}, mid)
	require.NoError(t, err)
	require.Equal(t, "committed", old.Props["state"].GetStringValue(), "as of system time before t2")
	old, err = s.GetRecordAsOf(ctx, "dataset:a", mid, time.Time{})
	require.NoError(t, err)
	require.Equal(t, "committed", old.Props["state"].GetStringValue(), "valid before t2, as known now")
	_, err = s.GetRecordAsOf(ctx, "dataset:a", time.Time{}, t1.Add(-time.Second))
	require.ErrorIs(t, err, db.ErrPlaneNotFound)
	require.True(t, t2.After(t1))

	// MUST-004: the database refuses to change, reopen or delete a version.
	for name, sql := range map[string]string{
		"change props": `UPDATE cfs_record_versions SET props = '{}'`,
		"reopen":       `UPDATE cfs_record_versions SET system = tstzrange(lower(system), 'infinity') WHERE NOT upper_inf(system)`,
		"move":         `UPDATE cfs_record_versions SET system = tstzrange(lower(system) - interval '1 s', 'infinity') WHERE upper_inf(system)`,
		"delete":       `DELETE FROM cfs_record_versions`,
		"truncate":     `TRUNCATE cfs_record_versions`,
		"system time":  `INSERT INTO cfs_record_versions (record_id, tenant_id, labels, props, integrity, canonical, valid, system, commit_id) SELECT record_id, tenant_id, labels, props, integrity, canonical, valid, tstzrange('2000-01-01', 'infinity'), commit_id FROM cfs_record_versions LIMIT 1`,
	} {
		_, err := d.Pool.Exec(ctx, sql)
		require.Error(t, err, name)
	}
}

// TestPlaneLinkRetract: a retract appends a version whose valid interval
// ends; as of a valid time before, the link is there, after it is not.
func TestPlaneLinkRetract(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t, "db")
	s := db.New(d.Pool)
	_, t1 := applyPlane(t, s, d.Pool, "c1", putLink("l1", "reads", "execution:i1", "dataset:a"))
	diff, _, err := s.PlanMutations(context.Background(), []*cfspb.Mutation{{Change: &cfspb.Mutation_RetractLinkId{RetractLinkId: "l1"}}})
	require.NoError(t, err)
	require.Len(t, diff.Changes, 1)
	require.Equal(t, "retract", diff.Changes[0].Op)
	_, t2 := applyPlane(t, s, d.Pool, "c2", &cfspb.Mutation{Change: &cfspb.Mutation_RetractLinkId{RetractLinkId: "l1"}})
	_, _, err = s.PlanMutations(context.Background(), []*cfspb.Mutation{{Change: &cfspb.Mutation_RetractLinkId{RetractLinkId: "l1"}}})
	require.ErrorIs(t, err, db.ErrInvalidMutation, "already retracted")
	require.True(t, t2.After(t1))
}
