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
	"github.com/contextualflux/cfa/internal/fault"
	"github.com/contextualflux/cfa/internal/partialexecution"
	"github.com/contextualflux/cfa/internal/planner"
	"github.com/contextualflux/cfa/internal/precost"
	"github.com/contextualflux/cfa/internal/resolution"
	"github.com/contextualflux/cfa/internal/signature"
	"github.com/contextualflux/cfa/workflows"
)

// These tests check the orchestration alone: every activity is mocked, so
// they test the order of the stages, what each stage's outcome leads to
// (its stop rule, a wait, a replan) and that audit seqs follow on. The
// stages themselves are tested against Postgres in tests/flow.

var a *activities.Activities

// testApprovers: maria and joao may answer anything; ana only ambiguities.
var testApprovers = confirmation.Approvers{
	Groups: map[string][]string{"governance_team": {"maria", "joao"}},
	ByCategory: map[confirmation.Category][]string{
		confirmation.CategoryPII: {"governance_team"}, confirmation.CategorySilverWrite: {"governance_team"},
		confirmation.CategoryGoldWrite: {"governance_team"}, confirmation.CategoryCost: {"governance_team"},
		confirmation.CategoryAmbiguity: {"governance_team", "ana"}, confirmation.CategoryStale: {"governance_team"},
	},
}

// stages answers every stage activity with a happy path a test can change,
// and records the order the workflow called them in and the step each got.
type stages struct {
	t     *testing.T
	calls []string
	steps map[string][]activities.Step

	mode            confirmation.Mode
	writes          bool // the signature has a target: plan, lock, execute
	reads           bool // a read plan: its query runs, nothing is locked or projected (ADR 0132)
	unresolve       string
	stale           int // stale revalidations before a current one
	queued          int // queued acquisitions before the scope is held
	panicUnit       string
	projectionFails bool
	publishOnly     bool
	prepareErr      error
	costReplans     int      // estimates over the ceiling before one that proceeds
	estimated       []string // the signature hash each estimate got
	decided         activities.DecideInput
	askedEarlier    time.Duration // OpenEscalation's question was recorded that long before this attempt
	notified        []string      // NotifyGovernance reasons
	refused         []activities.RefusalInput
	running         []string                     // intents ConfirmSoft finds on the intent's scopes
	offered         []string                     // the resolution's competing interpretations
	asked           []activities.EscalationInput // OpenEscalation's questions
	chose           []activities.ChooseInput     // ChooseInterpretation's inputs
	closed          []activities.Answer          // CloseEscalation's answers
	signedWith      []signature.Signature        // the signatures Sign got
	unresolvable    string                       // an interpretation ChooseInterpretation refuses
	escalateCost    bool                         // the estimate is near the ceiling: step 8 asks a human
}

func newStages(t *testing.T) *stages {
	return &stages{t: t, steps: map[string][]activities.Step{}, mode: confirmation.ModeAuto}
}

func (s *stages) called(name string, st activities.Step) {
	s.calls = append(s.calls, name)
	s.steps[name] = append(s.steps[name], st)
}

// stage is one audit event and a status line.
func stage(summary string) activities.Stage { return activities.Stage{Summary: summary, Events: 1} }

func (s *stages) signature() signature.Signature {
	sig := signature.Signature{Intent: "aggregate", Datasets: []signature.Dataset{{Name: "vendas_diarias", Role: signature.RoleSource}}}
	if s.writes {
		sig.Datasets = append(sig.Datasets, signature.Dataset{Name: "silver_documentos", Role: signature.RoleTarget})
	}
	return sig
}

