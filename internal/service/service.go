// Package service holds what a front end does against Temporal and
// Postgres (submit, answer, read), so that every front end (today the CLI)
// shares one implementation.
package service

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/internal/bounds"
	"github.com/contextualflux/cfa/internal/composite"
	"github.com/contextualflux/cfa/internal/confirmation"
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

// ErrNoWorker says no worker polls the intents task queue: an intent there
// does not move, and a query to it is not answered, until one starts.
var ErrNoWorker = errors.New("no worker polls task queue " + workflows.TaskQueue)

// InputError is a request refused before anything is sent: the caller
// corrects its input and sends it again.
type InputError struct{ Err error }

func (e *InputError) Error() string { return e.Err.Error() }
func (e *InputError) Unwrap() error { return e.Err }

// invalid marks err as the caller's input to correct.
func invalid(err error) error { return &InputError{Err: err} }

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
	// RowLimit is the most rows a read returns; 0 is 1000 (docs/adr/0132).
	RowLimit int
	// SubmitterType and SubmitterAuthContext complete the submitter's
	// principal when the API authenticated it.
	SubmitterType        string
	SubmitterAuthContext string
	// IdempotencyKey makes a retried submission start one intent (the
	// intent id is derived from it and the submitter when IntentID is
	// empty); a key reused for another request is refused.
	IdempotencyKey string
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
	out, err := s.SubmitIntent(ctx, req)
	return out.IntentID, err
}

// Submitted is a started (or, idempotently, found) intent.
type Submitted struct {
	IntentID, CorrelationID string
}

// SubmitIntent is Submit with the correlation id it used. With an
// idempotency key that started an intent before, it returns that intent
// and ErrAlreadySubmitted.
func (s *Service) SubmitIntent(ctx context.Context, req SubmitRequest) (Submitted, error) {
	if err := req.Validate(); err != nil {
		return Submitted{}, err
	}
	id := req.IntentID
	if id == "" {
		id = idempotentID("intent-", req.SubmittedBy, req.IdempotencyKey)
	}
	corr := req.CorrelationID
	if corr == "" {
		corr = "session_" + strings.ReplaceAll(uuid.NewString(), "-", "")[:12]
		if req.IdempotencyKey != "" {
			corr = "session_" + strings.ReplaceAll(strings.TrimPrefix(id, "intent-"), "-", "")[:12]
		}
	}
	in := workflows.IntentInput{
		Text: strings.TrimSpace(req.Text), Signature: req.Signature, CorrelationID: corr,
		SubmittedBy: req.SubmittedBy, SubmitterType: req.SubmitterType, SubmitterAuthContext: req.SubmitterAuthContext,
		EscalationTimeoutSeconds: req.EscalationTimeoutSeconds,
		DryRun:                   req.DryRun, CostCeilingDBU: req.CostCeilingDBU, Plan: req.Plan, AsOf: req.AsOf,
		PartialFailureMode: req.PartialFailureMode, OnConflict: req.OnConflict, UnitRetryBaseSeconds: req.UnitRetryBaseSeconds,
		ReplanMode: req.ReplanMode, RowLimit: req.RowLimit,
	}
	return Submitted{IntentID: id, CorrelationID: corr}, s.start(ctx, id, workflows.IntentWorkflowName, in, req.IdempotencyKey)
}

// SubmitNextCycle starts the next cycle of an intent decided replanned in
// replan_mode propose: its proposed signature, with the options of the
// cycle it came from and the same correlation id. newID may be empty.
func (s *Service) SubmitNextCycle(ctx context.Context, intentID, newID, submittedBy string) (string, error) {
	return s.SubmitNextCycleAs(ctx, intentID, newID, Caller{ID: submittedBy}, "")
}

// Caller is who asks, as the API authenticated it (ID alone: a CLI user).
type Caller struct {
	ID, Type, AuthContext string
}

