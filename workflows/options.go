package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/contextualflux/cfa/activities"
	"github.com/contextualflux/cfa/internal/partialexecution"
)

// Pure stages and short Postgres I/O run as local activities: a dev-server
// round trip costs ~100 ms per regular activity and ~3 ms per local one
// (docs/adr/0005). Retries with backoff; invalid input is never retried.
func localOptions() workflow.LocalActivityOptions {
	return workflow.LocalActivityOptions{
		StartToCloseTimeout: 15 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        200 * time.Millisecond,
			BackoffCoefficient:     2,
			MaximumInterval:        10 * time.Second,
			MaximumAttempts:        10,
			NonRetryableErrorTypes: []string{activities.ErrInvalidInput},
		},
	}
}

// Network I/O outside our control (the notification webhook) is a regular
// activity so its retries survive worker restarts.
func remoteOptions() workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        time.Minute,
			MaximumAttempts:        5,
			NonRetryableErrorTypes: []string{activities.ErrInvalidInput},
		},
	}
}

// DefaultUnitRetryBase is retry_policy.backoff's base (whitepaper 5.8).
const DefaultUnitRetryBase = 30 * time.Second

// unitOptions is the sandbox activity: retried by Temporal with exponential
// backoff, at most 3 attempts (retry_failed_units); governance,
// invalid-input and environmental faults are never retried.
func unitOptions(in IntentInput) workflow.ActivityOptions {
	base := DefaultUnitRetryBase
	if in.UnitRetryBaseSeconds > 0 {
		base = time.Duration(in.UnitRetryBaseSeconds) * time.Second
	}
	retry := partialexecution.DefaultRetryPolicy()
	return workflow.ActivityOptions{
		StartToCloseTimeout: 15 * time.Minute,
		// The unit heartbeats every 5 s; a dead worker's unit is retried
		// after 20 s.
		HeartbeatTimeout: 20 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        base,
			BackoffCoefficient:     retry.BackoffCoefficient(),
			MaximumAttempts:        int32(retry.MaxAttempts),
			NonRetryableErrorTypes: append([]string{activities.ErrInvalidInput, activities.ErrEnvironmental}, retry.NonRetryableErrorTypes()...),
		},
	}
}

// projectionOptions is the State Projection: one transaction, retried a
// few times; a projection that keeps failing is I4's to handle.
func projectionOptions() workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout: 2 * time.Minute,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 30 * time.Second,
			MaximumAttempts: 5, NonRetryableErrorTypes: []string{activities.ErrInvalidInput}},
	}
}

// scopeRecheck bounds a queued intent's wait between wake-up signals: it
// re-checks, which recovers the scope of a holder that died.
const scopeRecheck = 30 * time.Second