// register mocks every activity of the flow on env.
func (s *stages) register(env *testsuite.TestWorkflowEnvironment) {
	any3 := []any{mock.Anything, mock.Anything, mock.Anything}
	env.OnActivity(a.Receive, any3...).Return(func(_ context.Context, st activities.Step, _ activities.ReceiveInput) (activities.Stage, error) {
		s.called("Receive", st)
		return stage("received"), nil
	})
	env.OnActivity(a.ConsultRegistry, mock.Anything, mock.Anything).Return(func(_ context.Context, st activities.Step) (activities.Consulted, error) {
		s.called("ConsultRegistry", st)
		return activities.Consulted{Stage: stage("consulted"), Consultation: activities.Consultation{RegistryVersionID: "v1", PolicyBundleVersion: "b1", CatalogSnapshotVersion: "c1", MaxReplanAttempts: 3}}, nil
	})
	env.OnActivity(a.Normalize, any3...).Return(func(_ context.Context, st activities.Step, _ activities.NormalizeInput) (activities.Normalized, error) {
		s.called("Normalize", st)
		out := activities.Normalized{Stage: stage("normalized"), Resolution: resolution.SemanticResolution{Resolved: true, Signature: s.signature(), ConfirmationMode: s.mode,
			CompetingInterpretations: s.offered}}
		if s.unresolve != "" {
			out.Resolution = resolution.SemanticResolution{Reason: s.unresolve}
			out.Stop, out.Votes = true, []decision.Vote{resolution.UnresolvedVote(s.unresolve)}
		}
		return out, nil
	})
	env.OnActivity(a.CheckScope, any3...).Return(func(_ context.Context, st activities.Step, _ activities.ScopeCheckInput) (activities.Stage, error) {
		s.called("CheckScope", st)
		return activities.Stage{Summary: "free"}, nil
	})
	env.OnActivity(a.OpenEscalation, any3...).Return(func(_ context.Context, st activities.Step, in activities.EscalationInput) (activities.Escalation, error) {
		s.called("OpenEscalation", st)
		s.asked = append(s.asked, in)
		deadline := st.At.Add(time.Duration(in.Question.TimeoutSeconds)*time.Second - s.askedEarlier)
		allowed := testApprovers.For(in.Question.Triggers, in.Submitter)
		return activities.Escalation{Stage: activities.Stage{Events: 1}, Details: "asked", Deadline: deadline, Allowed: allowed}, nil
	})
	env.OnActivity(a.NotifyGovernance, mock.Anything, mock.Anything).Return(func(_ context.Context, n activities.Notification) error {
		s.notified = append(s.notified, n.Reason)
		if n.Reason != "escalation_opened" && n.Reason != "soft_confirmation" { // not waited for: their place among the calls varies
			s.calls = append(s.calls, "NotifyGovernance")
		}
		return nil
	})
	env.OnActivity(a.RefuseConfirmation, any3...).Return(func(_ context.Context, st activities.Step, in activities.RefusalInput) (activities.Refused, error) {
		s.called("RefuseConfirmation:"+in.Code, st)
		s.refused = append(s.refused, in)
		return activities.Refused{Stage: activities.Stage{Events: 1}}, nil
	})
	env.OnActivity(a.CloseEscalation, any3...).Return(func(_ context.Context, st activities.Step, in activities.Answer) (activities.Answered, error) {
		s.called("CloseEscalation:"+in.Outcome, st)
		s.closed = append(s.closed, in)
		out := activities.Answered{Stage: stage(in.Outcome), Record: confirmation.Record{Mode: in.Mode, Outcome: in.Outcome, By: in.By, Interpretation: in.Interpretation}}
		if !confirmation.Proceeds(in.Outcome) {
			out.Stop, out.Votes = true, []decision.Vote{confirmation.BlockVote(in.Outcome, in.Reason)}
		}
		return out, nil
	})
	env.OnActivity(a.ConfirmSoft, any3...).Return(func(_ context.Context, st activities.Step, in activities.SoftInput) (activities.SoftChecked, error) {
		s.called("ConfirmSoft", st)
		// As the activity: a medium-confidence read, evaluated again with
		// the intents found on its scopes.
		r := confirmation.Evaluate(confirmation.Input{ConfidenceScore: 0.8, AmbiguityLevel: "low", ReadOnly: true, PublishAllowed: true, RunningIntents: s.running})
		shown := confirmation.Show(in.Resolution.Signature)
		summary := "soft: signature shown, no conflict: " + shown
		if r.Mode.NeedsHuman() {
			summary = "soft escalated: " + strings.Join(r.Conflicts, "; ")
		}
		return activities.SoftChecked{Stage: stage(summary), Result: r, Shown: shown, RunningIntents: s.running}, nil
	})
	env.OnActivity(a.ChooseInterpretation, any3...).Return(func(_ context.Context, st activities.Step, in activities.ChooseInput) (activities.Chosen, error) {
		s.called("ChooseInterpretation", st)
		s.chose = append(s.chose, in)
		if in.Interpretation == s.unresolvable {
			return activities.Chosen{Refusal: &confirmation.Refusal{Code: confirmation.RefusedInterpretationUnresolved, Reason: "does not resolve"}}, nil
		}
		// The chosen interpretation reads another dataset.
		sig := s.signature()
		sig.Intent, sig.Datasets[0].Name = in.Interpretation, "produtos"
		triggers := []confirmation.Trigger{confirmation.TriggerPIIDetected}
		allowed := testApprovers.For(triggers, in.Submitter)
		if err := allowed.Check(confirmation.AnswerApprove, in.By); err != nil {
			var r *confirmation.Refusal
			require.ErrorAs(s.t, err, &r)
			return activities.Chosen{Refusal: r}, nil
		}
		return activities.Chosen{Allowed: allowed, Resolution: resolution.SemanticResolution{Resolved: true, Signature: sig,
			ConfirmationMode: confirmation.ModeHardRequired, ConfirmationTriggers: triggers}}, nil
	})
	env.OnActivity(a.Sign, any3...).Return(func(_ context.Context, st activities.Step, in activities.SignInput) (activities.SignedStage, error) {
		s.called("Sign", st)
		s.signedWith = append(s.signedWith, in.Signature)
		return activities.SignedStage{Stage: stage("signed"), Signed: activities.Signed{Signature: in.Signature, Hash: "h" + in.Consultation.RegistryVersionID}}, nil
	})
	env.OnActivity(a.Govern, any3...).Return(func(_ context.Context, st activities.Step, _ activities.GovernInput) (activities.Governed, error) {
		s.called("Govern", st)
		return activities.Governed{Stage: activities.Stage{Events: 1, Votes: []decision.Vote{{Authority: decision.AuthorityPolicyEngine, Outcome: decision.Approved}}}}, nil
	})
	env.OnActivity(a.EstimatePreCost, any3...).Return(func(_ context.Context, st activities.Step, in activities.PreCostInput) (activities.Estimated, error) {
		s.called("EstimatePreCost", st)
		s.estimated = append(s.estimated, in.Signed.Hash)
		if s.costReplans > 0 {
			s.costReplans--
			return activities.Estimated{Stage: stage("over the ceiling"), PreCost: activities.PreCost{Verdict: precost.Verdict{Action: precost.ActionForceReplanWithFilter}}}, nil
		}
		action := precost.ActionProceed
		if s.escalateCost {
			action = precost.ActionEscalate
		}
		return activities.Estimated{Stage: activities.Stage{Events: 1, Votes: []decision.Vote{{Authority: decision.AuthorityPreCostEstimator, Outcome: decision.Approved}}},
			PreCost: activities.PreCost{Verdict: precost.Verdict{Action: action}}}, nil
	})
	env.OnActivity(a.ReplanForCost, any3...).Return(func(_ context.Context, st activities.Step, in activities.CostReplanInput) (activities.Governed, error) {
		s.called("ReplanForCost", st)
		next := in.Signed.Signature
		next.Replan++
		return activities.Governed{Stage: stage("replanned"), Replans: next.Replan, Final: &activities.Signed{Signature: next, Hash: in.Signed.Hash + "+filter"}}, nil
	})
	env.OnActivity(a.PlanExecution, any3...).Return(func(_ context.Context, st activities.Step, in activities.PlanInput) (activities.Planned, error) {
		s.called("PlanExecution", st)
		if s.reads {
			p := readPlan()
			return activities.Planned{Stage: stage("planned"), Planning: activities.Planning{SignatureHash: in.Signed.Hash, Plan: &p, DryRun: in.DryRun}}, nil
		}
		if !s.writes {
			return activities.Planned{Stage: activities.Stage{Stop: true}}, nil
		}
		p := planner.ExecutionPlan{Hash: "plan", Target: "silver_documentos"}
		return activities.Planned{Stage: stage("planned"), Planning: activities.Planning{SignatureHash: in.Signed.Hash, Plan: &p, DryRun: in.DryRun}}, nil
	})
	env.OnActivity(a.GenerateCode, any3...).Return(func(_ context.Context, st activities.Step, _ activities.GenerateInput) (activities.Generated, error) {
		s.called("GenerateCode", st)
		return activities.Generated{Stage: stage("generated")}, nil
	})
	env.OnActivity(a.ValidateStatic, any3...).Return(func(_ context.Context, st activities.Step, in activities.StaticInput) (activities.Validated, error) {
		s.called("ValidateStatic", st)
		out := activities.Validated{Stage: stage("passed")}
		out.Stop = in.Planning.DryRun
		if s.publishOnly {
			out.PublishOnly, out.Target = true, "silver_documentos"
		}
		return out, nil
	})
	env.OnActivity(a.PublishDataset, any3...).Return(func(_ context.Context, st activities.Step, _ activities.PublishInput) (activities.Stage, error) {
		s.called("PublishDataset", st)
		return stage("published"), nil
	})
	env.OnActivity(a.AcquireScope, any3...).Return(func(_ context.Context, st activities.Step, in activities.LockInput) (activities.Locked, error) {
		s.called("AcquireScope", st)
		if s.queued > 0 {
			s.queued--
			out := activities.Locked{Queued: true, Scopes: []string{"dataset:silver_documentos"}}
			if !in.Queued {
				out.Events = 1 // SCOPE_LOCK_QUEUED, once
			}
			return out, nil
		}
		return activities.Locked{Stage: stage("held"), Held: true, Queued: in.Queued, Scopes: []string{"dataset:silver_documentos"}}, nil
	})
	env.OnActivity(a.Revalidate, any3...).Return(func(_ context.Context, st activities.Step, in activities.RevalidateInput) (activities.Revalidated, error) {
		s.called("Revalidate", st)
		if s.stale > 0 {
			s.stale--
			next := in.Signed.Signature
			next.Replan++
			return activities.Revalidated{Stage: stage("stale"), Stale: true, Next: next, Consultation: activities.Consultation{RegistryVersionID: "v2"}}, nil
		}
		return activities.Revalidated{Stage: stage("current")}, nil
	})
	env.OnActivity(a.PrepareExecution, any3...).Return(func(_ context.Context, st activities.Step, _ activities.PrepareInput) (activities.Prepared, error) {
		s.called("PrepareExecution", st)
		if s.prepareErr != nil {
			return activities.Prepared{}, s.prepareErr
		}
		return activities.Prepared{Units: activities.Units{Target: "silver_documentos", Keys: []string{"2026-01-01", "2026-01-02"}, Partitioned: true}, Role: "role"}, nil
	})
	env.OnActivity(a.ExecuteUnit, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.UnitInput) (activities.UnitOutcome, error) {
		if in.Key == s.panicUnit {
			return activities.UnitOutcome{}, temporal.NewApplicationErrorWithOptions("permission revoked", activities.ErrEnvironmental, temporal.ApplicationErrorOptions{
				NonRetryable: true, Details: []any{activities.EnvironmentalFault{Trigger: partialexecution.TriggerExternalPermissionRevoked, Reason: "revoked"}},
			})
		}
		return activities.UnitOutcome{}, nil
	})
	env.OnActivity(a.ApplyPartialFailurePolicy, any3...).Return(func(_ context.Context, st activities.Step, in activities.PartialInput) (activities.Partial, error) {
		s.called("ApplyPartialFailurePolicy", st)
		out := activities.Partial{Stage: activities.Stage{Events: int64(len(in.Ran))}, Executed: activities.Executed{Units: len(in.Units.Keys)}}
		if in.Panic != nil {
			out.Panic = &partialexecution.PanicOutcome{Trigger: in.Panic.Trigger, Reason: in.Panic.Reason}
			return out, nil
		}
		out.Events++
		out.Outcome = &partialexecution.Outcome{Vote: decision.Vote{Authority: decision.AuthorityPartialFailurePolicy, Outcome: decision.Approved}}
		out.Votes = []decision.Vote{out.Outcome.Vote}
		return out, nil
	})
	env.OnActivity(a.PanicRollback, any3...).Return(func(_ context.Context, st activities.Step, _ activities.PanicInput) (activities.Released, error) {
		s.called("PanicRollback", st)
		return activities.Released{Stage: activities.Stage{Events: 1, Stop: true, Votes: []decision.Vote{{Authority: decision.AuthorityPartialFailurePolicy, Outcome: decision.Quarantined}}}}, nil
	})
	env.OnActivity(a.Project, mock.Anything, mock.Anything).Return(func(context.Context, activities.ProjectInput) (activities.Projected, error) {
		s.calls = append(s.calls, "Project")
		if s.projectionFails {
			return activities.Projected{}, temporal.NewNonRetryableApplicationError("disk gone", "TEST", nil)
		}
		return activities.Projected{VersionID: "v3"}, nil
	})
	env.OnActivity(a.RecordProjection, any3...).Return(func(_ context.Context, st activities.Step, _ activities.ProjectionRecord) (activities.Stage, error) {
		s.called("RecordProjection", st)
		return stage("projected"), nil
	})
	env.OnActivity(a.MarkProjectionFailed, any3...).Return(func(_ context.Context, st activities.Step, in activities.ProjectionFailedInput) (activities.Released, error) {
		s.called("MarkProjectionFailed", st)
		return activities.Released{Stage: activities.Stage{Events: 1, Stop: true, Violations: []decision.Violation{{Invariant: "I4", Forces: decision.RolledBack}}}}, nil
	})
	env.OnActivity(a.ReleaseScope, any3...).Return(func(_ context.Context, st activities.Step, _ activities.ReleaseInput) ([]string, error) {
		s.called("ReleaseScope", st)
		return nil, nil
	})
	env.OnActivity(a.Decide, any3...).Return(func(_ context.Context, st activities.Step, in activities.DecideInput) (activities.Decided, error) {
		s.called("Decide", st)
		s.decided = in
		if in.Interrupted != nil { // as the activity does
			in.Decision.Votes = append(in.Decision.Votes, decision.InterruptedVote(*in.Interrupted))
		}
		d, err := decision.Decide(in.Decision)
		require.NoError(s.t, err)
		return activities.Decided{Stage: activities.Stage{Events: 2, Summary: string(d.State)}, Decision: d, Through: st.Seq + 1}, nil
	})
}

