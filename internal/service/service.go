// Package service holds what a front end does against Temporal and
// Postgres (submit, answer, read), so that every front end (today the CLI)
// shares one implementation.
package service

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/internal/bounds"
	"github.com/contextualflux/cfa/internal/composite"
	"github.com/contextualflux/cfa/internal/intent"
	"github.com/contextualflux/cfa/internal/partialexecution"
	"github.com/contextualflux/cfa/internal/planner"
	"github.com/contextualflux/cfa/internal/policy"
	"github.com/contextualflux/cfa/internal/signature"
	"github.com/contextualflux/cfa/workflows"
)

// ErrNotWaiting says a signal found no pending escalation to answer.
var ErrNotWaiting = errors.New("intent is not waiting for confirmation")

// ErrUnknownIntent says no workflow has that intent id.
var ErrUnknownIntent = errors.New("unknown intent")

// Service is the shared front-end logic.
type Service struct {
	Temporal client.Client
	Store    *db.Store // may be nil for commands that need only Temporal
}

// SubmitRequest is one intent to start.
type SubmitRequest struct {
	Text                     string
	Signature                *signature.Signature
	IntentID                 string // optional; generated when empty
	CorrelationID            string
	SubmittedBy              string
	EscalationTimeoutSeconds int
	// DryRun stops after static validation (step 10).
	DryRun bool
	// CostCeilingDBU overrides cost_ceiling_dbu; 0 keeps the whitepaper's 50.
	CostCeilingDBU float64
	// Plan is a plan from an external planner (docs/adr/0075).
	Plan *planner.ExecutionPlan
	// AsOf resolves relative windows against this date (YYYY-MM-DD).
	AsOf string
	// PartialFailureMode is partial_failure_policy.mode; empty is
	// selective_quarantine.
	PartialFailureMode string
	// OnConflict is queue (default) or reject.
	OnConflict string
	// UnitRetryBaseSeconds is the unit retry backoff base; 0 is 30 s.
	UnitRetryBaseSeconds int
	// ReplanMode is auto (default) or propose.
	ReplanMode string
}

// NewIntentID returns a fresh, time-ordered intent id.
func NewIntentID() string {
	id, err := uuid.NewV7()
	if err != nil {
		id = uuid.New()
	}
	return "intent-" + id.String()
}

// Submit starts an IntentWorkflow whose workflow id is the intent id.
func (s *Service) Submit(ctx context.Context, req SubmitRequest) (string, error) {
	if err := req.Validate(); err != nil {
		return "", err
	}
	id := req.IntentID

	if id == "" {
		id = NewIntentID()
	}
	corr := req.CorrelationID
	if corr == "" {
		corr = "session_" + strings.ReplaceAll(uuid.NewString(), "-", "")[:12]
	}
	in := workflows.IntentInput{
		Text: strings.TrimSpace(req.Text), Signature: req.Signature, CorrelationID: corr,
		SubmittedBy: req.SubmittedBy, EscalationTimeoutSeconds: req.EscalationTimeoutSeconds,
		DryRun: req.DryRun, CostCeilingDBU: req.CostCeilingDBU, Plan: req.Plan, AsOf: req.AsOf,
		PartialFailureMode: req.PartialFailureMode, OnConflict: req.OnConflict, UnitRetryBaseSeconds: req.UnitRetryBaseSeconds,
		ReplanMode: req.ReplanMode,
	}
	return id, s.start(ctx, id, workflows.IntentWorkflowName, in)
}