// SubmitNextCycleAs is SubmitNextCycle by an authenticated caller, with an
// optional idempotency key.
func (s *Service) SubmitNextCycleAs(ctx context.Context, intentID, newID string, by Caller, idempotencyKey string) (string, error) {
	st, err := s.Status(ctx, intentID)
	if err != nil {
		return "", err
	}
	if st.Result == nil || st.Result.NextCycle == nil {
		return "", invalid(fmt.Errorf("submit --from-proposal: intent %s proposed no next cycle; only an intent decided replanned with --replan-mode propose has one", intentID))
	}
	in := *st.Result.NextCycle
	if by.ID != "" {
		in.SubmittedBy, in.SubmitterType, in.SubmitterAuthContext = by.ID, by.Type, by.AuthContext
	}
	id := newID
	if id == "" {
		id = idempotentID("intent-", by.ID, idempotencyKey)
	}
	return id, s.start(ctx, id, workflows.IntentWorkflowName, in, idempotencyKey)
}

// CompositeRequest is one composite intent (whitepaper 5.4) to start.
type CompositeRequest struct {
	Graph                    composite.IntentGraph
	IntentID                 string // optional; generated when empty
	CorrelationID            string
	SubmittedBy              string
	SubmitterType            string
	SubmitterAuthContext     string
	IdempotencyKey           string
	EscalationTimeoutSeconds int
	DryRun                   bool
	CostCeilingDBU           float64
}

// SubmitComposite validates the graph and starts a CompositeIntentWorkflow;
// its sub-intents run as child workflows named <id>.<sub_intent>.
func (s *Service) SubmitComposite(ctx context.Context, req CompositeRequest) (string, error) {
	if err := req.Graph.Validate(); err != nil {
		return "", invalid(fmt.Errorf("submit composite intent: %w", err))
	}
	single := SubmitRequest{Text: "graph", EscalationTimeoutSeconds: req.EscalationTimeoutSeconds, CostCeilingDBU: req.CostCeilingDBU}
	if err := single.Validate(); err != nil {
		return "", err
	}
	id := req.IntentID
	if id == "" {
		id = idempotentID("composite-", req.SubmittedBy, req.IdempotencyKey)
	}
	corr := req.CorrelationID
	if corr == "" {
		corr = id
	}
	in := workflows.CompositeInput{
		Graph: req.Graph, CorrelationID: corr, SubmittedBy: req.SubmittedBy,
		SubmitterType: req.SubmitterType, SubmitterAuthContext: req.SubmitterAuthContext,
		EscalationTimeoutSeconds: req.EscalationTimeoutSeconds, DryRun: req.DryRun, CostCeilingDBU: req.CostCeilingDBU,
	}
	return id, s.start(ctx, id, workflows.CompositeIntentWorkflowName, in, req.IdempotencyKey)
}

// ErrAlreadySubmitted says an idempotent submission found the intent its
// key started earlier, with the same request: nothing new was started.
// Submit returns it with the intent's id.
var ErrAlreadySubmitted = errors.New("already submitted with this idempotency key")

// ErrIdempotencyConflict says an idempotency key was used before for a
// different request.
var ErrIdempotencyConflict = errors.New("idempotency key already used for a different request")

// memoRequest is the memo field holding the hash of an idempotent
// request, compared when the key comes again.
const memoRequest = "cfa_request_sha256"

// idempotentID is a fresh intent id, or, with a key, the id the key and
// its submitter always give (a UUIDv5), so a retry finds its intent.
func idempotentID(prefix, submitter, key string) string {
	if key == "" {
		return strings.Replace(NewIntentID(), "intent-", prefix, 1)
	}
	return prefix + uuid.NewSHA1(idempotencyNamespace, []byte(submitter+"\x00"+key)).String()
}

var idempotencyNamespace = uuid.MustParse("6f1c1c55-7c43-4b8a-9d0e-0c7f3e2a9b10")

func (s *Service) start(ctx context.Context, id, workflowName string, in any, idempotencyKey string) error {
	summary, details := describe(in)
	var memo map[string]any
	var reqHash string
	if idempotencyKey != "" {
		b, err := json.Marshal(requestOf(in))
		if err != nil {
			return fmt.Errorf("submit intent: encode request: %w", err)
		}
		sum := sha256.Sum256(b)
		reqHash = hex.EncodeToString(sum[:])
		memo = map[string]any{memoRequest: reqHash}
	}
	opts := client.StartWorkflowOptions{
		ID: id, TaskQueue: workflows.TaskQueue, Memo: memo,
		// What the Web UI shows for the intent without opening its input.
		StaticSummary: summary, StaticDetails: details,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		// Without it the SDK returns a running intent of that id as if it
		// had started it.
		WorkflowExecutionErrorWhenAlreadyStarted: true,
	}
	if by := submitterOf(in); by != "" {
		opts.TypedSearchAttributes = temporal.NewSearchAttributes(workflows.AttrSubmittedBy.ValueSet(by))
	}
	ctx, span, in := traced(ctx, id, workflowName, in)
	defer span.End()
	_, err := s.Temporal.ExecuteWorkflow(ctx, opts, workflowName, in)
	if err != nil {
		var already *serviceerror.WorkflowExecutionAlreadyStarted
		if errors.As(err, &already) {
			if idempotencyKey != "" {
				return s.sameRequest(ctx, id, reqHash)
			}
			return invalid(fmt.Errorf("submit: intent id %q is already used; pick another --id", id))
		}
		return fmt.Errorf("submit intent: %w", err)
	}
	return nil
}