func (s *stages) run(in workflows.IntentInput, during ...func(env *testsuite.TestWorkflowEnvironment)) (workflows.IntentResult, error) {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	app.RegisterWorkflows(env)
	env.RegisterActivity(&activities.Activities{})
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

var (
	resolutionSteps = []string{"Receive", "ConsultRegistry", "Normalize", "CheckScope"}
	planningSteps   = []string{"Sign", "Govern", "EstimatePreCost", "PlanExecution", "GenerateCode", "ValidateStatic"}
	executionSteps  = []string{"AcquireScope", "Revalidate", "PrepareExecution", "ApplyPartialFailurePolicy", "Project", "RecordProjection"}
)

func concat(parts ...[]string) []string {
	var out []string
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func TestStagesRunInTheWhitepapersOrder(t *testing.T) {
	cases := []struct {
		name  string
		setup func(s *stages)
		in    workflows.IntentInput
		want  []string
		state decision.State
	}{
		{"a read-only intent stops after planning", nil, workflows.IntentInput{Text: "read"},
			concat(resolutionSteps, []string{"Sign", "Govern", "EstimatePreCost", "PlanExecution", "Decide"}), decision.Approved},
		{"an unresolved intent is decided at once", func(s *stages) { s.unresolve = "no dataset" }, workflows.IntentInput{Text: "x"},
			[]string{"Receive", "ConsultRegistry", "Normalize", "Decide"}, decision.Blocked},
		{"a write runs steps 1 to 19", func(s *stages) { s.writes = true }, workflows.IntentInput{Text: "write"},
			concat(resolutionSteps, planningSteps, executionSteps, []string{"Decide"}), decision.Approved},
		{"a dry run stops after static validation", func(s *stages) { s.writes = true }, workflows.IntentInput{Text: "write", DryRun: true},
			concat(resolutionSteps, planningSteps, []string{"Decide"}), decision.Approved},
		{"a publish-only plan publishes instead of executing", func(s *stages) { s.writes, s.publishOnly = true, true }, workflows.IntentInput{Text: "publish"},
			concat(resolutionSteps, planningSteps, []string{"PublishDataset", "Decide"}), decision.Approved},
		{"a stale environment replans from the signature, the scope kept", func(s *stages) { s.writes, s.stale = true, 1 }, workflows.IntentInput{Text: "write"},
			concat(resolutionSteps, planningSteps, []string{"AcquireScope", "Revalidate"}, planningSteps, executionSteps, []string{"Decide"}), decision.Approved},
		{"a panic rolls back and projects nothing", func(s *stages) { s.writes, s.panicUnit = true, "2026-01-02" }, workflows.IntentInput{Text: "write"},
			concat(resolutionSteps, planningSteps, []string{"AcquireScope", "Revalidate", "PrepareExecution", "ApplyPartialFailurePolicy", "PanicRollback", "Decide"}), decision.Quarantined},
		{"a failed projection is marked and rolled back", func(s *stages) { s.writes, s.projectionFails = true, true }, workflows.IntentInput{Text: "write"},
			concat(resolutionSteps, planningSteps, []string{"AcquireScope", "Revalidate", "PrepareExecution", "ApplyPartialFailurePolicy", "Project", "MarkProjectionFailed", "Decide"}), decision.RolledBack},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newStages(t)
			if c.setup != nil {
				c.setup(s)
			}
			res, err := s.run(c.in)
			require.NoError(t, err)
			require.Equal(t, c.want, s.calls)
			require.Equal(t, c.state, res.DecisionState)
		})
	}
}

