package activities

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/contextualflux/cfa/extension"
	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/audit/events"
	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/fault"
	"github.com/contextualflux/cfa/internal/intent"
	"github.com/contextualflux/cfa/internal/kernel"
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
type Signed = kernel.Signed

// SignedStage is step 6's outcome.
type SignedStage struct {
	Stage
	Signed
}

// Sign generates the State Signature with execution_context (step 6): the
// confirmed contract is immutable from here on (5.2).
func (a *Activities) Sign(ctx context.Context, st Step, in SignInput) (SignedStage, error) {
	signed, err := kernel.Sign(in.Signature, in.Consultation.ExecutionContext())
	if err != nil {
		return SignedStage{}, invalid(err)
	}
	s, h := signed.Signature, signed.Hash
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
	// Replanned is the replan that produced this attempt's signature: who
	// asked for it, why and what it changed (nil for the governed input).
	// The decision compares what the user asked with the last signature
	// and names these replans (docs/adr/0136).
	Replanned *policy.Replanning `json:"replanned,omitempty"`
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
	start := time.Now()
	k, err := kernel.Govern(ctx, in.Signed.Signature, env, a.Catalog, a.Bundle, in.Propose, a.compliance())
	a.Metrics.PolicyEvaluated("govern", time.Since(start))
	if err != nil {
		return Governed{}, kernelError(err)
	}
	g := k.Governance
	t := newTrail(st)
	out := a.governed(t, k, in.Signed.Hash)
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
// The compliance validators' faults are recorded with the last attempt.
func (a *Activities) governed(t *trail, k kernel.Governed, given string) Governed {
	g := k.Governance
	out := Governed{Replans: g.Final.Replan, Proposed: g.Decision == decision.Replanned}
	if g.FinalHash != given || out.Proposed {
		out.Final = &Signed{Signature: g.Final, Hash: g.FinalHash}
	}
	var lines []string
	for i, e := range k.Evaluations() {
		at, ev := g.Attempts[i], e.Event
		pa := PolicyAttempt{
			Replan: ev.Replan, SignatureHash: ev.IntentSignatureHash, Outcome: string(at.Evaluation.Outcome), Faults: at.Evaluation.Faults,
			Rules: ev.Rules, Interventions: ev.Interventions, Warnings: ev.Warnings, Replanned: at.Replanned,
		}
		out.Attempts = append(out.Attempts, pa)
		targets := []string{"signature:" + pa.SignatureHash}
		switch at.Evaluation.Outcome {
		case policy.Replan:
			t.add(intent.StagePolicyEngine, e.Outcome, audit.ActionInvoke, targets, events.PolicyReplan(ev))
		case policy.Block:
			t.add(intent.StagePolicyEngine, e.Outcome, audit.ActionInvoke, targets, events.PolicyBlock(ev))
		default:
			t.add(intent.StagePolicyEngine, e.Outcome, audit.ActionInvoke, targets, events.PolicyApprove(ev))
		}
		lines = append(lines, fmt.Sprintf("attempt %d: %s %s", pa.Replan, pa.Outcome, strings.Join(ev.Faults, ",")))
	}
	if x := k.Exceeded(); x != nil {
		t.add(intent.StagePolicyEngine, "blocked", audit.ActionInvoke, nil, *x)
	}
	out.Summary = strings.Join(lines, "; ")
	return out
}

// compliance asks each external_compliance_validator about an approved
// signature (whitepaper 9); each one's faults are completed with its name.
func (a *Activities) compliance() kernel.Compliance {
	return validators(a.Extensions.ComplianceValidators)
}

type validators []extension.ComplianceValidator

func (vs validators) Validate(ctx context.Context, sig signature.Signature, env registry.EnvironmentState) ([]fault.Fault, error) {
	var out []fault.Fault
	for _, v := range vs {
		faults, err := v.Validate(ctx, sig.Clone(), env.Clone())
		if err != nil {
			return nil, fmt.Errorf("external_compliance_validator %s: %w", v.Name(), err)
		}
		for _, f := range faults { // the validator's slice is not ours to change
			out = append(out, policy.ExternalFault(v.Name(), f))
		}
	}
	return out, nil
}

// kernelError is a kernel error as the activity returns it: an invalid
// input is never retried; anything else (an extension point that did not
// answer) is.
func kernelError(err error) error {
	if errors.Is(err, kernel.ErrInvalidInput) {
		return invalid(err)
	}
	return err
}

func faultCodes(fs []fault.Fault) []string {
	out := make([]string, 0, len(fs))
	for _, f := range fs {
		out = append(out, f.Code)
	}
	return out
}
