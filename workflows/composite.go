package workflows

import (
	"fmt"
	"strings"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/contextualflux/cfa/activities"
	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/composite"
	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/fault"
)

// CompositeIntentWorkflowName is the registered name of the composite flow.
const CompositeIntentWorkflowName = "CompositeIntentWorkflow"

// StageComposite reports the sub-intent schedule in QueryStatus.
const StageComposite = "composite_intent"

// CompositeInput starts a CompositeIntentWorkflow: an intent graph (whitepaper
// 5.4) and the options every sub-intent runs with.
type CompositeInput struct {
	Graph                    composite.IntentGraph `json:"intent_graph"`
	CorrelationID            string                `json:"correlation_id,omitempty"`
	SubmittedBy              string                `json:"submitted_by,omitempty"`
	EscalationTimeoutSeconds int                   `json:"escalation_timeout_seconds,omitempty"`
	DryRun                   bool                  `json:"dry_run,omitempty"`
	CostCeilingDBU           float64               `json:"cost_ceiling_dbu,omitempty"`
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

// CompositeIntentWorkflow runs the sub-intents of an intent graph as child
// IntentWorkflows: each starts once its dependencies were approved, so
// independent branches run in parallel; a sub-intent that is not approved
// stops only its dependents (dag_branch). The parent decides by
// strictest_outcome over all of them and audits every step under one
// correlation_id.
func CompositeIntentWorkflow(ctx workflow.Context, in CompositeInput) (CompositeResult, error) {
	ctx = workflow.WithLocalActivityOptions(ctx, localOptions())
	r := &intentRun{ctx: ctx, id: workflow.GetInfo(ctx).WorkflowExecution.ID,
		in: IntentInput{CorrelationID: in.CorrelationID, SubmittedBy: in.SubmittedBy}}
	r.result = IntentResult{IntentID: r.id, CorrelationID: in.CorrelationID, DryRun: in.DryRun}
	if r.result.CorrelationID == "" {
		r.result.CorrelationID = r.id
	}
	r.source, r.input = db.SourceComposite, in.Graph.RootIntent
	r.status = Status{IntentID: r.id, Stage: StageReceived}
	out := CompositeResult{RootIntent: in.Graph.RootIntent}
	if err := r.registerQueries(); err != nil {
		return out, err
	}
	if err := r.track(IntentStatusRunning); err != nil {
		return out, err
	}
	if err := r.audit(audit.EventIntentReceived, StageReceived, "received", r.submitter(), audit.ActionInvoke, nil, in); err != nil {
		return out, err
	}
	r.done(StageReceived, "intent graph "+in.Graph.RootIntent)

	// The starter validated the graph; a workflow started by other means
	// is checked again before anything runs.
	var check activities.GraphCheck
	if err := r.local(a.CheckIntentGraph, &check, in.Graph); err != nil {
		return out, err
	}
	if len(check.Problems) > 0 {
		msg := strings.Join(check.Problems, "; ")
		r.done(StageComposite, "invalid intent graph: "+msg)
		res, err := r.decide(decision.Input{Votes: []decision.Vote{{
			Authority: decision.AuthorityIntentNormalizer, Outcome: decision.Blocked, Reason: msg,
			Faults: []fault.Fault{{
				Code: fault.CodeIntentGraphInvalid, Family: fault.SemanticFaults, Severity: fault.SeverityHigh,
				Stage: fault.StageIntentNormalizer, DetectedBeforeExecution: true, MandatoryAction: "block", Message: msg,
				Remediation: []string{"fix the intent graph as each problem says (cycles, unknown or repeated dependencies), then resubmit"},
			}},
		}}})
		out.IntentResult = res
		return out, err
	}
	levels := check.Levels
	out.Levels = levels
	if err := r.audit(audit.EventIntentGraphAccepted, StageComposite, "accepted", system(), audit.ActionInvoke, nil, map[string]any{
		"root_intent": in.Graph.RootIntent, "levels": levels, "dependencies": in.Graph.Dependencies, "shared_context": in.Graph.SharedContext,
	}); err != nil {
		return out, err
	}
	r.done(StageComposite, fmt.Sprintf("%d sub-intents in %d levels", len(in.Graph.SubIntents), len(levels)))

	outcomes, err := r.schedule(in)
	if err != nil {
		return out, err
	}
	out.SubIntents = outcomes
	subs := make([]decision.SubDecision, 0, len(outcomes))
	for _, o := range outcomes {
		sd := decision.SubDecision{ID: o.ID, Skipped: o.State != SubIntentDecided, Reason: o.Reason}
		if o.Result != nil {
			sd.State, sd.Faults = o.Result.DecisionState, o.Result.Faults
			if sd.Reason == "" {
				sd.Reason = fmt.Sprintf("sub-intent %s: %s (%s)", o.ID, o.Result.DecisionState, o.Result.Reason)
			}
		}
		subs = append(subs, sd)
	}
	var d decision.Decision
	if err := r.local(a.ConsolidateComposite, &d, subs); err != nil {
		return out, err
	}
	res, err := r.record(d)
	out.IntentResult = res
	return out, err
}

// schedule starts every ready sub-intent, waits for any to finish, and
// repeats; when one is not approved its dependents are skipped.
func (r *intentRun) schedule(in CompositeInput) ([]SubIntentOutcome, error) {
	g := in.Graph
	var started, succeeded, failed []string
	outcomes := map[string]*SubIntentOutcome{}
	sel := workflow.NewSelector(r.ctx)
	running, finished := 0, 0

	for {
		for _, id := range g.Ready(started, succeeded) {
			sub, _ := g.SubIntent(id)
			childID := SubIntentID(r.id, id)
			child := IntentInput{
				Text: sub.Intent, Signature: sub.Signature, CorrelationID: r.result.CorrelationID, SubmittedBy: r.in.SubmittedBy,
				EscalationTimeoutSeconds: in.EscalationTimeoutSeconds, DryRun: in.DryRun, CostCeilingDBU: in.CostCeilingDBU, Composite: true,
			}
			cctx := workflow.WithChildOptions(r.ctx, workflow.ChildWorkflowOptions{
				WorkflowID: childID, TaskQueue: TaskQueue,
				// A failed sub-intent is a decision, not a retry: its
				// activities already retried what could be retried.
				RetryPolicy: &temporal.RetryPolicy{MaximumAttempts: 1},
			})
			started = append(started, id)
			outcomes[id] = &SubIntentOutcome{ID: id, IntentID: childID}
			if err := r.audit(audit.EventSubIntentStarted, StageComposite, "started", system(), audit.ActionInvoke, []string{"intent:" + childID}, map[string]any{
				"sub_intent": id, "intent_id": childID, "depends_on": dependsOn(g, id),
			}); err != nil {
				return nil, err
			}
			r.done(StageComposite, "started "+id)
			running++
			fut := workflow.ExecuteChildWorkflow(cctx, IntentWorkflowName, child)
			sel.AddFuture(fut, func(f workflow.Future) {
				running--
				finished++
				o := outcomes[id]
				o.Order = finished
				var res IntentResult
				if err := f.Get(r.ctx, &res); err != nil {
					o.State, o.Reason = SubIntentFailed, fmt.Sprintf("sub-intent %s ended without a decision: %v", id, err)
					failed = append(failed, id)
					return
				}
				o.State, o.Result = SubIntentDecided, &res
				if decision.Succeeded(res.DecisionState) {
					succeeded = append(succeeded, id)
				} else {
					failed = append(failed, id)
				}
			})
		}
		if running == 0 {
			break
		}
		before := len(failed)
		sel.Select(r.ctx)
		last := lastFinished(g, outcomes, finished)
		if err := r.auditSubIntent(last); err != nil {
			return nil, err
		}
		if len(failed) > before {
			for _, id := range g.Blocked(failed) {
				if _, ok := outcomes[id]; ok {
					continue
				}
				o := &SubIntentOutcome{ID: id, State: SubIntentSkipped,
					Reason: fmt.Sprintf("not started: dependency %s was not approved", strings.Join(failedDeps(g, id, failed), ", "))}
				outcomes[id] = o
				started = append(started, id)
				if err := r.audit(audit.EventSubIntentSkipped, StageComposite, "skipped", system(), audit.ActionInvoke, nil, map[string]any{
					"sub_intent": id, "reason": o.Reason,
				}); err != nil {
					return nil, err
				}
				r.done(StageComposite, "skipped "+id+": "+o.Reason)
			}
		}
	}
	out := make([]SubIntentOutcome, 0, len(outcomes))
	for _, id := range g.IDs() {
		if o, ok := outcomes[id]; ok {
			out = append(out, *o)
		}
	}
	return out, nil
}

func (r *intentRun) auditSubIntent(o *SubIntentOutcome) error {
	if o == nil {
		return nil
	}
	details := map[string]any{"sub_intent": o.ID, "intent_id": o.IntentID, "state": o.State, "reason": o.Reason, "order": o.Order}
	outcome := o.State
	if o.Result != nil {
		outcome = string(o.Result.DecisionState)
		details["decision_state"], details["decided_by"] = o.Result.DecisionState, o.Result.DecidedBy
		details["plan_hash"], details["code_hash"] = o.Result.PlanHash, o.Result.CodeHash
	}
	r.done(StageComposite, fmt.Sprintf("%s: %s", o.ID, outcome))
	return r.audit(audit.EventSubIntentDecided, StageComposite, outcome, system(), audit.ActionInvoke, []string{"intent:" + o.IntentID}, details)
}

func lastFinished(g composite.IntentGraph, outcomes map[string]*SubIntentOutcome, order int) *SubIntentOutcome {
	for _, id := range g.IDs() {
		if o, ok := outcomes[id]; ok && o.Order == order && o.State != SubIntentSkipped {
			return o
		}
	}
	return nil
}

func dependsOn(g composite.IntentGraph, id string) []string {
	out := []string{}
	for _, d := range g.Dependencies {
		if d.To == id {
			out = append(out, d.From)
		}
	}
	return out
}

// failedDeps names the failed sub-intents id depends on, directly or not.
func failedDeps(g composite.IntentGraph, id string, failed []string) []string {
	var out []string
	for _, f := range failed {
		for _, dep := range g.Dependents(f) {
			if dep == id {
				out = append(out, f)
				break
			}
		}
	}
	return out
}