// TestACostReplanIsEstimatedAgain: the signature a cost replan produced is
// the one estimated next, planned and recorded.
func TestACostReplanIsEstimatedAgain(t *testing.T) {
	s := newStages(t)
	s.costReplans = 2
	res, err := s.run(workflows.IntentInput{Text: "expensive"})
	require.NoError(t, err)
	require.Equal(t, concat(resolutionSteps, []string{"Sign", "Govern", "EstimatePreCost", "ReplanForCost", "EstimatePreCost", "ReplanForCost", "EstimatePreCost", "PlanExecution", "Decide"}), s.calls)
	require.Equal(t, []string{"hv1", "hv1+filter", "hv1+filter+filter"}, s.estimated)
	require.Equal(t, "hv1+filter+filter", res.SignatureHash)
	require.Equal(t, 2, res.Replans)
}

// TestAuditSeqsFollowOn: each stage's first event takes the seq after the
// events every earlier stage appended, whatever their number.
func TestAuditSeqsFollowOn(t *testing.T) {
	s := newStages(t)
	s.writes = true
	res, err := s.run(workflows.IntentInput{Text: "write"})
	require.NoError(t, err)
	// Events per stage as the mocks report them, in call order.
	events := map[string]int64{"Receive": 1, "ConsultRegistry": 1, "Normalize": 1, "CheckScope": 0, "Sign": 1, "Govern": 1, "EstimatePreCost": 1,
		"PlanExecution": 1, "GenerateCode": 1, "ValidateStatic": 1, "AcquireScope": 1, "Revalidate": 1, "PrepareExecution": 0,
		"ApplyPartialFailurePolicy": 3, "RecordProjection": 1, "Decide": 2}
	next := int64(1)
	for _, name := range s.calls {
		if name == "Project" {
			continue // a regular activity that records nothing itself
		}
		st := s.steps[name][0]
		require.Equal(t, next, st.Seq, "%s starts at the next seq", name)
		require.Equal(t, res.IntentID, st.IntentID)
		next += events[name]
	}
	require.Equal(t, next-1, res.AuditEvents, "the result counts every event")
}

