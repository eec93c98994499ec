package workflows_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/contextualflux/cfa/internal/confirmation"
	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/workflows"
)

// TestASoftIntentIsEscalatedByAConflict (docs/adr/0134): a soft intent
// whose scope another intent holds is not waved through: step 5 asks a
// human (hard_required), the conflict named as the trigger and in the
// question; without the conflict it proceeds, its signature shown (the
// stage line, the record, the submitter's notification).
func TestASoftIntentIsEscalatedByAConflict(t *testing.T) {
	t.Run("a running intent on its scope escalates it", func(t *testing.T) {
		s := newStages(t)
		s.mode, s.running = confirmation.ModeSoft, []string{"intent-b"}
		res, err := s.run(workflows.IntentInput{Text: "read"}, func(env *testsuite.TestWorkflowEnvironment) {
			env.RegisterDelayedCallback(func() {
				env.SignalWorkflow(workflows.SignalApprove, workflows.ConfirmationSignal{By: "maria", Reason: "intent-b only appends"})
			}, time.Minute)
		})
		require.NoError(t, err)
		require.Equal(t, concat(resolutionSteps, []string{"ConfirmSoft", "OpenEscalation", "CloseEscalation:approved"},
			[]string{"Sign", "Govern", "EstimatePreCost", "PlanExecution", "Decide"}), s.calls)
		require.Len(t, s.asked, 1)
		q := s.asked[0].Question
		require.Equal(t, confirmation.ModeHardRequired, q.Mode)
		require.Contains(t, q.Triggers, confirmation.TriggerSoftConflictRunningIntent)
		require.Contains(t, q.Reason, "intent intent-b holds or waits for a scope this intent touches")
		require.Equal(t, decision.Approved, res.DecisionState)
		require.Equal(t, workflows.ConfirmationApproved, res.Confirmation.Outcome)
		require.Equal(t, []string{"intent intent-b holds or waits for a scope this intent touches"}, res.Confirmation.Conflicts)
		require.Equal(t, confirmation.ModeHardRequired, s.closed[0].Mode)
	})
	t.Run("no conflict: the signature is shown and it proceeds", func(t *testing.T) {
		s := newStages(t)
		s.mode = confirmation.ModeSoft
		res, err := s.run(workflows.IntentInput{Text: "read"})
		require.NoError(t, err)
		require.Equal(t, concat(resolutionSteps, []string{"ConfirmSoft", "Sign", "Govern", "EstimatePreCost", "PlanExecution", "Decide"}), s.calls)
		require.Equal(t, workflows.ConfirmationProceeded, res.Confirmation.Outcome)
		require.Equal(t, confirmation.ModeSoft, res.Confirmation.Mode)
		require.Equal(t, "aggregate vendas_diarias; no temporal window", res.Confirmation.Shown)
		require.Contains(t, s.notified, "soft_confirmation", "the submitter is shown the signature")
		var line string
		for _, st := range res.Stages {
			if st.Stage == workflows.StageConfirmation {
				line = st.Summary
			}
		}
		require.Equal(t, "soft: signature shown, no conflict: aggregate vendas_diarias; no temporal window", line)
		require.Empty(t, s.asked)
	})
}

// TestAnApproverChoosesAnInterpretation (docs/adr/0135): the question
// lists the competing interpretations; an approval that names one is
// resolved in an activity, recorded with the approval, and the intent
// goes on with that interpretation's signature (signed at step 6,
// governed as usual).
func TestAnApproverChoosesAnInterpretation(t *testing.T) {
	s := newStages(t)
	s.mode, s.offered = confirmation.ModeHumanEscalation, []string{"anonymize_clientes_silver", "anonymize_produtos_silver"}
	res, err := s.run(workflows.IntentInput{Text: "anonymize master data into silver", SubmittedBy: "ana"}, func(env *testsuite.TestWorkflowEnvironment) {
		env.RegisterDelayedCallback(func() {
			env.SignalWorkflow(workflows.SignalApprove, workflows.ConfirmationSignal{By: "joao", Reason: "produtos was meant",
				Interpretation: "anonymize_produtos_silver"})
		}, time.Minute)
	})
	require.NoError(t, err)
	require.Equal(t, concat(resolutionSteps, []string{"OpenEscalation", "ChooseInterpretation", "CloseEscalation:approved"},
		[]string{"Sign", "Govern", "EstimatePreCost", "PlanExecution", "Decide"}), s.calls)
	require.Equal(t, s.offered, s.asked[0].Question.Interpretations, "the question lists the competing interpretations")
	require.Len(t, s.chose, 1)
	require.Equal(t, "anonymize_produtos_silver", s.chose[0].Interpretation)
	require.Equal(t, "joao", s.chose[0].By)
	require.Equal(t, "anonymize master data into silver", s.chose[0].Text)
	require.Equal(t, s.offered, s.chose[0].Offered)

	require.Equal(t, "anonymize_produtos_silver", s.closed[0].Interpretation, "the approval records the choice")
	require.NotNil(t, s.closed[0].Chosen)
	require.Equal(t, "produtos", s.closed[0].Chosen.Datasets[0].Name)
	require.Len(t, s.signedWith, 1)
	require.Equal(t, "anonymize_produtos_silver", s.signedWith[0].Intent, "step 6 signs the chosen interpretation")
	require.Equal(t, "produtos", res.Signature.Datasets[0].Name)
	require.Equal(t, "anonymize_produtos_silver", res.Confirmation.Interpretation)
	require.Equal(t, "joao", res.Confirmation.By)
	require.Equal(t, decision.Approved, res.DecisionState)
}

