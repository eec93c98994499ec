package planner

import (
	"errors"
	"fmt"

	"github.com/contextualflux/cfa/internal/fault"
)

// RefusalFault turns a planner refusal (no governed template satisfies the
// approved signature, or a supplied plan that does not conform) into the
// fault the decision records.
func RefusalFault(err error) fault.Fault {
	f := fault.Fault{
		Code: fault.CodePlanConstraintViolated, Family: fault.SemanticFaults, Severity: fault.SeverityHigh,
		Stage: fault.StageExecutionPlanner, DetectedBeforeExecution: true, MandatoryAction: "block",
		Message: err.Error(), Remediation: []string{"change the intent so a governed template fits it (one target, sources in the catalog), then resubmit"},
	}
	var ce *ConstraintError
	if errors.As(err, &ce) {
		f.Rule = ce.Constraint
		if ce.Remediation != "" {
			f.Remediation = []string{ce.Remediation}
		}
	}
	return f
}

// CheckSupplied checks that a plan from an external planner is intact and
// made for this signature and catalog (nil when it is); what its code does
// is Static Validation's to judge.
func CheckSupplied(p ExecutionPlan, sigHash, catalogVersion string) *fault.Fault {
	var problem string
	switch h, err := HashPlan(p); {
	case err != nil:
		problem = err.Error()
	case h != p.Hash:
		problem = fmt.Sprintf("the supplied plan's hash %s does not match its content (%s): it was edited after hashing", p.Hash, h)
	case p.SignatureHash != sigHash:
		problem = fmt.Sprintf("the supplied plan was made for signature %s, the approved signature is %s", p.SignatureHash, sigHash)
	case p.CatalogSnapshotVersion != catalogVersion:
		problem = fmt.Sprintf("the supplied plan was made against %s, the catalog is %s", p.CatalogSnapshotVersion, catalogVersion)
	default:
		return nil
	}
	return &fault.Fault{
		Code: fault.CodePlanConstraintViolated, Family: fault.SemanticFaults, Severity: fault.SeverityCritical,
		Stage: fault.StageExecutionPlanner, DetectedBeforeExecution: true, MandatoryAction: "block", Rule: "supplied_plan_integrity",
		Message: problem, Remediation: []string{"re-export the plan with `cfa plan ID -o json` for this signature, edit it, and recompute its hash"},
	}
}
