package telemetry

import (
	"context"
	"errors"
	"time"

	"go.opentelemetry.io/otel/trace"
	"go.temporal.io/sdk/activity"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/contextualflux/cfa/activities"
	"github.com/contextualflux/cfa/internal/intent"
	"github.com/contextualflux/cfa/internal/metrics"
	"github.com/contextualflux/cfa/internal/policy"
	"github.com/contextualflux/cfa/workflows"
)

// StageOther is the stage label of an activity ActivityStages does not
// list (an extension's own).
const StageOther = "other"

// ActivityStages is the stage of whitepaper section 7 each activity runs
// (activity type name → stage): the stage label of
// cfa_stage_duration_seconds and the cfa.stage attribute of its span.
var ActivityStages = map[string]string{
	"Receive":            intent.StageReceived,
	"ReceiveComposite":   intent.StageReceived,
	"ConsultRegistry":    intent.StageRegistry,
	"Normalize":          intent.StageNormalizer,
	"CheckScope":         intent.StageLock,
	"AcquireScope":       intent.StageLock,
	"ReleaseScope":       intent.StageLock,
	"OpenEscalation":     intent.StageConfirmation,
	"RefuseConfirmation": intent.StageConfirmation,
	"CloseEscalation":    intent.StageConfirmation,
	"NotifyGovernance":   intent.StageConfirmation,
	// Soft mode and a chosen interpretation (ADRs 0134, 0135).
	"ConfirmSoft":          intent.StageConfirmation,
	"ChooseInterpretation": intent.StageConfirmation,
	// Scheduled runs (ADR 0124, 0125).
	"StandingApproval":          intent.StageConfirmation,
	"RecordStandingApproval":    intent.StageConfirmation,
	"BindSchedule":              intent.StageDecision,
	"PauseSchedulesOfSkill":     intent.StagePromotion,
	"Sign":                      intent.StageSignature,
	"Govern":                    intent.StagePolicyEngine,
	"EstimatePreCost":           intent.StagePreCost,
	"ReplanForCost":             intent.StagePreCost,
	"PlanExecution":             intent.StagePlanner,
	"GenerateCode":              intent.StageCodeGen,
	"ValidateStatic":            intent.StageStatic,
	"Revalidate":                intent.StageRevalidation,
	"PrepareExecution":          intent.StageExecution,
	"ExecuteUnit":               intent.StageExecution,
	"ExecuteRead":               intent.StageExecution,
	"ApplyPartialFailurePolicy": intent.StagePartial,
	"PanicRollback":             intent.StagePartial,
	"Project":                   intent.StageProjection,
	"RecordProjection":          intent.StageProjection,
	"MarkProjectionFailed":      intent.StageProjection,
	"PublishDataset":            intent.StageProjection,
	"Decide":                    intent.StageDecision,
	"CheckIntentGraph":          intent.StageComposite,
	"RecordSubIntent":           intent.StageComposite,
	"StartSweep":                intent.StageTTL,
	"SweepTTL":                  intent.StageTTL,
	"RecordSweep":               intent.StageTTL,
	"CompleteSweep":             intent.StageTTL,
}

// StageOf is the stage an activity runs.
func StageOf(activityName string) string {
	if s, ok := ActivityStages[activityName]; ok {
		return s
	}
	return StageOther
}

// NewWorkerInterceptor is the worker interceptor of the governed flow, for
// worker.Options.Interceptors (after the client's tracing interceptor, so
// the spans it annotates exist): every activity attempt is timed into
// cfa_stage_duration_seconds and its span gets the intent, the stage and
// the activity; the outcomes of the stages that decide, escalate, replan,
// run a unit or project are counted in m (nil: no metrics). The workflow's
// span gets the intent and, once decided, the decision.
func NewWorkerInterceptor(m *metrics.Metrics) interceptor.WorkerInterceptor {
	return &workerInterceptor{m: m}
}

type workerInterceptor struct {
	interceptor.WorkerInterceptorBase
	m *metrics.Metrics
}

func (w *workerInterceptor) InterceptActivity(ctx context.Context, next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	i := &activityInbound{m: w.m}
	i.Next = next
	return i
}

func (w *workerInterceptor) InterceptWorkflow(ctx workflow.Context, next interceptor.WorkflowInboundInterceptor) interceptor.WorkflowInboundInterceptor {
	i := &workflowInbound{}
	i.Next = next
	return i
}

type activityInbound struct {
	interceptor.ActivityInboundInterceptorBase
	m *metrics.Metrics
}

func (a *activityInbound) ExecuteActivity(ctx context.Context, in *interceptor.ExecuteActivityInput) (any, error) {
	info := activity.GetInfo(ctx)
	name := info.ActivityType.Name
	stage := StageOf(name)
	span := trace.SpanFromContext(ctx)
	span.SetAttributes(AttrIntentID.String(intentID(in.Args, info.WorkflowExecution.ID)), AttrStage.String(stage), AttrActivity.String(name))
	start := time.Now()
	res, err := a.Next.ExecuteActivity(ctx, in)
	took := time.Since(start)
	a.m.StageTook(stage, name, err, took)
	observe(ctx, a.m, span, name, in.Args, res, err, took)
	return res, err
}

