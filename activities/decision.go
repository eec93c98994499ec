package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.uber.org/zap"

	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/audit/events"
	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/fault"
	"github.com/contextualflux/cfa/internal/intent"
	"github.com/contextualflux/cfa/internal/kernel"
	"github.com/contextualflux/cfa/internal/lifecycle"
	"github.com/contextualflux/cfa/internal/policy"
	"github.com/contextualflux/cfa/internal/replay"
	"github.com/contextualflux/cfa/internal/runtimevalidation"
	"github.com/contextualflux/cfa/internal/signature"
)

// DecideInput is steps 17–19: what the Decision Engine weighs, the
// evidence of an execution for the Promotion Engine, and what the decision
// event and the intents index record.
type DecideInput struct {
	// Decision holds the votes and vetoes of an intent; Subs the outcomes
	// of a composite's sub-intents (one of the two).
	Decision decision.Input         `json:"decision"`
	Subs     []decision.SubDecision `json:"subs,omitempty"`
	Record   DecisionRecord         `json:"record"`
	// Executed is step 18's evidence, when units ran; Signature and Plan
	// are the signed signature and the plan they ran.
	Executed  *Executed            `json:"executed,omitempty"`
	Signature *signature.Signature `json:"signature,omitempty"`
	Plan      *PlanRef             `json:"plan,omitempty"`
	// DriftReplans: stale_environment_state and pre-cost replans (IDI).
	DriftReplans int `json:"drift_replans,omitempty"`
	// Interrupted is the stage that did not complete, when one did not:
	// the Sandbox Monitor's vote blocks the intent, and its events follow
	// the last one recorded (the interrupted stage may have sealed some).
	Interrupted *decision.Interruption `json:"interrupted,omitempty"`
	// Schedule names the schedule that started the intent, if one did: an
	// executed run binds it to its skill (BindSchedule).
	Schedule string `json:"schedule,omitempty"`
}

// DecisionRecord is what the DECISION event records beside the decision.
type DecisionRecord struct {
	SignatureHash    string                `json:"intent_signature_hash,omitempty"`
	Replans          int                   `json:"replans"`
	PlanHash         string                `json:"plan_hash,omitempty"`
	CodeHash         string                `json:"code_hash,omitempty"`
	Static           *events.StaticSummary `json:"static_validation,omitempty"`
	DryRun           bool                  `json:"dry_run,omitempty"`
	ConfirmationMode string                `json:"confirmation_mode,omitempty"`
}

// Decided is the final decision, with the promotion evaluation when one
// ran; PromotionSummary is its status line.
type Decided struct {
	Stage
	// Through is the seq of the intent's last audit event, INTENT_COMPLETED.
	Through          int64                 `json:"through"`
	Decision         decision.Decision     `json:"decision"`
	Promotion        *lifecycle.Evaluation `json:"promotion,omitempty"`
	PromotionSummary string                `json:"promotion_summary,omitempty"`
}

// Decide is steps 17–19. The Decision Engine applies veto_absolute, then
// ordered_authority with strictest_outcome (17); for an intent whose units
// ran, the Promotion Engine evaluates its skill and labels an approved
// execution promotion_candidate when the gate holds (18; a failed
// evaluation leaves the decision as it is: the label is evidence, not a
// gate on data already projected); then the decision and the intent's end
// are recorded (19, I5: complete_per_intent).
func (a *Activities) Decide(ctx context.Context, st Step, in DecideInput) (Decided, error) {
	if in.Interrupted != nil {
		done, err := a.afterInterruption(ctx, &st, &in)
		if done != nil || err != nil {
			return *done, err
		}
	}
	var d decision.Decision
	var err error
	if in.Subs != nil {
		d, err = decision.Consolidate(in.Subs)
	} else {
		d, err = decision.Decide(in.Decision)
	}
	if err != nil {
		return Decided{}, invalid(err)
	}
	out := Decided{}
	t := newTrail(st)
	if in.Executed != nil && in.Signature != nil && in.Plan != nil {
		ev, err := a.evaluatePromotion(ctx, st, in, d)
		var appErr *temporal.ApplicationError
		switch {
		case err != nil && !errors.As(err, &appErr) && activity.GetInfo(ctx).Attempt < promotionAttempts:
			return out, err // transient: the activity retries; nothing is recorded yet
		case err != nil:
			a.log(st.IntentID, intent.StagePromotion).Error("promotion evaluation failed; the decision stands without it", zap.Error(err))
			out.PromotionSummary = "evaluation failed: " + err.Error()
		default:
			out.Promotion = &ev
			t.add(intent.StagePromotion, ev.Outcome, audit.ActionInvoke, []string{"skill:" + ev.PromotionUnit}, events.PromotionEvaluation{Evaluation: ev})
			out.PromotionSummary = fmt.Sprintf("%s (%s): IFo %.2f, IFs %.2f, IFg %.0f, IDI %.2f over %d executions (%d successful) in %s",
				ev.Outcome, ev.Reason, ev.IFo, ev.IFs, ev.IFg, ev.IDI, ev.Executions, ev.SuccessfulExecutions, ev.Window)
			if in.Schedule != "" {
				_ = a.BindSchedule(ctx, st, in.Schedule, *in.Signature) // logged; the decision stands
			}
			moved, served := a.moveSkill(ctx, st, in, ev)
			if moved != "" {
				out.PromotionSummary += "; " + moved
			}
			// A skill already served has been promoted: its runs are
			// evidence, not candidates (ADR 0129).
			if !served {
				d = lifecycle.Label(d, ev, a.Bundle.Lifecycle.Thresholds)
			}
		}
	}
	r := in.Record
	t.add(intent.StageDecision, string(d.State), audit.ActionWrite, nil, events.Decision{
		DecisionState: d.State, DecidedBy: d.DecidedBy, Reason: d.Reason, Faults: faultCodes(d.Faults), Warnings: d.Warnings,
		IntentSignatureHash: r.SignatureHash, Replans: r.Replans, PlanHash: r.PlanHash, CodeHash: r.CodeHash,
		StaticValidation: r.Static, DryRun: r.DryRun,
	})
	t.add(intent.StageAudit, string(d.State), audit.ActionWrite, nil, events.IntentCompleted{})
	out.Decision = d
	out.Through = st.Seq + int64(len(t.events)) - 1
	out.Summary = fmt.Sprintf("%s (by %s)", d.State, d.DecidedBy)
	// The index first: once the events are sealed, nothing may fail and
	// make a retry record them again.
	if err := a.Store.CompleteIntent(ctx, st.IntentID, string(d.State), r.SignatureHash, r.ConfirmationMode); err != nil {
		return out, err
	}
	return out, a.finish(ctx, t, &out.Stage)
}

// afterInterruption prepares the decision of an interrupted intent: its
// events go after the last one recorded, the Sandbox Monitor votes, and an
// interrupted execution is no evidence for the Promotion Engine. A retry
// that finds the intent already completed returns the decision recorded.
func (a *Activities) afterInterruption(ctx context.Context, st *Step, in *DecideInput) (*Decided, error) {
	trail, err := a.Store.AuditByIntent(ctx, st.IntentID)
	if err != nil {
		return &Decided{}, fmt.Errorf("decide interrupted intent %s: read its audit trail: %w", st.IntentID, err)
	}
	var last int64
	var recorded *events.Decision
	for _, r := range trail {
		if seq := r.Seq(); seq > last {
			last = seq
		}
		if r.EventType() == audit.EventDecision {
			var d events.Decision
			if err := json.Unmarshal([]byte(r.Context[audit.CtxDetails]), &d); err != nil {
				return &Decided{}, invalid(fmt.Errorf("decide interrupted intent %s: read its DECISION: %w", st.IntentID, err))
			}
			recorded = &d
		}
		if r.EventType() == audit.EventIntentCompleted && recorded != nil {
			out := &Decided{Through: last, Decision: decision.Decision{State: recorded.DecisionState, DecidedBy: recorded.DecidedBy, Reason: recorded.Reason, Warnings: recorded.Warnings}}
			for _, code := range recorded.Faults {
				out.Decision.Faults = append(out.Decision.Faults, fault.Fault{Code: code})
			}
			out.Summary = fmt.Sprintf("%s (by %s)", recorded.DecisionState, recorded.DecidedBy)
			return out, nil
		}
	}
	// What its units staged is never projected.
	if in.Plan != nil {
		ex, err := a.executable(ctx, *in.Plan)
		if err != nil {
			return &Decided{}, err
		}
		for _, name := range kernel.Targets(ex.Plan) { // every target of a cross_dataset_atomic plan
			if target, ok := a.Catalog.Get(name); ok {
				if _, err := a.Store.DiscardStaged(ctx, target, st.IntentID); err != nil {
					return &Decided{}, err
				}
			}
		}
	}
	st.Seq = last + 1
	in.Decision.Votes = append(slices.Clone(in.Decision.Votes), decision.InterruptedVote(*in.Interrupted))
	in.Executed, in.Signature, in.Plan = nil, nil, nil
	a.log(st.IntentID, in.Interrupted.Stage).Warn("intent interrupted; deciding it blocked",
		zap.String("cause", in.Interrupted.Cause), zap.Bool("cancelled", in.Interrupted.Cancelled), zap.Int64("after_seq", last))
	return nil, nil
}

