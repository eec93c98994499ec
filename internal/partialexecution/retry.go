package partialexecution

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/contextualflux/cfa/internal/fault"
	"github.com/contextualflux/cfa/internal/runtimevalidation"
)

// Retry policy vocabulary (5.8 retry_policy).
const (
	RetryScopeFailedUnitsOnly = "failed_consistency_units_only" // never re-runs a successful unit
	BackoffExponential        = "exponential"
	BackoffFixed              = "fixed"
	ActionQuarantineFailed    = "quarantine_failed_units"
	StateQuarantined          = "quarantined"
)

// Backoff is retry_policy.backoff.
type Backoff struct {
	Strategy    string `json:"strategy" yaml:"strategy"`
	BaseSeconds int    `json:"base_seconds" yaml:"base_seconds"`
}

// OnMaxExceeded is retry_policy.on_max_exceeded: what happens to a unit
// still failing after MaxAttempts. It hands the unit to the partial failure
// policy as failed and fenced off from the target (docs/adr/0082).
type OnMaxExceeded struct {
	Action string `json:"action" yaml:"action"`
	State  string `json:"state" yaml:"state"`
}

// RetryPolicy is retry_policy (5.8) as data: the workflow performs the
// retries (one activity per unit attempt, or Temporal's activity
// RetryPolicy built from these fields), this type only says whether and
// when. Which faults are retryable is not in the whitepaper; the two lists
// below are ours (docs/adr/0082).
type RetryPolicy struct {
	Enabled bool `json:"enabled" yaml:"enabled"`
	// MaxAttempts counts every run of a unit, the first included (3 = one
	// run and two retries), as Temporal's MaximumAttempts does.
	MaxAttempts   int           `json:"max_attempts" yaml:"max_attempts"`
	RetryScope    string        `json:"retry_scope" yaml:"retry_scope"`
	Backoff       Backoff       `json:"backoff" yaml:"backoff"`
	OnMaxExceeded OnMaxExceeded `json:"on_max_exceeded" yaml:"on_max_exceeded"`
	// NonRetryableFamilies fail a unit for good on the first attempt.
	// Environmental and static safety faults are never retried whatever
	// this says: they trigger Panic Rollback.
	NonRetryableFamilies []fault.Family `json:"non_retryable_families,omitempty" yaml:"non_retryable_families,omitempty"`
	// NonRetryableCodes are codes whose verdict a new run cannot change.
	NonRetryableCodes []string `json:"non_retryable_codes,omitempty" yaml:"non_retryable_codes,omitempty"`
}

// DefaultRetryPolicy is the whitepaper's retry_policy plus the retryability
// lists of docs/adr/0082: governance faults (semantic, static safety) and
// environmental faults are not retried, nor is schema drift (the same code
// on the same catalog writes the same schema).
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{
		Enabled:              true,
		MaxAttempts:          3,
		RetryScope:           RetryScopeFailedUnitsOnly,
		Backoff:              Backoff{Strategy: BackoffExponential, BaseSeconds: 30},
		OnMaxExceeded:        OnMaxExceeded{Action: ActionQuarantineFailed, State: StateQuarantined},
		NonRetryableFamilies: []fault.Family{fault.EnvironmentalFaults, fault.SemanticFaults, fault.StaticSafetyFaults},
		NonRetryableCodes:    []string{runtimevalidation.CodeSchemaDrift},
	}
}

// Validate checks the policy against the whitepaper's closed values.
func (p RetryPolicy) Validate() error {
	var problems []string
	if p.MaxAttempts < 1 {
		problems = append(problems, fmt.Sprintf("max_attempts must be >= 1 (it counts the first run), got %d", p.MaxAttempts))
	}
	if p.RetryScope != RetryScopeFailedUnitsOnly {
		problems = append(problems, fmt.Sprintf("retry_scope must be %s (successful units are never re-run), got %q", RetryScopeFailedUnitsOnly, p.RetryScope))
	}
	if p.Backoff.Strategy != BackoffExponential && p.Backoff.Strategy != BackoffFixed {
		problems = append(problems, fmt.Sprintf("backoff.strategy must be %s or %s, got %q", BackoffExponential, BackoffFixed, p.Backoff.Strategy))
	}
	if p.Backoff.BaseSeconds < 0 {
		problems = append(problems, fmt.Sprintf("backoff.base_seconds must be >= 0, got %d", p.Backoff.BaseSeconds))
	}
	if p.OnMaxExceeded != (OnMaxExceeded{Action: ActionQuarantineFailed, State: StateQuarantined}) {
		problems = append(problems, fmt.Sprintf("on_max_exceeded must be {action: %s, state: %s}, got %+v", ActionQuarantineFailed, StateQuarantined, p.OnMaxExceeded))
	}
	for _, f := range p.NonRetryableFamilies {
		if !slices.Contains(families, f) {
			problems = append(problems, fmt.Sprintf("non_retryable_families lists %q; use %v", f, families))
		}
	}
	for _, c := range p.NonRetryableCodes {
		if strings.TrimSpace(c) == "" {
			problems = append(problems, "non_retryable_codes lists an empty code")
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: retry_policy: %s", ErrInvalidPolicy, strings.Join(problems, "; "))
	}
	return nil
}

// Retryable reports whether a failure with this family and code may be
// retried at all (attempts aside).
func (p RetryPolicy) Retryable(family fault.Family, code string) bool {
	return p.Enabled && !panics(family) &&
		!slices.Contains(p.NonRetryableFamilies, family) && !slices.Contains(p.NonRetryableCodes, code)
}

// ShouldRetry reports whether r is a failed unit that gets another attempt.
func (p RetryPolicy) ShouldRetry(r UnitResult) bool {
	return r.Status == StatusFailed && r.Attempts < p.MaxAttempts && p.Retryable(r.FaultFamily, r.ErrorCode)
}

// Delay is the wait before the given attempt (2 is the first retry):
// exponential doubles base_seconds each time (30 s, 60 s, …), fixed waits
// base_seconds. The first attempt waits nothing.
func (p RetryPolicy) Delay(attempt int) time.Duration {
	if attempt < 2 {
		return 0
	}
	base := time.Duration(p.Backoff.BaseSeconds) * time.Second
	if p.Backoff.Strategy == BackoffFixed {
		return base
	}
	return base << (attempt - 2)
}

// BackoffCoefficient is the coefficient of Temporal's RetryPolicy that
// reproduces Delay: 2 for exponential, 1 for fixed.
func (p RetryPolicy) BackoffCoefficient() float64 {
	if p.Backoff.Strategy == BackoffFixed {
		return 1
	}
	return 2
}

// NonRetryableErrorTypes lists, sorted, every family and code that must not
// be retried (panic families included), for a Temporal RetryPolicy whose
// activities return application errors typed by fault family or code.
func (p RetryPolicy) NonRetryableErrorTypes() []string {
	out := []string{string(fault.EnvironmentalFaults), string(fault.StaticSafetyFaults)}
	for _, f := range p.NonRetryableFamilies {
		out = append(out, string(f))
	}
	out = append(out, p.NonRetryableCodes...)
	slices.Sort(out)
	return slices.Compact(out)
}