// sameRequest tells a retried idempotent submission (ErrAlreadySubmitted)
// from a key reused for another request (ErrIdempotencyConflict).
func (s *Service) sameRequest(ctx context.Context, id, reqHash string) error {
	desc, err := s.Temporal.DescribeWorkflowExecution(ctx, id, "")
	if err != nil {
		return fmt.Errorf("submit: read intent %s started with this idempotency key: %w", id, err)
	}
	var got string
	if f := desc.GetWorkflowExecutionInfo().GetMemo().GetFields()[memoRequest]; f != nil {
		_ = converter.GetDefaultDataConverter().FromPayload(f, &got)
	}
	if got != reqHash {
		return invalid(fmt.Errorf("submit: %w: intent %s was started with it; use a new key for a new request", ErrIdempotencyConflict, id))
	}
	return ErrAlreadySubmitted
}

// requestOf is what an idempotency key stands for: the request without how
// its submitter authenticated (a rotated token, or a JWT instead of a
// token, is still the same submitter asking the same thing).
func requestOf(in any) any {
	switch x := in.(type) {
	case workflows.IntentInput:
		x.SubmitterType, x.SubmitterAuthContext, x.TraceID = "", "", ""
		return x
	case workflows.CompositeInput:
		x.SubmitterType, x.SubmitterAuthContext, x.TraceID = "", "", ""
		return x
	}
	return in
}

func submitterOf(in any) string {
	switch x := in.(type) {
	case workflows.IntentInput:
		return x.SubmittedBy
	case workflows.CompositeInput:
		return x.SubmittedBy
	}
	return ""
}

// Confirm sends the approve or reject signal to a pending escalation. A
// finished, unknown or not-waiting intent is left untouched and reported.
func (s *Service) Confirm(ctx context.Context, intentID, signalName, by, reason string) error {
	return s.ConfirmAs(ctx, intentID, signalName, Caller{ID: by, AuthContext: "cli"}, reason)
}

// ConfirmAs is Confirm by a caller the API authenticated: the answer's
// receipt carries its principal type and auth context.
func (s *Service) ConfirmAs(ctx context.Context, intentID, signalName string, caller Caller, reason string) error {
	return s.ConfirmWith(ctx, intentID, signalName, caller, reason, Standing{})
}

// Standing asks that an approval of a scheduled run stand for the
// schedule's later runs, for For (a Go duration, "" for the default):
// docs/adr/0125.
type Standing struct {
	Standing bool
	For      string
}

// ConfirmWith is ConfirmAs with a standing approval: the workflow refuses
// it for an intent no schedule started, or with a rejection.
func (s *Service) ConfirmWith(ctx context.Context, intentID, signalName string, caller Caller, reason string, standing Standing) error {
	return s.Answer(ctx, intentID, signalName, caller, reason, AnswerOptions{Standing: standing})
}

// AnswerOptions are what an answer may say beyond who and why.
type AnswerOptions struct {
	// Standing gives an approval of a scheduled run for its later runs.
	Standing Standing
	// Interpretation chooses, with an approval, one of the pending
	// escalation's competing interpretations by name (docs/adr/0135).
	Interpretation string
}

