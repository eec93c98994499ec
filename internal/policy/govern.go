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
	// ReasonReplanProposed ends a cycle in propose mode: the replanned
	// signature is returned for a new cycle instead of being governed here.
	ReasonReplanProposed = "replan_proposed"
)

// Replan modes (IntentInput.ReplanMode): who starts the next cycle.
const (
	// ReplanAuto: Govern loops, each replan governed again (5.3).
	ReplanAuto = "auto"
	// ReplanPropose: Propose ends the cycle at the first replan, decision
	// replanned; a resubmission of the replanned signature is the next cycle.
	ReplanPropose = "propose"
)

// ReplanModes lists the replan modes.
var ReplanModes = []string{ReplanAuto, ReplanPropose}

// Attempt is one evaluated signature of the replan loop; the workflow
// audits each one.
type Attempt struct {
	Signature  signature.Signature `json:"signature"`
	Hash       string              `json:"intent_signature_hash"`
	Evaluation Evaluation          `json:"evaluation"`
	// Replanned is the replan that produced Signature: who asked for it,
	// why, and what it changed; nil for the signature the run was given.
	Replanned *Replanning `json:"replanned,omitempty"`
}

// Governance is the Policy Engine's final word on an intent.
type Governance struct {
	// Decision is approved, approved_with_warnings or blocked; Propose
	// also returns replanned.
	Decision      decision.State `json:"decision"`
	Reason        string         `json:"reason"`
	BundleVersion string         `json:"policy_bundle_version"`
	// Final is the last signature evaluated; when approved, the one to plan.
	// When replanned (Propose), the replanned signature, not yet evaluated:
	// the input of the next cycle.
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
	var replanned *Replanning
	for {
		hash, err := cur.Hash()
		if err != nil {
			return Governance{}, fmt.Errorf("govern intent %q at replan %d: %w", sig.Intent, cur.Replan, err)
		}
		ev := b.Evaluate(cur, env)
		g.Attempts = append(g.Attempts, Attempt{Signature: cur, Hash: hash, Evaluation: ev, Replanned: replanned})
		g.Final, g.FinalHash = cur, hash
		next, done := g.settle(cur, ev, b, cat)
		if done {
			return g, nil
		}
		replanned = ruleReplanning(cur, next, ev)
		cur = next
	}
}

// Propose evaluates sig once. Approve and block end as in Govern; a replan
// applies the interventions and returns the replanned signature as Final
// with decision replanned, for a new cycle (a resubmission) instead of
// governing it here. The replan limit counts across cycles through
// signature.Replan, so a chain of proposals ends blocked like the loop.
func Propose(sig signature.Signature, env registry.EnvironmentState, cat *catalog.Catalog, b *Bundle) (Governance, error) {
	if b == nil {
		return Governance{}, errors.New("propose replan: policy bundle is nil; load it with policy.Default or policy.Load")
	}
	hash, err := sig.Hash()
	if err != nil {
		return Governance{}, fmt.Errorf("propose replan for intent %q at replan %d: %w", sig.Intent, sig.Replan, err)
	}
	ev := b.Evaluate(sig, env)
	g := Governance{BundleVersion: b.Version, Final: sig, FinalHash: hash, Attempts: []Attempt{{Signature: sig, Hash: hash, Evaluation: ev}}}
	next, done := g.settle(sig, ev, b, cat)
	if done {
		return g, nil
	}
	nextHash, err := next.Hash()
	if err != nil {
		return Governance{}, fmt.Errorf("propose replan for intent %q: hash the replanned signature: %w", sig.Intent, err)
	}
	g.Decision, g.Reason, g.Faults = decision.Replanned, ReasonReplanProposed, ev.Faults
	g.Final, g.FinalHash = next, nextHash
	return g, nil
}

// settle ends g on approve, block, the replan limit or a failing
// intervention (done), or returns the replanned signature.
func (g *Governance) settle(cur signature.Signature, ev Evaluation, b *Bundle, cat *catalog.Catalog) (signature.Signature, bool) {
	switch ev.Outcome {
	case Approve:
		g.Decision, g.Reason, g.Warnings = decision.Approved, ReasonApproved, ev.Warnings
		if len(ev.Warnings) > 0 {
			g.Decision, g.Reason = decision.ApprovedWithWarnings, ReasonApprovedWithWarnings
		}
		return cur, true
	case Block:
		*g = g.block(ReasonPolicyBlock, blockingFaults(ev))
		return cur, true
	}
	if cur.Replan >= b.MaxReplanAttempts {
		*g = g.block(ReasonMaxReplanAttemptsExceeded, []fault.Fault{maxReplanFault(b.MaxReplanAttempts, ev)})
		return cur, true
	}
	next, err := Apply(cur, ev.Interventions, cat)
	if err != nil {
		*g = g.block(ReasonInterventionFailed, []fault.Fault{interventionFault(ev, err)})
		return cur, true
	}
	return next, false
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
