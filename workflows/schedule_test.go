package workflows_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/contextualflux/cfa/activities"
	"github.com/contextualflux/cfa/internal/app"
	"github.com/contextualflux/cfa/internal/confirmation"
	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/workflows"
)

// standing mocks the activities of scheduled runs (docs/adr/0125): a
// standing approval that covers the question when covers is set, and the
// grants recorded.
type standing struct {
	s       *stages
	covers  bool
	asked   []activities.StandingInput
	granted []activities.StandingGrantInput
}

func (sd *standing) register(env *testsuite.TestWorkflowEnvironment) {
	any3 := []any{mock.Anything, mock.Anything, mock.Anything}
	env.OnActivity(a.StandingApproval, any3...).Return(func(_ context.Context, st activities.Step, in activities.StandingInput) (activities.StandingChecked, error) {
		sd.s.called("StandingApproval", st)
		sd.asked = append(sd.asked, in)
		if !sd.covers {
			return activities.StandingChecked{Why: "the policy bundle is b2, standing approval sa-1 was given under b1"}, nil
		}
		rec := confirmation.Record{Mode: in.Question.Mode, Triggers: in.Question.Triggers, Outcome: confirmation.OutcomeApproved, By: "maria", StandingApproval: "sa-1"}
		return activities.StandingChecked{Stage: stage("approved by standing approval sa-1"), Found: true, Record: rec}, nil
	})
	env.OnActivity(a.RecordStandingApproval, any3...).Return(func(_ context.Context, st activities.Step, in activities.StandingGrantInput) (activities.StandingGranted, error) {
		sd.s.called("RecordStandingApproval", st)
		sd.granted = append(sd.granted, in)
		return activities.StandingGranted{Stage: stage("granted"), StandingApproval: "sa-2", ExpiresAt: st.At.Add(in.For)}, nil
	})
}

func TestAScheduledRunWithAStandingApprovalDoesNotWait(t *testing.T) {
	s := newStages(t)
	s.mode, s.writes = confirmation.ModeHardRequired, true
	sd := &standing{s: s, covers: true}
	res, err := s.run(workflows.IntentInput{Text: "write", Schedule: "nightly", CorrelationID: "schedule:nightly", DryRun: true}, sd.register)
	require.NoError(t, err)
	require.Equal(t, concat(resolutionSteps, []string{"StandingApproval"}, planningSteps, []string{"Decide"}), s.calls, "no escalation is opened")
	require.Equal(t, decision.Approved, res.DecisionState)
	require.Equal(t, "sa-1", res.Confirmation.StandingApproval)
	require.Equal(t, "maria", res.Confirmation.By)
	require.Len(t, sd.asked, 1)
	require.Equal(t, "nightly", sd.asked[0].Schedule)
	require.Equal(t, "b1", sd.asked[0].PolicyBundleVersion, "the consultation's bundle")
	require.Equal(t, "c1", sd.asked[0].CatalogSnapshotVersion, "the consultation's catalog")
	require.Equal(t, s.signature().Intent, sd.asked[0].Question.Signature.Intent, "the asked signature")
	// Seqs follow on: the standing approval's event comes after CheckScope's.
	require.Equal(t, s.steps["CheckScope"][0].Seq, s.steps["StandingApproval"][0].Seq)
	require.Equal(t, s.steps["StandingApproval"][0].Seq+1, s.steps["Sign"][0].Seq)
}

func TestAScheduledRunWithoutAStandingApprovalEscalatesAndMayGetOne(t *testing.T) {
	s := newStages(t)
	s.mode = confirmation.ModeHardRequired
	sd := &standing{s: s}
	var question string
	res, err := runFirst(s, workflows.IntentInput{Text: "read", Schedule: "nightly", SubmittedBy: "ana"}, sd.register, func(env *testsuite.TestWorkflowEnvironment) {
		env.OnActivity(a.OpenEscalation, mock.Anything, mock.Anything, mock.Anything).Return(func(_ context.Context, st activities.Step, in activities.EscalationInput) (activities.Escalation, error) {
			s.called("OpenEscalation", st)
			question = in.Question.Reason
			return activities.Escalation{Stage: activities.Stage{Events: 1}, Deadline: st.At.Add(5 * time.Minute), Allowed: testApprovers.For(in.Question.Triggers, in.Submitter)}, nil
		})
		env.RegisterDelayedCallback(func() {
			env.SignalWorkflow(workflows.SignalApprove, workflows.ConfirmationSignal{By: "maria", Reason: "reviewed", Standing: true, StandingFor: "168h"})
		}, time.Minute)
	})
	require.NoError(t, err)
	require.Equal(t, concat(resolutionSteps, []string{"StandingApproval", "OpenEscalation", "CloseEscalation:approved", "RecordStandingApproval"},
		[]string{"Sign", "Govern", "EstimatePreCost", "PlanExecution", "Decide"}), s.calls)
	require.Contains(t, question, "no standing approval applies: the policy bundle is b2", "the approver is told why")
	require.Equal(t, decision.Approved, res.DecisionState)
	require.Equal(t, "sa-2", res.Confirmation.StandingGranted)
	require.Len(t, sd.granted, 1)
	require.Equal(t, 168*time.Hour, sd.granted[0].For)
	require.Equal(t, "maria", sd.granted[0].By)
	require.Equal(t, "b1", sd.granted[0].PolicyBundleVersion)
}

