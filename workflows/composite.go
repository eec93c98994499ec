package workflows

import (
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/contextualflux/cfa/activities"
	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/internal/audit/events"
	"github.com/contextualflux/cfa/internal/composite"
	"github.com/contextualflux/cfa/internal/decision"
)

// CompositeInput starts a CompositeIntentWorkflow: an intent graph (whitepaper
// 5.4) and the options every sub-intent runs with.
type CompositeInput struct {
	Graph                    composite.IntentGraph `json:"intent_graph"`
	CorrelationID            string                `json:"correlation_id,omitempty"`
	SubmittedBy              string                `json:"submitted_by,omitempty"`
	SubmitterType            string                `json:"submitter_type,omitempty"`
	SubmitterAuthContext     string                `json:"submitter_auth_context,omitempty"`
	EscalationTimeoutSeconds int                   `json:"escalation_timeout_seconds,omitempty"`
	DryRun                   bool                  `json:"dry_run,omitempty"`
	CostCeilingDBU           float64               `json:"cost_ceiling_dbu,omitempty"`
	// TraceID is the submit's trace: the composite's receipts and its
	// sub-intents' carry it (intent.Request.TraceID).
	TraceID string `json:"trace_id,omitempty"`
}

// Sub-intent states in a CompositeResult.
const (
	SubIntentDecided = "decided" // the child workflow reached a decision
	SubIntentFailed  = "failed"  // the child workflow ended without one
	SubIntentSkipped = "skipped" // a dependency did not succeed: never started
)

// SubIntentOutcome is one sub-intent of a composite run.
type SubIntentOutcome struct {
	ID       string        `json:"id"`
	IntentID string        `json:"intent_id,omitempty"` // the child workflow id
	State    string        `json:"state"`
	Result   *IntentResult `json:"result,omitempty"`
	Reason   string        `json:"reason,omitempty"`
	// Order is when the sub-intent finished (1 = first), 0 when skipped.
	Order int `json:"order,omitempty"`
}

// CompositeResult is the parent's decision and every sub-intent's outcome.
type CompositeResult struct {
	IntentResult
	RootIntent string             `json:"root_intent"`
	Levels     [][]string         `json:"levels"`
	SubIntents []SubIntentOutcome `json:"sub_intents"`
}

// SubIntentID is the workflow (and intent) id of a sub-intent: the parent's
// id and the sub-intent's, so the audit correlates them by name too.
func SubIntentID(parentID, sub string) string { return parentID + "." + sub }

// compositeFlow is the state of one CompositeIntentWorkflow.
type compositeFlow struct {
	*journal
	in  CompositeInput
	out CompositeResult
	// The schedule: which sub-intents started, succeeded, failed; the
	// outcome of each; how many are running and finished.
	started, succeeded, failed []string
	outcomes                   map[string]*SubIntentOutcome
	running, finished          int
}

// CompositeIntentWorkflow runs the sub-intents of an intent graph as child
// IntentWorkflows: each starts once its dependencies were approved, so
// independent branches run in parallel; a sub-intent that is not approved
// stops only its dependents (dag_branch). The parent decides by
// strictest_outcome over all of them and audits every step under one
// correlation_id.
func CompositeIntentWorkflow(ctx workflow.Context, in CompositeInput) (CompositeResult, error) {
	ctx = workflow.WithLocalActivityOptions(ctx, localOptions())
	c := &compositeFlow{journal: newJournal(ctx, in.CorrelationID), in: in, outcomes: map[string]*SubIntentOutcome{}}
	c.trace = in.TraceID
	c.out = CompositeResult{RootIntent: in.Graph.RootIntent, IntentResult: IntentResult{IntentID: c.id, CorrelationID: c.corr, DryRun: in.DryRun}}
	if err := c.registerQueries(); err != nil {
		return c.out, err
	}
	info := workflow.GetInfo(ctx)
	st, err := c.local(StageReceived, a.ReceiveComposite, &activities.Stage{}, activities.CompositeReceiveInput{
		Composite: events.CompositeReceived{Graph: in.Graph, CorrelationID: in.CorrelationID, SubmittedBy: in.SubmittedBy,
			SubmitterType: in.SubmitterType, SubmitterAuthContext: in.SubmitterAuthContext, EscalationTimeoutSeconds: in.EscalationTimeoutSeconds, DryRun: in.DryRun, CostCeilingDBU: in.CostCeilingDBU},
		Index: db.Intent{IntentID: c.id, WorkflowID: c.id, RunID: info.WorkflowExecution.RunID, CorrelationID: c.corr,
			Status: IntentStatusRunning, SubmittedAt: info.WorkflowStartTime.UTC()},
	})
	if err != nil {
		return c.out, err
	}
	if !st.Stop {
		var check activities.GraphChecked
		if st, err = c.local(StageComposite, a.CheckIntentGraph, &check, in.Graph); err != nil {
			return c.out, err
		}
		c.out.Levels = check.Levels
	}
	if st.Stop {
		return c.decide(activities.DecideInput{Decision: decision.Input{Votes: st.Votes}, Record: activities.DecisionRecord{DryRun: c.in.DryRun}})
	}
	if err := c.schedule(); err != nil {
		return c.out, err
	}
	subs := make([]decision.SubDecision, 0, len(c.out.SubIntents))
	for _, o := range c.out.SubIntents {
		if o.Result != nil {
			subs = append(subs, decision.Decided(o.ID, o.Result.DecisionState, o.Result.Reason, o.Result.Faults))
			continue
		}
		subs = append(subs, decision.SubDecision{ID: o.ID, Skipped: true, Reason: o.Reason})
	}
	return c.decide(activities.DecideInput{Subs: subs, Record: activities.DecisionRecord{DryRun: c.in.DryRun}})
}

