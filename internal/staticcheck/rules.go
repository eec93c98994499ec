package staticcheck

import (
	"github.com/contextualflux/cfa/internal/fault"
)

// Layer is a lakehouse layer of the target table.
type Layer string

// Layers. Writes into Silver and Gold must be idempotent (no plain append).
const (
	LayerStaging Layer = "staging"
	LayerBronze  Layer = "bronze"
	LayerSilver  Layer = "silver"
	LayerGold    Layer = "gold"
)

// governed reports whether writes into the layer must be MERGE, ON CONFLICT
// or a partition overwrite.
func (l Layer) governed() bool { return l == LayerSilver || l == LayerGold }

// Rules is what Validate checks a script against. It is deliberately
// independent of the planner's types: the caller fills it from the approved
// signature and the catalog. Table names are schema-qualified ("bronze.nfe").
type Rules struct {
	// HighVolumeTables are read only with a temporal predicate.
	HighVolumeTables []string
	// TemporalColumns maps a qualified table to its temporal (partition) column,
	// e.g. "bronze.nfe" → "processing_date". Every high-volume table needs one;
	// a governed target listed here must be overwritten by that column's range.
	TemporalColumns map[string]string
	// TargetTable is the table the script writes, e.g. "silver.silver_documentos".
	TargetTable string
	// TargetLayer is the target's layer; silver and gold forbid plain appends.
	// Tables in schemas named silver or gold are governed whatever this says.
	TargetLayer Layer
	// ExpectedColumns must all be among the columns written to TargetTable.
	ExpectedColumns []string
	// ForbiddenColumns (raw PII such as cpf, email) must not be written, neither
	// by name nor as the unmasked value under another name.
	ForbiddenColumns []string
	// AllowedFunctions, when not empty, is the only functions a script may call
	// (unqualified or pg_catalog-qualified names). The deny list applies anyway.
	AllowedFunctions []string
	// SignedWindows maps a qualified table to the window the approved
	// signature signed on its temporal column (TemporalColumns), e.g.
	// "bronze.nfe" → [2025-12-05, 2026-01-04). Every read, DELETE or UPDATE
	// of the table must bound that column inside it with date constants
	// (ADR 0112); a table not listed is not checked.
	SignedWindows map[string]Window
	// ReadOnly: the script is a read (docs/adr/0132): SELECT statements
	// only, no write of any table, no row lock.
	ReadOnly bool
	// MaxRows, when positive, bounds what a read returns: its last
	// statement is a SELECT with LIMIT n, n a constant <= MaxRows.
	MaxRows int64
}

// Window is a signed range of dates: From inclusive, To exclusive, both
// YYYY-MM-DD; an empty side is open.
type Window struct {
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
}

// Rule is the stable name of a check; it appears in the fault and the audit.
type Rule string

// The closed set of rules (ADR 0066).
const (
	RuleParseError               Rule = "parse_error"
	RuleForbiddenStatement       Rule = "forbidden_statement"
	RuleForbiddenFunction        Rule = "forbidden_function"
	RuleFunctionNotAllowed       Rule = "function_not_allowed"
	RuleCrossJoin                Rule = "cross_join"
	RuleUnboundedScan            Rule = "unbounded_scan"
	RuleMissingTemporalPredicate Rule = "missing_temporal_predicate"
	RuleUnboundedWrite           Rule = "unbounded_write"
	RuleAppendIntoLayer          Rule = "append_into_layer"
	RuleContractMissingColumn    Rule = "contract_missing_column"
	RuleContractForbiddenColumn  Rule = "contract_forbidden_column"
	RuleContractUnverifiable     Rule = "contract_unverifiable"
	RuleOutsideSignedWindow      Rule = "outside_signed_window"
	// RuleUnboundedResult: a read whose rows are not bounded by a LIMIT
	// within its row limit (docs/adr/0132).
	RuleUnboundedResult Rule = "unbounded_result"
)