func TestDecisionWeighsTheVotesOfTheStagesThatRan(t *testing.T) {
	s := newStages(t)
	s.writes = true
	_, err := s.run(workflows.IntentInput{Text: "write"})
	require.NoError(t, err)
	var by []decision.Authority
	for _, v := range s.decided.Decision.Votes {
		by = append(by, v.Authority)
	}
	require.Equal(t, []decision.Authority{decision.AuthorityPolicyEngine, decision.AuthorityPreCostEstimator, decision.AuthorityPartialFailurePolicy}, by)
	require.NotNil(t, s.decided.Executed, "an execution is evidence for step 18")
	require.NotNil(t, s.decided.Plan)
}

func TestHumanConfirmation(t *testing.T) {
	cases := []struct {
		name   string
		signal string
		at     time.Duration
		cancel bool
		want   []string
		state  decision.State
	}{
		{"approved goes on", workflows.SignalApprove, time.Minute, false,
			concat(resolutionSteps, []string{"OpenEscalation", "CloseEscalation:approved"}, []string{"Sign", "Govern", "EstimatePreCost", "PlanExecution", "Decide"}), decision.Approved},
		{"rejected is decided at once", workflows.SignalReject, time.Minute, false,
			concat(resolutionSteps, []string{"OpenEscalation", "CloseEscalation:rejected", "Decide"}), decision.Blocked},
		{"no answer: governance is notified, then the intent blocks", "", 0, false,
			concat(resolutionSteps, []string{"OpenEscalation", "NotifyGovernance", "CloseEscalation:timeout", "Decide"}), decision.Blocked},
		{"cancelled while waiting: blocked as cancelled, not timed out", "", 30 * time.Second, true,
			concat(resolutionSteps, []string{"OpenEscalation", "CloseEscalation:cancelled", "Decide"}), decision.Blocked},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newStages(t)
			s.mode = confirmation.ModeHardRequired
			res, err := s.run(workflows.IntentInput{Text: "needs a human"}, func(env *testsuite.TestWorkflowEnvironment) {
				switch {
				case c.cancel:
					env.RegisterDelayedCallback(env.CancelWorkflow, c.at)
				case c.signal != "":
					env.RegisterDelayedCallback(func() {
						env.SignalWorkflow(c.signal, workflows.ConfirmationSignal{By: "maria", Reason: "checked"})
					}, c.at)
				}
			})
			require.NoError(t, err)
			require.Equal(t, c.want, s.calls)
			require.Equal(t, c.state, res.DecisionState)
		})
	}
}

