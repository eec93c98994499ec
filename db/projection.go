package db

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/contextualflux/cfa/db/dbsqlc"
	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/contextplane"
	"github.com/contextualflux/cfa/internal/dataplane"
	"github.com/contextualflux/cfa/internal/planner"
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
	// Moved counts the rows moved, by action (committed, quarantined,
	// discarded); empty when Replayed.
	Moved map[string]int64
}

// Move is what happens to one unit's staged rows at projection.
type Move string

// The moves of the partial failure policy's unit actions.
const (
	MoveCommit     Move = "commit"     // staging → target (merge)
	MoveQuarantine Move = "quarantine" // staging → quarantine
	MoveDiscard    Move = "discard"    // staging emptied
)

// UnitMove is one unit's move; Partition is set for a unit narrowed to a
// partition (a partition unit, a time window's day).
type UnitMove struct {
	Key       string
	Partition string
	Move      Move
	FaultCode string // the quarantine reason
	// Dataset is the target the unit wrote when it is not the request's
	// Target: a cross_dataset_atomic plan's other targets (docs/adr/0138).
	Dataset string
}

// PublicationChange sets the publication status of committed partitions
// (the units' keys) of Dataset ("": the request's Target).
type PublicationChange struct {
	Partitions []string
	Status     dataplane.PublishStatus
	Dataset    string
}

// ProjectionRequest is one State Projection (step 16).
type ProjectionRequest struct {
	IntentID string
	Plan     planner.ExecutionPlan
	Catalog  *catalog.Catalog
	Target   catalog.Dataset
	Moves    []UnitMove
	// Project computes, from the latest committed snapshot, what to commit
	// on top of it and the publication statuses that follow. It must be
	// pure: it runs inside the transaction, with the registry locked.
	Project func(latest registry.EnvironmentState) (ProjectionCommit, []PublicationChange, error)
}

// ProjectExecution is step 16, atomic and versioned: in one transaction it
// moves each unit's staged rows (staging → target, quarantine or discard),
// commits the snapshot that Project computes from the latest one with the
// publication it implies, and releases the intent's scopes (release:
// after_state_projection_confirmed). Either all of it commits or none. The
// moves run before the registry writer lock is taken: the held scope
// already keeps other intents off these datasets, and other projections
// need not wait for the copy. A retry after a commit returns the committed
// snapshot and changes nothing (the database allows one projection per
// intent).
func (s *Store) ProjectExecution(ctx context.Context, req ProjectionRequest) (ProjectionResult, error) {
	out := ProjectionResult{Moved: map[string]int64{}}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		q := s.q.WithTx(tx)
		done, err := q.ProjectionOfIntent(ctx, dbsqlc.ProjectionOfIntentParams{IntentID: &req.IntentID, Reason: ReasonStateProjection})
		switch {
		case err == nil:
			if out.Environment, err = loadEnvironment(ctx, q, done); err != nil {
				return err
			}
			out.Replayed = true
			out.Wake, err = releaseScopes(ctx, q, req.IntentID, ReleaseProjectionConfirmed)
			return err
		case !errors.Is(err, pgx.ErrNoRows):
			return fmt.Errorf("look for an earlier projection: %w", err)
		}
		written, err := moveUnits(ctx, tx, req, out.Moved)
		if err != nil {
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
		pc, pubs, err := req.Project(latest)
		if err != nil {
			return err
		}
		// Publication is per partition: a unit's key names the partition of
		// a partitioned target (a time window, its day), the partitions a
		// dataset unit wrote into one, and the whole (partition "")
		// otherwise.
		for _, p := range pubs {
			target, err := req.target(p.Dataset)
			if err != nil {
				return err
			}
			parts := make([]string, 0, len(p.Partitions))
			for _, k := range p.Partitions {
				ks, ok := written[target.Name+"\x00"+k]
				if !ok {
					ks = []string{k}
				}
				for _, k := range ks {
					if !slices.Contains(parts, k) {
						parts = append(parts, k)
					}
				}
			}
			if len(parts) == 0 {
				continue // a dataset unit that staged no row wrote no partition
			}
			if err := dataplane.SetPublication(ctx, tx, target, parts, p.Status, req.IntentID); err != nil {
				return err
			}
		}
		id, err := parseVersion("version_id", pc.VersionID)
		if err != nil {
			return err
		}
		parent, err := parseVersion("parent_version_id", pc.ParentVersionID)
		if err != nil {
			return err
		}
		if out.Environment, err = commitSnapshot(ctx, q, id, parent, pc.Datasets, pc.History, ReasonStateProjection, req.IntentID); err != nil {
			return err
		}
		// The execution's lineage (intent → plan → datasets read and
		// written) joins the snapshot's commit in the context plane.
		var at time.Time
		for _, h := range pc.History {
			if h.IntentID == req.IntentID {
				at = h.Timestamp
			}
		}
		lineage := contextplane.LineageMutations(req.IntentID, req.Plan, at, pc.VersionID)
		if _, _, err := planeWrite(ctx, q, pc.VersionID, ReasonStateProjection, planeActor(req.IntentID), lineage, true); err != nil {
			return fmt.Errorf("project the lineage of intent %s into the context plane: %w", req.IntentID, err)
		}
		out.Wake, err = releaseScopes(ctx, q, req.IntentID, ReleaseProjectionConfirmed)
		return err
	})
	if err != nil {
		return ProjectionResult{}, fmt.Errorf("project intent %s: %w", req.IntentID, err)
	}
	return out, nil
}

