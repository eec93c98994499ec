package flow_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/audit/events"
	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/policy"
	"github.com/contextualflux/cfa/internal/precost"
	"github.com/contextualflux/cfa/workflows"
)

// TestNarrowedWindowIsApprovedWithWarnings (issue 14, ADR 0136): the
// user's "last 400 days" of nfe is 304 DBU, over the 50 DBU ceiling; the
// Pre-cost Estimator's replan (replan 2, after the Policy Engine's
// anonymization and merge key) cuts it to the last 60 days. The human
// confirming the spend sees the cut, before and after; the decision is
// approved_with_warnings and says so, in the result and in its DECISION
// event.
func TestNarrowedWindowIsApprovedWithWarnings(t *testing.T) {
	const warning = "temporal window narrowed by replan 2 (pre_cost_estimator.threshold_policy): last 400 days → last 60 days"
	clearCostHistory(t)
	id := uniqueID(t)
	env := newEnv(t, newActivities(t, nil), id)
	approveAt(env, time.Minute) // step 5: hard_required (nfe carries PII, a silver write)
	var pending *workflows.PendingEscalation
	env.RegisterDelayedCallback(func() {
		v, err := env.QueryWorkflow(workflows.QueryPendingEscalation)
		require.NoError(t, err)
		require.NoError(t, v.Get(&pending))
		env.SignalWorkflow(workflows.SignalApprove, workflows.ConfirmationSignal{By: "maria", Reason: "spend and the cut reviewed"})
	}, 3*time.Minute)
	res := run(t, env, workflows.IntentInput{Text: "ingest nfe into silver_documentos last 400 days", DryRun: true})

	require.Equal(t, decision.ApprovedWithWarnings, res.DecisionState, res.Reason)
	require.Equal(t, string(decision.AuthorityPreCostEstimator), res.DecidedBy)
	require.Equal(t, policy.ReasonNarrowedByReplan, res.Reason)
	require.Equal(t, 400, res.Resolution.Signature.Constraints.TemporalFilter.LastDays, "what the user asked")
	require.Equal(t, 60, res.Signature.Constraints.TemporalFilter.LastDays, "what runs")
	require.Equal(t, 2, res.Replans)
	require.Equal(t, precost.ActionEscalate, res.PreCost.Verdict.Action, "the replanned estimate is near the ceiling")
	require.Equal(t, workflows.ConfirmationApproved, res.CostConfirmation.Outcome)
	var warned []string
	for _, f := range res.Faults {
		require.Equal(t, policy.CodeIntentNarrowed, f.Code, "nothing else is wrong with it")
		warned = append(warned, f.Message)
	}
	require.Equal(t, []string{warning}, warned)

	require.NotNil(t, pending, "the spend escalation was open at 3 minutes")
	require.Len(t, pending.Narrowed, 1)
	n := pending.Narrowed[0]
	require.Equal(t, "last 400 days", n.Before)
	require.Equal(t, "last 60 days", n.After)
	require.Equal(t, []int{2}, n.Replans)
	require.Equal(t, warning, n.Warning)

	rs, err := store.AuditByIntent(context.Background(), id)
	require.NoError(t, err)
	var recorded *events.Decision
	for _, r := range rs {
		if r.EventType() == audit.EventDecision {
			var d events.Decision
			require.NoError(t, json.Unmarshal([]byte(r.Context[audit.CtxDetails]), &d))
			recorded = &d
		}
	}
	require.NotNil(t, recorded)
	require.Equal(t, decision.ApprovedWithWarnings, recorded.DecisionState)
	require.Equal(t, []string{warning}, recorded.Warnings)
	require.Equal(t, []string{policy.CodeIntentNarrowed}, recorded.Faults)

	// I8: the replay casts the same narrowing vote from the recorded inputs.
	got := replayIntent(t, id, false)
	requireIdentical(t, got)
	require.Equal(t, string(res.DecisionState)+" by "+res.DecidedBy, got.Stages[len(got.Stages)-1].Replayed)
}
