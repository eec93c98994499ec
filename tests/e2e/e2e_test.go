package e2e_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/dataplane"
	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/service"
	"github.com/contextualflux/cfa/tests/testenv"
	"github.com/contextualflux/cfa/workflows"
)

// TestEndToEndApproveBySignal runs the whole kernel on the real dev server:
// submit → pending escalation → approve by signal → decision in the audit.
func TestEndToEndApproveBySignal(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test against the Temporal dev server")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c := testenv.StartDevServer(ctx, t).Client()
	// On the seeded data plane, so the run goes through execution: units,
	// runtime validation, projection.
	d, cat := testenv.DataPlaneDB(ctx, t, "e2e_signal", &dataplane.Options{})
	store := db.New(d.Worker)
	w := startWorker(t, c, devActivities(t, c, store, cat, nil))
	svc := &service.Service{Temporal: c, Store: store}
	id, err := svc.Submit(ctx, service.SubmitRequest{Text: reconcileToSilver, SubmittedBy: "e2e", AsOf: dataplane.DemoAsOf, UnitRetryBaseSeconds: 1})
	require.NoError(t, err)

	var pending *workflows.PendingEscalation
	testenv.WaitFor(t, 30*time.Second, "the pending escalation", func() bool {
		pending, err = svc.Pending(ctx, id)
		return err == nil && pending != nil
	})
	// PII and a silver write, and a full scan of nfe near the cost ceiling
	// (docs/adr/0134).
	require.Equal(t, "human_escalation", string(pending.Mode))

	// Missing --by/--reason is refused before anything is sent.
	require.ErrorContains(t, svc.Confirm(ctx, id, workflows.SignalApprove, "", ""), "--by and --reason are required")
	require.NoError(t, svc.Confirm(ctx, id, workflows.SignalApprove, "maria", "checked"))

	var res workflows.IntentResult
	require.NoError(t, c.GetWorkflow(ctx, id, "").Get(ctx, &res))
	require.Equal(t, decision.Approved, res.DecisionState)
	require.NotNil(t, res.Execution)
	require.Len(t, res.Execution.Units, 3, "the intent executed its three partitions")

	rs, err := store.AuditByIntent(ctx, id)
	require.NoError(t, err)
	var approvedBy, decided string
	for _, r := range rs {
		switch r.Context["event_type"] {
		case audit.EventHumanApproved:
			approvedBy = r.Actor.ID
		case audit.EventDecision:
			decided = r.Context["outcome"]
		}
	}
	require.Equal(t, "maria", approvedBy)
	require.Equal(t, string(decision.Approved), decided)
	chain, err := store.AuditChain(ctx, 0, 100000)
	require.NoError(t, err)
	require.NoError(t, audit.Verify(chain), "the whole chain in Postgres verifies")

	// A signal to a finished intent does no harm and says so.
	err = svc.Confirm(ctx, id, workflows.SignalApprove, "late", "too late")
	require.ErrorIs(t, err, service.ErrNotWaiting)
	// An unknown intent is reported as such.
	err = svc.Confirm(ctx, "no-such-intent", workflows.SignalApprove, "x", "y")
	require.True(t, errors.Is(err, service.ErrUnknownIntent), "got %v", err)

	// The finished intent still answers the status query from its history.
	st, err := svc.Status(ctx, id)
	require.NoError(t, err)
	require.NotNil(t, st.Result)
	require.Equal(t, decision.Approved, st.Result.DecisionState)

	// With no worker left, the status still shows the decision and the
	// units, read from the history, without waiting for a query timeout.
	w.Stop()
	began := time.Now()
	st, err = svc.Status(ctx, id)
	require.NoError(t, err)
	require.NotNil(t, st.Result)
	require.Equal(t, decision.Approved, st.Result.DecisionState)
	require.Len(t, st.Units, 3)
	require.Less(t, time.Since(began), 5*time.Second)
}