// TestEscalationTimesOutAtTheRecordedDeadline: a workflow task retried
// after the question was recorded runs OpenEscalation again later; the
// timer counts from the recorded question, not from the retry (issue 10,
// finding 1).
func TestEscalationTimesOutAtTheRecordedDeadline(t *testing.T) {
	s := newStages(t)
	s.mode, s.askedEarlier = confirmation.ModeHardRequired, 40*time.Second
	var timer time.Duration
	res, err := s.run(workflows.IntentInput{Text: "needs a human"}, func(env *testsuite.TestWorkflowEnvironment) {
		env.SetOnTimerScheduledListener(func(_ string, d time.Duration) { timer = d })
	})
	require.NoError(t, err)
	require.Equal(t, workflows.DefaultEscalationTimeout-40*time.Second, timer)
	require.Equal(t, decision.Blocked, res.DecisionState)
}

// TestQueuedIntentWaitsForTheScope: queued behind another intent, the
// intent re-asks when it is woken (or its recheck timer fires) and runs
// once it holds the scope; SCOPE_LOCK_QUEUED is recorded once.
func TestQueuedIntentWaitsForTheScope(t *testing.T) {
	s := newStages(t)
	s.writes, s.queued = true, 2
	timers := 0
	res, err := s.run(workflows.IntentInput{Text: "write"}, func(env *testsuite.TestWorkflowEnvironment) {
		env.SetOnTimerScheduledListener(func(string, time.Duration) { timers++ })
		env.RegisterDelayedCallback(func() { env.SignalWorkflow(workflows.SignalScopeReleased, nil) }, time.Second)
	})
	require.NoError(t, err)
	require.Equal(t, decision.Approved, res.DecisionState)
	require.Len(t, s.steps["AcquireScope"], 3, "queued, woken by the signal, then by the recheck timer")
	require.True(t, res.Execution.Queued)
	seqs := []int64{}
	for _, st := range s.steps["AcquireScope"] {
		seqs = append(seqs, st.Seq)
	}
	require.Equal(t, seqs[1], seqs[2], "re-asking while queued records nothing new")
	require.Equal(t, seqs[0]+1, seqs[1], "the queue entry is recorded once")
	require.Equal(t, 1, timers, "a wake-up keeps the recheck timer running instead of starting another")
}