// Answer answers an intent's pending escalation (approve or reject) as
// caller. What can be checked here is, before anything is sent: the
// answer's shape, its standing, and an interpretation chosen, which must
// be one of the pending escalation's competing interpretations (an
// *InputError listing them). The workflow checks everything again.
func (s *Service) Answer(ctx context.Context, intentID, signalName string, caller Caller, reason string, options AnswerOptions) error {
	by, standing := caller.ID, options.Standing
	if strings.TrimSpace(by) == "" || strings.TrimSpace(reason) == "" {
		return invalid(fmt.Errorf("%s %s: --by and --reason are required: the audit trail records who confirmed and why", signalName, intentID))
	}
	ans := confirmation.Answer{By: by, Reason: reason, Standing: standing.Standing, StandingFor: standing.For, Interpretation: options.Interpretation}
	if err := ans.Validate(); err != nil {
		return invalid(fmt.Errorf("%s %s: %w", signalName, intentID, err))
	}
	if err := ans.CheckStanding(signalName, true); err != nil {
		return invalid(fmt.Errorf("%s %s: %w", signalName, intentID, err))
	}
	if err := ans.CheckInterpretation(signalName, []string{ans.Interpretation}); err != nil {
		return invalid(fmt.Errorf("%s %s: %w", signalName, intentID, err)) // with a rejection
	}
	pending, err := s.Pending(ctx, intentID)
	if err != nil {
		return err
	}
	if pending == nil {
		return fmt.Errorf("%s %s: %w; nothing was sent (see `status %s`)", signalName, intentID, ErrNotWaiting, intentID)
	}
	if err := CheckInterpretation(pending, signalName, ans.Interpretation); err != nil {
		return invalid(fmt.Errorf("%s %s: %w; nothing was sent", signalName, intentID, err))
	}
	// An Update, not a signal: the workflow checks the answer (its shape,
	// the bundle's approvers, separation of duties) and this call returns
	// its verdict. The Web UI and `temporal workflow signal` send the
	// signal of the same name, checked the same way (ADR 0115).
	// One Update id for every try: a retry after a lost reply gets the
	// first try's outcome, never a second answer.
	opts := client.UpdateWorkflowOptions{
		UpdateID: uuid.NewString(), WorkflowID: intentID, UpdateName: signalName, WaitForStage: client.WorkflowUpdateStageCompleted,
		Args: []any{workflows.ConfirmationSignal{By: by, Reason: reason, PrincipalType: caller.Type, AuthContext: caller.AuthContext,
			Standing: standing.Standing, StandingFor: standing.For, Interpretation: options.Interpretation}},
	}
	for try := 1; ; try++ {
		var h client.WorkflowUpdateHandle
		h, err = s.Temporal.UpdateWorkflow(ctx, opts)
		if err == nil {
			err = h.Get(ctx, nil)
		}
		var app *temporal.ApplicationError
		var nf *serviceerror.NotFound
		if err == nil || errors.As(err, &app) || errors.As(err, &nf) || try == 3 || ctx.Err() != nil {
			break
		}
		// The workflow task that held the Update failed (it is then not in
		// the history): send it again.
		time.Sleep(time.Duration(try) * 500 * time.Millisecond)
	}
	if err != nil {
		var nf *serviceerror.NotFound
		var app *temporal.ApplicationError
		switch {
		case errors.As(err, &nf):
			return fmt.Errorf("%s %s: the intent finished meanwhile or is unknown; nothing was recorded", signalName, intentID)
		case errors.As(err, &app) && app.Type() == confirmation.RefusedNoEscalation:
			return fmt.Errorf("%s %s: %w; nothing was recorded (see `status %s`)", signalName, intentID, ErrNotWaiting, intentID)
		case errors.As(err, &app):
			return &RefusedError{IntentID: intentID, Answer: signalName, Code: app.Type(), Reason: app.Message()}
		}
		return fmt.Errorf("%s %s: %w", signalName, intentID, err)
	}
	return nil
}

// CheckInterpretation says whether an answer may choose interpretation
// given the pending escalation: nil when it chooses none, or when it is an
// approval choosing one of the escalation's competing interpretations;
// otherwise a *confirmation.Refusal that names the ones it may choose.
func CheckInterpretation(pending *workflows.PendingEscalation, signalName, interpretation string) error {
	var offered []string
	if pending != nil {
		offered = pending.Interpretations
	}
	return confirmation.Answer{Interpretation: interpretation}.CheckInterpretation(signalName, offered)
}

