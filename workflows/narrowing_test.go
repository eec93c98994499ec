package workflows_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"github.com/contextualflux/cfa/activities"
	"github.com/contextualflux/cfa/internal/app"
	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/policy"
	"github.com/contextualflux/cfa/internal/precost"
	"github.com/contextualflux/cfa/internal/resolution"
	"github.com/contextualflux/cfa/internal/signature"
	"github.com/contextualflux/cfa/workflows"
)

// TestANarrowingReplanWarnsAndShowsTheApprover (docs/adr/0136): the
// Pre-cost Estimator's replan cuts the window; the human escalation that
// follows shows the approver the before and after, and the decision is
// approved_with_warnings naming the cut. A replan of a window the user
// never asked for narrows nothing: approved, nothing shown.
func TestANarrowingReplanWarnsAndShowsTheApprover(t *testing.T) {
	cases := []struct {
		name     string
		asked    *signature.TemporalFilter
		state    decision.State
		warnings []string
	}{
		{"the user's last 400 days cut to 60", &signature.TemporalFilter{Column: "processing_date", LastDays: 400}, decision.ApprovedWithWarnings,
			[]string{"temporal window narrowed by replan 1 (pre_cost_estimator.threshold_policy): last 400 days → last 60 days"}},
		{"no window asked: the replan's window narrows nothing asked", nil, decision.Approved, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newStages(t)
			asked := signature.Signature{Intent: "ingest", Operations: []string{signature.OpIngest},
				Datasets:    []signature.Dataset{{Name: "nfe", Role: signature.RoleSource, PartitionKey: "processing_date"}},
				Constraints: signature.Constraints{TemporalFilter: c.asked}}
			estimates := 0
			var pending *workflows.PendingEscalation
			res, err := s.runWith(workflows.IntentInput{Text: "ingest nfe last 400 days"}, func(env *testsuite.TestWorkflowEnvironment) {
				any3 := []any{mock.Anything, mock.Anything, mock.Anything}
				env.OnActivity(a.Normalize, any3...).Return(func(_ context.Context, st activities.Step, _ activities.NormalizeInput) (activities.Normalized, error) {
					s.called("Normalize", st)
					return activities.Normalized{Stage: stage("normalized"), Resolution: resolution.SemanticResolution{Resolved: true, Signature: asked, ConfirmationMode: s.mode}}, nil
				})
				// Over the ceiling, then near it: a human confirms the spend.
				env.OnActivity(a.EstimatePreCost, any3...).Return(func(_ context.Context, st activities.Step, _ activities.PreCostInput) (activities.Estimated, error) {
					s.called("EstimatePreCost", st)
					estimates++
					v := precost.Verdict{Action: precost.ActionForceReplanWithFilter}
					if estimates > 1 {
						v = precost.Verdict{Action: precost.ActionEscalate, Reason: "49.97 DBU is above 40.00"}
					}
					return activities.Estimated{Stage: stage(string(v.Action)), PreCost: activities.PreCost{Verdict: v}}, nil
				})
				env.OnActivity(a.ReplanForCost, any3...).Return(func(_ context.Context, st activities.Step, in activities.CostReplanInput) (activities.Governed, error) {
					s.called("ReplanForCost", st)
					next := in.Signed.Signature.Clone()
					next.Replan++
					next.Constraints.TemporalFilter = &signature.TemporalFilter{Column: "processing_date", LastDays: 60}
					r := policy.Replanning{Replan: next.Replan, By: decision.AuthorityPreCostEstimator, Cause: "pre_cost_estimator.threshold_policy",
						Changes: signature.Diff(in.Signed.Signature, next)}
					return activities.Governed{Stage: stage("replanned"), Replans: next.Replan, Final: &activities.Signed{Signature: next, Hash: in.Signed.Hash + "+filter"},
						Attempts: []activities.PolicyAttempt{{Replan: next.Replan, Outcome: "approve", Replanned: &r}}}, nil
				})
			}, func(env *testsuite.TestWorkflowEnvironment) {
				env.RegisterDelayedCallback(func() {
					v, err := env.QueryWorkflow(workflows.QueryPendingEscalation)
					require.NoError(t, err)
					require.NoError(t, v.Get(&pending))
					env.SignalWorkflow(workflows.SignalApprove, workflows.ConfirmationSignal{By: "maria", Reason: "spend reviewed"})
				}, time.Minute)
			})
			require.NoError(t, err)
			require.Equal(t, c.state, res.DecisionState, res.Reason)
			require.Equal(t, 60, res.Signature.Constraints.TemporalFilter.LastDays)

			require.NotNil(t, pending, "the cost escalation was open")
			var shown []string
			for _, n := range pending.Narrowed {
				shown = append(shown, n.Warning)
				require.Equal(t, "last 400 days", n.Before)
				require.Equal(t, "last 60 days", n.After)
			}
			require.Equal(t, c.warnings, shown, "the approver sees each narrowed field, before and after")

			var warned []string
			for _, f := range res.Faults {
				if f.Code == policy.CodeIntentNarrowed {
					warned = append(warned, f.Message)
				}
			}
			require.Equal(t, c.warnings, warned, "the decision names the narrowing")
			if c.warnings != nil {
				require.Equal(t, string(decision.AuthorityPreCostEstimator), res.DecidedBy)
				require.Equal(t, policy.ReasonNarrowedByReplan, res.Reason)
			}
		})
	}
}

// runWith is run with mocks registered before the happy-path ones, which
// they override (the first registered mock of an activity answers), and
// callbacks registered after.
func (s *stages) runWith(in workflows.IntentInput, mocks func(*testsuite.TestWorkflowEnvironment), during ...func(*testsuite.TestWorkflowEnvironment)) (workflows.IntentResult, error) {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	app.RegisterWorkflows(env)
	env.RegisterActivity(&activities.Activities{})
	mocks(env)
	s.register(env)
	for _, f := range during {
		f(env)
	}
	env.ExecuteWorkflow(workflows.IntentWorkflowName, in)
	require.True(s.t, env.IsWorkflowCompleted())
	var res workflows.IntentResult
	if err := env.GetWorkflowError(); err != nil {
		return res, err
	}
	require.NoError(s.t, env.GetWorkflowResult(&res))
	return res, nil
}
