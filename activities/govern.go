package activities

import (
	"context"

	"go.uber.org/zap"

	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/policy"

	"github.com/contextualflux/cfa/internal/fault"
	"github.com/contextualflux/cfa/internal/registry"
	"github.com/contextualflux/cfa/internal/signature"
)

// Policy Engine outcomes (whitepaper 5.3) as the workflow sees them.
const (
	OutcomeApprove = "approve"
	OutcomeReplan  = "replan"
	OutcomeBlock   = "block"
)

// PolicyAttempt is one Policy Engine evaluation of one signature.
type PolicyAttempt struct {
	Replan        int                 `json:"replan"`
	Signature     signature.Signature `json:"signature"`
	SignatureHash string              `json:"signature_hash"`
	Outcome       string              `json:"outcome"` // approve | replan | block
	Rules         []string            `json:"rules,omitempty"`
	Faults        []fault.Fault       `json:"faults,omitempty"`
	Interventions []string            `json:"interventions,omitempty"`
	Warnings      []string            `json:"warnings,omitempty"`
}

// GovernInput is a signed signature and the environment it was signed in.
type GovernInput struct {
	IntentID    string                    `json:"intent_id"`
	Signed      Signed                    `json:"signed"`
	Environment registry.EnvironmentState `json:"environment"`
	// Propose ends the cycle at the first replan (replan_mode propose):
	// Final is then the replanned signature, for a resubmission.
	Propose bool `json:"propose,omitempty"`
}

// Governance is the Policy Engine's verdict after at most 3 replans.
type Governance struct {
	Attempts []PolicyAttempt `json:"attempts"`
	// Outcome is approve or block; replan only in propose mode, where a
	// replan ends the cycle.
	Outcome string `json:"outcome"`
	// MaxReplansExceeded marks a block by replan_policy.on_max_exceeded.
	MaxReplansExceeded bool          `json:"max_replans_exceeded,omitempty"`
	Reason             string        `json:"reason,omitempty"`
	Faults             []fault.Fault `json:"faults,omitempty"`
	Warnings           []string      `json:"warnings,omitempty"`
	// WarningFaults are the faults behind Warnings, for the decision.
	WarningFaults []fault.Fault `json:"warning_faults,omitempty"`
	Final         Signed        `json:"final"`
}

// Govern applies the policy bundle with at most MaxReplanAttempts replans
// (step 7). Each attempt carries its signature and hash for the audit.
func (a *Activities) Govern(_ context.Context, in GovernInput) (Governance, error) {
	govern := policy.Govern
	if in.Propose {
		govern = policy.Propose
	}
	g, err := govern(in.Signed.Signature, in.Environment, a.Catalog, a.Bundle)
	if err != nil {
		return Governance{}, invalid(err)
	}
	return a.governance(in.IntentID, g), nil
}

// governance converts the Policy Engine's result for the workflow and logs it.
func (a *Activities) governance(intentID string, g policy.Governance) Governance {
	out := Governance{
		Outcome: OutcomeApprove, Reason: g.Reason, Faults: g.Faults,
		MaxReplansExceeded: g.Reason == policy.ReasonMaxReplanAttemptsExceeded,
		Final:              Signed{Signature: g.Final, Hash: g.FinalHash},
	}
	switch g.Decision {
	case decision.Blocked:
		out.Outcome = OutcomeBlock
	case decision.Replanned:
		out.Outcome = OutcomeReplan
	}
	for _, w := range g.Warnings {
		out.Warnings = append(out.Warnings, w.Code)
	}
	out.WarningFaults = g.Warnings
	for _, at := range g.Attempts {
		pa := PolicyAttempt{
			Replan: at.Signature.Replan, Signature: at.Signature, SignatureHash: at.Hash,
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
	}
	a.log(intentID, "policy_engine").Info("governance",
		zap.String("decision", string(g.Decision)), zap.String("reason", g.Reason),
		zap.Int("attempts", len(g.Attempts)), zap.String("intent_signature_hash", g.FinalHash))
	return out
}
