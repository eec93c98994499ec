package e2e_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/converter"

	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/confirmation"
	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/service"
	"github.com/contextualflux/cfa/tests/testenv"
	"github.com/contextualflux/cfa/workflows"
)

// TestBadAnswersFromTheWebUIAreRefusedOnTheDevServer (issue 11): the
// payloads a person can type in the Web UI's signal form (or
// `temporal workflow signal`), sent as the UI sends them (a json/plain
// payload, or none), never approve: each is refused and audited, the
// intent shows in the list filters the README gives, and it blocks at its
// deadline.
func TestBadAnswersFromTheWebUIAreRefusedOnTheDevServer(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test against the Temporal dev server")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c := testenv.StartDevServer(ctx, t).Client()
	d, cat := testenv.DataPlaneDB(ctx, t, "e2e_answers", nil)
	store := db.New(d.Worker)
	startWorker(t, c, devActivities(t, c, store, cat, nil))
	svc := &service.Service{Temporal: c, Store: store}
	id, err := svc.Submit(ctx, service.SubmitRequest{Text: goldWrite, SubmittedBy: "ana", EscalationTimeoutSeconds: 25})
	require.NoError(t, err)
	testenv.WaitFor(t, 30*time.Second, "the pending escalation", func() bool { p, err := svc.Pending(ctx, id); return err == nil && p != nil })
	// The Web UI's summary of the intent is its text.
	desc, err := c.DescribeWorkflowExecution(ctx, id, "")
	require.NoError(t, err)
	var summary string
	require.NoError(t, converter.GetDefaultDataConverter().FromPayload(desc.GetExecutionConfig().GetUserMetadata().GetSummary(), &summary))
	require.Equal(t, goldWrite, summary)

	// As the Web UI sends a signal: the typed text as one json/plain
	// payload, or no payload when the field is left empty.
	signal := func(name string, data *string) {
		req := &workflowservice.SignalWorkflowExecutionRequest{
			Namespace: "default", WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: id}, SignalName: name, Identity: "web-ui",
		}
		if data != nil {
			req.Input = &commonpb.Payloads{Payloads: []*commonpb.Payload{{Metadata: map[string][]byte{"encoding": []byte("json/plain")}, Data: []byte(*data)}}}
		}
		_, err := c.WorkflowService().SignalWorkflowExecution(ctx, req)
		require.NoError(t, err, name)
	}
	str := func(s string) *string { return &s }
	sent := []struct {
		name string
		data *string
		code string
	}{
		{workflows.SignalApprove, nil, confirmation.RefusedMalformed},
		{workflows.SignalApprove, str(`{}`), confirmation.RefusedMissingField},
		{workflows.SignalApprove, str(`"yes"`), confirmation.RefusedMalformed},
		{workflows.SignalApprove, str(`{"by": "maria"}`), confirmation.RefusedMissingField},
		{workflows.SignalApprove, str(`{"by": ["maria"], "reason": "ok"}`), confirmation.RefusedMalformed},
		{"Approve", str(`{"by": "maria", "reason": "ok"}`), confirmation.RefusedUnknownSignal},
		{workflows.SignalApprove, str(`{"by": "ana", "reason": "mine"}`), confirmation.RefusedSelfApproval},
		{workflows.SignalApprove, str(`{"by": "pedro", "reason": "ok"}`), confirmation.RefusedNotApprover},
	}
	for _, s := range sent {
		signal(s.name, s.data)
	}
	// The CLI's Update hears its refusal at once.
	err = svc.Confirm(ctx, id, workflows.SignalApprove, "pedro", "ok")
	var refused *service.RefusedError
	require.ErrorAs(t, err, &refused)
	require.Equal(t, confirmation.RefusedNotApprover, refused.Code)

	// "Waiting for my approval", as the README's filter says.
	testenv.WaitFor(t, 30*time.Second, "the intent in maria's list", func() bool {
		return slices.Contains(listIDs(ctx, t, svc, "CfaApprovers = 'maria' AND ExecutionStatus = 'Running'"), id)
	})
	require.NotContains(t, listIDs(ctx, t, svc, "CfaApprovers = 'pedro' AND ExecutionStatus = 'Running'"), id)
	open, err := svc.PendingEscalations(ctx, 20)
	require.NoError(t, err)
	require.Len(t, open, 1)
	require.Equal(t, id, open[0].IntentID)
	require.Equal(t, []string{"gold-owner", "joao", "maria"}, open[0].Allowed.Approvers)

	var res workflows.IntentResult
	require.NoError(t, c.GetWorkflow(ctx, id, "").Get(ctx, &res))
	require.Equal(t, decision.Blocked, res.DecisionState)
	require.Equal(t, workflows.ConfirmationTimeout, res.Confirmation.Outcome, "nothing that arrived answered it")

	rs, err := store.AuditByIntent(ctx, id)
	require.NoError(t, err)
	var codes []string
	for _, r := range rs {
		if r.Context["event_type"] == audit.EventConfirmationRefused {
			codes = append(codes, refusalCode(t, r))
		}
	}
	want := []string{}
	for _, s := range sent {
		want = append(want, s.code)
	}
	want = append(want, confirmation.RefusedNotApprover) // the Update's
	// Signals of another name are picked up when the workflow next wakes,
	// so they may be recorded out of the order they were sent.
	require.ElementsMatch(t, want, codes)
	require.NoError(t, audit.Verify(rs))
	require.NoError(t, audit.CompletePerIntent(rs))
	testenv.WaitFor(t, 30*time.Second, "the intent in the blocked filter", func() bool {
		return slices.Contains(listIDs(ctx, t, svc, "CfaDecisionState = 'blocked' AND CfaTargetDataset = 'gold_faturamento_uf'"), id)
	})
	require.NotContains(t, listIDs(ctx, t, svc, "CfaApprovers = 'maria' AND ExecutionStatus = 'Running'"), id)
}

func listIDs(ctx context.Context, t *testing.T, svc *service.Service, query string) []string {
	t.Helper()
	page, err := svc.Temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: query})
	require.NoError(t, err, query)
	var ids []string
	for _, e := range page.GetExecutions() {
		ids = append(ids, e.GetExecution().GetWorkflowId())
	}
	return ids
}

func refusalCode(t *testing.T, r audit.Receipt) string {
	t.Helper()
	var d struct {
		Code string `json:"code"`
	}
	require.NoError(t, jsonUnmarshal(r.Context["details"], &d))
	return d.Code
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }
