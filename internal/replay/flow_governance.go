package replay

import (
	"bytes"
	"fmt"

	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/audit/events"
	"github.com/contextualflux/cfa/internal/confirmation"
	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/intent"
	"github.com/contextualflux/cfa/internal/kernel"
	"github.com/contextualflux/cfa/internal/policy"
	"github.com/contextualflux/cfa/internal/precost"
	"github.com/contextualflux/cfa/internal/signature"
)

// Steps 6 to 8: the State Signature, the Policy Engine with its replans,
// and the Pre-cost Estimator with its own.

// sign is step 6; each signing starts a new governance cycle.
func (r *run) sign() error {
	r.votes, r.violations = nil, nil
	r.cycle++
	e, ok, err := r.take(intent.StageSignature, false, audit.EventSignatureGenerated)
	if err != nil || !ok {
		return err
	}
	var got events.SignatureGenerated
	if err := e.decode(&got); err != nil {
		return err
	}
	s, err := kernel.Sign(r.pending, r.cons.executionContext())
	if err != nil {
		return r.differ(intent.StageSignature, "error", "(none)", err.Error())
	}
	if err := r.compareSignature(intent.StageSignature, got.Signature, got.IntentSignatureHash, s); err != nil {
		return err
	}
	if got.Reason != r.signReason {
		return r.differ(intent.StageSignature, "reason", got.Reason, r.signReason)
	}
	r.signed = s
	if r.asked == nil {
		r.asked = &s.Signature
	}
	return nil
}

// compareSignature compares a signature by hash and by its canonical
// bytes (ADR 0003), and names the first field that differs.
func (r *run) compareSignature(stage string, recorded signature.Signature, recordedHash string, s kernel.Signed) error {
	want, err := recorded.Encode()
	if err != nil {
		return fmt.Errorf("replay %s: encode the recorded signature: %w", stage, err)
	}
	got, err := s.Signature.Encode()
	if err != nil {
		return fmt.Errorf("replay %s: encode the replayed signature: %w", stage, err)
	}
	if !bytes.Equal(want, got) {
		if path, a, b, differs := firstDiff(want, got); differs {
			return r.differ(stage, "signature."+path, a, b)
		}
		return r.differ(stage, "signature", short(string(want)), short(string(got)))
	}
	if recordedHash != s.Hash {
		return r.differ(stage, "intent_signature_hash", recordedHash, s.Hash)
	}
	r.same(stage, s.Hash, s.Hash)
	return nil
}

// govern is step 7.
func (r *run) govern() error {
	k, err := kernel.Govern(r.ctx, r.signed.Signature, r.env, r.cat, r.bundle, r.req.Proposes(), r.compliance)
	if err != nil {
		return r.differ(intent.StagePolicyEngine, "error", "(none)", err.Error())
	}
	if err := r.governed(k); err != nil {
		return err
	}
	r.vote(k.Vote(decision.AuthorityPolicyEngine))
	if k.Decision == decision.Blocked || k.Decision == decision.Replanned {
		r.stopped = true
	}
	return nil
}

// governed compares a governance run's events and keeps its final
// signature, as workflows.intentFlow.governed does.
func (r *run) governed(k kernel.Governed) error {
	types := map[string]string{"approved": audit.EventPolicyApprove, "replanned": audit.EventPolicyReplan, "blocked": audit.EventPolicyBlock}
	for _, ev := range k.Evaluations() {
		e, ok, err := r.take(intent.StagePolicyEngine, false, audit.EventPolicyApprove, audit.EventPolicyReplan, audit.EventPolicyBlock)
		if err != nil || !ok {
			return err
		}
		if e.Type != types[ev.Outcome] {
			return r.differ(intent.StagePolicyEngine, fmt.Sprintf("attempt %d", ev.Event.Replan), e.Type, types[ev.Outcome])
		}
		if err := r.compare(intent.StagePolicyEngine, e.Details, ev.Event, fmt.Sprintf("attempt %d %s: %s", ev.Event.Replan, ev.Outcome, ev.Event.IntentSignatureHash)); err != nil {
			return err
		}
		if len(ev.Event.External) > 0 {
			r.answer(intent.StagePolicyEngine, fmt.Sprintf("external_compliance_validator: %d faults, as recorded", len(ev.Event.External)))
		}
	}
	if x := k.Exceeded(); x != nil {
		e, ok, err := r.take(intent.StagePolicyEngine, false, audit.EventMaxReplanExceeded)
		if err != nil || !ok {
			return err
		}
		if err := r.compare(intent.StagePolicyEngine, e.Details, *x, policy.ReasonMaxReplanAttemptsExceeded); err != nil {
			return err
		}
	}
	r.replans = k.Final.Replan
	r.replannings = append(r.replannings, k.Replannings()...)
	if k.Decision != decision.Replanned && k.FinalHash != r.signed.Hash {
		r.signed = kernel.Signed{Signature: k.Final, Hash: k.FinalHash}
	}
	return nil
}