// SubmitNextCycle starts the next cycle of an intent decided replanned in
// replan_mode propose: its proposed signature, with the options of the
// cycle it came from and the same correlation id. newID may be empty.
func (s *Service) SubmitNextCycle(ctx context.Context, intentID, newID, submittedBy string) (string, error) {
	st, err := s.Status(ctx, intentID)
	if err != nil {
		return "", err
	}
	if st.Result == nil || st.Result.NextCycle == nil {
		return "", fmt.Errorf("submit --from-proposal: intent %s proposed no next cycle; only an intent decided replanned with --replan-mode propose has one", intentID)
	}
	in := *st.Result.NextCycle
	if submittedBy != "" {
		in.SubmittedBy = submittedBy
	}
	id := newID
	if id == "" {
		id = NewIntentID()
	}
	return id, s.start(ctx, id, workflows.IntentWorkflowName, in)
}

// CompositeRequest is one composite intent (whitepaper 5.4) to start.
type CompositeRequest struct {
	Graph                    composite.IntentGraph
	IntentID                 string // optional; generated when empty
	CorrelationID            string
	SubmittedBy              string
	EscalationTimeoutSeconds int
	DryRun                   bool
	CostCeilingDBU           float64
}

// SubmitComposite validates the graph and starts a CompositeIntentWorkflow;
// its sub-intents run as child workflows named <id>.<sub_intent>.
func (s *Service) SubmitComposite(ctx context.Context, req CompositeRequest) (string, error) {
	if err := req.Graph.Validate(); err != nil {
		return "", fmt.Errorf("submit composite intent: %w", err)
	}
	single := SubmitRequest{Text: "graph", EscalationTimeoutSeconds: req.EscalationTimeoutSeconds, CostCeilingDBU: req.CostCeilingDBU}
	if err := single.Validate(); err != nil {
		return "", err
	}
	id := req.IntentID
	if id == "" {
		id = strings.Replace(NewIntentID(), "intent-", "composite-", 1)
	}
	corr := req.CorrelationID
	if corr == "" {
		corr = id
	}
	in := workflows.CompositeInput{
		Graph: req.Graph, CorrelationID: corr, SubmittedBy: req.SubmittedBy,
		EscalationTimeoutSeconds: req.EscalationTimeoutSeconds, DryRun: req.DryRun, CostCeilingDBU: req.CostCeilingDBU,
	}
	return id, s.start(ctx, id, workflows.CompositeIntentWorkflowName, in)
}

func (s *Service) start(ctx context.Context, id, workflowName string, in any) error {
	_, err := s.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: id, TaskQueue: workflows.TaskQueue,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
	}, workflowName, in)
	if err != nil {
		var already *serviceerror.WorkflowExecutionAlreadyStarted
		if errors.As(err, &already) {
			return fmt.Errorf("submit: intent id %q is already used; pick another --id", id)
		}
		return fmt.Errorf("submit intent: %w", err)
	}
	return nil
}

// Confirm sends the approve or reject signal to a pending escalation. A
// finished, unknown or not-waiting intent is left untouched and reported.
func (s *Service) Confirm(ctx context.Context, intentID, signalName, by, reason string) error {
	if strings.TrimSpace(by) == "" || strings.TrimSpace(reason) == "" {
		return fmt.Errorf("%s %s: --by and --reason are required: the audit trail records who confirmed and why", signalName, intentID)
	}
	pending, err := s.Pending(ctx, intentID)
	if err != nil {
		return err
	}
	if pending == nil {
		return fmt.Errorf("%s %s: %w; nothing was sent (see `status %s`)", signalName, intentID, ErrNotWaiting, intentID)
	}
	err = s.Temporal.SignalWorkflow(ctx, intentID, "", signalName, workflows.ConfirmationSignal{By: by, Reason: reason})
	if err != nil {
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			return fmt.Errorf("%s %s: the intent finished meanwhile or is unknown; nothing was sent", signalName, intentID)
		}
		return fmt.Errorf("%s %s: %w", signalName, intentID, err)
	}
	return nil
}

// Pending returns the intent's pending escalation, nil when there is none.
func (s *Service) Pending(ctx context.Context, intentID string) (*workflows.PendingEscalation, error) {
	st, err := s.Status(ctx, intentID)
	if err != nil {
		return nil, err
	}
	return st.Pending, nil
}

