package policy

import (
	"fmt"
	"slices"

	"cel.dev/cel-go/common/types"

	"github.com/contextualflux/cfa/internal/fault"
	"github.com/contextualflux/cfa/internal/registry"
	"github.com/contextualflux/cfa/internal/signature"
)

// Fault codes the engine raises itself (bundles declare the others).
const (
	// CodePolicyEvaluationFailed: a condition errored at run time (cost limit,
	// bad data); the engine fails closed.
	CodePolicyEvaluationFailed = "POLICY_EVALUATION_FAILED"
	// CodeInterventionFailed: a mandatory intervention could not be applied.
	CodeInterventionFailed = "POLICY_INTERVENTION_FAILED"
)

// Mandatory actions written into faults.
const (
	MandatoryReplanOrBlock = "replan_or_block" // a replan that may still end in block
	MandatoryBlock         = "block"
	MandatoryNone          = "none" // advisory: approved_with_warnings
)

// FiredRule is a rule whose condition held.
type FiredRule struct {
	Name       string         `json:"name"`
	PolicyType PolicyType     `json:"policy_type"`
	Action     Action         `json:"action"`
	Severity   fault.Severity `json:"severity"`
	FaultCode  string         `json:"fault_code"`
}

// Evaluation is the Policy Engine's verdict on one signature.
type Evaluation struct {
	// Outcome is the strictest action of the fired rules; approve if none.
	Outcome       Action      `json:"outcome"`
	BundleVersion string      `json:"policy_bundle_version"`
	Fired         []FiredRule `json:"fired,omitempty"` // bundle order
	// Faults are the semantic faults of the fired replan and block rules.
	Faults []fault.Fault `json:"faults,omitempty"`
	// Interventions merged from the fired replan rules, deduplicated, in
	// the order Apply runs them.
	Interventions []Intervention `json:"interventions,omitempty"`
	// Warnings are the faults of fired approve rules.
	Warnings []fault.Fault `json:"warnings,omitempty"`
}

// Evaluate runs every rule of the bundle on the facts of sig under env.
func (b *Bundle) Evaluate(sig signature.Signature, env registry.EnvironmentState) Evaluation {
	f := NewFacts(sig, env)
	return b.EvaluateFacts(&f)
}

// EvaluateFacts runs every rule on precomputed facts. A condition that
// errors at run time fires as a critical block (fail closed).
func (b *Bundle) EvaluateFacts(f *Facts) Evaluation {
	ev := Evaluation{Outcome: Approve, BundleVersion: b.Version}
	if err := f.checkBounds(); err != nil {
		ev.Outcome = Block
		ev.Faults = []fault.Fault{policyFault(CodePolicyEvaluationFailed, fault.SeverityCritical, MandatoryBlock, "",
			fmt.Sprintf("facts exceed the bounds the bundle's cost limit assumes: %v", err),
			[]string{"split the intent into smaller ones"})}
		return ev
	}
	act := getActivation(f)
	defer putActivation(act)
	// First pass: evaluate, remembering fired rules (negative = errored) on
	// the stack; second pass: allocate the result slices once, exact size.
	var buf [64]int
	fired := buf[:0]
	var nFaults, nWarnings, nIvs int
	for i := range b.Rules {
		r := &b.Rules[i]
		out, _, err := r.prg.Eval(act)
		switch {
		case err != nil:
			fired = append(fired, -i-1)
			nFaults++
		case out == types.True:
			fired = append(fired, i)
			if r.Action == Approve {
				nWarnings++
			} else {
				nFaults++
				nIvs += len(r.Interventions)
			}
		}
	}
	if len(fired) == 0 {
		return ev
	}
	ev.Fired = make([]FiredRule, 0, len(fired))
	if nFaults > 0 {
		ev.Faults = make([]fault.Fault, 0, nFaults)
	}
	if nWarnings > 0 {
		ev.Warnings = make([]fault.Fault, 0, nWarnings)
	}
	ivs := make([]Intervention, 0, nIvs)
	for _, i := range fired {
		if i < 0 {
			r := &b.Rules[-i-1]
			_, _, err := r.prg.Eval(act) // re-run for the message; errors are rare
			ev.Fired = append(ev.Fired, FiredRule{r.Name, r.PolicyType, Block, fault.SeverityCritical, CodePolicyEvaluationFailed})
			ev.Faults = append(ev.Faults, policyFault(CodePolicyEvaluationFailed, fault.SeverityCritical, MandatoryBlock, r.Name,
				fmt.Sprintf("rule %q (%s line %d) failed to evaluate: %v", r.Name, r.File, r.Line, err),
				[]string{"fix the rule's condition, then reload the bundle"}))
			ev.Outcome = Block
			continue
		}
		r := &b.Rules[i]
		ev.Fired = append(ev.Fired, FiredRule{r.Name, r.PolicyType, r.Action, r.Severity, r.FaultCode})
		if r.Action.rank() > ev.Outcome.rank() {
			ev.Outcome = r.Action
		}
		switch r.Action {
		case Approve:
			ev.Warnings = append(ev.Warnings, r.fault(MandatoryNone))
		case Replan:
			ev.Faults = append(ev.Faults, r.fault(MandatoryReplanOrBlock))
			ivs = append(ivs, r.Interventions...)
		case Block:
			ev.Faults = append(ev.Faults, r.fault(MandatoryBlock))
		}
	}
	ev.Interventions = sortCompact(ivs)
	return ev
}

func (r *Rule) fault(action string) fault.Fault {
	return policyFault(r.FaultCode, r.Severity, action, r.Name, r.Description, r.Remediation)
}

func policyFault(code string, sev fault.Severity, action, rule, msg string, remediation []string) fault.Fault {
	return fault.Fault{
		Code:                    code,
		Family:                  fault.SemanticFaults,
		Severity:                sev,
		Stage:                   fault.StagePolicyEngine,
		DetectedBeforeExecution: true,
		MandatoryAction:         action,
		Remediation:             slices.Clone(remediation), // callers may edit their copy
		Rule:                    rule,
		Message:                 msg,
	}
}