// Fault codes raised by static validation.
const (
	CodeParseError               = "STATIC_PARSE_ERROR"
	CodeForbiddenOperation       = "STATIC_FORBIDDEN_OPERATION"
	CodeForbiddenFunction        = "STATIC_FORBIDDEN_FUNCTION"
	CodeCrossJoin                = "STATIC_CROSS_JOIN"
	CodeUnboundedScan            = "STATIC_UNBOUNDED_SCAN"
	CodeTemporalPredicateMissing = "STATIC_TEMPORAL_PREDICATE_MISSING"
	CodeAppendForbidden          = "STATIC_APPEND_FORBIDDEN"
	CodeContractViolation        = "STATIC_CONTRACT_VIOLATION"
	CodeOutsideSignature         = fault.CodeOutsideSignature
)

// MandatoryAction of every static safety fault (5.13: immediate block).
const MandatoryAction = "block"

type ruleInfo struct {
	code        string
	severity    fault.Severity
	remediation string
}

var ruleInfos = map[Rule]ruleInfo{
	RuleParseError:               {CodeParseError, fault.SeverityHigh, "Fix the generator: it must emit SQL that Postgres parses."},
	RuleForbiddenStatement:       {CodeForbiddenOperation, fault.SeverityCritical, "Generated code may only run SELECT, INSERT, UPDATE, DELETE, MERGE and transaction control."},
	RuleForbiddenFunction:        {CodeForbiddenFunction, fault.SeverityCritical, "Remove the call: it reaches files, the network, sessions or dynamic SQL."},
	RuleFunctionNotAllowed:       {CodeForbiddenFunction, fault.SeverityHigh, "Use only the functions the backend allows, or extend the allow list by review."},
	RuleCrossJoin:                {CodeCrossJoin, fault.SeverityHigh, "Join with an explicit predicate between the relations."},
	RuleUnboundedScan:            {CodeUnboundedScan, fault.SeverityHigh, "Apply a temporal filter on the table's temporal column in the query that reads it."},
	RuleMissingTemporalPredicate: {CodeTemporalPredicateMissing, fault.SeverityHigh, "Bound the temporal column with =, <, <=, >, >=, BETWEEN or IN against constants, in a top-level AND."},
	RuleUnboundedWrite:           {CodeForbiddenOperation, fault.SeverityCritical, "Bound UPDATE and DELETE on governed layers by the partition range."},
	RuleAppendIntoLayer:          {CodeAppendForbidden, fault.SeverityHigh, "Write with MERGE, INSERT ... ON CONFLICT, or DELETE the partition range before the INSERT."},
	RuleContractMissingColumn:    {CodeContractViolation, fault.SeverityHigh, "Write every expected column of the schema contract."},
	RuleContractForbiddenColumn:  {CodeContractViolation, fault.SeverityCritical, "Drop the raw column or mask it (sha256, digest, md5) before it reaches the output."},
	RuleContractUnverifiable:     {CodeContractViolation, fault.SeverityHigh, "Name the written columns explicitly (no *, no positional INSERT, no table column aliases)."},
	RuleOutsideSignedWindow:      {CodeOutsideSignature, fault.SeverityCritical, "Read and rewrite only inside the signed window: bound the temporal column with date constants within it, or sign a wider window first."},
	RuleUnboundedResult:          {CodeUnboundedScan, fault.SeverityHigh, "End the read with LIMIT n, an integer constant no larger than its row limit plus one."},
}

// Violation is one failed check.
type Violation struct {
	Rule    Rule   `json:"rule"`
	Message string `json:"message"`
	// Location is the byte offset in the input where the offending node starts
	// (from the parser; for parse errors, the parser's error cursor).
	Location int         `json:"location"`
	Fault    fault.Fault `json:"fault"`
}

// Report is the result of Validate. Passed is true only when the script
// parsed and no rule was violated.
type Report struct {
	Passed     bool        `json:"passed"`
	Violations []Violation `json:"violations"`
}

func newViolation(rule Rule, loc int, msg string) Violation {
	info := ruleInfos[rule]
	return Violation{
		Rule:     rule,
		Message:  msg,
		Location: loc,
		Fault: fault.Fault{
			Code:                    info.code,
			Family:                  fault.StaticSafetyFaults,
			Severity:                info.severity,
			Stage:                   fault.StageStaticValidation,
			DetectedBeforeExecution: true,
			MandatoryAction:         MandatoryAction,
			Remediation:             []string{info.remediation},
			Rule:                    string(rule),
			Message:                 msg,
		},
	}
}
