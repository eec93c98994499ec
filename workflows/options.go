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
// (docs/adr/0005). Each attempt has 30 s; the attempts go on with backoff
// for up to 10 minutes, so a Postgres restart or a network outage delays
// the stage instead of failing it (the SDK bounds the whole schedule by
// ScheduleToClose, or by StartToClose when that is unset). Invalid input
// is never retried.
func localOptions() workflow.LocalActivityOptions {
	return workflow.LocalActivityOptions{
		StartToCloseTimeout:    30 * time.Second,
		ScheduleToCloseTimeout: LocalStageOutage,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        200 * time.Millisecond,
			BackoffCoefficient:     2,
			MaximumInterval:        10 * time.Second,
			NonRetryableErrorTypes: []string{activities.ErrInvalidInput},
		},
	}
}

// LocalStageOutage is how long a stage waits out an outage before the
// intent is decided blocked as interrupted (STAGE_INTERRUPTED).
const LocalStageOutage = 10 * time.Minute

// lastingOptions is the decision of an intent whose stage could not
// complete, or whose local decision failed: a regular activity whose
// retries outlast a long outage (a day), so every intent ends decided.
func lastingOptions() workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout:    time.Minute,
		ScheduleToCloseTimeout: 24 * time.Hour,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        5 * time.Minute,
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

// unitCrashAllowance is how many attempts of a unit may be lost with a
// worker (killed, or stopped past its grace period) before the unit fails.
const unitCrashAllowance = 5

// DefaultUnitRetryBase is retry_policy.backoff's base (whitepaper 5.8).
const DefaultUnitRetryBase = 30 * time.Second

// unitOptions is the sandbox activity: retried by Temporal with exponential
// backoff. The unit counts its own failures and stops being retried at 3
// (retry_failed_units' max_attempts); attempts lost with a worker do not
// count, up to unitCrashAllowance of them. Governance, invalid-input and
// environmental faults are never retried.
func unitOptions(in IntentInput) workflow.ActivityOptions {
	base := DefaultUnitRetryBase
	if in.UnitRetryBaseSeconds > 0 {
		base = time.Duration(in.UnitRetryBaseSeconds) * time.Second
	}
	retry := partialexecution.DefaultRetryPolicy()
	return workflow.ActivityOptions{
		StartToCloseTimeout: 15 * time.Minute,
		// The unit heartbeats every 2 s; a dead worker's unit is retried
		// after 10 s.
		HeartbeatTimeout: activities.HeartbeatTimeout,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        base,
			BackoffCoefficient:     retry.BackoffCoefficient(),
			MaximumAttempts:        int32(retry.MaxAttempts + unitCrashAllowance),
			NonRetryableErrorTypes: append([]string{activities.ErrInvalidInput, activities.ErrEnvironmental}, retry.NonRetryableErrorTypes()...),
		},
	}
}

// projectionOptions is the State Projection and the Panic Rollback: one
// transaction each, retried through an outage (up to LocalStageOutage); a
// change the database refuses is not retried (I4 handles a projection's).
func projectionOptions() workflow.ActivityOptions {
	return workflow.ActivityOptions{
		StartToCloseTimeout:    2 * time.Minute,
		ScheduleToCloseTimeout: LocalStageOutage,
		// They heartbeat every 2 s: a dead worker's is retried after 10 s.
		HeartbeatTimeout: activities.HeartbeatTimeout,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 30 * time.Second,
			NonRetryableErrorTypes: []string{activities.ErrInvalidInput}},
	}
}

// scopeRecheck bounds a queued intent's wait between wake-up signals: it
// re-checks, which recovers the scope of a holder that died.
const scopeRecheck = 30 * time.Second
