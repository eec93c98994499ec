package partialexecution

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// ErrInvalidPolicy is wrapped by every error about a partial_failure_policy
// or a retry_policy.
var ErrInvalidPolicy = errors.New("invalid partial execution policy")

// Mode is partial_failure_policy.mode.
type Mode string

// The four modes of the whitepaper's table.
const (
	// FullRollback: any failure invalidates everything (atomic pipelines,
	// critical data).
	FullRollback Mode = "full_rollback"
	// SelectiveQuarantine: isolates failed units, preserves valid ones
	// (partitioned batch processing).
	SelectiveQuarantine Mode = "selective_quarantine"
	// PartialCommitNoPublish: writes partially, does not publish the layer
	// (tolerant ingestion pipelines).
	PartialCommitNoPublish Mode = "partial_commit_no_publish"
	// DegradedPublish: allows restricted use with degraded status (cases
	// with a declared relaxed SLA).
	DegradedPublish Mode = "degraded_publish"
)

// Modes lists the modes in the whitepaper's order.
var Modes = []Mode{FullRollback, SelectiveQuarantine, PartialCommitNoPublish, DegradedPublish}

// Valid reports whether m is one of the four modes.
func (m Mode) Valid() bool { return slices.Contains(Modes, m) }

// RollbackScope is partial_failure_policy.rollback_scope: what a rollback
// discards.
type RollbackScope string

// Rollback scopes.
const (
	RollbackAllUnits       RollbackScope = "all_consistency_units"
	RollbackFailedUnitOnly RollbackScope = "failed_consistency_unit_only"
)

// Policy is partial_failure_policy (5.8). Every field but PromotionEligible
// follows from the mode (docs/adr/0083); Validate refuses a policy whose
// fields contradict its mode, so a bundle cannot say two things at once.
type Policy struct {
	Mode                 Mode `json:"mode" yaml:"mode"`
	AllowedPartialCommit bool `json:"allowed_partial_commit" yaml:"allowed_partial_commit"`
	// PublishOnPartialSuccess is true only for degraded_publish, which
	// publishes with status degraded, never as trusted (I7).
	PublishOnPartialSuccess bool          `json:"publish_on_partial_success" yaml:"publish_on_partial_success"`
	RollbackScope           RollbackScope `json:"rollback_scope" yaml:"rollback_scope"`
	// PromotionEligible says whether a partial execution may count toward
	// skill promotion (5.12). A fully successful one always may.
	PromotionEligible bool `json:"promotion_eligible" yaml:"promotion_eligible"`
}

// DefaultPolicy returns the policy of mode m with the fields its row of
// the whitepaper's table implies and promotion_eligible false.
func DefaultPolicy(m Mode) (Policy, error) {
	if !m.Valid() {
		return Policy{}, fmt.Errorf("%w: partial_failure_policy.mode %q is not one of %v", ErrInvalidPolicy, m, Modes)
	}
	p := Policy{Mode: m, AllowedPartialCommit: true, RollbackScope: RollbackFailedUnitOnly}
	switch m {
	case FullRollback:
		p.AllowedPartialCommit = false
		p.RollbackScope = RollbackAllUnits
	case DegradedPublish:
		p.PublishOnPartialSuccess = true
	}
	return p, nil
}

// Validate refuses an unknown mode and fields that contradict the mode.
func (p Policy) Validate() error {
	want, err := DefaultPolicy(p.Mode)
	if err != nil {
		return err
	}
	var problems []string
	if p.AllowedPartialCommit != want.AllowedPartialCommit {
		problems = append(problems, fmt.Sprintf("allowed_partial_commit must be %t for %s", want.AllowedPartialCommit, p.Mode))
	}
	if p.PublishOnPartialSuccess != want.PublishOnPartialSuccess {
		if want.PublishOnPartialSuccess {
			problems = append(problems, "publish_on_partial_success must be true for degraded_publish; use partial_commit_no_publish to not publish")
		} else {
			problems = append(problems, fmt.Sprintf("publish_on_partial_success must be false for %s: a partially committed dataset is never published as trusted (I7); use degraded_publish to publish with status degraded", p.Mode))
		}
	}
	if p.RollbackScope != want.RollbackScope {
		problems = append(problems, fmt.Sprintf("rollback_scope must be %s for %s", want.RollbackScope, p.Mode))
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: partial_failure_policy: %s", ErrInvalidPolicy, strings.Join(problems, "; "))
	}
	return nil
}
