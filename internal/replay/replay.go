package replay

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/audit/events"
	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/confirmation"
	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/intent"
	"github.com/contextualflux/cfa/internal/kernel"
	"github.com/contextualflux/cfa/internal/policy"
	"github.com/contextualflux/cfa/internal/registry"
	"github.com/contextualflux/cfa/internal/resolution"
	"github.com/contextualflux/cfa/internal/signature"
)

// Ending a replay early: at the first difference, at a refusal, or at the
// end of the trail of an intent that is still running.
var (
	errDiffered = errors.New("replay differs")
	errRefused  = errors.New("replay refused")
	errEnded    = errors.New("trail ended")
)

// Replay runs the intent of rec again and compares each stage with the
// record; it stops at the first difference. The error is for a record it
// cannot read (a payload that does not decode); a difference, or an input
// that was never recorded, is in the Result.
func Replay(ctx context.Context, rec Record) (Result, error) {
	r := &run{ctx: ctx, rec: rec, res: Result{IntentID: rec.IntentID, Stages: []Stage{}, Answers: []Answer{}}}
	for _, rc := range rec.Trail {
		r.evs = append(r.evs, eventOf(rc))
	}
	r.compliance = recordedCompliance{}
	for _, e := range r.evs {
		if e.Type == audit.EventPolicyBlock || e.Type == audit.EventPolicyApprove {
			var ev events.PolicyEvaluation
			if err := e.decode(&ev); err != nil {
				return r.res, err
			}
			if len(ev.External) > 0 {
				r.compliance[ev.IntentSignatureHash] = ev.External
			}
		}
	}
	err := r.run()
	switch {
	case err == nil, errors.Is(err, errDiffered), errors.Is(err, errRefused):
	case errors.Is(err, errEnded):
		if r.res.Through == "" {
			r.res.Through = r.last
		}
	default:
		return r.res, err
	}
	r.res.Identical = r.res.FirstDifference == nil && r.res.Refused == ""
	return r.res, nil
}

// run is one replay: the state the workflow keeps from stage to stage,
// and a cursor in the recorded trail.
type run struct {
	ctx context.Context
	rec Record
	evs []event
	pos int
	res Result
	// last is the last stage compared.
	last  string
	cycle int

	req        intent.Request
	cons       consultation
	env        registry.EnvironmentState
	cat        *catalog.Catalog
	bundle     *policy.Bundle
	resolution resolution.SemanticResolution
	pending    signature.Signature
	signReason string
	signed     kernel.Signed
	replans    int
	plan       kernel.Planned
	code       kernel.Code
	// planHash and codeHash are what the DECISION records.
	planHash, codeHash string
	publishOnly        bool
	asOf               string

	votes      []decision.Vote
	violations []decision.Violation
	stopped    bool
	again      bool
	// answered is the recorded decision the replay takes as the
	// environment's answer, when the environment stopped the intent.
	answered   *events.Decision
	compliance recordedCompliance

	// asked is the first signature signed and replannings the replans
	// since: what the decision's narrowing vote compares (ADR 0136).
	asked       *signature.Signature
	replannings []policy.Replanning
}

type consultation struct {
	RegistryVersionID, PolicyBundleVersion, CatalogSnapshotVersion string
	MaxReplanAttempts                                              int
}

func (c consultation) executionContext() signature.ExecutionContext {
	return signature.ExecutionContext{PolicyBundleVersion: c.PolicyBundleVersion, CatalogSnapshotVersion: c.CatalogSnapshotVersion, RegistryVersionID: c.RegistryVersionID}
}

// step is one line of the workflow's table: the stage and its replay.
type step struct {
	stage string
	fn    func() error
}

// run is whitepaper section 7 in the workflow's order (workflows/intent.go
// IntentFlow.run), up to step 16; then the decision.
func (r *run) run() error {
	if len(r.rec.Missing) > 0 {
		return r.refuse("the recorded inputs are incomplete: " + strings.Join(r.rec.Missing, "; "))
	}
	steps := []step{
		{intent.StageReceived, r.receive},
		{intent.StageRegistry, r.consult},
		{intent.StageNormalizer, r.normalize},
		{intent.StageLock, r.checkScope},
		{intent.StageConfirmation, r.confirm},
		{intent.StageSignature, r.sign},
		{intent.StagePolicyEngine, r.govern},
		{intent.StagePreCost, r.estimateCost},
		{intent.StagePlanner, r.planStep},
		{intent.StageCodeGen, r.generate},
		{intent.StageStatic, r.validate},
		{intent.StageProjection, r.publish},
		{intent.StageLock, r.acquire},
		{intent.StageRevalidation, r.revalidate},
		{intent.StageExecution, r.execute},
	}
	for i := 0; i < len(steps) && !r.stopped; i++ {
		if err := steps[i].fn(); err != nil {
			return err
		}
		if r.again {
			r.again = false
			i = slices.IndexFunc(steps, func(s step) bool { return s.stage == intent.StageSignature }) - 1
		}
	}
	return r.decide()
}

// --- the cursor ---