// estimateCost is step 8: over the ceiling it replans with a filter and
// estimates again; near it, a human confirms the spend.
func (r *run) estimateCost() error {
	for {
		e, ok, err := r.take(intent.StagePreCost, false, audit.EventPreCostEstimated)
		if err != nil || !ok {
			return err
		}
		var rec events.PreCostEstimated
		if err := e.decode(&rec); err != nil {
			return err
		}
		est := recordedEstimator{rec: rec}
		if !est.recomputed() {
			r.answer(intent.StagePreCost, fmt.Sprintf("the estimate of %s (%s over %d runs of its history): %.2f DBU, as recorded", est.Name(), rec.Basis, rec.HistoryRuns, rec.EstimatedDBU))
		}
		pc, err := kernel.EstimatePreCost(r.ctx, est, precost.Input{
			Signature: r.signed.Signature.Clone(), Catalog: r.cat, Environment: r.env.Clone(), Now: e.At, CostCeilingDBU: r.req.CostCeilingDBU,
		})
		if err != nil {
			return r.differ(intent.StagePreCost, "error", "(none)", err.Error())
		}
		v := pc.Verdict
		if err := r.compare(intent.StagePreCost, e.Details, kernel.PreCostRecord(pc, rec.Backend), fmt.Sprintf("%.2f DBU: %s", v.EstimatedDBU, v.Action)); err != nil {
			return err
		}
		if vote, stop := kernel.PreCostVote(v); stop {
			r.stop(vote)
			return nil
		} else if vote.Authority != "" {
			r.vote(vote)
		}
		switch v.Action {
		case precost.ActionEscalate:
			return r.human(intent.StagePreCost, confirmation.ModeHumanEscalation, []confirmation.Trigger{confirmation.TriggerPreCostNearCeiling}, r.signed.Signature, v.Reason)
		case precost.ActionForceReplanWithFilter:
			if err := r.replanForCost(v); err != nil || r.stopped {
				return err
			}
			continue
		}
		return nil
	}
}

func (r *run) replanForCost(v precost.Verdict) error {
	k, err := kernel.ReplanForCost(r.ctx, r.signed.Signature, v, r.env, r.cat, r.bundle, r.req.Proposes(), r.compliance)
	if err != nil {
		return r.differ(intent.StagePreCost, "error", "(none)", err.Error())
	}
	e, ok, err := r.take(intent.StagePreCost, false, audit.EventPreCostReplan)
	if err != nil || !ok {
		return err
	}
	outcome, rec := kernel.CostReplanEvent(v, k)
	if e.Outcome != outcome {
		return r.differ(intent.StagePreCost, "outcome", e.Outcome, outcome)
	}
	if err := r.compare(intent.StagePreCost, e.Details, rec, "replan for cost: "+outcome); err != nil {
		return err
	}
	if k.Decision == decision.Replanned {
		r.replans = k.Final.Replan
		r.stop(k.CostReplanVote())
		return nil
	}
	if err := r.governed(k); err != nil {
		return err
	}
	if k.Decision == decision.Blocked {
		r.stop(k.CostReplanVote())
	}
	return nil
}