// RefusedError is an answer the workflow refused: malformed, or from
// someone the policy bundle does not allow (ADR 0115). The escalation
// stays open; a refusal by the workflow (not its validator) is audited.
type RefusedError struct {
	IntentID, Answer, Code, Reason string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("%s %s refused (%s): %s", e.Answer, e.IntentID, e.Code, e.Reason)
}

// Unwrap lets errors.Is(err, confirmation.ErrRefused) match.
func (e *RefusedError) Unwrap() error { return confirmation.ErrRefused }

// Pending returns the intent's pending escalation, nil when there is none.
func (s *Service) Pending(ctx context.Context, intentID string) (*workflows.PendingEscalation, error) {
	st, err := s.Status(ctx, intentID)
	if err != nil {
		return nil, err
	}
	return st.Pending, nil
}

// Status returns the live status of a running intent, or the final one.
// A running intent with no worker to answer its query is ErrNoWorker, at
// once rather than at the query's timeout.
func (s *Service) Status(ctx context.Context, intentID string) (workflows.Status, error) {
	st, _, err := s.StatusDetail(ctx, intentID)
	return st, err
}

// StatusDetail is Status with Temporal's status of the intent's workflow,
// which tells a running intent from one that ended without a decision
// (failed, terminated, cancelled, timed out).
func (s *Service) StatusDetail(ctx context.Context, intentID string) (workflows.Status, enumspb.WorkflowExecutionStatus, error) {
	return s.status(ctx, intentID, true)
}

// StatusUnchecked is StatusDetail without asking the task queue for a
// worker first: for a caller that polls (a watch), which asked once.
func (s *Service) StatusUnchecked(ctx context.Context, intentID string) (workflows.Status, enumspb.WorkflowExecutionStatus, error) {
	return s.status(ctx, intentID, false)
}

// status reads an intent's status; checkWorker asks the task queue for
// pollers (one RPC) before querying a running intent.
func (s *Service) status(ctx context.Context, intentID string, checkWorker bool) (workflows.Status, enumspb.WorkflowExecutionStatus, error) {
	var st workflows.Status
	desc, err := s.Temporal.DescribeWorkflowExecution(ctx, intentID, "")
	if err != nil {
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			return st, 0, fmt.Errorf("%w %q: no workflow has that id; `list` shows recent intents", ErrUnknownIntent, intentID)
		}
		return st, 0, fmt.Errorf("describe intent %s: %w", intentID, err)
	}
	info := desc.GetWorkflowExecutionInfo()
	exec := info.GetStatus()
	running := exec == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
	if running && checkWorker {
		// Without a worker the query would fail only at the server's
		// timeout, with an RPC error that does not say why.
		if polling, err := s.WorkerPolling(ctx); err == nil && !polling {
			return st, exec, NoWorkerError(intentID)
		}
	}
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
		return st, exec, nil
	}
	if running {
		return st, exec, fmt.Errorf("query status of running intent %s: %w; the worker did not answer: its log says why", intentID, err)
	}
	// Finished and no worker to replay it: the result is in the history,
	// which needs no worker to read.
	st = workflows.Status{IntentID: intentID, Stage: strings.ToLower(exec.String())}
	if exec == enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED {
		var res workflows.IntentResult
		if err := s.Temporal.GetWorkflow(ctx, intentID, "").Get(ctx, &res); err == nil && res.IntentID != "" {
			st.Stage, st.Result = workflows.StageCompleted, &res
			if res.Execution != nil {
				st.Units = res.Execution.Units
			}
		}
	}
	return st, exec, nil
}

// NoWorkerError says intentID waits for a worker, and how to start one.
func NoWorkerError(intentID string) error {
	return fmt.Errorf("%w: start cfa-worker (bin/cfa-worker; `make dev` runs one), and intent %s goes on where it waits; `cfa status %s` follows it",
		ErrNoWorker, intentID, intentID)
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
		// The caller checked for a worker before following.
		st, _, err := s.status(ctx, intentID, false)
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
	if err := req.validate(); err != nil {
		return invalid(err)
	}
	return nil
}

func (req SubmitRequest) validate() error {
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
		UnitRetryBaseSeconds: req.UnitRetryBaseSeconds, CostCeilingDBU: req.CostCeilingDBU, RowLimit: req.RowLimit}
	if err := bounds.Options(opts); err != nil {
		return fmt.Errorf("submit: %w", err)
	}
	return nil
}