// TestAnInterruptedIntentIsDecidedAndReleasesItsScope: a stage that fails
// after the scope was asked for does not fail the workflow: the scope is
// released and the intent decided blocked by the Sandbox Monitor
// (STAGE_INTERRUPTED), its events after the ones recorded (issue 10,
// finding 1).
func TestAnInterruptedIntentIsDecidedAndReleasesItsScope(t *testing.T) {
	s := newStages(t)
	s.writes = true
	s.prepareErr = temporal.NewNonRetryableApplicationError("catalog vanished", activities.ErrInvalidInput, nil)
	res, err := s.run(workflows.IntentInput{Text: "write"})
	require.NoError(t, err)
	require.Equal(t, decision.Blocked, res.DecisionState)
	require.Equal(t, string(decision.AuthoritySandboxMonitor), res.DecidedBy)
	require.Equal(t, fault.CodeStageInterrupted, res.Faults[0].Code)
	require.Equal(t, concat(resolutionSteps, planningSteps, []string{"AcquireScope", "Revalidate", "PrepareExecution", "ReleaseScope", "Decide"}), s.calls)
	require.NotNil(t, s.decided.Interrupted)
	require.Equal(t, workflows.StageExecution, s.decided.Interrupted.Stage)
	require.Contains(t, s.decided.Interrupted.Cause, "catalog vanished")
	require.Nil(t, s.decided.Executed, "an interrupted execution is no evidence")
}

// TestBadAnswersAreRefusedAndTheIntentStillBlocksAtItsDeadline (issue 11):
// whatever arrives on the escalation, in whatever shape, under whatever
// name, from whoever: it never approves unless it is a well-formed answer
// from a declared approver, it is audited as refused, and the timer is
// not disturbed: at the deadline the intent blocks.
func TestBadAnswersAreRefusedAndTheIntentStillBlocksAtItsDeadline(t *testing.T) {
	cases := []struct {
		name      string
		signal    string
		payload   any
		submitter string
		code      string
	}{
		{"no payload at all", workflows.SignalApprove, nil, "", confirmation.RefusedMalformed},
		{"an empty object", workflows.SignalApprove, map[string]any{}, "", confirmation.RefusedMissingField},
		{"a bare string", workflows.SignalApprove, "yes", "", confirmation.RefusedMalformed},
		{"missing by", workflows.SignalApprove, map[string]any{"reason": "ok"}, "", confirmation.RefusedMissingField},
		{"by of the wrong type", workflows.SignalApprove, map[string]any{"by": 42, "reason": "ok"}, "", confirmation.RefusedMalformed},
		{"a wrong signal name", "Approve", workflows.ConfirmationSignal{By: "maria", Reason: "ok"}, "", confirmation.RefusedUnknownSignal},
		{"an approver outside the declared group", workflows.SignalApprove, workflows.ConfirmationSignal{By: "pedro", Reason: "ok"}, "", confirmation.RefusedNotApprover},
		{"a stranger's rejection", workflows.SignalReject, workflows.ConfirmationSignal{By: "pedro", Reason: "no"}, "", confirmation.RefusedNotApprover},
		{"self-approval", workflows.SignalApprove, workflows.ConfirmationSignal{By: "maria", Reason: "mine"}, "maria", confirmation.RefusedSelfApproval},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newStages(t)
			s.mode = confirmation.ModeHardRequired
			res, err := s.run(workflows.IntentInput{Text: "needs a human", SubmittedBy: c.submitter}, func(env *testsuite.TestWorkflowEnvironment) {
				env.RegisterDelayedCallback(func() { env.SignalWorkflow(c.signal, c.payload) }, time.Minute)
			})
			require.NoError(t, err)
			require.Equal(t, decision.Blocked, res.DecisionState)
			require.Equal(t, workflows.ConfirmationTimeout, res.Confirmation.Outcome, "blocked at the deadline, not answered")
			require.Equal(t, concat(resolutionSteps, []string{"OpenEscalation", "RefuseConfirmation:" + c.code, "NotifyGovernance", "CloseEscalation:timeout", "Decide"}), s.calls)
			require.Len(t, s.refused, 1)
			require.Equal(t, c.signal, s.refused[0].Answer)
			require.Equal(t, "signal", s.refused[0].Via)
			require.Equal(t, []string{"escalation_opened", "human_confirmation_timeout"}, s.notified, "approvers hear when it opens and when it times out")
		})
	}
}

