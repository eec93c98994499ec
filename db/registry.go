package db

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/contextualflux/cfa/db/dbsqlc"
	"github.com/contextualflux/cfa/internal/contextplane"
	"github.com/contextualflux/cfa/internal/registry"
)

// GenesisVersionID is the empty, committed snapshot that migration 0001
// creates, so LatestSnapshot always has a version to return and every intent
// can record the version it consulted, even on a new install (ADR 0041).
const GenesisVersionID = "00000000-0000-0000-0000-000000000000"

// SnapshotInfo describes one committed snapshot without its datasets.
type SnapshotInfo struct {
	VersionID       string
	Seq             int64  // commit order
	ParentVersionID string // "" for the genesis snapshot
	CreatedAt       time.Time
	CommittedAt     time.Time
	Reason          string
	IntentID        string // "" when not written by an intent's projection
}

// LatestSnapshot returns the most recent committed snapshot
// (latest_committed_before_intent_resolution, whitepaper 10). A snapshot
// being written is never returned. On a new database it is the empty genesis
// snapshot (GenesisVersionID).
func (s *Store) LatestSnapshot(ctx context.Context) (registry.EnvironmentState, error) {
	var env registry.EnvironmentState
	err := s.inTx(ctx, readOnlySnapshot, func(q *dbsqlc.Queries) error {
		snap, err := q.LatestCommittedSnapshot(ctx)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("read latest registry snapshot: %w: the genesis snapshot is missing; run the migrations on a new database", ErrSnapshotNotFound)
		}
		if err != nil {
			return fmt.Errorf("read latest registry snapshot: %w", err)
		}
		env, err = loadEnvironment(ctx, q, snap)
		return err
	})
	return env, err
}

// SnapshotByVersion returns the committed snapshot versionID, the
// environment_state an earlier intent consulted (I8 reproducibility).
func (s *Store) SnapshotByVersion(ctx context.Context, versionID string) (registry.EnvironmentState, error) {
	id, err := parseVersion("version_id", versionID)
	if err != nil {
		return registry.EnvironmentState{}, err
	}
	var env registry.EnvironmentState
	err = s.inTx(ctx, readOnlySnapshot, func(q *dbsqlc.Queries) error {
		snap, err := q.GetSnapshot(ctx, id)
		if errors.Is(err, pgx.ErrNoRows) || (err == nil && snap.Status != "committed") {
			return fmt.Errorf("read registry snapshot %s: %w: list versions with ListSnapshots", versionID, ErrSnapshotNotFound)
		}
		if err != nil {
			return fmt.Errorf("read registry snapshot %s: %w", versionID, err)
		}
		env, err = loadEnvironment(ctx, q, snap)
		return err
	})
	return env, err
}

// ListSnapshots returns up to limit committed snapshots, newest first.
func (s *Store) ListSnapshots(ctx context.Context, limit int) ([]SnapshotInfo, error) {
	rows, err := s.q.ListCommittedSnapshots(ctx, clampLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("list registry snapshots: %w", err)
	}
	out := make([]SnapshotInfo, 0, len(rows))
	for _, r := range rows {
		out = append(out, snapshotInfo(r))
	}
	return out, nil
}

// ExecutionHistory returns up to limit execution_history records visible
// from the committed snapshot versionID (its own and its predecessors'),
// newest first.
func (s *Store) ExecutionHistory(ctx context.Context, versionID string, limit int) ([]registry.ExecutionRecord, error) {
	id, err := parseVersion("version_id", versionID)
	if err != nil {
		return nil, err
	}
	rows, err := s.q.ListExecutionHistory(ctx, dbsqlc.ListExecutionHistoryParams{VersionID: id, MaxRows: clampLimit(limit)})
	if err != nil {
		return nil, fmt.Errorf("read execution history at %s: %w", versionID, err)
	}
	out := make([]registry.ExecutionRecord, 0, len(rows))
	for _, r := range rows {
		out = append(out, registry.ExecutionRecord{
			IntentID:            r.IntentID,
			Outcome:             r.Outcome,
			ConsistencyUnit:     r.ConsistencyUnit,
			Timestamp:           r.Ts.UTC(),
			PolicyBundleVersion: r.PolicyBundleVersion,
		})
	}
	return out, nil
}

