package projection_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/concurrency"
	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/fault"
	"github.com/contextualflux/cfa/internal/projection"
)

func TestGateViolationAndBlockers(t *testing.T) {
	t.Parallel()
	p3 := concurrency.PartitionScope("silver_documentos", "2026-01-03")
	cause := errors.New("commit registry snapshot: connection reset")
	older := projection.MarkFailed("intent_older", []concurrency.Scope{p3}, genesis, now.Add(-time.Hour), cause)
	newer := projection.MarkFailed("intent_newer", nil, genesis, now, cause)

	cases := []struct {
		name     string
		gate     projection.Gate
		blocked  bool
		blockers string
	}{
		{"certain environment", projection.CheckCertain("next", []concurrency.Scope{p3}, nil), false, ""},
		{"one failed projection", projection.CheckCertain("next", []concurrency.Scope{p3}, []projection.FailedProjection{older}), true, "intent_older"},
		{"two, oldest first", projection.CheckCertain("next", []concurrency.Scope{p3}, []projection.FailedProjection{newer, older}), true, "intent_older, intent_newer"},
		// A gate that says blocked but carries no fault still vetoes (I4
		// fails closed), with ENVIRONMENT_STATE_UNCERTAIN naming the blockers.
		{"blocked without a fault", projection.Gate{Blocked: true, Because: []projection.FailedProjection{older}}, true, "intent_older"},
		{"a fault on an open gate", projection.Gate{Fault: &fault.Fault{Code: fault.CodeEnvironmentStateUncertain}}, false, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.blockers, tc.gate.Blockers())
			v := tc.gate.Violation()
			if !tc.blocked {
				require.Nil(t, v)
				return
			}
			require.NotNil(t, v)
			require.Equal(t, "I4", v.Invariant)
			require.Equal(t, decision.Blocked, v.Forces)
			if tc.gate.Fault == nil {
				require.Equal(t, fault.CodeEnvironmentStateUncertain, v.Fault.Code)
				require.Contains(t, v.Fault.Message, tc.blockers)
				return
			}
			require.Equal(t, *tc.gate.Fault, v.Fault, "the gate's ENVIRONMENT_STATE_UNCERTAIN fault")

			d, err := decision.Decide(decision.Input{
				InvariantViolations: []decision.Violation{*v},
				Votes:               []decision.Vote{{Authority: decision.AuthorityPolicyEngine, Outcome: decision.Approved}},
			})
			require.NoError(t, err)
			require.Equal(t, decision.Blocked, d.State)
			require.Equal(t, "invariant:I4", d.DecidedBy)
		})
	}
}

func TestFailedViolationRollsBackAndNamesTheIntent(t *testing.T) {
	t.Parallel()
	v := projection.FailedViolation("fiscal_reconciliation_001", "commit registry snapshot: connection reset")
	require.Equal(t, "I4", v.Invariant)
	require.Equal(t, decision.RolledBack, v.Forces, "nothing reached the target")
	f := v.Fault
	require.Equal(t, fault.CodeEnvironmentStateUncertain, f.Code)
	require.Equal(t, fault.EnvironmentalFaults, f.Family)
	require.Equal(t, fault.SeverityCritical, f.Severity)
	require.Equal(t, fault.StageStateProjection, f.Stage)
	require.Equal(t, projection.ActionBlockNextIntent, f.MandatoryAction)
	require.False(t, f.DetectedBeforeExecution, "the intent already ran")
	require.Equal(t, "state projection failed: commit registry snapshot: connection reset", f.Message)
	require.Len(t, f.Remediation, 1)
	require.Contains(t, f.Remediation[0], "cfa registry resolve fiscal_reconciliation_001 ")

	d, err := decision.Decide(decision.Input{InvariantViolations: []decision.Violation{v},
		Votes: []decision.Vote{{Authority: decision.AuthorityRuntimeValidation, Outcome: decision.Approved}}})
	require.NoError(t, err)
	require.Equal(t, decision.RolledBack, d.State)
	require.Equal(t, "invariant:I4", d.DecidedBy)
	require.Equal(t, f.Message, d.Reason)
}

func TestPublishRefusedViolationBlocksUnderI7(t *testing.T) {
	t.Parallel()
	why := "silver_documentos is partially_committed with publish_allowed false"
	v := projection.PublishRefusedViolation(why)
	require.Equal(t, "I7", v.Invariant)
	require.Equal(t, decision.Blocked, v.Forces)
	f := v.Fault
	require.Equal(t, fault.CodeContractPublishPartiallyCommitted, f.Code)
	require.Equal(t, fault.SemanticFaults, f.Family)
	require.Equal(t, fault.SeverityCritical, f.Severity)
	require.Equal(t, fault.StageStateProjection, f.Stage)
	require.True(t, f.DetectedBeforeExecution)
	require.Equal(t, "block", f.MandatoryAction)
	require.Equal(t, why, f.Message)
	require.NotEmpty(t, f.Remediation)

	// Blocked beats a rolled-back I4 in the same decision.
	d, err := decision.Decide(decision.Input{InvariantViolations: []decision.Violation{
		projection.FailedViolation("x", "boom"), v,
	}})
	require.NoError(t, err)
	require.Equal(t, decision.Blocked, d.State)
	require.Equal(t, "invariant:I7", d.DecidedBy)
	require.Len(t, d.Faults, 2)
}