// promotionAttempts bounds how often a transient failure of step 18 is
// retried before the decision is recorded without the evaluation.
const promotionAttempts = 3

// evaluatePromotion is step 18: it gathers the execution's evidence (the
// target's key uniqueness and the policy in force are read now), evaluates
// the skill over its domain's window and records both, once per intent.
func (a *Activities) evaluatePromotion(ctx context.Context, st Step, in DecideInput, d decision.Decision) (lifecycle.Evaluation, error) {
	// A retry returns the evaluation recorded the first time (write-once).
	if ev, err := a.Store.SkillEvaluation(ctx, st.IntentID); err != nil || ev != nil {
		if err != nil {
			return lifecycle.Evaluation{}, err
		}
		return *ev, nil
	}
	ex, err := a.executable(ctx, *in.Plan)
	if err != nil {
		return lifecycle.Evaluation{}, err
	}
	target, ok := a.Catalog.Get(ex.Plan.Target)
	if !ok {
		return lifecycle.Evaluation{}, invalid(fmt.Errorf("evaluate promotion of intent %s: target %q is not in the catalog", st.IntentID, ex.Plan.Target))
	}
	var partitions []string
	if target.PartitionKey != "" {
		// The committed units' partitions: a time window's is its day.
		_, partitioned := kernel.ConsistencyUnitOf(ex.Plan)
		partitions = in.Executed.Committed
		if ex.Plan.TimeWindows != nil {
			partitions = kernel.CommittedPartitions(ex.Plan, in.Executed.Committed, partitioned)
		}
	}
	dups, err := a.Store.DuplicateKeys(ctx, target, partitions)
	if err != nil {
		return lifecycle.Evaluation{}, err
	}
	sig := *in.Signature
	compliant, err := a.policyCompliant(ctx, sig, d)
	if err != nil {
		return lifecycle.Evaluation{}, err
	}
	e := evidence(st, in, ex, d, dups == 0, compliant, target.Layer == sig.DestinationLayer())
	// I8 from the replay itself (ADR 0127): steps 1–16 re-run from the
	// recorded inputs must give what was recorded. One execution of the
	// skill that did not replay blocks its promotion for good.
	v, err := replay.Check(ctx, a.Store, st.IntentID)
	if err != nil {
		return lifecycle.Evaluation{}, err
	}
	log := a.log(st.IntentID, intent.StagePromotion)
	if !v.Reproducible {
		log.Warn("the execution does not replay (I8): its skill is blocked from promotion", zap.String("reason", v.Reason))
		e.Reproducible = false
	}
	if first, err := a.Store.NotReproducible(ctx, e.PromotionUnit); err != nil {
		return lifecycle.Evaluation{}, err
	} else if first != "" && e.Reproducible {
		log.Warn("an earlier execution of the skill did not replay (I8): it stays blocked from promotion", zap.String("first_intent_id", first))
		e.Reproducible = false
	}
	pol := a.Bundle.Lifecycle // the bundle's lifecycle policy (policies/lifecycle.yaml)
	if name, err := a.Extensions.Windows.Window(ctx, e.Domain); err != nil {
		return lifecycle.Evaluation{}, fmt.Errorf("domain_window_provider: %w", err)
	} else if name != "" {
		pol.ByDomain = mapsWith(pol.ByDomain, e.Domain, name)
	}
	_, window, err := pol.Window(e.Domain)
	if err != nil {
		return lifecycle.Evaluation{}, invalid(err)
	}
	history, err := a.Store.SkillExecutions(ctx, e.PromotionUnit, e.DecidedAt.Add(-window), e.DecidedAt)
	if err != nil {
		return lifecycle.Evaluation{}, err
	}
	ev, err := lifecycle.Evaluate(pol, e, history)
	if err != nil {
		return lifecycle.Evaluation{}, invalid(err)
	}
	for _, s := range a.Extensions.PromotionSignals {
		value, veto, reason, err := s.Signal(ctx, e)
		if err != nil {
			return lifecycle.Evaluation{}, fmt.Errorf("custom_promotion_signal %s: %w", s.Name(), err)
		}
		ev = ev.WithSignal(lifecycle.Signal{Name: s.Name(), Value: value, Veto: veto, Reason: reason})
	}
	ev, err = a.Store.RecordSkillExecution(ctx, e, ev)
	if err != nil {
		return lifecycle.Evaluation{}, err
	}
	a.log(st.IntentID, intent.StagePromotion).Info("promotion evaluated",
		zap.String("outcome", ev.Outcome), zap.String("reason", ev.Reason), zap.Int("executions", ev.Executions),
		zap.Float64("ifo", ev.IFo), zap.Float64("ifs", ev.IFs), zap.Float64("ifg", ev.IFg), zap.Float64("idi", ev.IDI))
	return ev, nil
}