// CommitSnapshot atomically writes a new snapshot (write_mode: atomic_commit)
// whose environment_state is the parent's, with datasets overriding or adding
// entries by name, and appends history to execution_history.
//
// parentVersionID must still be the latest committed snapshot, or the commit
// fails with ErrStaleParent (optimistic versioning, whitepaper 10). versionID
// is the caller's idempotency key (a uuid): if that snapshot is already
// committed, it is returned unchanged, so a retried activity is safe. A
// DatasetState with a zero UpdatedAt is stamped with the commit time.
func (s *Store) CommitSnapshot(ctx context.Context, parentVersionID string, datasets []registry.DatasetState,
	history []registry.ExecutionRecord, reason, intentID string, versionID string,
) (registry.EnvironmentState, error) {
	id, err := parseVersion("version_id", versionID)
	if err != nil {
		return registry.EnvironmentState{}, err
	}
	parent, err := parseVersion("parent_version_id", parentVersionID)
	if err != nil {
		return registry.EnvironmentState{}, err
	}
	if err := checkDatasets(datasets); err != nil {
		return registry.EnvironmentState{}, err
	}
	var env registry.EnvironmentState
	err = s.inTx(ctx, pgx.TxOptions{}, func(q *dbsqlc.Queries) error {
		if err := q.LockSnapshotWriters(ctx); err != nil {
			return fmt.Errorf("lock registry for writing: %w", err)
		}
		env, err = commitSnapshot(ctx, q, id, parent, datasets, history, reason, intentID)
		return err
	})
	return env, err
}

// commitSnapshot writes one snapshot inside the caller's transaction, which
// holds the registry writer lock.
func commitSnapshot(ctx context.Context, q *dbsqlc.Queries, id, parent uuid.UUID, datasets []registry.DatasetState,
	history []registry.ExecutionRecord, reason, intentID string,
) (registry.EnvironmentState, error) {
	if err := checkDatasets(datasets); err != nil {
		return registry.EnvironmentState{}, err
	}
	now := time.Now().UTC()
	versionID, parentVersionID := id.String(), parent.String()
	var env registry.EnvironmentState
	err := func() error {
		existing, err := q.GetSnapshot(ctx, id)
		switch {
		case err == nil && existing.Status == "committed":
			if existing.ParentVersionID == nil || *existing.ParentVersionID != parent {
				return fmt.Errorf("commit registry snapshot %s: version_id already used with another parent: generate a new version_id per projection", versionID)
			}
			env, err = loadEnvironment(ctx, q, existing)
			return err // idempotent retry
		case err == nil:
			// A 'writing' row a crashed writer left behind; it was never served.
			if _, err := q.DeleteWritingSnapshot(ctx, id); err != nil {
				return fmt.Errorf("remove abandoned registry snapshot %s: %w", versionID, err)
			}
		case !errors.Is(err, pgx.ErrNoRows):
			return fmt.Errorf("read registry snapshot %s: %w", versionID, err)
		}

		latest, err := q.LatestCommittedSnapshot(ctx)
		if err != nil {
			return fmt.Errorf("read latest registry snapshot: %w", err)
		}
		if latest.VersionID != parent {
			return fmt.Errorf("commit registry snapshot on parent %s: latest committed is %s: %w: re-read the registry and replan",
				parentVersionID, latest.VersionID, ErrStaleParent)
		}

		if err := q.InsertWritingSnapshot(ctx, dbsqlc.InsertWritingSnapshotParams{
			VersionID: id, ParentVersionID: &parent, Reason: reason, IntentID: optional(intentID),
		}); err != nil {
			return fmt.Errorf("insert registry snapshot %s: %w", versionID, err)
		}
		if err := q.CopyDatasetStates(ctx, dbsqlc.CopyDatasetStatesParams{VersionID: id, ParentVersionID: parent}); err != nil {
			return fmt.Errorf("copy dataset states from %s: %w", parentVersionID, err)
		}
		for _, d := range datasets {
			updated := d.UpdatedAt
			if updated.IsZero() {
				updated = now
			}
			if err := q.UpsertDatasetState(ctx, dbsqlc.UpsertDatasetStateParams{
				VersionID:               id,
				Dataset:                 d.Name,
				State:                   d.State,
				PublishAllowed:          d.PublishAllowed,
				LastSuccessfulPartition: d.LastSuccessfulPartition,
				PendingPartitions:       nonNil(d.PendingPartitions),
				QuarantinedUnits:        nonNil(d.QuarantinedUnits),
				UpdatedAt:               updated.UTC().Truncate(time.Microsecond),
			}); err != nil {
				return fmt.Errorf("write dataset %q state %q: %w: use a registry.State* value; partially_committed requires publish_allowed=false", d.Name, d.State, err)
			}
		}
		for _, h := range history {
			if err := q.InsertExecutionRecord(ctx, dbsqlc.InsertExecutionRecordParams{
				VersionID:           id,
				IntentID:            h.IntentID,
				Outcome:             h.Outcome,
				ConsistencyUnit:     h.ConsistencyUnit,
				Ts:                  h.Timestamp.UTC().Truncate(time.Microsecond),
				PolicyBundleVersion: h.PolicyBundleVersion,
			}); err != nil {
				return fmt.Errorf("write execution record of intent %q: %w", h.IntentID, err)
			}
		}
		snap, err := q.MarkSnapshotCommitted(ctx, id)
		if err != nil {
			return fmt.Errorf("mark registry snapshot %s committed: %w", versionID, err)
		}
		if env, err = loadEnvironment(ctx, q, snap); err != nil {
			return err
		}
		// The context plane mirrors the snapshot in the same transaction:
		// a version for every dataset, partition and execution that
		// changed, under the snapshot's version_id (docs/adr/0147).
		if _, _, err := planeWrite(ctx, q, versionID, reason, planeActor(intentID), contextplane.ProjectionMutations(env, history), true); err != nil {
			return fmt.Errorf("project registry snapshot %s into the context plane: %w", versionID, err)
		}
		return nil
	}()
	return env, err
}