// TestAnInterpretationThatCannotBeTakenLeavesTheEscalationOpen: a name
// that is not offered is refused before any activity runs, one that does
// not resolve is refused after ChooseInterpretation, an Update naming one
// that is not offered is rejected by the validator; each refusal (but the
// validator's) is audited and the escalation stays open for the answer
// that follows.
func TestAnInterpretationThatCannotBeTakenLeavesTheEscalationOpen(t *testing.T) {
	s := newStages(t)
	s.mode, s.offered = confirmation.ModeHumanEscalation, []string{"anonymize_clientes_silver", "anonymize_produtos_silver"}
	s.unresolvable = "anonymize_clientes_silver"
	var updateRejected error
	res, err := s.run(workflows.IntentInput{Text: "anonymize master data into silver"}, func(env *testsuite.TestWorkflowEnvironment) {
		env.RegisterDelayedCallback(func() {
			env.SignalWorkflow(workflows.SignalApprove, workflows.ConfirmationSignal{By: "maria", Reason: "x", Interpretation: "anonymize_vendas"})
		}, time.Minute)
		env.RegisterDelayedCallback(func() {
			env.UpdateWorkflow(workflows.SignalApprove, "upd", &testsuite.TestUpdateCallback{
				OnAccept: func() {}, OnReject: func(err error) { updateRejected = err }, OnComplete: func(any, error) {},
			}, workflows.ConfirmationSignal{By: "maria", Reason: "x", Interpretation: "nope"})
		}, 90*time.Second)
		env.RegisterDelayedCallback(func() {
			env.SignalWorkflow(workflows.SignalApprove, workflows.ConfirmationSignal{By: "maria", Reason: "x", Interpretation: "anonymize_clientes_silver"})
		}, 2*time.Minute)
		env.RegisterDelayedCallback(func() {
			env.SignalWorkflow(workflows.SignalReject, workflows.ConfirmationSignal{By: "maria", Reason: "x", Interpretation: "anonymize_produtos_silver"})
		}, 150*time.Second)
		env.RegisterDelayedCallback(func() {
			env.SignalWorkflow(workflows.SignalApprove, workflows.ConfirmationSignal{By: "maria", Reason: "produtos was meant", Interpretation: "anonymize_produtos_silver"})
		}, 3*time.Minute)
	})
	require.NoError(t, err)
	require.Equal(t, concat(resolutionSteps, []string{"OpenEscalation",
		"RefuseConfirmation:" + confirmation.RefusedUnknownInterpretation,
		"ChooseInterpretation", "RefuseConfirmation:" + confirmation.RefusedInterpretationUnresolved,
		"RefuseConfirmation:" + confirmation.RefusedMalformed,
		"ChooseInterpretation", "CloseEscalation:approved"},
		[]string{"Sign", "Govern", "EstimatePreCost", "PlanExecution", "Decide"}), s.calls)
	require.Contains(t, s.refused[0].Reason, "choose one of anonymize_clientes_silver, anonymize_produtos_silver")
	require.Contains(t, s.refused[1].Reason, "does not resolve")
	require.Contains(t, s.refused[2].Reason, "only an approval chooses")
	var appErr *temporal.ApplicationError
	require.ErrorAs(t, updateRejected, &appErr)
	require.Equal(t, confirmation.RefusedUnknownInterpretation, appErr.Type(), "the validator refuses it: nothing reaches the history")
	require.Equal(t, decision.Approved, res.DecisionState)
	require.Equal(t, "anonymize_produtos_silver", res.Confirmation.Interpretation)
}

// TestTheCostEscalationOffersNoInterpretation: step 8's escalation asks
// about the spend; an approval that names an interpretation there is
// refused and the question stays open.
func TestTheCostEscalationOffersNoInterpretation(t *testing.T) {
	s := newStages(t)
	s.offered, s.escalateCost = []string{"a", "b"}, true // not asked at step 5: auto
	env := func(env *testsuite.TestWorkflowEnvironment) {
		env.RegisterDelayedCallback(func() {
			env.SignalWorkflow(workflows.SignalApprove, workflows.ConfirmationSignal{By: "maria", Reason: "x", Interpretation: "a"})
		}, time.Minute)
	}
	res, err := s.run(workflows.IntentInput{Text: "expensive"}, env)
	require.NoError(t, err)
	require.Empty(t, s.asked[0].Question.Interpretations)
	require.Equal(t, confirmation.RefusedUnknownInterpretation, s.refused[0].Code)
	require.Contains(t, s.refused[0].Reason, "offers no competing interpretations")
	require.Equal(t, workflows.ConfirmationTimeout, res.CostConfirmation.Outcome)
}
