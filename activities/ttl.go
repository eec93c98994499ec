package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

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

// Started is an opened sweep: Now is the time of its INTENT_RECEIVED, the
// time the sweep applies the TTLs at (a retry keeps it).
type Started struct {
	Stage
	Now time.Time `json:"now"`
}

// StartSweep opens a sweep's trail (INTENT_RECEIVED), before anything is
// swept.
func (a *Activities) StartSweep(ctx context.Context, st Step) (Started, error) {
	t := newTrail(st)
	t.add(intent.StageTTL, "received", audit.ActionInvoke, []string{"ttl_policy"}, events.SweepReceived{Policy: "ttl_policy"})
	out := Started{}
	if err := a.finish(ctx, t, &out.Stage); err != nil {
		return out, err
	}
	out.Now = t.receipts[0].Timestamp.UTC()
	return out, nil
}

// SweepTTL applies the TTL and Obsolete State Policy (5.9) to the latest
// registry snapshot at the sweep's time: partially_committed past 7 days
// becomes stale (a new snapshot), quarantined past 30 days is escalated to
// manual review (once per episode). It records nothing in the audit trail:
// RecordSweep records the transitions it returns. The sweep's result is
// committed with its changes, so a retry after the commit returns the
// transitions committed instead of sweeping a snapshot it already changed.
func (a *Activities) SweepTTL(ctx context.Context, st Step, now time.Time) (Swept, error) {
	if done, err := a.Store.SweepOf(ctx, st.IntentID); err != nil || done != nil {
		if err != nil {
			return Swept{}, fmt.Errorf("TTL sweep %s: %w", st.IntentID, err)
		}
		return sweptOf(*done)
	}
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
	res, err := ttl.Sweep(ttl.Input{State: env, Now: now, Escalated: escalated}, ttl.Default())
	if err != nil {
		return Swept{}, invalid(err)
	}
	var escalations []db.Escalation
	for _, e := range res.Escalations() {
		escalations = append(escalations, db.Escalation{Dataset: e.Dataset, Since: e.Since})
	}
	transitions, err := json.Marshal(nonNil(res.Transitions))
	if err != nil {
		return Swept{}, invalid(fmt.Errorf("TTL sweep %s: encode its transitions: %w", st.IntentID, err))
	}
	// The sweep's record, the stale snapshot and the escalations commit
	// together.
	sw := db.Sweep{SweepID: st.IntentID, SweptAt: now, Transitions: transitions,
		VersionID: projection.VersionID(res.ParentVersionID, "ttl_sweep:"+st.IntentID)}
	sw, err = a.Store.CommitSweep(ctx, sw, res.ParentVersionID, res.Changed, escalations)
	if errors.Is(err, db.ErrStaleParent) {
		return Swept{}, fmt.Errorf("TTL sweep: a projection committed meanwhile; the retry sweeps the new snapshot: %w", err)
	}
	if err != nil {
		return Swept{}, fmt.Errorf("TTL sweep %s: %w", st.IntentID, err)
	}
	out, err := sweptOf(sw)
	if err != nil {
		return out, err
	}
	a.Logger.Info("TTL sweep", zap.String("sweep_id", st.IntentID), zap.Int("transitions", len(out.Transitions)), zap.String("version_id", out.VersionID))
	return out, nil
}

func sweptOf(sw db.Sweep) (Swept, error) {
	out := Swept{VersionID: sw.VersionID}
	if err := json.Unmarshal(sw.Transitions, &out.Transitions); err != nil {
		return Swept{}, invalid(fmt.Errorf("TTL sweep %s: its recorded transitions do not decode: %w", sw.SweepID, err))
	}
	out.Summary = fmt.Sprintf("%d transitions", len(out.Transitions))
	return out, nil
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
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