// loadEnvironment reads the datasets of one snapshot row.
func loadEnvironment(ctx context.Context, q *dbsqlc.Queries, snap dbsqlc.RegistrySnapshot) (registry.EnvironmentState, error) {
	rows, err := q.ListDatasetStates(ctx, snap.VersionID)
	if err != nil {
		return registry.EnvironmentState{}, fmt.Errorf("read datasets of registry snapshot %s: %w", snap.VersionID, err)
	}
	env := registry.EnvironmentState{
		VersionID: snap.VersionID.String(),
		Datasets:  make([]registry.DatasetState, 0, len(rows)),
	}
	if snap.CommittedAt != nil {
		env.CommittedAt = snap.CommittedAt.UTC()
	}
	for _, r := range rows { // ordered by name
		env.Datasets = append(env.Datasets, registry.DatasetState{
			Name:                    r.Dataset,
			State:                   r.State,
			PublishAllowed:          r.PublishAllowed,
			LastSuccessfulPartition: r.LastSuccessfulPartition,
			PendingPartitions:       nilIfEmpty(r.PendingPartitions),
			QuarantinedUnits:        nilIfEmpty(r.QuarantinedUnits),
			UpdatedAt:               r.UpdatedAt.UTC(),
		})
	}
	return env, nil
}

func snapshotInfo(r dbsqlc.RegistrySnapshot) SnapshotInfo {
	info := SnapshotInfo{
		VersionID: r.VersionID.String(),
		Seq:       r.Seq,
		CreatedAt: r.CreatedAt.UTC(),
		Reason:    r.Reason,
	}
	if r.ParentVersionID != nil {
		info.ParentVersionID = r.ParentVersionID.String()
	}
	if r.CommittedAt != nil {
		info.CommittedAt = r.CommittedAt.UTC()
	}
	if r.IntentID != nil {
		info.IntentID = *r.IntentID
	}
	return info
}

func checkDatasets(datasets []registry.DatasetState) error {
	names := make([]string, 0, len(datasets))
	for _, d := range datasets {
		if d.Name == "" {
			return errors.New("commit registry snapshot: a dataset has an empty name: name every dataset")
		}
		names = append(names, d.Name)
	}
	slices.Sort(names)
	for i := 1; i < len(names); i++ {
		if names[i] == names[i-1] {
			return fmt.Errorf("commit registry snapshot: dataset %q appears twice: give each dataset once", names[i])
		}
	}
	return nil
}

func parseVersion(field, v string) (uuid.UUID, error) {
	id, err := uuid.Parse(v)
	if err != nil {
		return uuid.UUID{}, fmt.Errorf("%s %q is not a uuid: %w: pass a registry version_id (GenesisVersionID on a new database)", field, v, err)
	}
	return id, nil
}

// clampLimit maps a caller's limit onto the query's LIMIT: <= 0 means 100.
func clampLimit(limit int) int32 {
	switch {
	case limit <= 0:
		return 100
	case limit > 1<<30:
		return 1 << 30
	}
	return int32(limit)
}

// listLimit bounds a listing of the context plane's governance (gates,
// proposals) to 1..10000 rows.
func listLimit(limit int) int32 { return int32(min(max(limit, 1), 10000)) }

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}
