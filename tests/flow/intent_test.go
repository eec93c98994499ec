package flow_test

import (
	"context"
	"encoding/json"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"
	"go.uber.org/zap"

	"github.com/contextualflux/cfa/activities"
	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/db/dbtest"
	"github.com/contextualflux/cfa/extension"
	"github.com/contextualflux/cfa/internal/app"
	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/confirmation"
	"github.com/contextualflux/cfa/internal/dataplane"
	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/fault"
	"github.com/contextualflux/cfa/internal/policy"
	"github.com/contextualflux/cfa/workflows"
)

// The workflow tests run the real activities against this package's own
// Postgres database: only Temporal's clock and dispatch are simulated. The
// store logs in as the worker role and runs units on the sandbox login, as
// in production (docs/roles.md); testDB.Pool is a superuser's.
var (
	store  *db.Store
	testDB *dbtest.Database
)

func TestMain(m *testing.M) {
	os.Exit(dbtest.Main(m, "flow", func(d *dbtest.Database) {
		store, testDB = db.New(d.Worker), d
		cat, err := app.LoadCatalog("")
		if err != nil {
			panic(err)
		}
		// The data plane, empty: intents find nothing to run unless a test
		// seeds it.
		if err := dataplane.Ensure(context.Background(), d.Worker, cat); err != nil {
			panic(err)
		}
	}))
}

const (
	reconcileToSilver = "reconcile nfe with clientes and persist to silver"
	autoAggregate     = "aggregate vendas_diarias by day"
	goldWrite         = "sum valor_total by uf from silver_documentos and write to gold_faturamento_uf"
)

func newActivities(t *testing.T, bundle *policy.Bundle) *activities.Activities {
	t.Helper()
	cat, err := app.LoadCatalog("")
	require.NoError(t, err)
	if bundle == nil {
		bundle, err = app.LoadBundle(context.Background(), "")
		require.NoError(t, err)
	}
	// As a worker does at start: replay (I8) loads them again.
	require.NoError(t, store.RecordContextVersions(context.Background(), bundle, cat))
	return activities.New(store, cat, bundle, zap.NewNop(), extension.Points{})
}

func newEnv(t *testing.T, acts *activities.Activities, id string) *testsuite.TestWorkflowEnvironment {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	app.Register(env, acts)
	env.SetStartWorkflowOptions(startOptions(id))
	return env
}

func run(t *testing.T, env *testsuite.TestWorkflowEnvironment, in workflows.IntentInput) workflows.IntentResult {
	t.Helper()
	env.ExecuteWorkflow(workflows.IntentWorkflowName, in)
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var res workflows.IntentResult
	require.NoError(t, env.GetWorkflowResult(&res))
	return res
}

// eventTypes reads the intent's audit trail back from Postgres.
func eventTypes(t *testing.T, intentID string) []string {
	t.Helper()
	rs, err := store.AuditByIntent(context.Background(), intentID)
	require.NoError(t, err)
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Context["event_type"]
	}
	require.NoError(t, audit.CompletePerIntent(rs), "every intent has a start and an end event")
	return out
}

