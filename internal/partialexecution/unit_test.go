package partialexecution_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/fault"
	pe "github.com/contextualflux/cfa/internal/partialexecution"
)

func TestCouldNotRunFailsWithExecutionUnitFailed(t *testing.T) {
	t.Parallel()
	unit := u("silver_documentos", "2026-01-02")
	r := pe.CouldNotRun(unit, 3, "dial tcp 127.0.0.1:5432: connection refused")
	require.Equal(t, pe.UnitResult{
		Unit: unit, Status: pe.StatusFailed, Attempts: 3,
		ErrorCode: fault.CodeExecutionUnitFailed, FaultFamily: fault.RuntimeBehavioralFaults,
	}, r)
}

// TestCouldNotRunIsJudgedLikeAnyFailedUnit: the partial failure policy
// takes the result (it is not an environmental fault that only Panic
// Rollback may handle) and quarantines that unit alone.
func TestCouldNotRunIsJudgedLikeAnyFailedUnit(t *testing.T) {
	t.Parallel()
	results := []pe.UnitResult{
		pe.Succeeded(u("silver_documentos", days[0]), 1),
		pe.CouldNotRun(u("silver_documentos", days[1]), 3, "connection refused"),
		pe.Succeeded(u("silver_documentos", days[2]), 1),
	}
	o, err := pe.Apply(selective, pe.Run{ConsistencyUnit: byDate, Results: results})
	require.NoError(t, err)
	var failed []pe.UnitAction
	for _, a := range o.Actions {
		if a.Status == pe.StatusFailed {
			failed = append(failed, a)
		}
	}
	require.Len(t, failed, 1)
	require.Equal(t, days[1], failed[0].Key)
	require.Equal(t, fault.CodeExecutionUnitFailed, failed[0].ErrorCode)
	require.Equal(t, pe.ActionQuarantine, failed[0].Action)
	require.Equal(t, pe.OverallPartiallyCommitted, o.State.OverallState)
}
