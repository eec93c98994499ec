package db

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/contextualflux/cfa/db/dbsqlc"
)

// Conflict resolution modes of concurrency_control.conflict_resolution
// (whitepaper section 10).
const (
	OnConflictQueue  = "queue"  // wait for the scope, FIFO
	OnConflictReject = "reject" // blocked at once
)

// Release reasons recorded on scope_locks.
const (
	ReleaseProjectionConfirmed = "projection_confirmed" // after_state_projection_confirmed
	ReleaseRejected            = "rejected"             // on_conflict: reject
	ReleaseRecovered           = "recovered"            // the holder's workflow is gone
	ReleaseCancelled           = "cancelled"            // the intent ended before executing
	ReleasePanicRollback       = "panic_rollback"       // everything quarantined, nothing projected
	ReleaseProjectionFailed    = "projection_failed"    // I4: the marker blocks the scope instead
)

var (
	// ErrScopeRejected: on_conflict is reject and another intent holds or
	// waits for a conflicting scope.
	ErrScopeRejected = errors.New("target scope is held by another intent")
	// ErrInvalidLockRequest: no scope, an unknown on_conflict, or scopes
	// that differ from the ones the intent already holds. No retry helps.
	ErrInvalidLockRequest = errors.New("invalid scope lock request")
)

// LockScope is one target scope: a dataset, or one partition of it
// (Partition != "").
type LockScope struct {
	Dataset   string
	Partition string
}

// LockRequest asks for every scope of one intent at once.
type LockRequest struct {
	IntentID, WorkflowID, RunID string
	Scopes                      []LockScope
	OnConflict                  string // OnConflictQueue (default) or OnConflictReject
}

// LockHolder is an active request of another intent that comes first.
type LockHolder struct {
	IntentID   string
	WorkflowID string
	RunID      string
	Scope      LockScope
	Held       bool // false: an earlier waiter
}

// LockState is the outcome of an acquisition attempt.
type LockState struct {
	Held bool
	// Ahead are the requests that come first, in queue order (empty when
	// Held). The caller waits for a release, or recovers a dead holder.
	Ahead []LockHolder
}

// AcquireScopes enqueues the intent's scopes (once: a retry changes nothing)
// and grants all of them together when no conflicting request is held or
// enqueued earlier (FIFO, all-or-nothing, so two intents never deadlock on
// each other's partitions). In reject mode a conflict releases the request
// and returns ErrScopeRejected.
func (s *Store) AcquireScopes(ctx context.Context, req LockRequest) (LockState, error) {
	if len(req.Scopes) == 0 {
		return LockState{}, fmt.Errorf("acquire scopes for intent %s: %w: no scope given; name the target dataset (and partitions)", req.IntentID, ErrInvalidLockRequest)
	}
	mode := req.OnConflict
	if mode == "" {
		mode = OnConflictQueue
	}
	if mode != OnConflictQueue && mode != OnConflictReject {
		return LockState{}, fmt.Errorf("acquire scopes for intent %s: %w: on_conflict %q is not queue or reject", req.IntentID, ErrInvalidLockRequest, mode)
	}
	var st LockState
	err := s.inTx(ctx, pgx.TxOptions{}, func(q *dbsqlc.Queries) error {
		if err := q.LockScopeLocks(ctx); err != nil {
			return fmt.Errorf("lock scope_locks: %w", err)
		}
		mine, err := q.ActiveScopesOfIntent(ctx, req.IntentID)
		if err != nil {
			return fmt.Errorf("read scopes of intent %s: %w", req.IntentID, err)
		}
		if len(mine) > 0 && mine[0].Status == "held" {
			// A retried acquisition: it must ask for what is held, or a
			// replan that widened the window would run on unlocked scopes.
			for _, sc := range req.Scopes {
				if !slices.ContainsFunc(mine, func(r dbsqlc.ScopeLock) bool { return r.Dataset == sc.Dataset && deref(r.PartitionKey) == sc.Partition }) {
					return fmt.Errorf("acquire scopes for intent %s: %w: %s is not among the scopes it holds; release them and ask again", req.IntentID, ErrInvalidLockRequest, sc)
				}
			}
			st.Held = true
			return nil
		}
		if len(mine) == 0 {
			for _, sc := range req.Scopes {
				if err := q.RequestScope(ctx, dbsqlc.RequestScopeParams{
					IntentID: req.IntentID, WorkflowID: req.WorkflowID, RunID: req.RunID,
					Dataset: sc.Dataset, PartitionKey: optional(sc.Partition), OnConflict: mode,
				}); err != nil {
					return fmt.Errorf("request scope %s for intent %s: %w", sc, req.IntentID, err)
				}
			}
		}
		blockers, err := q.ScopeBlockers(ctx, req.IntentID)
		if err != nil {
			return fmt.Errorf("find what blocks intent %s: %w", req.IntentID, err)
		}
		if len(blockers) == 0 {
			st.Held = true
			return q.GrantScopes(ctx, req.IntentID)
		}
		for _, b := range blockers {
			st.Ahead = append(st.Ahead, LockHolder{IntentID: b.IntentID, WorkflowID: b.WorkflowID, RunID: b.RunID,
				Scope: LockScope{Dataset: b.Dataset, Partition: deref(b.PartitionKey)}, Held: b.Status == "held"})
		}
		if mode == OnConflictReject {
			_, err := q.ReleaseScopes(ctx, dbsqlc.ReleaseScopesParams{IntentID: req.IntentID, Reason: ReleaseRejected})
			return err
		}
		return nil
	})
	if err != nil {
		return LockState{}, err
	}
	if !st.Held && mode == OnConflictReject {
		return st, fmt.Errorf("intent %s: %w (%s by %s); resubmit later or use on_conflict queue", req.IntentID, ErrScopeRejected, st.Ahead[0].Scope, st.Ahead[0].IntentID)
	}
	return st, nil
}

// ReleaseScopes releases every scope of the intent and returns the
// workflow ids of the intents waiting on the same datasets, so the caller
// can wake them (they re-check; only the head of the queue is granted).
func (s *Store) ReleaseScopes(ctx context.Context, intentID, reason string) ([]string, error) {
	var wake []string
	err := s.inTx(ctx, pgx.TxOptions{}, func(q *dbsqlc.Queries) error {
		var err error
		wake, err = releaseScopes(ctx, q, intentID, reason)
		return err
	})
	return wake, err
}

// ActiveLocks lists held and waiting requests in queue order.
func (s *Store) ActiveLocks(ctx context.Context) ([]LockHolder, error) {
	rows, err := s.q.ActiveScopes(ctx)
	if err != nil {
		return nil, fmt.Errorf("list scope locks: %w", err)
	}
	out := make([]LockHolder, len(rows))
	for i, r := range rows {
		out[i] = LockHolder{IntentID: r.IntentID, WorkflowID: r.WorkflowID, RunID: r.RunID,
			Scope: LockScope{Dataset: r.Dataset, Partition: deref(r.PartitionKey)}, Held: r.Status == "held"}
	}
	return out, nil
}

func (s LockScope) String() string {
	if s.Partition == "" {
		return "dataset:" + s.Dataset
	}
	return "dataset:" + s.Dataset + "/partition:" + s.Partition
}
