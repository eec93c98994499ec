package activities_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"github.com/contextualflux/cfa/activities"
	"github.com/contextualflux/cfa/internal/fault"
	"github.com/contextualflux/cfa/internal/partialexecution"
	"github.com/contextualflux/cfa/internal/runtimevalidation"
)

func TestReadUnit(t *testing.T) {
	failed := activities.UnitOutcome{Report: runtimevalidation.UnitReport{Attempt: 3,
		Faults: []fault.Fault{{Code: runtimevalidation.CodeNullRatioExceeded, Family: fault.RuntimeBehavioralFaults}}}}
	runtimeErr := temporal.NewApplicationErrorWithOptions("null ratio", runtimevalidation.CodeNullRatioExceeded,
		temporal.ApplicationErrorOptions{Details: []any{failed}})
	envErr := temporal.NewApplicationErrorWithOptions("revoked", activities.ErrEnvironmental, temporal.ApplicationErrorOptions{
		NonRetryable: true, Details: []any{activities.EnvironmentalFault{Trigger: partialexecution.TriggerExternalPermissionRevoked, Reason: "revoked"}}})
	passed := activities.UnitOutcome{Report: runtimevalidation.UnitReport{Attempt: 1, Passed: true}}
	cases := []struct {
		name      string
		out       activities.UnitOutcome
		err       error
		cancelled bool
		trigger   partialexecution.Trigger // "" when not interrupted
		state     string
		code      string
	}{
		{"passed", passed, nil, false, "", "successful", ""},
		{"failed at run time", activities.UnitOutcome{}, runtimeErr, false, "", "failed", runtimevalidation.CodeNullRatioExceeded},
		{"retries ran out with no report", activities.UnitOutcome{}, errors.New("connection refused"), false, "", "failed", fault.CodeExecutionUnitFailed},
		{"the environment invalidated it", activities.UnitOutcome{}, envErr, false, partialexecution.TriggerExternalPermissionRevoked, "", ""},
		{"cancelled with the activity", activities.UnitOutcome{}, temporal.NewCanceledError(), false, partialexecution.TriggerExecutionCancelled, "", ""},
		// The workflow was cancelled meanwhile: a finished unit, passed or
		// failed, is interrupted all the same (execution_cancelled).
		{"passed, workflow cancelled", passed, nil, true, partialexecution.TriggerExecutionCancelled, "", ""},
		{"failed, workflow cancelled", activities.UnitOutcome{}, runtimeErr, true, partialexecution.TriggerExecutionCancelled, "", ""},
		{"environmental, workflow cancelled", activities.UnitOutcome{}, envErr, true, partialexecution.TriggerExternalPermissionRevoked, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ran := activities.ReadUnit("2026-01-03", c.out, c.err, c.cancelled)
			require.Equal(t, "2026-01-03", ran.Key)
			if c.trigger != "" {
				require.NotNil(t, ran.Environmental)
				require.Equal(t, c.trigger, ran.Environmental.Trigger)
				return
			}
			require.Nil(t, ran.Environmental)
			st := ran.State()
			require.Equal(t, c.state, st.State)
			require.Equal(t, c.code, st.ErrorCode)
		})
	}
}
