package workflows

import (
	"fmt"

	"go.temporal.io/sdk/workflow"

	"github.com/contextualflux/cfa/activities"
)

// a is only used for method references; Temporal calls the registered struct.
var a *activities.Activities

// journal is what every CFA workflow keeps of itself: who it is, how many
// audit events it has appended (the next one's seq is assigned here, in
// workflow code, so activity retries never reorder), and the status its
// queries return.
type journal struct {
	ctx    workflow.Context
	id     string
	corr   string
	bundle string // policy_bundle_version, once consulted
	seq    int64  // audit events appended so far
	status Status
	trace  string // the intent's trace id, sealed into its receipts
}

func newJournal(ctx workflow.Context, correlationID string) *journal {
	id := workflow.GetInfo(ctx).WorkflowExecution.ID
	if correlationID == "" {
		correlationID = id
	}
	return &journal{ctx: ctx, id: id, corr: correlationID, status: Status{IntentID: id, Stage: StageReceived}}
}

// step is the envelope of the next stage activity: its first audit event
// gets the next seq.
func (j *journal) step() activities.Step {
	return activities.Step{IntentID: j.id, CorrelationID: j.corr, PolicyBundleVersion: j.bundle, Seq: j.seq + 1, At: workflow.Now(j.ctx).UTC(), TraceID: j.trace}
}

// stageOutput is every stage activity's output: it embeds activities.Stage.
type stageOutput interface{ StageOf() activities.Stage }

// local runs one stage activity as a local activity and keeps what every
// stage returns: the audit events it appended and its status line.
// A nil in calls an activity that takes the step alone.
func (j *journal) local(stage string, fn any, out stageOutput, in any) (activities.Stage, error) {
	args := []any{j.step()}
	if in != nil {
		args = append(args, in)
	}
	if err := workflow.ExecuteLocalActivity(j.ctx, fn, args...).Get(j.ctx, out); err != nil {
		return activities.Stage{}, err
	}
	return j.took(stage, out.StageOf()), nil
}

// remote runs one stage activity as a regular activity (long or retried
// I/O, options from ctx).
func (j *journal) remote(ctx workflow.Context, stage string, fn any, out stageOutput, in any) (activities.Stage, error) {
	if err := workflow.ExecuteActivity(ctx, fn, j.step(), in).Get(j.ctx, out); err != nil {
		return activities.Stage{}, err
	}
	return j.took(stage, out.StageOf()), nil
}

func (j *journal) took(stage string, st activities.Stage) activities.Stage {
	j.seq += st.Events
	if st.Summary != "" {
		j.done(stage, st.Summary)
	}
	return st
}

// done reports a stage in the status.
func (j *journal) done(stage, summary string) {
	j.status.Stage = stage
	j.status.Stages = append(j.status.Stages, StageReport{Stage: stage, Summary: summary, At: workflow.Now(j.ctx).UTC()})
}

func (j *journal) registerQueries() error {
	if err := workflow.SetQueryHandler(j.ctx, QueryStatus, func() (Status, error) { return j.status, nil }); err != nil {
		return fmt.Errorf("register query %s: %w", QueryStatus, err)
	}
	if err := workflow.SetQueryHandler(j.ctx, QueryPendingEscalation, func() (*PendingEscalation, error) { return j.status.Pending, nil }); err != nil {
		return fmt.Errorf("register query %s: %w", QueryPendingEscalation, err)
	}
	return nil
}

// wake signals the intents queued on scopes this workflow released.
func (j *journal) wake(ids []string) {
	for _, id := range ids {
		if id == j.id {
			continue
		}
		// A queued intent that is gone is not an error: it re-checks anyway.
		_ = workflow.SignalExternalWorkflow(j.ctx, id, "", SignalScopeReleased, nil).Get(j.ctx, nil)
	}
}
