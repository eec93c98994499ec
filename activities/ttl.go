package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/internal/projection"
	"github.com/contextualflux/cfa/internal/registry"
	"github.com/contextualflux/cfa/internal/ttl"
)

// SweepInput is one TTL sweep at the workflow's time.
type SweepInput struct {
	SweepID string    `json:"sweep_id"`
	Now     time.Time `json:"now"`
}

// Swept is what a sweep changed.
type Swept struct {
	Transitions []ttl.Transition `json:"transitions"`
	// VersionID is the snapshot that marked datasets stale, "" when none.
	VersionID string `json:"version_id,omitempty"`
}

// SweepTTL applies the TTL and Obsolete State Policy (5.9) to the latest
// registry snapshot: partially_committed past 7 days becomes stale (a new
// snapshot), quarantined past 30 days is escalated to manual review (once
// per episode). Idempotent: a retry at the same time changes nothing new.
func (a *Activities) SweepTTL(ctx context.Context, in SweepInput) (Swept, error) {
	env, err := a.Store.LatestSnapshot(ctx)
	if err != nil {
		return Swept{}, err
	}
	recorded, err := a.Store.Escalations(ctx)
	if err != nil {
		return Swept{}, err
	}
	escalated := make([]ttl.Escalation, len(recorded))
	for i, e := range recorded {
		escalated[i] = ttl.Escalation{Dataset: e.Dataset, Since: e.Since}
	}
	res, err := ttl.Sweep(ttl.Input{State: env, Now: in.Now, Escalated: escalated}, ttl.Default())
	if err != nil {
		return Swept{}, invalid(err)
	}
	out := Swept{Transitions: res.Transitions}
	var escalations []db.Escalation
	for _, e := range res.Escalations() {
		escalations = append(escalations, db.Escalation{Dataset: e.Dataset, Since: e.Since})
	}
	// The stale snapshot and the escalations commit together: a retry
	// after a partial write would sweep a snapshot already stale and lose
	// the transitions to audit.
	snap, err := a.Store.CommitSweep(ctx, res.ParentVersionID, projection.VersionID(res.ParentVersionID, "ttl_sweep:"+in.SweepID), res.Changed, escalations)
	if errors.Is(err, db.ErrStaleParent) {
		return Swept{}, fmt.Errorf("TTL sweep: a projection committed meanwhile; the retry sweeps the new snapshot: %w", err)
	}
	if err != nil {
		return Swept{}, err
	}
	out.VersionID = snap.VersionID
	a.Logger.Info("TTL sweep", zap.String("sweep_id", in.SweepID), zap.Int("transitions", len(res.Transitions)), zap.String("version_id", out.VersionID))
	return out, nil
}

// TTLCheckInput is a new intent's datasets and the snapshot it consulted.
type TTLCheckInput struct {
	Datasets    []string                  `json:"datasets"`
	Environment registry.EnvironmentState `json:"environment"`
	Now         time.Time                 `json:"now"`
}

// CheckTTL applies the TTL policy to a new intent: a dataset whose expired
// quarantine awaits manual review blocks it (block_dependent_intents).
func (a *Activities) CheckTTL(ctx context.Context, in TTLCheckInput) (ttl.IntentCheck, error) {
	recorded, err := a.Store.ReviewedEscalations(ctx, in.Datasets)
	if err != nil {
		return ttl.IntentCheck{}, err
	}
	reviewed := make([]ttl.Escalation, 0, len(recorded))
	for _, e := range recorded {
		reviewed = append(reviewed, ttl.Escalation{Dataset: e.Dataset, Since: e.Since})
	}
	out, err := ttl.CheckIntent(in.Environment, in.Datasets, in.Now, reviewed, ttl.Default())
	if err != nil {
		return out, invalid(err)
	}
	return out, nil
}
