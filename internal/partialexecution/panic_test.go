package partialexecution_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/fault"
	pe "github.com/contextualflux/cfa/internal/partialexecution"
)

func TestPanicRollback(t *testing.T) {
	t.Parallel()
	for _, trig := range pe.Triggers {
		t.Run(string(trig), func(t *testing.T) {
			t.Parallel()
			in := pe.PanicInput{
				Trigger: trig, Reason: "policy bundle v4.3 replaced v4.2 during the run",
				ConsistencyUnit: byDate, Mode: pe.SelectiveQuarantine,
				Finished: []pe.UnitResult{pe.Succeeded(u("nfe", "2026-01-01"), 1), pe.Failed(u("nfe", "2026-01-02"), 2, nullF)},
				InFlight: []pe.Unit{u("nfe", "2026-01-03")},
			}
			o, err := pe.PanicRollback(in)
			require.NoError(t, err)

			require.False(t, o.ProjectionAllowed)
			require.Equal(t, fault.CodePanicRollbackTriggered, o.AuditEvent)
			require.Equal(t, pe.OverallQuarantined, o.State.OverallState)
			require.Equal(t, pe.ConsistencyPolicy{Mode: pe.SelectiveQuarantine, RollbackRequired: true, PublishAllowed: false}, o.State.ConsistencyPolicy)
			require.Len(t, o.Actions, 3)
			for _, a := range o.Actions {
				require.Equal(t, pe.ActionQuarantine, a.Action, "everything in flight or staged is isolated, whatever the mode")
			}
			require.Equal(t, []pe.UnitGroup{{Dataset: "nfe", Partitions: []string{"2026-01-01"}}}, o.State.SuccessfulUnits)

			wantFamily := fault.EnvironmentalFaults
			if trig == pe.TriggerForbiddenOperation {
				wantFamily = fault.StaticSafetyFaults
			}
			require.Equal(t, []pe.FailedUnitGroup{
				{Dataset: "nfe", Partitions: []string{"2026-01-03"}, ErrorCode: fault.CodePanicRollbackTriggered, FaultFamily: wantFamily},
				{Dataset: "nfe", Partitions: []string{"2026-01-02"}, ErrorCode: nullF.Code, FaultFamily: fault.RuntimeBehavioralFaults},
			}, o.State.FailedUnits)

			f := o.Fault
			require.Equal(t, fault.CodePanicRollbackTriggered, f.Code)
			require.Equal(t, wantFamily, f.Family)
			require.Equal(t, fault.SeverityCritical, f.Severity)
			require.Equal(t, fault.StageExecution, f.Stage)
			require.False(t, f.DetectedBeforeExecution)
			require.Equal(t, pe.PanicMandatoryAction, f.MandatoryAction)
			require.Equal(t, "panic_rollback.triggers."+string(trig), f.Rule)
			require.Equal(t, in.Reason, f.Message)
			require.Len(t, f.Remediation, 1)
			require.NotEmpty(t, f.Remediation[0])

			in2 := decision.Input{Votes: []decision.Vote{
				{Authority: decision.AuthorityPolicyEngine, Outcome: decision.Approved},
				o.Vote,
			}}
			if o.Violation != nil {
				in2.InvariantViolations = []decision.Violation{*o.Violation}
			}
			d, err := decision.Decide(in2)
			require.NoError(t, err)
			require.Equal(t, decision.Quarantined, d.State)
			if trig == pe.TriggerForbiddenOperation {
				require.Equal(t, "invariant:I6", d.DecidedBy)
			} else {
				require.Nil(t, o.Violation)
				require.Equal(t, string(decision.AuthorityPartialFailurePolicy), d.DecidedBy)
			}
		})
	}
}

func TestPanicRollbackRefuses(t *testing.T) {
	t.Parallel()
	ok := pe.PanicInput{Trigger: pe.TriggerConnectionLost, Reason: "connection reset", ConsistencyUnit: byDate, Mode: pe.FullRollback}
	tests := []struct {
		name string
		mut  func(*pe.PanicInput)
		err  string
	}{
		{"no reason", func(in *pe.PanicInput) { in.Reason = " " }, "reason_required"},
		{"unknown trigger", func(in *pe.PanicInput) { in.Trigger = "disk_full" }, `trigger "disk_full"`},
		{"unknown mode", func(in *pe.PanicInput) { in.Mode = "" }, "mode"},
		{"a unit finished twice", func(in *pe.PanicInput) {
			in.Finished = []pe.UnitResult{pe.Succeeded(u("nfe", "d"), 1), pe.Failed(u("nfe", "d"), 2, nullF)}
		}, "listed twice"},
		{"an empty in-flight unit", func(in *pe.PanicInput) { in.InFlight = []pe.Unit{{}} }, "empty dataset or key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in := ok
			tc.mut(&in)
			_, err := pe.PanicRollback(in)
			require.ErrorContains(t, err, tc.err)
		})
	}
	o, err := pe.PanicRollback(ok)
	require.NoError(t, err, "a panic before any unit started quarantines nothing")
	require.Empty(t, o.Actions)
}

func TestFlowPanicRollback(t *testing.T) {
	t.Parallel()
	f := newFlow(t, nil)
	recordFirst(t, f)
	retries, err := f.RetryFailedUnits()
	require.NoError(t, err)
	// The bundle changes while the retry of 2026-01-03 runs.
	o, err := f.PanicRollback(pe.TriggerPolicyBundleChangedMidExec, "policy bundle v4.3 replaced v4.2", []pe.Unit{retries[0].Unit})
	require.NoError(t, err)
	require.Equal(t, pe.PhasePanicked, f.Phase())
	require.Len(t, o.Actions, 6)
	require.Equal(t, []pe.FailedUnitGroup{{Dataset: "nfe", Partitions: []string{"2026-01-03"}, ErrorCode: fault.CodePanicRollbackTriggered, FaultFamily: fault.EnvironmentalFaults}}, o.State.FailedUnits)
	last := o.Actions[len(o.Actions)-1]
	require.Equal(t, u("nfe", "2026-01-03"), last.Unit)
	require.Equal(t, 1, last.Attempts, "the retry in flight keeps the count of its finished run")

	_, err = newFlow(t, nil).PanicRollback(pe.TriggerConnectionLost, "lost", []pe.Unit{u("gold", "x")})
	require.ErrorIs(t, err, pe.ErrInvalidResults)
}
