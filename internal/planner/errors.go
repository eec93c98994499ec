package planner

import (
	"errors"
	"fmt"
)

// Sentinel errors a caller can branch on with errors.Is.
var (
	// ErrConstraint: the plan would violate a signature constraint.
	ErrConstraint = errors.New("signature constraint violated")
	// ErrAppendForbidden: append_without_dedup was asked for (5.5 forbidden).
	ErrAppendForbidden = errors.New("append_without_dedup is forbidden")
	// ErrUnboundedScan: a high_volume source has no temporal filter.
	ErrUnboundedScan = errors.New("unbounded scan of a high_volume source")
	// ErrUnknownDataset: the signature names a dataset the catalog lacks.
	ErrUnknownDataset = errors.New("unknown dataset")
	// ErrUnknownColumn: a column is not declared by the catalog.
	ErrUnknownColumn = errors.New("unknown column")
	// ErrNoTemplate: the signature asks for something no template covers.
	ErrNoTemplate = errors.New("no template for the signature")
	// ErrInvalidOptions: Options or a literal in the signature is malformed.
	ErrInvalidOptions = errors.New("invalid planner input")
	// ErrCatalogMismatch: the catalog is not the snapshot the signature names.
	ErrCatalogMismatch = errors.New("catalog snapshot mismatch")
	// ErrOutsideSignature: the plan reads, joins or writes something the
	// approved signature did not sign (a wider window, another target, join
	// key, merge key or column). Its fault is a Static Safety Fault.
	ErrOutsideSignature = errors.New("plan outside the signed signature")
	// ErrMergeKeyNotUnique: the merge key is not a key the catalog declares
	// unique for the target, so a MERGE or a dedupe on it would collapse
	// distinct rows.
	ErrMergeKeyNotUnique = errors.New("merge key is not a declared unique key")
)

// Constraint names as the signature spells them, used in ConstraintError.
const (
	ConstraintNoPIIRaw         = "no_pii_raw"
	ConstraintMergeKeyRequired = "merge_key_required"
	ConstraintTemporalFilter   = "temporal_filter"
	ConstraintEnforceTypes     = "enforce_types"
	ConstraintPublishBlocked   = "publish_blocked"
	ConstraintTargetLayer      = "target_layer"
	ConstraintIdempotency      = "execution_semantics.idempotency"
	// ConstraintMergeKeyUnique: the merge key must be a key the catalog
	// declares unique for the target (its merge_key, docs/adr/0112).
	ConstraintMergeKeyUnique = "merge_key_unique"
)

// What a plan is checked against the signed signature on (Verify, Conform);
// a violation wraps ErrOutsideSignature. The window uses
// ConstraintTemporalFilter.
const (
	ConstraintSignature = "intent_signature_hash" // made for another signature or catalog
	ConstraintTarget    = "target"                // the dataset and layer written
	ConstraintSources   = "sources"               // the datasets read
	ConstraintJoinKey   = "join_key"              // the columns a join matches on
	ConstraintMergeKey  = "merge_key"             // the load's merge key and match key
	ConstraintDedupeKey = "dedupe_key"            // the key a dedupe keeps one row per
	ConstraintColumns   = "columns"               // the columns read and written
	ConstraintExecution = "execution_semantics"   // strategy, load mode, consistency unit
)

// ConstraintError names the constraint the plan would violate.
type ConstraintError struct {
	Constraint  string
	Detail      string
	Remediation string
	sentinel    error
}

func (e *ConstraintError) Error() string {
	if e.sentinel == ErrOutsideSignature {
		return fmt.Sprintf("plan outside the signed signature (%s): %s; %s", e.Constraint, e.Detail, e.Remediation)
	}
	return fmt.Sprintf("plan violates %s: %s; %s", e.Constraint, e.Detail, e.Remediation)
}

// Unwrap matches ErrConstraint and, where set, a more specific sentinel.
func (e *ConstraintError) Unwrap() []error {
	if e.sentinel != nil {
		return []error{ErrConstraint, e.sentinel}
	}
	return []error{ErrConstraint}
}

func violation(constraint, remediation, format string, args ...any) *ConstraintError {
	return &ConstraintError{Constraint: constraint, Detail: fmt.Sprintf(format, args...), Remediation: remediation}
}

// outside is a violation of the signed envelope (ErrOutsideSignature).
func outside(constraint, remediation, format string, args ...any) *ConstraintError {
	return &ConstraintError{Constraint: constraint, Detail: fmt.Sprintf(format, args...), Remediation: remediation, sentinel: ErrOutsideSignature}
}
