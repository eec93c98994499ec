package flow_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/contextualflux/cfa/activities"
	"github.com/contextualflux/cfa/extension"
	"github.com/contextualflux/cfa/internal/app"
	"github.com/contextualflux/cfa/internal/dataplane"
	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/runtimevalidation"
	"github.com/contextualflux/cfa/workflows"
)

// TestRuntimeValidationFaultIsBenignAndLoggedAtWarn: a unit whose data
// breaks max_null_ratio (an expected data-quality failure) fails each
// attempt with a benign application error of its fault code, carrying its
// report, retryable on the first two attempts and not on the third, as
// before; the SDK logs those failures at debug, never as an "Activity
// error." at error; ExecuteUnit logs one warn line per attempt with the
// intent, the unit, the fault code and the attempt; and the workflow reads
// the fault as before (quarantined after 3 attempts, partially committed).
func TestRuntimeValidationFaultIsBenignAndLoggedAtWarn(t *testing.T) {
	const broken = "2026-01-03"
	seedDemoBroken(t, broken)
	id := uniqueID(t)

	actCore, actLogs := observer.New(zapcore.DebugLevel)
	base := newActivities(t, nil)
	acts := activities.New(store, base.Catalog, base.Bundle, zap.New(actCore), extension.Points{})
	sdkCore, sdkLogs := observer.New(zapcore.DebugLevel)
	var s testsuite.WorkflowTestSuite
	s.SetLogger(app.NewTemporalLogger(zap.New(sdkCore)))
	env := s.NewTestWorkflowEnvironment()
	app.Register(env, acts)
	env.SetStartWorkflowOptions(startOptions(id))

	var mu sync.Mutex
	var errs []error // the broken unit's attempts, in order
	env.OnActivity(acts.ExecuteUnit, mock.Anything, mock.Anything).Return(func(ctx context.Context, in activities.UnitInput) (activities.UnitOutcome, error) {
		out, err := acts.ExecuteUnit(ctx, in)
		if in.Key == broken {
			mu.Lock()
			errs = append(errs, err)
			mu.Unlock()
		}
		return out, err
	})
	approveAt(env, time.Minute)
	res := run(t, env, workflows.IntentInput{Text: reconcileToSilver, AsOf: dataplane.DemoAsOf, UnitRetryBaseSeconds: 1})

	// What the workflow reads is unchanged.
	require.Equal(t, decision.PartiallyCommitted, res.DecisionState, res.Reason)
	require.NotNil(t, res.Execution)
	var quarantined *workflows.UnitState
	for i, u := range res.Execution.Units {
		if u.Key == broken {
			quarantined = &res.Execution.Units[i]
		}
	}
	require.NotNil(t, quarantined)
	require.Equal(t, "quarantine", quarantined.State)
	require.Equal(t, runtimevalidation.CodeNullRatioExceeded, quarantined.ErrorCode)
	require.Equal(t, 3, quarantined.Attempts)

	// The activity's error: benign, of the fault's code, with the report.
	require.Len(t, errs, 3)
	for i, err := range errs {
		var appErr *temporal.ApplicationError
		require.True(t, errors.As(err, &appErr), "attempt %d: %v", i+1, err)
		require.Equal(t, err, error(appErr), "attempt %d: returned as is (the SDK checks the category on the error itself)", i+1)
		require.Equal(t, temporal.ApplicationErrorCategoryBenign, appErr.Category(), "attempt %d", i+1)
		require.Equal(t, runtimevalidation.CodeNullRatioExceeded, appErr.Type(), "attempt %d", i+1)
		require.Equal(t, i == 2, appErr.NonRetryable(), "attempt %d: retried until the third", i+1)
		var failed activities.UnitOutcome
		require.NoError(t, appErr.Details(&failed), "attempt %d: the report is in the details", i+1)
		f, ok := failed.Report.Primary()
		require.True(t, ok)
		require.Equal(t, runtimevalidation.CodeNullRatioExceeded, f.Code)
		require.Equal(t, f.Message, appErr.Message(), "attempt %d: the message is the fault's", i+1)
	}

	// The SDK's "Activity error." for ExecuteUnit: at debug, never at error.
	sdkUnitErrors := sdkLogs.FilterMessage("Activity error.").FilterField(zap.String("ActivityType", "ExecuteUnit"))
	require.Equal(t, 3, sdkUnitErrors.Len(), "one per failed attempt")
	for _, e := range sdkUnitErrors.All() {
		require.Equal(t, zapcore.DebugLevel, e.Level)
	}
	require.Zero(t, sdkLogs.FilterLevelExact(zapcore.ErrorLevel).Len(), "no SDK line at error: %v", sdkLogs.FilterLevelExact(zapcore.ErrorLevel).All())

	// One warn line of the activity's per failed attempt.
	warns := actLogs.FilterMessage("runtime validation failed").All()
	require.Len(t, warns, 3)
	for i, e := range warns {
		require.Equal(t, zapcore.WarnLevel, e.Level)
		c := e.ContextMap()
		require.Equal(t, id, c["intent_id"])
		require.Equal(t, broken, c["unit"])
		require.Equal(t, runtimevalidation.CodeNullRatioExceeded, c["fault_code"])
		require.Equal(t, "runtime_behavioral_faults", c["fault_family"])
		require.EqualValues(t, i+1, c["attempt"])
		require.Equal(t, i < 2, c["retried"], "attempt %d", i+1)
		require.NotEmpty(t, c["message"])
	}
	require.Zero(t, actLogs.FilterLevelExact(zapcore.ErrorLevel).Len(), "no activity line at error: %v", actLogs.FilterLevelExact(zapcore.ErrorLevel).All())
}