// intentID is the intent an activity works for: its Step's, its input's,
// or its workflow's id (which is the intent id).
func intentID(args []any, workflowID string) string {
	for _, a := range args {
		switch x := a.(type) {
		case activities.Step:
			return x.IntentID
		case activities.UnitInput:
			return x.IntentID
		case activities.ProjectInput:
			return x.IntentID
		}
	}
	return workflowID
}

func arg[T any](args []any) (T, bool) {
	for _, a := range args {
		if x, ok := a.(T); ok {
			return x, true
		}
	}
	var zero T
	return zero, false
}

// observe counts what the activities that decide, escalate, replan, run a
// unit or project did; an attempt that failed counts only for a unit and
// a projection (its retry counts the rest).
func observe(ctx context.Context, m *metrics.Metrics, span trace.Span, name string, args []any, res any, err error, took time.Duration) {
	switch name {
	case "ExecuteUnit":
		outcome, attempt := unitOutcome(ctx, res, err)
		m.UnitRan(outcome, attempt)
		return
	case "Project":
		m.ProjectionTook(err, took)
		return
	}
	if err != nil {
		return
	}
	switch out := res.(type) {
	case activities.Decided:
		state := string(out.Decision.State)
		span.SetAttributes(AttrDecisionState.String(state))
		m.IntentDecided(state)
	case activities.Escalation:
		if in, ok := arg[activities.EscalationInput](args); ok {
			m.EscalationOpened(string(in.Question.Mode))
		}
	case activities.Answered:
		st, _ := arg[activities.Step](args)
		if ans, ok := arg[activities.Answer](args); ok {
			opened := ans.Deadline.Add(-ans.Timeout)
			m.EscalationClosed(ans.Outcome, st.At.Sub(opened))
		}
	case activities.Governed:
		if name == "ReplanForCost" {
			m.Replanned(metrics.ReplanPreCost, 1)
		}
		n := 0
		for _, at := range out.Attempts {
			if at.Outcome == string(policy.Replan) {
				n++
			}
		}
		m.Replanned(metrics.ReplanPolicy, n)
	case activities.Revalidated:
		if out.Stale {
			m.Replanned(metrics.ReplanStaleEnvironment, 1)
		}
	case activities.StandingChecked:
		if out.Found {
			m.StandingApprovalUsed()
		}
	}
}

// unitOutcome reads how a unit's attempt ended, as activities.ReadUnit
// does for the workflow, and the unit's own attempt number.
func unitOutcome(ctx context.Context, res any, err error) (string, int) {
	attempt := int(activity.GetInfo(ctx).Attempt)
	if err == nil {
		if out, ok := res.(activities.UnitOutcome); ok && out.Report.Attempt > 0 {
			attempt = out.Report.Attempt
		}
		return metrics.UnitPassed, attempt
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		if appErr.Type() == activities.ErrEnvironmental {
			return metrics.UnitEnvironmental, attempt
		}
		var failed activities.UnitOutcome
		if appErr.HasDetails() && appErr.Details(&failed) == nil {
			if _, ok := failed.Report.Primary(); ok {
				if failed.Report.Attempt > 0 {
					attempt = failed.Report.Attempt
				}
				return metrics.UnitRuntimeFault, attempt
			}
		}
	}
	var canceled *temporal.CanceledError
	if errors.As(err, &canceled) || errors.Is(err, context.Canceled) || ctx.Err() != nil {
		return metrics.UnitCancelled, attempt
	}
	return metrics.UnitFailed, attempt
}

type workflowInbound struct {
	interceptor.WorkflowInboundInterceptorBase
}

// ExecuteWorkflow names the intent on the workflow's span and, once it is
// decided, the decision. Attributes only: nothing here is a command, so
// replay is unaffected.
func (w *workflowInbound) ExecuteWorkflow(ctx workflow.Context, in *interceptor.ExecuteWorkflowInput) (any, error) {
	span, traced := temporalotel.SpanFromWorkflowContext(ctx)
	if traced {
		info := workflow.GetInfo(ctx)
		span.SetAttributes(AttrIntentID.String(info.WorkflowExecution.ID), AttrWorkflow.String(info.WorkflowType.Name))
	}
	res, err := w.Next.ExecuteWorkflow(ctx, in)
	if traced {
		if state := decisionOf(res); state != "" {
			span.SetAttributes(AttrDecisionState.String(state))
		}
	}
	return res, err
}

func decisionOf(res any) string {
	switch r := res.(type) {
	case workflows.IntentResult:
		return string(r.DecisionState)
	case *workflows.IntentResult:
		return string(r.DecisionState)
	case workflows.CompositeResult:
		return string(r.DecisionState)
	case *workflows.CompositeResult:
		return string(r.DecisionState)
	}
	return ""
}
