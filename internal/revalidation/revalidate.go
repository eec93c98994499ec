package revalidation

import (
	"errors"
	"fmt"
	"strings"

	"github.com/contextualflux/cfa/internal/fault"
	"github.com/contextualflux/cfa/internal/signature"
)

// Trigger is pre_execution_revalidation.trigger.
const Trigger = "immediately_before_execution"

// ReasonStaleEnvironmentState is on_mismatch.reason.
const ReasonStaleEnvironmentState = "stale_environment_state"

// ActionReplanOrAbort is on_mismatch.action: replan, or abort once the
// Policy Engine's max_replan_attempts is spent.
const ActionReplanOrAbort = "replan_or_abort"

// CountsAsReplanAttempt is on_mismatch.counts_as_replan_attempt.
const CountsAsReplanAttempt = true

// CodeStaleEnvironmentState is the fault code of a mismatch.
const CodeStaleEnvironmentState = "STALE_ENVIRONMENT_STATE"

// The checked fields, named as in the whitepaper's checks list.
const (
	FieldRegistryVersionID      = "context_registry.version_id"
	FieldPolicyBundleVersion    = "policy_bundle_version"
	FieldCatalogSnapshotVersion = "catalog_snapshot_version"
)

// ErrIncompleteContext: a version to compare is missing, so revalidation
// cannot say the premise still holds.
var ErrIncompleteContext = errors.New("execution_context is incomplete")

// Outcome is the result of revalidation.
type Outcome string

// The outcomes.
const (
	Proceed Outcome = "proceed" // every version matches: run the Sandbox
	Replan  Outcome = "replan"  // a version changed: replan (or abort at the limit)
)

// Mismatch is one check that failed.
type Mismatch struct {
	Field   string `json:"field"`
	Signed  string `json:"signed"`  // the value in the signature's execution_context
	Current string `json:"current"` // the value in force now
}

// Result is what revalidation found.
type Result struct {
	Outcome Outcome `json:"outcome"`
	// Reason is ReasonStaleEnvironmentState on Replan, "" on Proceed.
	Reason string `json:"reason,omitempty"`
	// Mismatches lists the failed checks in the whitepaper's order.
	Mismatches []Mismatch `json:"mismatches,omitempty"`
	// CountsAsReplanAttempt is true on Replan: the workflow adds one to the
	// replan count it checks against the bundle's max_replan_attempts.
	CountsAsReplanAttempt bool `json:"counts_as_replan_attempt"`
	// Fault is the STALE_ENVIRONMENT_STATE fault on Replan, nil on Proceed.
	Fault *fault.Fault `json:"fault,omitempty"`
}

// Revalidate compares signed (the Signature's execution_context) with
// current (the latest committed registry version_id, the policy bundle
// version and the catalog snapshot version in force now). A missing value
// on either side is an error wrapping ErrIncompleteContext: the workflow
// must not execute on a premise it cannot check.
func Revalidate(signed, current signature.ExecutionContext) (Result, error) {
	checks := []Mismatch{
		{FieldRegistryVersionID, signed.RegistryVersionID, current.RegistryVersionID},
		{FieldPolicyBundleVersion, signed.PolicyBundleVersion, current.PolicyBundleVersion},
		{FieldCatalogSnapshotVersion, signed.CatalogSnapshotVersion, current.CatalogSnapshotVersion},
	}
	var missing []string
	for _, c := range checks {
		if c.Signed == "" {
			missing = append(missing, "signed "+c.Field)
		}
		if c.Current == "" {
			missing = append(missing, "current "+c.Field)
		}
	}
	if len(missing) > 0 {
		return Result{}, fmt.Errorf("revalidate execution_context: %w: %s empty; sign the execution_context at step 6 and read the latest committed registry snapshot, policy bundle and catalog before step 12",
			ErrIncompleteContext, strings.Join(missing, ", "))
	}
	var res Result
	for _, c := range checks {
		if c.Signed != c.Current {
			res.Mismatches = append(res.Mismatches, c)
		}
	}
	if len(res.Mismatches) == 0 {
		res.Outcome = Proceed
		return res, nil
	}
	res.Outcome = Replan
	res.Reason = ReasonStaleEnvironmentState
	res.CountsAsReplanAttempt = CountsAsReplanAttempt
	f := staleFault(res.Mismatches)
	res.Fault = &f
	return res, nil
}

// staleFault is the fault of a mismatch: a semantic fault (the execution
// contract no longer matches the environment), detected before execution,
// resolved by the replan loop (docs/adr/0086).
func staleFault(ms []Mismatch) fault.Fault {
	parts := make([]string, len(ms))
	for i, m := range ms {
		parts[i] = fmt.Sprintf("%s signed %q, now %q", m.Field, m.Signed, m.Current)
	}
	return fault.Fault{
		Code:                    CodeStaleEnvironmentState,
		Family:                  fault.SemanticFaults,
		Severity:                fault.SeverityMedium,
		Stage:                   fault.StageRevalidation,
		DetectedBeforeExecution: true,
		MandatoryAction:         ActionReplanOrAbort,
		Remediation: []string{
			"Re-read the latest committed Context Registry snapshot, policy bundle and catalog",
			"Generate a new Signature with the current execution_context and plan again",
		},
		Rule:    "pre_execution_revalidation",
		Message: ReasonStaleEnvironmentState + ": " + strings.Join(parts, "; "),
	}
}
