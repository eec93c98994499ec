package audit_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/audit"
)

func receipt(intent, seq, stage, typ, outcome, details string, at time.Time) audit.Receipt {
	return audit.Receipt{ReceiptID: intent + "/" + seq, Actor: audit.Principal{ID: "cfa-worker"}, Timestamp: at, Context: map[string]string{
		audit.CtxIntentID: intent, audit.CtxSeq: seq, audit.CtxStage: stage, audit.CtxEventType: typ, audit.CtxOutcome: outcome,
		audit.CtxDetails: details, audit.CtxPolicyBundleVersion: "v1+abc",
	}}
}

func TestViews(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	rs := []audit.Receipt{
		receipt("i1", "1", "intent_received", audit.EventIntentReceived, "received", `{}`, t0),
		receipt("i1", "2", "confirmation_orchestrator", audit.EventConfirmationRequested, "pending", `{}`, t0.Add(time.Second)),
		receipt("i1", "3", "confirmation_orchestrator", audit.EventConfirmationRefused, "refused", `{"code":"self_approval","reason":"submitter"}`, t0.Add(2*time.Second)),
		receipt("i1", "4", "confirmation_orchestrator", audit.EventHumanApproved, "approved", `{"reason":"ok"}`, t0.Add(3*time.Second)),
		receipt("i1", "5", "execution", audit.EventUnitExecuted, "successful", `{"unit":"2026-01-01","attempts":1}`, t0.Add(4*time.Second)),
		receipt("i1", "6", "execution", audit.EventUnitExecuted, "failed", `{"unit":"2026-01-03","attempts":3,"error_code":"RUNTIME_NULL_RATIO_EXCEEDED"}`, t0.Add(5*time.Second)),
		receipt("i1", "7", "decision_engine", audit.EventDecision, "partially_committed", `{"decision_state":"partially_committed","reason":"one unit quarantined","faults":["RUNTIME_NULL_RATIO_EXCEEDED"]}`, t0.Add(6*time.Second)),
	}
	op, co := audit.Views(rs)
	require.Equal(t, 2, op.Retries, "the failed unit's two retries")
	require.Equal(t, []audit.UnitRun{{IntentID: "i1", Unit: "2026-01-01", Outcome: "successful", Attempt: 1},
		{IntentID: "i1", Unit: "2026-01-03", Outcome: "failed", Attempt: 3}}, op.Units)
	require.Len(t, op.Stages, 4)
	conf := op.Stages[1]
	require.Equal(t, "confirmation_orchestrator", conf.Stage)
	require.Equal(t, 3, conf.Events)
	require.Equal(t, 2*time.Second, conf.Last.Sub(conf.First))

	require.Len(t, co.Approvals, 3)
	require.Equal(t, "self_approval: submitter", co.Approvals[1].Detail)
	require.Len(t, co.Decisions, 1)
	require.Equal(t, "partially_committed: one unit quarantined", co.Decisions[0].Detail)
	faults := map[string]string{}
	for _, f := range co.Faults {
		faults[f.ReceiptID] = f.Detail
	}
	require.Equal(t, map[string]string{"i1/3": "refused", "i1/6": "RUNTIME_NULL_RATIO_EXCEEDED", "i1/7": "RUNTIME_NULL_RATIO_EXCEEDED"}, faults)
	require.Equal(t, []string{"v1+abc"}, co.PolicyBundleVersions)
	require.Len(t, co.ReceiptIDs, 7)
}
