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
// runs moves (staging → target, quarantine), commits the new registry
// snapshot that build computes from the latest one (build may write more in
// the same transaction: the publication), and releases the intent's scopes
// (release: after_state_projection_confirmed). Either all of it commits or
// none. The moves run before the registry writer lock is taken: the held
// scope already keeps other intents off these datasets, and other
// projections need not wait for the copy. A retry after a commit returns
// the committed snapshot and changes nothing (the database allows one
// projection per intent).
func (s *Store) ProjectExecution(ctx context.Context, intentID string,
	moves func(ctx context.Context, tx pgx.Tx) error,
	build func(ctx context.Context, tx pgx.Tx, latest registry.EnvironmentState) (ProjectionCommit, error),
) (ProjectionResult, error) {
	var out ProjectionResult
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		q := s.q.WithTx(tx)
		done, err := q.ProjectionOfIntent(ctx, dbsqlc.ProjectionOfIntentParams{IntentID: &intentID, Reason: ReasonStateProjection})
		switch {
		case err == nil:
			if out.Environment, err = loadEnvironment(ctx, q, done); err != nil {
				return err
			}
			out.Replayed = true
			out.Wake, err = releaseScopes(ctx, q, intentID, ReleaseProjectionConfirmed)
			return err
		case !errors.Is(err, pgx.ErrNoRows):
			return fmt.Errorf("look for an earlier projection: %w", err)
		}
		if err := moves(ctx, tx); err != nil {
			return err
		}
		if err := q.LockSnapshotWriters(ctx); err != nil {
			return fmt.Errorf("lock registry: %w", err)
		}
		latestRow, err := q.LatestCommittedSnapshot(ctx)
		if err != nil {
			return fmt.Errorf("read latest snapshot: %w", err)
		}
		latest, err := loadEnvironment(ctx, q, latestRow)
		if err != nil {
			return err
		}
		pc, err := build(ctx, tx, latest)
		if err != nil {
			return err
		}
		id, err := parseVersion("version_id", pc.VersionID)
		if err != nil {
			return err
		}
		parent, err := parseVersion("parent_version_id", pc.ParentVersionID)
		if err != nil {
			return err
		}
		if out.Environment, err = commitSnapshot(ctx, q, id, parent, pc.Datasets, pc.History, ReasonStateProjection, intentID); err != nil {
			return err
		}
		out.Wake, err = releaseScopes(ctx, q, intentID, ReleaseProjectionConfirmed)
		return err
	})
	if err != nil {
		return ProjectionResult{}, fmt.Errorf("project intent %s: %w", intentID, err)
	}
	return out, nil
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