// TestRefusedAnswersAreAuditedAndTheEscalationStaysOpen (issue 11): an
// empty payload and a self-approval are refused and recorded
// (CONFIRMATION_REFUSED, with what arrived and why); the escalation stays
// open, and a declared approver's answer then closes it.
func TestRefusedAnswersAreAuditedAndTheEscalationStaysOpen(t *testing.T) {
	id := uniqueID(t)
	env := newEnv(t, newActivities(t, nil), id)
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(workflows.SignalApprove, map[string]any{}) }, time.Minute)
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(workflows.SignalApprove, workflows.ConfirmationSignal{By: "maria", Reason: "my own gold write"})
	}, 2*time.Minute)
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(workflows.SignalReject, workflows.ConfirmationSignal{By: "gold-owner", Reason: "not this quarter"})
	}, 3*time.Minute)
	res := run(t, env, workflows.IntentInput{Text: goldWrite, SubmittedBy: "maria"})
	require.Equal(t, decision.Blocked, res.DecisionState)
	require.Equal(t, workflows.ConfirmationRejected, res.Confirmation.Outcome)
	require.Equal(t, "gold-owner", res.Confirmation.By)

	rs, err := store.AuditByIntent(context.Background(), id)
	require.NoError(t, err)
	var refused []map[string]any
	var types []string
	for _, r := range rs {
		types = append(types, r.Context["event_type"])
		if r.Context["event_type"] == audit.EventConfirmationRefused {
			var d map[string]any
			require.NoError(t, json.Unmarshal([]byte(r.Context["details"]), &d))
			refused = append(refused, d)
			require.Equal(t, "SYSTEM", string(r.Actor.Type), "a refused answer's sender is a claim, not an actor")
		}
	}
	require.Len(t, refused, 2)
	require.Equal(t, confirmation.RefusedMissingField, refused[0]["code"])
	require.Equal(t, "{}", refused[0]["payload"])
	require.Equal(t, confirmation.RefusedSelfApproval, refused[1]["code"])
	require.Equal(t, "maria", refused[1]["claimed_by"])
	require.Contains(t, refused[1]["reason"], "separation of duties")
	i := slices.Index(types, audit.EventConfirmationRequested)
	require.Equal(t, []string{audit.EventConfirmationRequested, audit.EventConfirmationRefused, audit.EventConfirmationRefused, audit.EventHumanRejected}, types[i:i+4])
	require.NoError(t, audit.Verify(rs))
	require.NoError(t, audit.CompletePerIntent(rs))
}

func TestApprovalBeforeDeadline(t *testing.T) {
	id := uniqueID(t)
	env := newEnv(t, newActivities(t, nil), id)
	var pending *workflows.PendingEscalation
	env.RegisterDelayedCallback(func() {
		v, err := env.QueryWorkflow(workflows.QueryPendingEscalation)
		require.NoError(t, err)
		require.NoError(t, v.Get(&pending))
		env.SignalWorkflow(workflows.SignalApprove, workflows.ConfirmationSignal{By: "maria", Reason: "PII handled by policy"})
	}, 2*time.Minute)
	res := run(t, env, workflows.IntentInput{Text: reconcileToSilver})

	require.NotNil(t, pending, "the pending escalation is queryable while waiting")
	// PII and a silver write are hard_required; a full scan of nfe (no
	// window) costs more than 80% of the ceiling: human_escalation
	// (docs/adr/0134).
	require.Equal(t, confirmation.ModeHumanEscalation, pending.Mode)
	require.Contains(t, pending.Triggers, confirmation.TriggerPIIDetected)
	require.Contains(t, pending.Triggers, confirmation.TriggerPreCostNearCeiling)
	require.Equal(t, workflows.DefaultEscalationTimeout, pending.Deadline.Sub(env.Now().Add(-2*time.Minute)).Round(time.Second))

	require.Equal(t, decision.Approved, res.DecisionState)
	require.Equal(t, workflows.ConfirmationApproved, res.Confirmation.Outcome)
	require.Equal(t, "maria", res.Confirmation.By)
	require.GreaterOrEqual(t, res.Replans, 1, "anonymization and merge key come from a replan")
	require.Contains(t, res.Signature.Constraints.Anonymize, "clientes.cpf")
	require.Equal(t, "nfe_id", res.Signature.Constraints.MergeKey)
	require.Equal(t, res.Replans, res.Signature.Replan)
	require.NotEqual(t, res.PolicyAttempts[0].SignatureHash, res.SignatureHash, "a replan makes a new signature and hash")

	types := eventTypes(t, id)
	require.Contains(t, types, audit.EventHumanApproved)
	require.Contains(t, types, audit.EventPolicyReplan)
	require.Equal(t, audit.EventDecision, types[len(types)-2])
}