// moveUnits applies each unit's move; the committed units of each target
// are merged into it together, in the transaction that commits every
// target of a cross_dataset_atomic plan or none (docs/adr/0138). It
// returns the partitions each unit is published as, by target and key
// ("target\x00key"): its partition, the partitions a dataset unit staged
// in a partitioned target, or "" for an unpartitioned one.
func moveUnits(ctx context.Context, tx pgx.Tx, req ProjectionRequest, moved map[string]int64) (map[string][]string, error) {
	var datasets []string // the targets committed into, in move order
	commit := map[string][]dataplane.Unit{}
	written := map[string][]string{}
	for _, m := range req.Moves {
		target, err := req.target(m.Dataset)
		if err != nil {
			return nil, err
		}
		switch {
		case m.Partition != "", target.PartitionKey == "":
			written[target.Name+"\x00"+m.Key] = []string{m.Partition}
		case m.Move == MoveCommit:
			if written[target.Name+"\x00"+m.Key], err = dataplane.StagedPartitions(ctx, tx, target, req.IntentID, m.Key); err != nil {
				return nil, err
			}
		}
		switch m.Move {
		case MoveCommit:
			if !slices.Contains(datasets, m.Dataset) {
				datasets = append(datasets, m.Dataset)
			}
			commit[m.Dataset] = append(commit[m.Dataset], dataplane.Unit{IntentID: req.IntentID, Key: m.Key, Partition: m.Partition})
		case MoveQuarantine:
			n, err := dataplane.Quarantine(ctx, tx, target, req.IntentID, m.Key, m.FaultCode)
			if err != nil {
				return nil, err
			}
			moved["quarantined"] += n
		case MoveDiscard:
			n, err := dataplane.Discard(ctx, tx, target, req.IntentID, m.Key)
			if err != nil {
				return nil, err
			}
			moved["discarded"] += n
		default:
			return nil, fmt.Errorf("unit %s: unknown move %q: use commit, quarantine or discard", m.Key, m.Move)
		}
	}
	for _, ds := range datasets {
		plan := req.Plan
		if ds != "" {
			var ok bool
			if plan, ok = req.Plan.ForTarget(ds); !ok {
				return nil, fmt.Errorf("commit units of %s: %w: plan %s does not write it", ds, dataplane.ErrInvalidOptions, req.Plan.Hash)
			}
		}
		n, err := dataplane.Promote(ctx, tx, plan, req.Catalog, req.IntentID, commit[ds])
		if err != nil {
			return nil, err
		}
		moved["committed"] += n
	}
	return written, nil
}

// target is the catalog dataset a move or publication names: the
// request's Target for "", else a target of the plan.
func (req ProjectionRequest) target(name string) (catalog.Dataset, error) {
	if name == "" || name == req.Target.Name {
		return req.Target, nil
	}
	if _, ok := req.Plan.ForTarget(name); !ok || req.Catalog == nil {
		return catalog.Dataset{}, fmt.Errorf("project intent %s: %w: %s is not a target of plan %s", req.IntentID, dataplane.ErrInvalidOptions, name, req.Plan.Hash)
	}
	d, ok := req.Catalog.Get(name)
	if !ok {
		return catalog.Dataset{}, fmt.Errorf("project intent %s: %w: target %s is not in catalog %s", req.IntentID, dataplane.ErrInvalidOptions, name, req.Catalog.SnapshotVersion)
	}
	return d, nil
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
