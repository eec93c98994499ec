package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/contextualflux/cfa/activities"
)

// A read (docs/adr/0132) goes through steps 1–10 and 12 as any intent:
// resolved, confirmed, signed, governed, costed, planned, its query
// generated and statically validated, the environment revalidated. It
// takes no scope lock (step 11), writes, commits and projects nothing
// (steps 14–16): step 13 runs its query and the flow goes to the decision
// with the rows.

// reads reports whether the plan is a read's.
func (f *intentFlow) reads() bool {
	return f.planning.Plan != nil && f.planning.Plan.Read()
}

// scopes are what step 12 checks against open projection failures (I4):
// the held target scopes of a write, the datasets a read reads.
func (f *intentFlow) scopes() []string {
	if f.reads() {
		return activities.ReadScopes(*f.planning.Plan)
	}
	return f.result.Execution.Scopes
}

// read is step 13 of a read: its query in the sandbox, read only; the
// result is the intent's, and the flow stops for the decision.
func (f *intentFlow) read() error {
	if !f.reads() {
		return nil
	}
	var out activities.ReadOutcome
	if err := f.apply(f.remote(workflow.WithActivityOptions(f.ctx, readOptions()), StageExecution, a.ExecuteRead, &out, activities.ReadInput{
		Plan: f.planRef(), PolicyBundleVersion: f.signed.Signature.ExecutionContext.PolicyBundleVersion,
	})); err != nil {
		return err
	}
	f.result.Result = out.Result
	f.stopped = true // nothing to commit or project
	return nil
}

// readOptions is a read's query: the statement timeout (5 minutes) and a
// margin; heartbeats every 2 s, so a dead worker's read runs again after
// 10 s; an outage is retried, a query Postgres refuses is not (the
// activity blocks it).
func readOptions() workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout: 6 * time.Minute,
		HeartbeatTimeout:    activities.HeartbeatTimeout,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        30 * time.Second,
			MaximumAttempts:        5,
			NonRetryableErrorTypes: []string{activities.ErrInvalidInput},
		},
	}
}
