package activities

import (
	"context"
	"fmt"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/audit/events"
	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/fault"
	"github.com/contextualflux/cfa/internal/intent"
	"github.com/contextualflux/cfa/internal/policy"
	"github.com/contextualflux/cfa/internal/registry"
	"github.com/contextualflux/cfa/internal/signature"
)

// SignInput binds a signature to the execution_context it is governed in.
type SignInput struct {
	Signature    signature.Signature `json:"signature"`
	Consultation Consultation        `json:"consultation"`
	// Reason says why the intent is signed again (stale_environment_state).
	Reason string `json:"reason,omitempty"`
}

// Signed is a State Signature with its intent_signature_hash.
type Signed struct {
	Signature signature.Signature `json:"signature"`
	Hash      string              `json:"intent_signature_hash"`
}

// SignedStage is step 6's outcome.
type SignedStage struct {
	Stage
	Signed
}

// Sign generates the State Signature with execution_context (step 6): the
// confirmed contract is immutable from here on (5.2).
func (a *Activities) Sign(ctx context.Context, st Step, in SignInput) (SignedStage, error) {
	s := in.Signature.Canonical()
	s.ExecutionContext = in.Consultation.ExecutionContext()
	h, err := s.Hash()
	if err != nil {
		return SignedStage{}, invalid(err)
	}
	outcome := "signed"
	if in.Reason != "" {
		outcome = "replanned"
	}
	t := newTrail(st)
	t.add(intent.StageSignature, outcome, audit.ActionWrite, datasetTargets(s.DatasetNames()), events.SignatureGenerated{
		IntentSignatureHash: h, Signature: s, Reason: in.Reason,
	})
	out := SignedStage{Signed: Signed{Signature: s, Hash: h}, Stage: Stage{Summary: "intent_signature_hash " + h[:16]}}
	return out, a.finish(ctx, t, &out.Stage)
}

// PolicyAttempt is one Policy Engine evaluation of one signature (the
// signature itself is in the audit trail, by its hash).
type PolicyAttempt struct {
	Replan        int           `json:"replan"`
	SignatureHash string        `json:"signature_hash"`
	Outcome       string        `json:"outcome"` // approve | replan | block
	Rules         []string      `json:"rules,omitempty"`
	Faults        []fault.Fault `json:"faults,omitempty"`
	Interventions []string      `json:"interventions,omitempty"`
	Warnings      []string      `json:"warnings,omitempty"`
}

// GovernInput is a signed signature and the snapshot it was signed in.
type GovernInput struct {
	Signed            Signed `json:"signed"`
	RegistryVersionID string `json:"registry_version_id"`
	// Propose ends the cycle at the first replan (replan_mode propose).
	Propose bool `json:"propose,omitempty"`
}

// Governed is the Policy Engine's verdict after at most 3 replans (step 7).
type Governed struct {
	Stage
	Attempts []PolicyAttempt `json:"attempts"`
	// Replans is the final signature's replan count.
	Replans int `json:"replans"`
	// Final is the signature to plan when a replan changed it (nil: the
	// governed one); in propose mode, when Proposed, the replanned
	// signature for the next cycle.
	Final    *Signed `json:"final,omitempty"`
	Proposed bool    `json:"proposed,omitempty"`
}

// Govern applies the policy bundle with at most max_replan_attempts replans
// (step 7, I1, I2, I7), then the external compliance validators on the
// approved signature. Every attempt is its own audit event, so every
// replan, and the signature it produced, is in the trail.
func (a *Activities) Govern(ctx context.Context, st Step, in GovernInput) (Governed, error) {
	env, err := a.snapshot(ctx, in.RegistryVersionID)
	if err != nil {
		return Governed{}, fmt.Errorf("govern intent %s: %w", st.IntentID, err)
	}
	govern := policy.Govern
	if in.Propose {
		govern = policy.Propose
	}
	start := time.Now()
	g, err := govern(in.Signed.Signature, env, a.Catalog, a.Bundle)
	a.Metrics.PolicyEvaluated("govern", time.Since(start))
	if err != nil {
		return Governed{}, invalid(err)
	}
	if g, err = a.validateCompliance(ctx, g, env); err != nil {
		return Governed{}, err
	}
	t := newTrail(st)
	out := a.governed(t, g, in.Signed.Hash)
	out.vote(g.Vote(decision.AuthorityPolicyEngine))
	out.Stop = g.Decision == decision.Blocked || out.Proposed
	if out.Proposed {
		out.Summary = fmt.Sprintf("replan %d proposed: %s; resubmit it for the next cycle", g.Final.Replan, g.FinalHash[:16])
	}
	a.log(st.IntentID, intent.StagePolicyEngine).Info("governance",
		zap.String("decision", string(g.Decision)), zap.String("reason", g.Reason),
		zap.Int("attempts", len(g.Attempts)), zap.String("intent_signature_hash", g.FinalHash))
	return out, a.finish(ctx, t, &out.Stage)
}

