package policy

import (
	"errors"
	"fmt"
	"strings"

	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/fault"
	"github.com/contextualflux/cfa/internal/registry"
	"github.com/contextualflux/cfa/internal/signature"
)

// Reasons a governance run ends the way it does.
const (
	ReasonApproved                  = "approved"
	ReasonApprovedWithWarnings      = "approved_with_warnings"
	ReasonPolicyBlock               = "policy_block"
	ReasonInterventionFailed        = "intervention_failed"
	ReasonMaxReplanAttemptsExceeded = "max_replan_attempts_exceeded" // whitepaper 5.3 replan_policy
)

// Attempt is one evaluated signature of the replan loop; the workflow
// audits each one.
type Attempt struct {
	Signature  signature.Signature `json:"signature"`
	Hash       string              `json:"intent_signature_hash"`
	Evaluation Evaluation          `json:"evaluation"`
}

// Governance is the Policy Engine's final word on an intent.
type Governance struct {
	// Decision is approved, approved_with_warnings or blocked.
	Decision      decision.State `json:"decision"`
	Reason        string         `json:"reason"`
	BundleVersion string         `json:"policy_bundle_version"`
	// Final is the last signature evaluated; when approved, the one to plan.
	Final     signature.Signature `json:"final_signature"`
	FinalHash string              `json:"final_intent_signature_hash"`
	// Attempts lists every evaluation, first the input signature, then each
	// replanned one.
	Attempts []Attempt `json:"attempts"`
	// Faults explain a block; Warnings an approved_with_warnings.
	Faults   []fault.Fault `json:"faults,omitempty"`
	Warnings []fault.Fault `json:"warnings,omitempty"`
}

// Replanned reports whether any replan produced the final signature.
func (g Governance) Replanned() bool { return len(g.Attempts) > 1 }

// Govern evaluates sig, applies the mandatory interventions of a replan and
// re-evaluates, until approve or block. The limit counts signature.Replan,
// so replans made before this call count too: a signature that would need
// replan number MaxReplanAttempts+1 is blocked with
// max_replan_attempts_exceeded. A failing intervention blocks. The error is
// only for misuse (nil bundle) or an unencodable signature.
func Govern(sig signature.Signature, env registry.EnvironmentState, cat *catalog.Catalog, b *Bundle) (Governance, error) {
	if b == nil {
		return Governance{}, errors.New("govern intent: policy bundle is nil; load it with policy.Default or policy.Load")
	}
	g := Governance{BundleVersion: b.Version}
	cur := sig
	for {
		hash, err := cur.Hash()
		if err != nil {
			return Governance{}, fmt.Errorf("govern intent %q at replan %d: %w", sig.Intent, cur.Replan, err)
		}
		ev := b.Evaluate(cur, env)
		g.Attempts = append(g.Attempts, Attempt{Signature: cur, Hash: hash, Evaluation: ev})
		g.Final, g.FinalHash = cur, hash
		switch ev.Outcome {
		case Approve:
			g.Decision, g.Reason, g.Warnings = decision.Approved, ReasonApproved, ev.Warnings
			if len(ev.Warnings) > 0 {
				g.Decision, g.Reason = decision.ApprovedWithWarnings, ReasonApprovedWithWarnings
			}
			return g, nil
		case Block:
			return g.block(ReasonPolicyBlock, blockingFaults(ev)), nil
		}
		if cur.Replan >= b.MaxReplanAttempts {
			return g.block(ReasonMaxReplanAttemptsExceeded, []fault.Fault{maxReplanFault(b.MaxReplanAttempts, ev)}), nil
		}
		next, err := Apply(cur, ev.Interventions, cat)
		if err != nil {
			return g.block(ReasonInterventionFailed, []fault.Fault{interventionFault(ev, err)}), nil
		}
		cur = next
	}
}

func (g Governance) block(reason string, faults []fault.Fault) Governance {
	g.Decision, g.Reason, g.Faults = decision.Blocked, reason, faults
	return g
}

func blockingFaults(ev Evaluation) []fault.Fault {
	var out []fault.Fault
	for _, f := range ev.Faults {
		if f.MandatoryAction == MandatoryBlock {
			out = append(out, f)
		}
	}
	return out
}

func firedNames(ev Evaluation, action Action) string {
	var names []string
	for _, r := range ev.Fired {
		if r.Action == action {
			names = append(names, r.Name)
		}
	}
	return strings.Join(names, ", ")
}

func maxReplanFault(limit int, ev Evaluation) fault.Fault {
	rules := firedNames(ev, Replan)
	return policyFault(fault.CodeMaxReplanAttemptsExceeded, fault.SeverityHigh, MandatoryBlock, rules,
		fmt.Sprintf("after %d replans the rules %s still require a replan", limit, rules),
		[]string{"state the missing treatment in the intent (anonymization, merge key, temporal filter)",
			"or fix the rule whose intervention does not satisfy its own condition"})
}

func interventionFault(ev Evaluation, err error) fault.Fault {
	var ie *InterventionError
	remediation := []string{"fix the catalog or the intent so the intervention can apply"}
	if errors.As(err, &ie) {
		remediation = []string{ie.Remediation}
	}
	return policyFault(CodeInterventionFailed, fault.SeverityCritical, MandatoryBlock, firedNames(ev, Replan),
		err.Error(), remediation)
}