// Status returns the live status of a running intent, or the final one.
func (s *Service) Status(ctx context.Context, intentID string) (workflows.Status, error) {
	var st workflows.Status
	desc, err := s.Temporal.DescribeWorkflowExecution(ctx, intentID, "")
	if err != nil {
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			return st, fmt.Errorf("%w %q: no workflow has that id; `list` shows recent intents", ErrUnknownIntent, intentID)
		}
		return st, fmt.Errorf("describe intent %s: %w", intentID, err)
	}
	info := desc.GetWorkflowExecutionInfo()
	running := info.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
	// A finished intent still answers the query (a worker replays its
	// history, which takes well under a second); with no worker the query
	// would wait for its timeout, so a finished one gets a short deadline.
	qctx := ctx
	if !running {
		var cancel context.CancelFunc
		qctx, cancel = context.WithTimeout(ctx, finishedQueryTimeout)
		defer cancel()
	}
	v, err := s.Temporal.QueryWorkflow(qctx, intentID, "", workflows.QueryStatus)
	if err == nil {
		err = v.Get(&st)
	}
	if err == nil {
		return st, nil
	}
	if running {
		return st, fmt.Errorf("query status of running intent %s: %w", intentID, err)
	}
	// Finished and no worker to replay it: the result is in the history,
	// which needs no worker to read.
	st = workflows.Status{IntentID: intentID, Stage: strings.ToLower(info.GetStatus().String())}
	if info.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED {
		var res workflows.IntentResult
		if err := s.Temporal.GetWorkflow(ctx, intentID, "").Get(ctx, &res); err == nil && res.IntentID != "" {
			st.Stage, st.Result = workflows.StageCompleted, &res
			if res.Execution != nil {
				st.Units = res.Execution.Units
			}
		}
	}
	return st, nil
}

// finishedQueryTimeout bounds the status query of a finished intent: with
// no worker to replay it, its result is read from the history instead.
const finishedQueryTimeout = 2 * time.Second

// Wait follows an intent until it completes, calling onStage once per newly
// completed stage. It polls the status query; poll is its interval.
func (s *Service) Wait(ctx context.Context, intentID string, poll time.Duration, onStage func(workflows.StageReport), onPending func(workflows.PendingEscalation)) (workflows.IntentResult, error) {
	var res workflows.IntentResult
	err := s.follow(ctx, intentID, poll, onStage, onPending, &res)
	return res, err
}

// WaitComposite is Wait for a composite intent.
func (s *Service) WaitComposite(ctx context.Context, intentID string, poll time.Duration, onStage func(workflows.StageReport)) (workflows.CompositeResult, error) {
	var res workflows.CompositeResult
	err := s.follow(ctx, intentID, poll, onStage, nil, &res)
	return res, err
}

func (s *Service) follow(ctx context.Context, intentID string, poll time.Duration, onStage func(workflows.StageReport), onPending func(workflows.PendingEscalation), res any) error {
	seen := 0
	// An intent may ask twice (semantic escalation, then the pre-cost's
	// human escalation): each new question is reported once.
	var lastPending time.Time
	run := s.Temporal.GetWorkflow(ctx, intentID, "")
	done := make(chan error, 1)
	go func() { done <- run.Get(ctx, res) }()
	t := time.NewTicker(poll)
	defer t.Stop()
	report := func() {
		st, err := s.Status(ctx, intentID)
		if err != nil {
			return
		}
		for ; seen < len(st.Stages); seen++ {
			if onStage != nil {
				onStage(st.Stages[seen])
			}
		}
		if st.Pending != nil && !st.Pending.Deadline.Equal(lastPending) && onPending != nil {
			lastPending = st.Pending.Deadline
			onPending(*st.Pending)
		}
	}
	for {
		select {
		case err := <-done:
			report()
			if err != nil {
				return fmt.Errorf("intent %s failed: %w", intentID, err)
			}
			return nil
		case <-t.C:
			report()
		case <-ctx.Done():
			return fmt.Errorf("stopped following intent %s (it goes on running): %w", intentID, ctx.Err())
		}
	}
}

