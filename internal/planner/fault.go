package planner

import (
	"errors"
	"fmt"

	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/fault"
	"github.com/contextualflux/cfa/internal/signature"
)

// RuleOutsideSignature names the check of a plan against its signed
// envelope (Verify, Conform) in the fault it raises.
const RuleOutsideSignature = "plan_outside_signature"

// RefusalFault turns a planner refusal (no governed template satisfies the
// approved signature, or a supplied plan that does not conform) into the
// fault the decision records. A plan outside the signed envelope
// (ErrOutsideSignature) is a Static Safety Fault, STATIC_OUTSIDE_SIGNATURE:
// immediate block, no execution (docs/adr/0112); any other refusal is the
// semantic PLAN_CONSTRAINT_VIOLATED.
func RefusalFault(err error) fault.Fault {
	if errors.Is(err, ErrOutsideSignature) {
		f := fault.Fault{
			Code: fault.CodeOutsideSignature, Family: fault.StaticSafetyFaults, Severity: fault.SeverityCritical,
			Stage: fault.StageStaticValidation, DetectedBeforeExecution: true, MandatoryAction: "block", Rule: RuleOutsideSignature,
			Message: err.Error(), Remediation: []string{reexport},
		}
		var ce *ConstraintError
		if errors.As(err, &ce) && ce.Remediation != "" {
			f.Remediation = []string{ce.Remediation}
		}
		return f
	}
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

// Conformance is the finding on a plan supplied for sig (nil when it
// conforms): Verify against the signature and the catalog, then Conform to
// governed, the planner's own plan for the same signature. Run it before
// code generation; static validation applies it (docs/adr/0075, 0112).
func Conformance(p, governed ExecutionPlan, sig signature.Signature, cat *catalog.Catalog) *fault.Fault {
	err := Verify(p, sig, cat)
	if err == nil {
		err = Conform(p, governed)
	}
	if err == nil {
		return nil
	}
	f := RefusalFault(err)
	return &f
}
