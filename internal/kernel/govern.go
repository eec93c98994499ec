package kernel

import (
	"context"
	"fmt"

	"github.com/contextualflux/cfa/internal/audit/events"
	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/fault"
	"github.com/contextualflux/cfa/internal/policy"
	"github.com/contextualflux/cfa/internal/precost"
	"github.com/contextualflux/cfa/internal/registry"
	"github.com/contextualflux/cfa/internal/signature"
)

// Signed is a State Signature with its intent_signature_hash.
type Signed struct {
	Signature signature.Signature `json:"signature"`
	Hash      string              `json:"intent_signature_hash"`
}

// Sign generates the State Signature with its execution_context (step 6):
// the canonical signature bound to the versions it is governed under.
func Sign(sig signature.Signature, ec signature.ExecutionContext) (Signed, error) {
	s := sig.Canonical()
	s.ExecutionContext = ec
	h, err := s.Hash()
	if err != nil {
		return Signed{}, fmt.Errorf("sign intent %q: %w: %w", sig.Intent, ErrInvalidInput, err)
	}
	return Signed{Signature: s, Hash: h}, nil
}

// Compliance answers the external_compliance_validators (whitepaper 9):
// the faults, completed by policy.ExternalFault, that refuse a signature
// the Policy Engine approved; none lets it go on.
type Compliance interface {
	Validate(ctx context.Context, sig signature.Signature, env registry.EnvironmentState) ([]fault.Fault, error)
}

// NoCompliance is a deployment without external_compliance_validators.
type NoCompliance struct{}

// Validate refuses nothing.
func (NoCompliance) Validate(context.Context, signature.Signature, registry.EnvironmentState) ([]fault.Fault, error) {
	return nil, nil
}

// Governed is the Policy Engine's verdict on one signature after its
// replans, with the validators' answer on the final one.
type Governed struct {
	policy.Governance
	// External are the faults the external_compliance_validators returned
	// for the final signature: the audit trail records them with its
	// evaluation, so the verdict replays without the validators.
	External []fault.Fault
}

// Govern applies the policy bundle with at most max_replan_attempts replans
// (step 7, I1, I2, I7), or ends the cycle at the first replan (propose),
// then asks the compliance validators about an approved signature.
func Govern(ctx context.Context, sig signature.Signature, env registry.EnvironmentState, cat *catalog.Catalog, b *policy.Bundle, propose bool, c Compliance) (Governed, error) {
	govern := policy.Govern
	if propose {
		govern = policy.Propose
	}
	g, err := govern(sig, env, cat, b)
	if err != nil {
		return Governed{}, fmt.Errorf("%w: %w", ErrInvalidInput, err)
	}
	return comply(ctx, g, env, c)
}

// ReplanForCost applies a force_replan_with_filter verdict of the Pre-cost
// Estimator as one replan (counted toward the limit) and governs the
// narrowed signature again, or proposes it (propose).
func ReplanForCost(ctx context.Context, sig signature.Signature, v precost.Verdict, env registry.EnvironmentState, cat *catalog.Catalog, b *policy.Bundle, propose bool, c Compliance) (Governed, error) {
	if v.Action != precost.ActionForceReplanWithFilter || v.Intervention == nil || v.Fault == nil {
		return Governed{}, fmt.Errorf("replan for cost: %w: verdict %s carries no filter to apply", ErrInvalidInput, v.Action)
	}
	replan := policy.ReplanWith
	if propose {
		replan = policy.ProposeWith
	}
	g, err := replan(sig, []policy.Intervention{{Op: v.Intervention.Op, LastDays: v.Intervention.LastDays}}, *v.Fault, env, cat, b)
	if err != nil {
		return Governed{}, fmt.Errorf("%w: %w", ErrInvalidInput, err)
	}
	return comply(ctx, g, env, c)
}

// comply asks the validators about an approved signature; any fault blocks
// it. Their errors are returned as they are: a retry may get an answer.
func comply(ctx context.Context, g policy.Governance, env registry.EnvironmentState, c Compliance) (Governed, error) {
	out := Governed{Governance: g}
	if g.Decision == decision.Blocked || g.Decision == decision.Replanned {
		return out, nil
	}
	faults, err := c.Validate(ctx, g.Final.Clone(), env.Clone())
	if err != nil {
		return out, err
	}
	if len(faults) > 0 {
		out.External = faults
		out.Governance = policy.BlockedBy(g, faults)
	}
	return out, nil
}

// Evaluation is one attempt of a governance run as the audit trail records
// it: its outcome (approved, replanned or blocked) and its event.
type Evaluation struct {
	Outcome string
	Event   events.PolicyEvaluation
}

// Evaluations are the run's attempts as the audit trail records them, in
// order; the validators' faults go with the last one.
func (g Governed) Evaluations() []Evaluation {
	out := make([]Evaluation, 0, len(g.Attempts))
	for i, at := range g.Attempts {
		ev := events.PolicyEvaluation{Replan: at.Signature.Replan, Faults: FaultCodes(at.Evaluation.Faults), IntentSignatureHash: at.Hash}
		for _, r := range at.Evaluation.Fired {
			ev.Rules = append(ev.Rules, r.Name)
		}
		for _, iv := range at.Evaluation.Interventions {
			ev.Interventions = append(ev.Interventions, iv.String())
		}
		for _, w := range at.Evaluation.Warnings {
			ev.Warnings = append(ev.Warnings, w.Code)
		}
		if i == len(g.Attempts)-1 {
			ev.External = g.External
		}
		outcome := "approved"
		switch at.Evaluation.Outcome {
		case policy.Replan:
			outcome = "replanned"
		case policy.Block:
			outcome = "blocked"
		}
		out = append(out, Evaluation{Outcome: outcome, Event: ev})
	}
	return out
}

// Exceeded is replan_policy.on_max_exceeded's event when the run ended
// there, else nil.
func (g Governed) Exceeded() *events.MaxReplanAttemptsExceeded {
	if g.Reason != policy.ReasonMaxReplanAttemptsExceeded {
		return nil
	}
	return &events.MaxReplanAttemptsExceeded{Reason: policy.ReasonMaxReplanAttemptsExceeded, Attempts: len(g.Attempts)}
}

// CostReplanEvent is the PRE_COST_REPLAN event of a replan for cost, with
// its outcome: proposed (replan_mode propose), replanned or blocked.
func CostReplanEvent(v precost.Verdict, g Governed) (outcome string, p events.Payload) {
	if g.Decision == decision.Replanned {
		return "replanned", events.PreCostReplanProposed{Fault: v.Fault, Intervention: v.Intervention, HintEstimatedDBU: v.HintEstimatedDBU,
			Reason: g.Reason, ProposedSignatureHash: g.FinalHash}
	}
	outcome = "replanned"
	if g.Decision == decision.Blocked {
		outcome = "blocked"
	}
	return outcome, events.PreCostReplan{Fault: v.Fault, Intervention: v.Intervention, HintEstimatedDBU: v.HintEstimatedDBU,
		Reason: g.Reason, Faults: FaultCodes(g.Faults)}
}

// FaultCodes lists the faults' codes, in order.
func FaultCodes(fs []fault.Fault) []string {
	out := make([]string, 0, len(fs))
	for _, f := range fs {
		out = append(out, f.Code)
	}
	return out
}
