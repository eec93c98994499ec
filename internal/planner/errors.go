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
)

// ConstraintError names the constraint the plan would violate.
type ConstraintError struct {
	Constraint  string
	Detail      string
	Remediation string
	sentinel    error
}

func (e *ConstraintError) Error() string {
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