func TestRejection(t *testing.T) {
	id := uniqueID(t)
	env := newEnv(t, newActivities(t, nil), id)
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(workflows.SignalReject, workflows.ConfirmationSignal{By: "joao", Reason: "wrong target"})
	}, time.Minute)
	res := run(t, env, workflows.IntentInput{Text: reconcileToSilver})
	require.Equal(t, decision.Blocked, res.DecisionState)
	require.Equal(t, string(decision.AuthorityConfirmation), res.DecidedBy)
	require.Equal(t, fault.CodeHumanConfirmationRejected, res.Faults[0].Code)
	require.Empty(t, res.PolicyAttempts, "a rejected intent never reaches the Policy Engine")
	require.Contains(t, eventTypes(t, id), audit.EventHumanRejected)
}

func TestEscalationTimeoutBlocks(t *testing.T) {
	id := uniqueID(t)
	acts := newActivities(t, nil)
	env := newEnv(t, acts, id)
	var notified []activities.Notification
	env.OnActivity(acts.NotifyGovernance, anyCtx, anyArg).Return(func(_ context.Context, n activities.Notification) error {
		notified = append(notified, n)
		return nil
	})
	start := env.Now()
	res := run(t, env, workflows.IntentInput{Text: goldWrite})
	require.Equal(t, decision.Blocked, res.DecisionState)
	require.Equal(t, "human_confirmation_timeout", res.Reason)
	require.Equal(t, fault.CodeHumanEscalationTimeout, res.Faults[0].Code)
	require.Equal(t, workflows.ConfirmationTimeout, res.Confirmation.Outcome)
	require.GreaterOrEqual(t, env.Now().Sub(start), 300*time.Second, "the default human_timeout_seconds is 300")
	require.Len(t, notified, 2, "when the escalation opens, and at its timeout")
	require.Equal(t, "approvers", notified[0].Notify)
	require.Equal(t, "escalation_opened", notified[0].Reason)
	require.Equal(t, []string{"gold-owner", "joao", "maria"}, notified[0].Approvers, "the bundle's approvers of a gold write")
	require.Equal(t, notified[1].Deadline, notified[0].Deadline)
	require.Equal(t, "governance_team", notified[1].Notify)
	require.Equal(t, "human_confirmation_timeout", notified[1].Reason)
	require.Contains(t, eventTypes(t, id), audit.EventHumanEscalationTimeout)
}

// TestCancelDuringEscalationIsNotATimeout: an intent cancelled while it
// waits for a human is blocked as cancelled, nobody is notified of a
// timeout, and the trail still ends with the decision (I5).
func TestCancelDuringEscalationIsNotATimeout(t *testing.T) {
	id := uniqueID(t)
	acts := newActivities(t, nil)
	env := newEnv(t, acts, id)
	notified := 0
	env.OnActivity(acts.NotifyGovernance, anyCtx, anyArg).Return(func(_ context.Context, n activities.Notification) error {
		if n.Reason != "escalation_opened" {
			notified++
		}
		return nil
	})
	env.RegisterDelayedCallback(env.CancelWorkflow, 30*time.Second)
	start := env.Now()
	res := run(t, env, workflows.IntentInput{Text: goldWrite})
	require.Equal(t, decision.Blocked, res.DecisionState)
	require.Equal(t, "intent_cancelled", res.Reason)
	require.Equal(t, fault.CodeIntentCancelled, res.Faults[0].Code)
	require.Equal(t, workflows.ConfirmationCancelled, res.Confirmation.Outcome)
	require.Less(t, env.Now().Sub(start), time.Minute, "decided at the cancellation, not at the deadline")
	require.Zero(t, notified)
	types := eventTypes(t, id)
	require.Contains(t, types, audit.EventConfirmationCancelled)
	require.NotContains(t, types, audit.EventHumanEscalationTimeout)
	require.Equal(t, audit.EventIntentCompleted, types[len(types)-1])
}