func mapsWith(m map[string]string, k, v string) map[string]string {
	out := make(map[string]string, len(m)+1)
	for key, val := range m {
		out[key] = val
	}
	out[k] = v
	return out
}

// governanceInvariants are the invariants whose veto is a governance
// violation; I4 (an uncertain environment) and I5 are environmental or
// audit failures, which IFo's stability already scores.
var governanceInvariants = []string{"invariant:I1", "invariant:I2", "invariant:I6", "invariant:I7"}

// policyCompliant: no governance invariant vetoed the decision, and the
// policy in force still approves the signature (a changed bundle may
// invalidate the skill, whitepaper 5.12 "Policy change").
func (a *Activities) policyCompliant(ctx context.Context, sig signature.Signature, d decision.Decision) (bool, error) {
	if slices.Contains(governanceInvariants, d.DecidedBy) {
		return false, nil
	}
	if a.Bundle.Version == sig.ExecutionContext.PolicyBundleVersion {
		return true, nil
	}
	env, err := a.Extensions.Snapshots.LatestSnapshot(ctx)
	if err != nil {
		return false, err
	}
	return a.Bundle.Evaluate(sig, env).Outcome == policy.Approve, nil
}

// evidence maps one execution onto the Promotion Engine's inputs.
func evidence(st Step, in DecideInput, ex executable, d decision.Decision, keyUnique, compliant, layerAdherent bool) lifecycle.Execution {
	sig, x := *in.Signature, *in.Executed
	ec := sig.ExecutionContext
	e := lifecycle.Execution{
		IntentID: st.IntentID, PromotionUnit: x.ShapeHash, Domain: sig.Domain, DecidedAt: st.At.UTC(),
		DecisionState: d.State, DriftReplans: in.DriftReplans,
		Units: x.Units, Attempts: max(x.Attempts, x.Units), CommittedUnits: len(x.Committed), CriticalFailure: x.Critical,
		KeyUnique: keyUnique, PolicyCompliant: compliant, PIIProtected: true, LayerAdherent: layerAdherent,
		Reproducible: ec.PolicyBundleVersion != "" && ec.CatalogSnapshotVersion != "" && ec.RegistryVersionID != "" &&
			ex.Plan.Hash != "" && in.Record.CodeHash != "",
	}
	rep := x.Runtime
	if rep == nil {
		return e
	}
	// The unit reports are of each unit's last attempt: earlier attempts'
	// duration and cost are not in them.
	e.DurationMS, e.CostDBU = rep.Totals.DurationMS, rep.Totals.CostDBU
	for _, u := range rep.Units {
		for _, c := range u.Metrics.OutputSchema {
			if containsFold(ex.Plan.Contract.ForbiddenColumns, c.Name) {
				e.PIIProtected = false
			}
		}
		if u.Passed {
			continue
		}
		switch f, _ := u.Primary(); f.Code {
		case runtimevalidation.CodeSchemaDrift:
			e.SchemaFaultUnits++
		case runtimevalidation.CodeRowLimitExceeded, runtimevalidation.CodeOutputBelowExpectedRange, runtimevalidation.CodeOutputAboveExpectedRange,
			runtimevalidation.CodeNullRatioExceeded, runtimevalidation.CodeShuffleLimitExceeded:
			e.DriftFaultUnits++
		}
	}
	return e
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}
