package runtimevalidation

import (
	"cmp"
	"slices"

	"github.com/contextualflux/cfa/internal/fault"
)

// Fault codes of Runtime Validation; stable, they appear in the audit, the
// registry's failed units and the retry policy.
const (
	CodeRowLimitExceeded         = "RUNTIME_ROW_LIMIT_EXCEEDED"
	CodeOutputBelowExpectedRange = "RUNTIME_OUTPUT_BELOW_EXPECTED_RANGE"
	CodeOutputAboveExpectedRange = "RUNTIME_OUTPUT_ABOVE_EXPECTED_RANGE"
	CodeNullRatioExceeded        = "RUNTIME_NULL_RATIO_EXCEEDED"
	CodeSchemaDrift              = "RUNTIME_SCHEMA_DRIFT"
	CodeShuffleLimitExceeded     = "RUNTIME_SHUFFLE_LIMIT_EXCEEDED" // the code of the whitepaper's 5.8 example
	CodeCostCeilingExceeded      = "RUNTIME_COST_CEILING_EXCEEDED"
)

// Rule names the runtime_metrics key (and, for drift, the kind of drift)
// that raised a fault; it is the fault's Rule.
type Rule string

// The closed set of rules.
const (
	RuleMaxRowsOutput          Rule = "max_rows_output"
	RuleExpectedOutputRangeMin Rule = "expected_output_range.min"
	RuleExpectedOutputRangeMax Rule = "expected_output_range.max"
	RuleMaxNullRatio           Rule = "max_null_ratio"
	RuleSchemaMissingColumn    Rule = "schema_drift_detection.missing_column"
	RuleSchemaTypeChanged      Rule = "schema_drift_detection.type_changed"
	RuleSchemaUnexpectedColumn Rule = "schema_drift_detection.unexpected_column"
	RuleSchemaColumnOrder      Rule = "schema_drift_detection.column_order"
	RuleMaxShuffleSizeMB       Rule = "max_shuffle_size_mb"
	RuleCostCeilingDBU         Rule = "cost_ceiling_dbu"
)

// Mandatory actions of runtime faults (5.13: "quarantine, rollback, or
// partial state", chosen by the Partial Failure Policy).
const (
	// ActionApplyPartialFailurePolicy: the unit failed; the policy decides
	// whether it is retried, quarantined or rolled back.
	ActionApplyPartialFailurePolicy = "apply_partial_failure_policy"
	// ActionWarn: recorded and shown; the unit's data stands.
	ActionWarn = "warn_and_continue"
)

type ruleInfo struct {
	code        string
	severity    fault.Severity
	failing     bool // fails the unit; otherwise a warning (docs/adr/0081)
	remediation string
}

var ruleInfos = map[Rule]ruleInfo{
	RuleMaxRowsOutput: {CodeRowLimitExceeded, fault.SeverityHigh, true,
		"Check the unit's sources for duplicated rows or a join that fans out; raise max_rows_output with the data owner only if the volume is real."},
	RuleExpectedOutputRangeMax: {CodeOutputAboveExpectedRange, fault.SeverityMedium, true,
		"Check the unit's sources for duplicates or a fan-out join; widen expected_output_range.max if the growth is real."},
	RuleExpectedOutputRangeMin: {CodeOutputBelowExpectedRange, fault.SeverityMedium, true,
		"Check that the unit's source partition has fully landed (a retry reads it again); lower expected_output_range.min if the volume is real."},
	RuleMaxNullRatio: {CodeNullRatioExceeded, fault.SeverityHigh, true,
		"Find why the column is null in the unit's sources (missing upstream values, a join that did not match), fix the data upstream and rerun the unit."},
	RuleSchemaMissingColumn: {CodeSchemaDrift, fault.SeverityHigh, true,
		"Write every column of the contract: regenerate the code from the approved plan, or change the catalog contract through review."},
	RuleSchemaTypeChanged: {CodeSchemaDrift, fault.SeverityHigh, true,
		"Cast the column to the contract type in the load, or change the catalog type through review."},
	RuleSchemaUnexpectedColumn: {CodeSchemaDrift, fault.SeverityHigh, true,
		"Drop the column from the load, or add it to the catalog with its PII classification through review: schemas come from the catalog, never from the output."},
	RuleSchemaColumnOrder: {CodeSchemaDrift, fault.SeverityLow, false,
		"Write the columns in contract order; readers by position see a different layout."},
	RuleMaxShuffleSizeMB: {CodeShuffleLimitExceeded, fault.SeverityHigh, true,
		"Reduce what the unit moves: narrow the window, split the unit, or raise max_shuffle_size_mb with the FinOps owner."},
	RuleCostCeilingDBU: {CodeCostCeilingExceeded, fault.SeverityHigh, false,
		"The real cost feeds the pre-cost history (5.5 feedback_loop), so the next estimate of this signature rises; narrow the intent or raise cost_ceiling_dbu with the FinOps owner."},
}

// Failing reports whether a fault raised under rule fails its unit (true)
// or is only a warning (false). Unknown rules fail: unknown is not safe.
func Failing(rule Rule) bool {
	info, ok := ruleInfos[rule]
	return !ok || info.failing
}

// finding is a fault plus the key it sorts by within equal rules.
type finding struct {
	fault   fault.Fault
	subject string // column name, or "" for a unit-wide metric
}

func newFinding(rule Rule, subject, msg string) finding {
	info := ruleInfos[rule]
	action := ActionWarn
	if info.failing {
		action = ActionApplyPartialFailurePolicy
	}
	return finding{
		subject: subject,
		fault: fault.Fault{
			Code:                    info.code,
			Family:                  fault.RuntimeBehavioralFaults,
			Severity:                info.severity,
			Stage:                   fault.StageRuntimeValidation,
			DetectedBeforeExecution: false,
			MandatoryAction:         action,
			Remediation:             []string{info.remediation},
			Rule:                    string(rule),
			Message:                 msg,
		},
	}
}

// sortFindings orders faults deterministically: most severe first, then by
// code, rule and subject (the column), then message.
func sortFindings(fs []finding) []fault.Fault {
	slices.SortFunc(fs, func(a, b finding) int {
		return cmp.Or(
			cmp.Compare(b.fault.Severity.Rank(), a.fault.Severity.Rank()),
			cmp.Compare(a.fault.Code, b.fault.Code),
			cmp.Compare(a.fault.Rule, b.fault.Rule),
			cmp.Compare(a.subject, b.subject),
			cmp.Compare(a.fault.Message, b.fault.Message),
		)
	})
	if len(fs) == 0 {
		return nil
	}
	out := make([]fault.Fault, len(fs))
	for i, f := range fs {
		out[i] = f.fault
	}
	return out
}