// schedule starts every ready sub-intent, waits for any to finish, and
// repeats; when one is not approved its dependents are skipped.
func (c *compositeFlow) schedule() error {
	g := c.in.Graph
	sel := workflow.NewSelector(c.ctx)
	for {
		for _, id := range g.Ready(c.started, c.succeeded) {
			if err := c.start(sel, id); err != nil {
				return err
			}
		}
		if c.running == 0 {
			break
		}
		before := len(c.failed)
		sel.Select(c.ctx)
		if err := c.recordFinished(); err != nil {
			return err
		}
		if len(c.failed) > before {
			if err := c.skipDependents(); err != nil {
				return err
			}
		}
	}
	for _, id := range g.IDs() {
		if o, ok := c.outcomes[id]; ok {
			c.out.SubIntents = append(c.out.SubIntents, *o)
		}
	}
	return nil
}

// start runs sub-intent id as a child IntentWorkflow.
func (c *compositeFlow) start(sel workflow.Selector, id string) error {
	g := c.in.Graph
	sub, _ := g.SubIntent(id)
	childID := SubIntentID(c.id, id)
	child := IntentInput{
		Text: sub.Intent, Signature: sub.Signature, CorrelationID: c.corr, SubmittedBy: c.in.SubmittedBy,
		SubmitterType: c.in.SubmitterType, SubmitterAuthContext: c.in.SubmitterAuthContext, EscalationTimeoutSeconds: c.in.EscalationTimeoutSeconds, DryRun: c.in.DryRun, CostCeilingDBU: c.in.CostCeilingDBU, Composite: true,
		TraceID: c.in.TraceID,
	}
	cctx := workflow.WithChildOptions(c.ctx, workflow.ChildWorkflowOptions{
		WorkflowID: childID, TaskQueue: TaskQueue,
		// A failed sub-intent is a decision, not a retry: its activities
		// already retried what could be retried.
		RetryPolicy: &temporal.RetryPolicy{MaximumAttempts: 1},
	})
	c.started = append(c.started, id)
	c.outcomes[id] = &SubIntentOutcome{ID: id, IntentID: childID}
	if _, err := c.local(StageComposite, a.RecordSubIntent, &activities.Stage{}, activities.SubIntentEvent{
		Started: &events.SubIntentStarted{SubIntent: id, IntentID: childID, DependsOn: g.DependsOn(id)},
	}); err != nil {
		return err
	}
	c.running++
	sel.AddFuture(workflow.ExecuteChildWorkflow(cctx, IntentWorkflowName, child), func(f workflow.Future) {
		c.running--
		c.finished++
		o := c.outcomes[id]
		o.Order = c.finished
		var res IntentResult
		if err := f.Get(c.ctx, &res); err != nil {
			o.State, o.Reason = SubIntentFailed, composite.NoDecisionReason(id, err)
			c.failed = append(c.failed, id)
			return
		}
		o.State, o.Result = SubIntentDecided, &res
		if decision.Succeeded(res.DecisionState) {
			c.succeeded = append(c.succeeded, id)
		} else {
			c.failed = append(c.failed, id)
		}
	})
	return nil
}

// recordFinished records the sub-intent that finished last.
func (c *compositeFlow) recordFinished() error {
	for _, id := range c.in.Graph.IDs() {
		o, ok := c.outcomes[id]
		if !ok || o.Order != c.finished || o.State == SubIntentSkipped {
			continue
		}
		ev := &events.SubIntentDecided{SubIntent: o.ID, IntentID: o.IntentID, State: o.State, Reason: o.Reason, Order: o.Order}
		if r := o.Result; r != nil {
			ev.DecisionState, ev.DecidedBy, ev.PlanHash, ev.CodeHash = r.DecisionState, r.DecidedBy, r.PlanHash, r.CodeHash
		}
		_, err := c.local(StageComposite, a.RecordSubIntent, &activities.Stage{}, activities.SubIntentEvent{Decided: ev})
		return err
	}
	return nil
}

// skipDependents skips the sub-intents that depend on a failed one.
func (c *compositeFlow) skipDependents() error {
	g := c.in.Graph
	for _, id := range g.Blocked(c.failed) {
		if _, ok := c.outcomes[id]; ok {
			continue
		}
		o := &SubIntentOutcome{ID: id, State: SubIntentSkipped, Reason: g.SkipReason(id, c.failed)}
		c.outcomes[id] = o
		c.started = append(c.started, id)
		if _, err := c.local(StageComposite, a.RecordSubIntent, &activities.Stage{}, activities.SubIntentEvent{
			Skipped: &events.SubIntentSkipped{SubIntent: id, Reason: o.Reason},
		}); err != nil {
			return err
		}
	}
	return nil
}

// decide records the composite's decision (steps 17 and 19).
func (c *compositeFlow) decide(in activities.DecideInput) (CompositeResult, error) {
	var d activities.Decided
	if err := workflow.ExecuteLocalActivity(c.ctx, a.Decide, c.step(), in).Get(c.ctx, &d); err != nil {
		return c.out, err
	}
	c.seq += d.Events
	c.done(StageDecision, d.Summary)
	r := &c.out.IntentResult
	r.DecisionState, r.DecidedBy, r.Reason, r.Faults = d.Decision.State, d.Decision.DecidedBy, d.Decision.Reason, d.Decision.Faults
	r.AuditEvents = c.seq
	c.done(StageCompleted, string(d.Decision.State))
	res := c.out.IntentResult
	c.status.Result = &res
	return c.out, nil
}