// WorkerPolling reports whether a worker polled the intents task queue
// recently (one RPC), so a front end can say why an intent does not move.
func (s *Service) WorkerPolling(ctx context.Context) (bool, error) {
	resp, err := s.Temporal.DescribeTaskQueue(ctx, workflows.TaskQueue, enumspb.TASK_QUEUE_TYPE_WORKFLOW)
	if err != nil {
		return false, fmt.Errorf("describe task queue %s: %w", workflows.TaskQueue, err)
	}
	for _, p := range resp.GetPollers() {
		// The server lists a stopped worker for minutes; an idle live one
		// polls again at least every minute (its long poll's expiry).
		if p.GetLastAccessTime() == nil || time.Since(p.GetLastAccessTime().AsTime()) < PollerFreshness {
			return true, nil
		}
	}
	return false, nil
}

// PollerFreshness is how recently a worker must have polled to count: twice
// the server's one-minute long poll, so an idle worker always counts.
const PollerFreshness = 2 * time.Minute

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

// describe is an intent's static summary (its text, one line) and details
// (who, and the options that change its course) for the Web UI.
func describe(in any) (summary, details string) {
	line := func(s string) string {
		s = strings.Join(strings.Fields(s), " ")
		if len(s) > 200 {
			s = s[:200] + "…"
		}
		return s
	}
	var b strings.Builder
	switch x := in.(type) {
	case workflows.IntentInput:
		summary = line(x.Text)
		if summary == "" && x.Signature != nil {
			summary = line("signature: " + x.Signature.Intent)
		}
		fmt.Fprintf(&b, "**Intent** %s\n\n", summary)
		if x.SubmittedBy != "" {
			fmt.Fprintf(&b, "Submitted by: %s\n\n", x.SubmittedBy)
		}
		if x.DryRun {
			b.WriteString("Dry run: stops after static validation\n\n")
		}
		if x.AsOf != "" {
			fmt.Fprintf(&b, "As of: %s\n\n", x.AsOf)
		}
		b.WriteString("Answer an escalation with the signal (or Update) `approve` or `reject`: `{\"by\": \"<name>\", \"reason\": \"<why>\"}`; the query `pending_escalation` says who may.")
	case workflows.CompositeInput:
		summary = line("composite intent " + x.Graph.RootIntent)
		fmt.Fprintf(&b, "**Composite intent** %s: %d sub-intents\n\n", x.Graph.RootIntent, len(x.Graph.SubIntents))
		if x.SubmittedBy != "" {
			fmt.Fprintf(&b, "Submitted by: %s\n", x.SubmittedBy)
		}
	}
	return summary, b.String()
}

// OpenEscalation is an intent waiting for an answer, as `cfa list
// --pending` shows it.
type OpenEscalation struct {
	IntentID string `json:"intent_id"`
	workflows.PendingEscalation
}

// PendingEscalations lists the running intents with an open escalation
// (search attribute CfaConfirmationMode set), each with its question, who
// may answer and its deadline, soonest deadline first.
func (s *Service) PendingEscalations(ctx context.Context, limit int) ([]OpenEscalation, error) {
	query := fmt.Sprintf("WorkflowType = '%s' AND ExecutionStatus = 'Running' AND %s IS NOT NULL",
		workflows.IntentWorkflowName, workflows.AttrConfirmationMode.GetName())
	var out []OpenEscalation
	var token []byte
	for {
		page, err := s.Temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: query, NextPageToken: token, PageSize: int32(min(limit, 1000))})
		if err != nil {
			return nil, fmt.Errorf("list open escalations: %w (is search attribute %s registered? the worker registers it at start)", err, workflows.AttrConfirmationMode.GetName())
		}
		for _, e := range page.GetExecutions() {
			id := e.GetExecution().GetWorkflowId()
			p, err := s.Pending(ctx, id)
			if err != nil || p == nil {
				continue // answered or ended meanwhile
			}
			out = append(out, OpenEscalation{IntentID: id, PendingEscalation: *p})
			if len(out) >= limit {
				break
			}
		}
		token = page.GetNextPageToken()
		if len(token) == 0 || len(out) >= limit {
			break
		}
	}
	slices.SortFunc(out, func(a, b OpenEscalation) int { return a.Deadline.Compare(b.Deadline) })
	return out, nil
}