// TestARefusalDoesNotBlockALaterAnswer: after a payload the SDK could not
// decode, the wait goes on and the next valid answer is taken (the
// selector is never left waiting on a value it cannot read).
func TestARefusalDoesNotBlockALaterAnswer(t *testing.T) {
	for _, answer := range []string{workflows.SignalApprove, workflows.SignalReject} {
		t.Run(answer, func(t *testing.T) {
			s := newStages(t)
			s.mode = confirmation.ModeHardRequired
			res, err := s.run(workflows.IntentInput{Text: "needs a human"}, func(env *testsuite.TestWorkflowEnvironment) {
				env.RegisterDelayedCallback(func() { env.SignalWorkflow(answer, "yes") }, time.Minute)
				env.RegisterDelayedCallback(func() {
					env.SignalWorkflow(answer, workflows.ConfirmationSignal{By: "joao", Reason: "reviewed"})
				}, 2*time.Minute)
			})
			require.NoError(t, err)
			want := map[string]decision.State{workflows.SignalApprove: decision.Approved, workflows.SignalReject: decision.Blocked}[answer]
			require.Equal(t, want, res.DecisionState)
			require.Equal(t, "joao", res.Confirmation.By)
			require.Equal(t, []string{"OpenEscalation", "RefuseConfirmation:" + confirmation.RefusedMalformed, "CloseEscalation:" + res.Confirmation.Outcome}, s.calls[len(resolutionSteps):len(resolutionSteps)+3])
		})
	}
}

// TestAnswersByUpdate: the same answers as Updates. A malformed one is
// rejected by the validator (nothing reaches the history), one from
// someone not allowed completes with the refusal (audited), and a good
// one is accepted and approves.
func TestAnswersByUpdate(t *testing.T) {
	s := newStages(t)
	s.mode = confirmation.ModeHardRequired
	type outcome struct {
		rejected, failed error
		result           any
	}
	got := map[string]*outcome{}
	update := func(env *testsuite.TestWorkflowEnvironment, id string, at time.Duration, in workflows.ConfirmationSignal) {
		got[id] = &outcome{}
		env.RegisterDelayedCallback(func() {
			env.UpdateWorkflow(workflows.SignalApprove, id, &testsuite.TestUpdateCallback{
				OnAccept:   func() {},
				OnReject:   func(err error) { got[id].rejected = err },
				OnComplete: func(r any, err error) { got[id].result, got[id].failed = r, err },
			}, in)
		}, at)
	}
	res, err := s.run(workflows.IntentInput{Text: "needs a human", SubmittedBy: "ana"}, func(env *testsuite.TestWorkflowEnvironment) {
		update(env, "no-reason", time.Minute, workflows.ConfirmationSignal{By: "maria"})
		update(env, "self", 2*time.Minute, workflows.ConfirmationSignal{By: "ana", Reason: "mine"})
		update(env, "stranger", 3*time.Minute, workflows.ConfirmationSignal{By: "pedro", Reason: "ok"})
		update(env, "good", 4*time.Minute, workflows.ConfirmationSignal{By: "maria", Reason: "reviewed"})
	})
	require.NoError(t, err)
	require.Equal(t, decision.Approved, res.DecisionState)
	require.Equal(t, "maria", res.Confirmation.By)

	require.ErrorContains(t, got["no-reason"].rejected, "reason required")
	for id, code := range map[string]string{"self": confirmation.RefusedSelfApproval, "stranger": confirmation.RefusedNotApprover} {
		require.NoError(t, got[id].rejected, id)
		var appErr *temporal.ApplicationError
		require.ErrorAs(t, got[id].failed, &appErr, id)
		require.Equal(t, code, appErr.Type(), id)
	}
	require.NoError(t, got["good"].failed)
	require.Equal(t, "accepted", got["good"].result)
	require.Len(t, s.refused, 2, "the validator's refusal is not in the history; the two others are audited")
	for _, r := range s.refused {
		require.Equal(t, "update", r.Via)
	}
}
