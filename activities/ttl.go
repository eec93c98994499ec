package activities

import (
	"context"
	"errors"
	"fmt"

	"go.uber.org/zap"

	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/audit/events"
	"github.com/contextualflux/cfa/internal/intent"
	"github.com/contextualflux/cfa/internal/projection"
	"github.com/contextualflux/cfa/internal/ttl"
)

// Swept is what a sweep changed.
type Swept struct {
	Stage
	Transitions []ttl.Transition `json:"transitions"`
	// VersionID is the snapshot that marked datasets stale, "" when none.
	VersionID string `json:"version_id,omitempty"`
}

// StartSweep opens a sweep's trail (INTENT_RECEIVED), before anything is
// swept.
func (a *Activities) StartSweep(ctx context.Context, st Step) (Stage, error) {
	t := newTrail(st)
	t.add(intent.StageTTL, "received", audit.ActionInvoke, []string{"ttl_policy"}, events.SweepReceived{Now: st.At})
	out := Stage{}
	return out, a.finish(ctx, t, &out)
}

// SweepTTL applies the TTL and Obsolete State Policy (5.9) to the latest
// registry snapshot at the workflow's time: partially_committed past 7 days
// becomes stale (a new snapshot), quarantined past 30 days is escalated to
// manual review (once per episode). It records nothing in the audit trail:
// RecordSweep records the transitions it returns, so a retried record
// never recomputes them from a snapshot this sweep already changed.
func (a *Activities) SweepTTL(ctx context.Context, st Step) (Swept, error) {
	env, err := a.Extensions.Snapshots.LatestSnapshot(ctx)
	if err != nil {
		return Swept{}, fmt.Errorf("TTL sweep %s: %w", st.IntentID, err)
	}
	recorded, err := a.Store.Escalations(ctx)
	if err != nil {
		return Swept{}, fmt.Errorf("TTL sweep %s: %w", st.IntentID, err)
	}
	escalated := make([]ttl.Escalation, len(recorded))
	for i, e := range recorded {
		escalated[i] = ttl.Escalation{Dataset: e.Dataset, Since: e.Since}
	}
	res, err := ttl.Sweep(ttl.Input{State: env, Now: st.At, Escalated: escalated}, ttl.Default())
	if err != nil {
		return Swept{}, invalid(err)
	}
	var escalations []db.Escalation
	for _, e := range res.Escalations() {
		escalations = append(escalations, db.Escalation{Dataset: e.Dataset, Since: e.Since})
	}
	// The stale snapshot and the escalations commit together: a retry
	// after a partial write would sweep a snapshot already stale and lose
	// the transitions to audit.
	snap, err := a.Store.CommitSweep(ctx, res.ParentVersionID, projection.VersionID(res.ParentVersionID, "ttl_sweep:"+st.IntentID), res.Changed, escalations)
	if errors.Is(err, db.ErrStaleParent) {
		return Swept{}, fmt.Errorf("TTL sweep: a projection committed meanwhile; the retry sweeps the new snapshot: %w", err)
	}
	if err != nil {
		return Swept{}, fmt.Errorf("TTL sweep %s: %w", st.IntentID, err)
	}
	out := Swept{Transitions: res.Transitions, VersionID: snap.VersionID, Stage: Stage{Summary: fmt.Sprintf("%d transitions", len(res.Transitions))}}
	a.Logger.Info("TTL sweep", zap.String("sweep_id", st.IntentID), zap.Int("transitions", len(res.Transitions)), zap.String("version_id", out.VersionID))
	return out, nil
}

// RecordSweep records each transition of a sweep as the event the TTL
// policy names.
func (a *Activities) RecordSweep(ctx context.Context, st Step, s Swept) (Stage, error) {
	t := newTrail(st)
	for _, tr := range s.Transitions {
		t.add(intent.StageTTL, string(tr.Action), audit.ActionWrite, []string{"dataset:" + tr.Dataset}, events.TTLTransition{Transition: tr})
	}
	out := Stage{}
	return out, a.finish(ctx, t, &out)
}

// CompleteSweep ends a sweep's trail (INTENT_COMPLETED).
func (a *Activities) CompleteSweep(ctx context.Context, st Step, s Swept) (Stage, error) {
	outcome := "no_expiry"
	if len(s.Transitions) > 0 {
		outcome = fmt.Sprintf("%d_transitions", len(s.Transitions))
	}
	t := newTrail(st)
	t.add(intent.StageTTL, outcome, audit.ActionWrite, []string{"ttl_policy"}, events.SweepCompleted{Transitions: s.Transitions, VersionID: s.VersionID})
	out := Stage{Summary: outcome}
	return out, a.finish(ctx, t, &out)
}
