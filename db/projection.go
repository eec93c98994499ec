package db

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/contextualflux/cfa/db/dbsqlc"
	"github.com/contextualflux/cfa/internal/registry"
)

// ReasonStateProjection marks the registry snapshot an intent's State
// Projection Protocol committed (whitepaper 5.10).
const ReasonStateProjection = "state_projection"

// ProjectionCommit is what one projection writes on top of the latest
// snapshot it was computed from.
type ProjectionCommit struct {
	ParentVersionID string
	VersionID       string
	Datasets        []registry.DatasetState // the changed entries
	History         []registry.ExecutionRecord
}

// ProjectionResult is the committed snapshot and the workflows to wake.
type ProjectionResult struct {
	Environment registry.EnvironmentState
	// Wake lists the workflow ids waiting on the released scopes, in queue
	// order.
	Wake []string
	// Replayed is true when the projection had already been committed (a
	// retried activity): nothing was written again.
	Replayed bool
}

// ProjectExecution is step 16, atomic and versioned: in one transaction it
// runs moves (staging → target, quarantine, publication), commits the new
// registry snapshot that build computes from the latest one, and releases
// the intent's scopes (release: after_state_projection_confirmed). Either all
// of it commits or none. A retry after a commit returns the committed
// snapshot and changes nothing.
func (s *Store) ProjectExecution(ctx context.Context, intentID string,
	build func(ctx context.Context, tx pgx.Tx, latest registry.EnvironmentState) (ProjectionCommit, error),
) (ProjectionResult, error) {
	var out ProjectionResult
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return out, fmt.Errorf("project intent %s: begin: %w: check that Postgres is up", intentID, err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	q := s.q.WithTx(tx)
	if err := q.LockSnapshotWriters(ctx); err != nil {
		return out, fmt.Errorf("project intent %s: lock registry: %w", intentID, err)
	}
	if done, err := q.ProjectionOfIntent(ctx, dbsqlc.ProjectionOfIntentParams{IntentID: &intentID, Reason: ReasonStateProjection}); err == nil {
		out.Environment, err = loadEnvironment(ctx, q, done)
		if err != nil {
			return out, err
		}
		out.Replayed = true
		out.Wake, err = releaseScopes(ctx, q, intentID, ReleaseProjectionConfirmed)
		if err != nil {
			return out, err
		}
		return out, commit(ctx, tx, intentID)
	} else if !errors.Is(err, pgx.ErrNoRows) {
		return out, fmt.Errorf("project intent %s: look for an earlier projection: %w", intentID, err)
	}
	latestRow, err := q.LatestCommittedSnapshot(ctx)
	if err != nil {
		return out, fmt.Errorf("project intent %s: read latest snapshot: %w", intentID, err)
	}
	latest, err := loadEnvironment(ctx, q, latestRow)
	if err != nil {
		return out, err
	}
	pc, err := build(ctx, tx, latest)
	if err != nil {
		return out, fmt.Errorf("project intent %s: %w", intentID, err)
	}
	id, err := parseVersion("version_id", pc.VersionID)
	if err != nil {
		return out, err
	}
	parent, err := parseVersion("parent_version_id", pc.ParentVersionID)
	if err != nil {
		return out, err
	}
	if parent != latestRow.VersionID {
		return out, fmt.Errorf("project intent %s: built on %s, latest is %s: %w", intentID, parent, latestRow.VersionID, ErrStaleParent)
	}
	if err := checkDatasets(pc.Datasets); err != nil {
		return out, err
	}
	out.Environment, err = commitSnapshot(ctx, q, id, parent, pc.Datasets, pc.History, ReasonStateProjection, intentID)
	if err != nil {
		return out, err
	}
	out.Wake, err = releaseScopes(ctx, q, intentID, ReleaseProjectionConfirmed)
	if err != nil {
		return out, err
	}
	return out, commit(ctx, tx, intentID)
}

func commit(ctx context.Context, tx pgx.Tx, intentID string) error {
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("project intent %s: commit: %w", intentID, err)
	}
	return nil
}

// releaseScopes releases the intent's scopes inside the caller's
// transaction and returns the waiting workflows to wake. The waiters are
// looked up on every dataset the intent asked for, released now or before,
// so a retried release wakes them too.
func releaseScopes(ctx context.Context, q *dbsqlc.Queries, intentID, reason string) ([]string, error) {
	if err := q.LockScopeLocks(ctx); err != nil {
		return nil, fmt.Errorf("lock scope_locks: %w", err)
	}
	if _, err := q.ReleaseScopes(ctx, dbsqlc.ReleaseScopesParams{IntentID: intentID, Reason: reason}); err != nil {
		return nil, fmt.Errorf("release scopes of intent %s: %w", intentID, err)
	}
	datasets, err := q.DatasetsOfIntent(ctx, intentID)
	if err != nil {
		return nil, fmt.Errorf("read the scopes of intent %s: %w", intentID, err)
	}
	if len(datasets) == 0 {
		return nil, nil
	}
	rows, err := q.WaitersOnDatasets(ctx, datasets)
	if err != nil {
		return nil, fmt.Errorf("find waiters after intent %s: %w", intentID, err)
	}
	slices.SortFunc(rows, func(a, b dbsqlc.WaitersOnDatasetsRow) int { return cmp.Compare(a.ID, b.ID) })
	wake := make([]string, 0, len(rows))
	for _, r := range rows {
		wake = append(wake, r.WorkflowID)
	}
	return wake, nil
}