func TestAStandingAnswerToAnUnscheduledIntentIsRefused(t *testing.T) {
	s := newStages(t)
	s.mode = confirmation.ModeHardRequired
	sd := &standing{s: s, covers: true}
	res, err := s.run(workflows.IntentInput{Text: "read"}, sd.register, func(env *testsuite.TestWorkflowEnvironment) {
		env.RegisterDelayedCallback(func() {
			env.SignalWorkflow(workflows.SignalApprove, workflows.ConfirmationSignal{By: "maria", Reason: "ok", Standing: true})
		}, time.Minute)
		env.RegisterDelayedCallback(func() {
			env.SignalWorkflow(workflows.SignalApprove, workflows.ConfirmationSignal{By: "maria", Reason: "ok"})
		}, 2*time.Minute)
	})
	require.NoError(t, err)
	require.Equal(t, concat(resolutionSteps, []string{"OpenEscalation", "RefuseConfirmation:" + confirmation.RefusedStandingNotScheduled, "CloseEscalation:approved"},
		[]string{"Sign", "Govern", "EstimatePreCost", "PlanExecution", "Decide"}), s.calls, "no standing approval is looked up or recorded")
	require.Equal(t, decision.Approved, res.DecisionState)
	require.Empty(t, res.Confirmation.StandingGranted)
	require.True(t, strings.Contains(s.refused[0].Reason, "not started by a schedule"), s.refused[0].Reason)
}

// TestAScheduledRunIsResolvedAsOfItsScheduledDay: the scheduled time of a
// backfilled run is in the past; every stage sees that day.
func TestAScheduledRunIsResolvedAsOfItsScheduledDay(t *testing.T) {
	cases := []struct {
		name     string
		in       workflows.IntentInput
		attr     *time.Time
		start    time.Time
		wantAsOf string
	}{
		{"a backfilled run", workflows.IntentInput{Text: "write", Schedule: "nightly"}, ptr(time.Date(2026, 1, 2, 6, 0, 0, 0, time.UTC)),
			time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), "2026-01-02"},
		{"no scheduled time: the start's day", workflows.IntentInput{Text: "write", Schedule: "nightly"}, nil,
			time.Date(2026, 3, 1, 23, 0, 0, 0, time.UTC), "2026-03-01"},
		{"an explicit as_of wins", workflows.IntentInput{Text: "write", Schedule: "nightly", AsOf: "2025-12-31"}, ptr(time.Date(2026, 1, 2, 6, 0, 0, 0, time.UTC)),
			time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), "2025-12-31"},
		{"not scheduled: as before", workflows.IntentInput{Text: "write"}, ptr(time.Date(2026, 1, 2, 6, 0, 0, 0, time.UTC)),
			time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newStages(t)
			s.writes = true
			var received, planned string
			_, err := runFirst(s, c.in, func(env *testsuite.TestWorkflowEnvironment) {
				env.SetStartTime(c.start)
				if c.attr != nil {
					require.NoError(t, env.SetTypedSearchAttributesOnStart(temporal.NewSearchAttributes(workflows.AttrScheduledStartTime.ValueSet(*c.attr))))
				}
				env.OnActivity(a.Receive, mock.Anything, mock.Anything, mock.Anything).Return(func(_ context.Context, st activities.Step, in activities.ReceiveInput) (activities.Stage, error) {
					s.called("Receive", st)
					received = in.Request.AsOf
					return stage("received"), nil
				})
				env.OnActivity(a.PlanExecution, mock.Anything, mock.Anything, mock.Anything).Return(func(_ context.Context, st activities.Step, in activities.PlanInput) (activities.Planned, error) {
					s.called("PlanExecution", st)
					planned = in.AsOf
					return activities.Planned{Stage: activities.Stage{Stop: true}}, nil
				})
			})
			require.NoError(t, err)
			require.Equal(t, c.wantAsOf, received, "the input step 1 records")
			if c.wantAsOf != "" {
				require.Equal(t, c.wantAsOf, planned, "the planner's as_of")
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// runFirst is stages.run with first's mocks registered before the
// stages' own, so that they answer instead (the first match wins).
func runFirst(s *stages, in workflows.IntentInput, first ...func(env *testsuite.TestWorkflowEnvironment)) (workflows.IntentResult, error) {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	app.RegisterWorkflows(env)
	env.RegisterActivity(&activities.Activities{})
	for _, f := range first {
		f(env)
	}
	s.register(env)
	env.ExecuteWorkflow(workflows.IntentWorkflowName, in)
	require.True(s.t, env.IsWorkflowCompleted())
	var res workflows.IntentResult
	if err := env.GetWorkflowError(); err != nil {
		return res, err
	}
	require.NoError(s.t, env.GetWorkflowResult(&res))
	return res, nil
}