// governed records each attempt and converts the governance for the
// workflow; the final signature goes back only when it is not the one
// governed (given is its hash), which keeps it out of the history twice.
func (a *Activities) governed(t *trail, g policy.Governance, given string) Governed {
	out := Governed{Replans: g.Final.Replan, Proposed: g.Decision == decision.Replanned}
	if g.FinalHash != given || out.Proposed {
		out.Final = &Signed{Signature: g.Final, Hash: g.FinalHash}
	}
	var lines []string
	for _, at := range g.Attempts {
		pa := PolicyAttempt{
			Replan: at.Signature.Replan, SignatureHash: at.Hash,
			Outcome: string(at.Evaluation.Outcome), Faults: at.Evaluation.Faults,
		}
		for _, r := range at.Evaluation.Fired {
			pa.Rules = append(pa.Rules, r.Name)
		}
		for _, iv := range at.Evaluation.Interventions {
			pa.Interventions = append(pa.Interventions, iv.String())
		}
		for _, w := range at.Evaluation.Warnings {
			pa.Warnings = append(pa.Warnings, w.Code)
		}
		out.Attempts = append(out.Attempts, pa)
		ev := events.PolicyEvaluation{Replan: pa.Replan, Rules: pa.Rules, Faults: faultCodes(pa.Faults), Interventions: pa.Interventions,
			Warnings: pa.Warnings, IntentSignatureHash: pa.SignatureHash}
		targets := []string{"signature:" + pa.SignatureHash}
		switch at.Evaluation.Outcome {
		case policy.Replan:
			t.add(intent.StagePolicyEngine, "replanned", audit.ActionInvoke, targets, events.PolicyReplan(ev))
		case policy.Block:
			t.add(intent.StagePolicyEngine, "blocked", audit.ActionInvoke, targets, events.PolicyBlock(ev))
		default:
			t.add(intent.StagePolicyEngine, "approved", audit.ActionInvoke, targets, events.PolicyApprove(ev))
		}
		lines = append(lines, fmt.Sprintf("attempt %d: %s %s", pa.Replan, pa.Outcome, strings.Join(faultCodes(pa.Faults), ",")))
	}
	if g.Reason == policy.ReasonMaxReplanAttemptsExceeded {
		t.add(intent.StagePolicyEngine, "blocked", audit.ActionInvoke, nil, events.MaxReplanAttemptsExceeded{
			Reason: policy.ReasonMaxReplanAttemptsExceeded, Attempts: len(g.Attempts),
		})
	}
	out.Summary = strings.Join(lines, "; ")
	return out
}

// validateCompliance asks each external_compliance_validator about an
// approved signature; any fault blocks it (whitepaper 9).
func (a *Activities) validateCompliance(ctx context.Context, g policy.Governance, env registry.EnvironmentState) (policy.Governance, error) {
	if g.Decision == decision.Blocked || g.Decision == decision.Replanned {
		return g, nil
	}
	for _, v := range a.Extensions.ComplianceValidators {
		faults, err := v.Validate(ctx, g.Final.Clone(), env.Clone())
		if err != nil {
			return g, fmt.Errorf("external_compliance_validator %s: %w", v.Name(), err)
		}
		if len(faults) == 0 {
			continue
		}
		own := make([]fault.Fault, len(faults)) // the validator's slice is not ours to change
		for i, f := range faults {
			own[i] = policy.ExternalFault(v.Name(), f)
		}
		g = policy.BlockedBy(g, own)
	}
	return g, nil
}

func faultCodes(fs []fault.Fault) []string {
	out := make([]string, 0, len(fs))
	for _, f := range fs {
		out = append(out, f.Code)
	}
	return out
}