// Validate checks a request before anything is sent.
func (req SubmitRequest) Validate() error {
	if strings.TrimSpace(req.Text) == "" && req.Signature == nil {
		return errors.New("submit: give the intent as text or a signature file (-f FILE, or -f - for standard input)")
	}
	if req.Text != "" && req.Signature != nil {
		return errors.New("submit: give either text or -f, not both")
	}
	if req.EscalationTimeoutSeconds < 0 {
		return fmt.Errorf("submit: --escalation-timeout must be positive, got %ds", req.EscalationTimeoutSeconds)
	}
	if req.AsOf != "" {
		if _, err := time.Parse("2006-01-02", req.AsOf); err != nil {
			return fmt.Errorf("submit: --as-of must be a date YYYY-MM-DD, got %q", req.AsOf)
		}
	}
	if req.PartialFailureMode != "" && !slices.Contains(partialexecution.Modes, partialexecution.Mode(req.PartialFailureMode)) {
		return fmt.Errorf("submit: --partial-failure-mode must be one of %v, got %q", partialexecution.Modes, req.PartialFailureMode)
	}
	if req.OnConflict != "" && req.OnConflict != db.OnConflictQueue && req.OnConflict != db.OnConflictReject {
		return fmt.Errorf("submit: --on-conflict must be queue or reject, got %q", req.OnConflict)
	}
	if req.ReplanMode != "" && !slices.Contains(policy.ReplanModes, req.ReplanMode) {
		return fmt.Errorf("submit: --replan-mode must be one of %v, got %q", policy.ReplanModes, req.ReplanMode)
	}
	if req.UnitRetryBaseSeconds < 0 {
		return fmt.Errorf("submit: --unit-retry-base must be positive, got %ds", req.UnitRetryBaseSeconds)
	}
	if req.CostCeilingDBU < 0 || math.IsNaN(req.CostCeilingDBU) || math.IsInf(req.CostCeilingDBU, 0) {
		return fmt.Errorf("submit: --cost-ceiling must be a positive number of DBU (0 keeps the default 50), got %v", req.CostCeilingDBU)
	}
	// The upper bounds and date ranges (internal/bounds). The signature and
	// a supplied plan are not refused here: the workflow blocks them with
	// an audited fault naming the field.
	opts := intent.Request{AsOf: req.AsOf, EscalationTimeoutSeconds: req.EscalationTimeoutSeconds,
		UnitRetryBaseSeconds: req.UnitRetryBaseSeconds, CostCeilingDBU: req.CostCeilingDBU}
	if err := bounds.Options(opts); err != nil {
		return fmt.Errorf("submit: %w", err)
	}
	return nil
}

// WorkerPolling reports whether any worker polls the intents task queue, so
// a front end can say why an intent does not move.
func (s *Service) WorkerPolling(ctx context.Context) (bool, error) {
	resp, err := s.Temporal.DescribeTaskQueue(ctx, workflows.TaskQueue, enumspb.TASK_QUEUE_TYPE_WORKFLOW)
	if err != nil {
		return false, fmt.Errorf("describe task queue %s: %w", workflows.TaskQueue, err)
	}
	return len(resp.GetPollers()) > 0, nil
}

// Running reports whether the intent's workflow is still running (its
// latest run). An intent Temporal no longer knows is not running.
func (s *Service) Running(ctx context.Context, intentID string) (bool, error) {
	desc, err := s.Temporal.DescribeWorkflowExecution(ctx, intentID, "")
	var nf *serviceerror.NotFound
	switch {
	case errors.As(err, &nf):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("describe intent %s: %w", intentID, err)
	}
	return desc.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, nil
}
