package activities

import (
	"context"
	"fmt"

	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/audit/events"
	"github.com/contextualflux/cfa/internal/bounds"
	"github.com/contextualflux/cfa/internal/composite"
	"github.com/contextualflux/cfa/internal/intent"
)

// CompositeReceiveInput is a composite intent as submitted, and its row in
// the intents index.
type CompositeReceiveInput struct {
	Composite events.CompositeReceived `json:"composite"`
	Index     db.Intent                `json:"index"`
}

// ReceiveComposite records a composite intent (step 1 of its parent).
func (a *Activities) ReceiveComposite(ctx context.Context, st Step, in CompositeReceiveInput) (Stage, error) {
	row := in.Index
	row.Source, row.Input = db.SourceComposite, in.Composite.Graph.RootIntent
	if _, err := a.Store.UpsertIntent(ctx, row); err != nil {
		return Stage{}, fmt.Errorf("track intent %s: %w", st.IntentID, err)
	}
	t := newTrail(st)
	t.addBy(SubmitterOf(in.Composite.SubmittedBy, in.Composite.SubmitterType, in.Composite.SubmitterAuthContext), intent.StageReceived, "received", audit.ActionInvoke, nil, in.Composite)
	out := Stage{Summary: "intent graph " + in.Composite.Graph.RootIntent}
	// The options every sub-intent runs with are checked once, here, before
	// any sub-intent starts.
	if err := bounds.Options(intent.Request{EscalationTimeoutSeconds: in.Composite.EscalationTimeoutSeconds, CostCeilingDBU: in.Composite.CostCeilingDBU}); err != nil {
		v := bounds.Vote(err)
		out.Summary = "blocked: " + v.Reason
		out.stop(v)
	}
	return out, a.finish(ctx, t, &out)
}

// GraphChecked is a composite intent's graph verdict: its levels, or the
// vote that blocks it.
type GraphChecked struct {
	Stage
	Levels [][]string `json:"levels,omitempty"`
}

// CheckIntentGraph validates a composite intent's graph (its size and the
// numbers and dates of its signatures first, then cycles, dangling
// dependencies, ids); the starter validated its structure, a workflow
// started by other means is checked again before anything runs. An
// invalid graph blocks the composite with every problem named.
func (a *Activities) CheckIntentGraph(ctx context.Context, st Step, g composite.IntentGraph) (GraphChecked, error) {
	out := GraphChecked{}
	if err := bounds.Graph(g); err != nil {
		v := bounds.Vote(err)
		out.Summary = "invalid intent graph: " + v.Reason
		out.stop(v)
		return out, nil
	}
	if err := g.Validate(); err != nil {
		var problems []string
		for _, p := range composite.Problems(err) {
			problems = append(problems, p.Error())
		}
		if len(problems) == 0 {
			problems = []string{err.Error()}
		}
		v := composite.InvalidGraphVote(problems)
		out.Summary = "invalid intent graph: " + v.Reason
		out.stop(v)
		return out, nil
	}
	out.Levels = g.Levels()
	t := newTrail(st)
	t.add(intent.StageComposite, "accepted", audit.ActionInvoke, nil, events.IntentGraphAccepted{
		RootIntent: g.RootIntent, Levels: out.Levels, Dependencies: g.Dependencies, SharedContext: g.SharedContext,
	})
	out.Summary = fmt.Sprintf("%d sub-intents in %d levels", len(g.SubIntents), len(out.Levels))
	return out, a.finish(ctx, t, &out.Stage)
}

// SubIntentEvent is one step of a composite's schedule: a sub-intent
// started, decided or skipped (exactly one is set).
type SubIntentEvent struct {
	Started *events.SubIntentStarted `json:"started,omitempty"`
	Decided *events.SubIntentDecided `json:"decided,omitempty"`
	Skipped *events.SubIntentSkipped `json:"skipped,omitempty"`
}

// RecordSubIntent records one step of a composite's schedule, under the
// composite's correlation id.
func (a *Activities) RecordSubIntent(ctx context.Context, st Step, in SubIntentEvent) (Stage, error) {
	t := newTrail(st)
	out := Stage{}
	switch {
	case in.Started != nil:
		t.add(intent.StageComposite, "started", audit.ActionInvoke, []string{"intent:" + in.Started.IntentID}, *in.Started)
		out.Summary = "started " + in.Started.SubIntent
	case in.Decided != nil:
		outcome := in.Decided.State
		if in.Decided.DecisionState != "" {
			outcome = string(in.Decided.DecisionState)
		}
		t.add(intent.StageComposite, outcome, audit.ActionInvoke, []string{"intent:" + in.Decided.IntentID}, *in.Decided)
		out.Summary = fmt.Sprintf("%s: %s", in.Decided.SubIntent, outcome)
	case in.Skipped != nil:
		t.add(intent.StageComposite, "skipped", audit.ActionInvoke, nil, *in.Skipped)
		out.Summary = "skipped " + in.Skipped.SubIntent + ": " + in.Skipped.Reason
	default:
		return out, invalid(fmt.Errorf("record sub-intent of intent %s: no event given", st.IntentID))
	}
	return out, a.finish(ctx, t, &out)
}
