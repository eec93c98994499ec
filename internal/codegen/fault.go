package codegen

import "github.com/contextualflux/cfa/internal/fault"

// RefusalFault is the Static Safety Fault of a backend that refused to
// render a plan: the plan does not match the catalog it is rendered with.
func RefusalFault(backend string, err error) fault.Fault {
	return fault.Fault{
		Code: fault.CodeCodeGenerationRefused, Family: fault.StaticSafetyFaults, Severity: fault.SeverityCritical,
		Stage: fault.StageStaticValidation, DetectedBeforeExecution: true, MandatoryAction: "block", Rule: backend,
		Message: err.Error(), Remediation: []string{"the plan does not match the catalog; replan the intent against the current catalog"},
	}
}
