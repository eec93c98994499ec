package db_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/audit/events"
	"github.com/contextualflux/cfa/internal/dataplane"
	"github.com/contextualflux/cfa/internal/registry"
	"github.com/contextualflux/cfa/internal/replay"
)

const (
	sha1 = "1111111111111111111111111111111111111111111111111111111111111111"
	sha2 = "2222222222222222222222222222222222222222222222222222222222222222"
)

// TestUnitFingerprintsAreWriteOnceAndTheLastAttemptIsRead: a retried
// record of an attempt changes nothing, the database refuses to change or
// remove one, and each unit's last attempt is what a replay compares.
func TestUnitFingerprintsAreWriteOnceAndTheLastAttemptIsRead(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	worker := db.New(testDB.Worker)
	id := "intent-fingerprints-" + t.Name()
	rec := func(key string, attempt int, rows int64, out string) db.UnitFingerprintRecord {
		return db.UnitFingerprintRecord{IntentID: id, UnitKey: key, Attempt: attempt, SignatureHash: sha1, CodeHash: sha2, Partition: key,
			UnitFingerprints: dataplane.UnitFingerprints{Output: dataplane.Fingerprint{Rows: rows, SHA256: out},
				Inputs: []dataplane.InputFingerprint{{Dataset: "nfe", Partition: key, Fingerprint: dataplane.Fingerprint{Rows: 7, SHA256: sha1}}}}}
	}
	require.NoError(t, worker.RecordUnitFingerprint(ctx, rec("2026-01-01", 1, 3, sha1)))
	require.NoError(t, worker.RecordUnitFingerprint(ctx, rec("2026-01-01", 2, 4, sha2)))
	require.NoError(t, worker.RecordUnitFingerprint(ctx, rec("2026-01-01", 2, 9, sha1)), "a retried record of attempt 2 is a no-op")
	require.NoError(t, worker.RecordUnitFingerprint(ctx, rec("2026-01-02", 1, 5, sha1)))

	got, err := worker.UnitFingerprints(ctx, id)
	require.NoError(t, err)
	require.Equal(t, []replay.UnitFingerprint{
		{Key: "2026-01-01", Attempt: 2, SignatureHash: sha1, CodeHash: sha2, Partition: "2026-01-01", Output: replay.Fingerprint{Rows: 4, SHA256: sha2},
			Inputs: []replay.InputFingerprint{{Dataset: "nfe", Partition: "2026-01-01", Fingerprint: replay.Fingerprint{Rows: 7, SHA256: sha1}}}},
		{Key: "2026-01-02", Attempt: 1, SignatureHash: sha1, CodeHash: sha2, Partition: "2026-01-02", Output: replay.Fingerprint{Rows: 5, SHA256: sha1},
			Inputs: []replay.InputFingerprint{{Dataset: "nfe", Partition: "2026-01-02", Fingerprint: replay.Fingerprint{Rows: 7, SHA256: sha1}}}},
	}, got)

	for _, stmt := range []string{
		`UPDATE unit_fingerprints SET output_rows = 0 WHERE intent_id = $1`,
		`DELETE FROM unit_fingerprints WHERE intent_id = $1`,
	} {
		_, err := testDB.Pool.Exec(ctx, stmt, id)
		require.ErrorContains(t, err, "insert-only", stmt)
		_, err = testDB.Worker.Exec(ctx, stmt, id)
		require.Error(t, err, "the worker may not either: %s", stmt)
	}
}

// TestReplayRecordListsWhatCannotBeLoaded: an intent whose
// execution_context names versions never recorded has a record that says
// so, which the replay turns into a refusal; an intent with no trail is
// ErrIntentNotFound.
func TestReplayRecordListsWhatCannotBeLoaded(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := testDB
	store := db.New(d.Worker)
	_, err := store.ReplayRecord(ctx, "intent-that-never-was")
	require.ErrorIs(t, err, db.ErrIntentNotFound)

	env, err := store.LatestSnapshot(ctx)
	require.NoError(t, err)
	id := "intent-unrecorded-versions-" + strings.ToLower(t.Name())
	for i, p := range []events.Payload{
		events.IntentReceived{},
		events.EnvironmentConsulted{Environment: registry.EnvironmentState{VersionID: env.VersionID}, PolicyBundleVersion: "v0+000000000000", CatalogSnapshotVersion: "catalog_0000000000000000"},
	} {
		b, err := audit.EncodeDetails(p)
		require.NoError(t, err)
		_, err = store.Append(ctx, audit.Event{IntentID: id, Seq: int64(i + 1), CorrelationID: id, Stage: "intent_received", EventType: p.EventType(),
			Outcome: "received", Actor: audit.Principal{ID: "test", Type: audit.PrincipalSystem}, Action: audit.ActionInvoke,
			Targets: []string{"intent:" + id}, Timestamp: env.CommittedAt.UTC(), Details: b})
		require.NoError(t, err)
	}
	rec, err := store.ReplayRecord(ctx, id)
	require.NoError(t, err)
	require.Len(t, rec.Missing, 2)
	require.Contains(t, rec.Missing[0], `policy bundle "v0+000000000000" is not recorded`)
	require.Contains(t, rec.Missing[1], `data catalog "catalog_0000000000000000" is not recorded`)
	res, err := replay.Replay(ctx, rec)
	require.NoError(t, err)
	require.False(t, res.Identical)
	require.Contains(t, res.Refused, "the recorded inputs are incomplete")
}