func TestEscalationTimeoutIsConfigurablePerRun(t *testing.T) {
	id := uniqueID(t)
	env := newEnv(t, newActivities(t, nil), id)
	start := env.Now()
	res := run(t, env, workflows.IntentInput{Text: goldWrite, EscalationTimeoutSeconds: 5})
	require.Equal(t, decision.Blocked, res.DecisionState)
	require.Less(t, env.Now().Sub(start), time.Minute)
}

func TestAutoModeNeedsNoSignalAndIgnoresStraySignals(t *testing.T) {
	id := uniqueID(t)
	env := newEnv(t, newActivities(t, nil), id)
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(workflows.SignalReject, workflows.ConfirmationSignal{By: "x", Reason: "stray"})
	}, 0)
	res := run(t, env, workflows.IntentInput{Text: autoAggregate})
	require.Equal(t, decision.Approved, res.DecisionState)
	require.Equal(t, workflows.ConfirmationNotRequired, res.Confirmation.Outcome)
	require.Equal(t, []string{
		audit.EventIntentReceived, audit.EventEnvironmentConsulted, audit.EventSemanticResolution,
		audit.EventSignatureGenerated, audit.EventPolicyApprove, audit.EventPreCostEstimated,
		audit.EventExecutionPlanned, audit.EventCodeGenerated, audit.EventCodeAnalysis, audit.EventRevalidation, audit.EventReadExecuted,
		audit.EventDecision, audit.EventIntentCompleted,
	}, eventTypes(t, id), "a read is planned, validated and run, with no lock and no projection (docs/adr/0132)")
}

func TestReplanLimitBlocks(t *testing.T) {
	b, err := policy.Load(os.DirFS("../../internal/policy/testdata/nonconverging"))
	require.NoError(t, err)
	id := uniqueID(t)
	res := run(t, newEnv(t, newActivities(t, b), id), workflows.IntentInput{Text: autoAggregate})
	require.Equal(t, decision.Blocked, res.DecisionState)
	require.Equal(t, policy.ReasonMaxReplanAttemptsExceeded, res.Reason)
	require.Len(t, res.PolicyAttempts, 4, "the first evaluation and 3 replans")
	require.Contains(t, eventTypes(t, id), audit.EventMaxReplanExceeded)
}

func TestUnresolvableIntentIsBlocked(t *testing.T) {
	id := uniqueID(t)
	res := run(t, newEnv(t, newActivities(t, nil), id), workflows.IntentInput{Text: "make the numbers look better"})
	require.Equal(t, decision.Blocked, res.DecisionState)
	require.Equal(t, fault.CodeIntentUnresolved, res.Faults[0].Code)
	require.NotEmpty(t, res.Reason)
	require.Nil(t, res.Signature)
}

func TestSignalAfterDecisionChangesNothing(t *testing.T) {
	id := uniqueID(t)
	env := newEnv(t, newActivities(t, nil), id)
	// Approve arrives long after the 5 s escalation already timed out.
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(workflows.SignalApprove, workflows.ConfirmationSignal{By: "late", Reason: "too late"})
	}, time.Hour)
	res := run(t, env, workflows.IntentInput{Text: goldWrite, EscalationTimeoutSeconds: 5})
	require.Equal(t, decision.Blocked, res.DecisionState)
	require.Equal(t, workflows.ConfirmationTimeout, res.Confirmation.Outcome)
	require.NotContains(t, eventTypes(t, id), audit.EventHumanApproved)
}

func TestSignalBeforeEscalationIsDiscarded(t *testing.T) {
	id := uniqueID(t)
	env := newEnv(t, newActivities(t, nil), id)
	// Sent at once, before the escalation opens: it must not approve it.
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(workflows.SignalApprove, workflows.ConfirmationSignal{By: "early", Reason: "before the question"})
	}, 0)
	res := run(t, env, workflows.IntentInput{Text: goldWrite, EscalationTimeoutSeconds: 5})
	require.Equal(t, decision.Blocked, res.DecisionState)
	require.Equal(t, workflows.ConfirmationTimeout, res.Confirmation.Outcome)
}