// replayed are the event types the replay reads; any other (a refused
// answer, a queued lock, the end of the trail, a stage this build does not
// replay) is passed over.
var replayed = []string{
	audit.EventIntentReceived, audit.EventEnvironmentConsulted, audit.EventSemanticResolution, audit.EventScopeCheck,
	audit.EventSoftConfirmation, audit.EventConfirmationRequested, audit.EventHumanApproved, audit.EventHumanRejected, audit.EventHumanEscalationTimeout,
	audit.EventConfirmationCancelled, audit.EventSignatureGenerated, audit.EventPolicyApprove, audit.EventPolicyReplan,
	audit.EventPolicyBlock, audit.EventMaxReplanExceeded, audit.EventPreCostEstimated, audit.EventPreCostReplan,
	audit.EventExecutionPlanned, audit.EventPlanningFailed, audit.EventCodeGenerated, audit.EventCodeAnalysis,
	audit.EventScopeAcquired, audit.EventScopeRejected, audit.EventRevalidation, audit.EventUnitExecuted,
	audit.EventPartialExecution, audit.EventPanicRollback, audit.EventEnvironmentUpdate, audit.EventPromotionEvaluation,
	audit.EventDecision, audit.EventReadExecuted,
}

// peek is the next event the replay reads, without taking it; ok is false
// at the end of the trail.
func (r *run) peek() (event, bool) {
	for i := r.pos; i < len(r.evs); i++ {
		if slices.Contains(replayed, r.evs[i].Type) {
			r.pos = i
			return r.evs[i], true
		}
	}
	r.pos = len(r.evs)
	return event{}, false
}

// take reads the next event, which the replayed flow says is one of types
// (stage is the stage that expects it). When the record has a DECISION
// there instead, the environment stopped the intent: at a gate (a point
// where the environment may stop it: gate true) or anywhere by
// interrupting a stage, the replay takes that decision as the answer and
// stops too (ok false); elsewhere it is a difference. The end of the trail
// is errEnded: the intent has no decision yet.
func (r *run) take(stage string, gate bool, types ...string) (event, bool, error) {
	e, ok := r.peek()
	if !ok {
		return event{}, false, errEnded
	}
	if slices.Contains(types, e.Type) {
		r.pos++
		return e, true, nil
	}
	if e.Type == audit.EventDecision {
		var d events.Decision
		if err := e.decode(&d); err != nil {
			return event{}, false, err
		}
		if gate || d.DecidedBy == string(decision.AuthoritySandboxMonitor) {
			r.answered, r.stopped = &d, true
			r.answer(stage, fmt.Sprintf("the environment decided the intent here: %s by %s (%s)", d.DecisionState, d.DecidedBy, oneLine(d.Reason)))
			return event{}, false, nil
		}
		return event{}, false, r.differ(stage, "next_event", "DECISION ("+string(d.DecisionState)+" by "+d.DecidedBy+")", strings.Join(types, " or "))
	}
	return event{}, false, r.differ(stage, "next_event", e.Type, strings.Join(types, " or "))
}

// --- what the replay reports ---

func (r *run) same(stage, recorded, replayed string) {
	r.last = stage
	r.res.Stages = append(r.res.Stages, Stage{Stage: stage, Cycle: r.cycle, Identical: true, Recorded: recorded, Replayed: replayed})
}

func (r *run) differ(stage, field, recorded, replayed string) error {
	r.last = stage
	r.res.Stages = append(r.res.Stages, Stage{Stage: stage, Cycle: r.cycle, Recorded: recorded, Replayed: replayed})
	r.res.FirstDifference = &Difference{Stage: stage, Cycle: r.cycle, Field: field, Recorded: recorded, Replayed: replayed}
	return errDiffered
}

func (r *run) refuse(why string) error {
	r.res.Refused = why
	return errRefused
}

func (r *run) answer(stage, what string) {
	r.res.Answers = append(r.res.Answers, Answer{Stage: stage, Answer: what})
}

// compare compares a stage's recorded payload with the replayed one as
// JSON; summary is the stage's result in short, on both sides.
func (r *run) compare(stage string, recorded []byte, replayed any, summary string) error {
	b, err := json.Marshal(replayed)
	if err != nil {
		return fmt.Errorf("replay %s: encode: %w", stage, err)
	}
	if path, a, c, differs := firstDiff(recorded, b); differs {
		if path == "" {
			path = "record"
		}
		return r.differ(stage, path, a, c)
	}
	r.same(stage, summary, summary)
	return nil
}

func (r *run) vote(v decision.Vote) { r.votes = append(r.votes, v) }

func (r *run) stop(v decision.Vote) {
	r.vote(v)
	r.stopped = true
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		return []byte(fmt.Sprintf("%q", err.Error()))
	}
	return b
}

func compact(b []byte) []byte {
	var out bytes.Buffer
	if json.Compact(&out, b) != nil {
		return b
	}
	return out.Bytes()
}

func joinTriggers(ts []confirmation.Trigger) string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = string(t)
	}
	return strings.Join(out, ", ")
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	return short(s)
}
