package ttl

import (
	"fmt"
	"slices"
	"time"

	"github.com/contextualflux/cfa/internal/fault"
	"github.com/contextualflux/cfa/internal/registry"
)

// CodeManualReviewRequired blocks an intent on a dataset whose quarantine
// outlived its TTL and has not been reviewed.
const CodeManualReviewRequired = "QUARANTINE_MANUAL_REVIEW_REQUIRED"

// MandatoryBlock is the mandatory_action of CodeManualReviewRequired.
const MandatoryBlock = "block"

// IntentCheck is what ttl_policy asks of a new intent.
type IntentCheck struct {
	// HardConfirmation lists the stale datasets the intent touches:
	// new_intent_on_stale_dataset: hard_confirmation_required.
	HardConfirmation []string `json:"hard_confirmation,omitempty"`
	// PublishBlocked lists the stale datasets: publish_blocked.
	PublishBlocked []string `json:"publish_blocked,omitempty"`
	// Blocked lists the datasets whose expired quarantine awaits manual
	// review (block_dependent_intents).
	Blocked []string `json:"blocked,omitempty"`
	// Faults: one CONTEXT_STATE_STALE per stale dataset, one
	// QUARANTINE_MANUAL_REVIEW_REQUIRED per blocked dataset, in name order.
	Faults []fault.Fault `json:"faults,omitempty"`
}

// CheckIntent applies p to the datasets a new intent touches (sources and
// targets). A partially_committed entry past its TTL counts as stale even
// if no sweep has committed the transition yet, so a late sweeper changes
// nothing for intents. reviewed lists the escalations a human has closed.
func CheckIntent(env registry.EnvironmentState, datasets []string, now time.Time, reviewed []Escalation, p Policy) (IntentCheck, error) {
	if err := p.Validate(); err != nil {
		return IntentCheck{}, fmt.Errorf("check intent against ttl_policy: %w", err)
	}
	if now.IsZero() {
		return IntentCheck{}, fmt.Errorf("check intent against ttl_policy: %w: now is zero; pass the workflow's time", ErrInvalidState)
	}
	closed := map[string]bool{}
	for _, e := range reviewed {
		closed[e.Key()] = true
	}
	names := slices.Clone(datasets)
	slices.Sort(names)
	names = slices.Compact(names)
	var out IntentCheck
	for _, n := range names {
		d, ok := env.Dataset(n)
		if !ok {
			continue
		}
		rule, hasRule := p.rule(d.State)
		due := hasRule && !d.UpdatedAt.IsZero() && expired(d, rule, now)
		stale := d.State == registry.StateStale || (due && rule.OnExpiry.Action == TransitionToStale)
		if stale {
			out.HardConfirmation = append(out.HardConfirmation, n)
			if p.Stale.Behavior.PublishBlocked {
				out.PublishBlocked = append(out.PublishBlocked, n)
			}
			out.Faults = append(out.Faults, staleFault(d, p))
			continue
		}
		if due && rule.OnExpiry.Action == EscalateToManualReview && rule.OnExpiry.BlockDependentIntents {
			e := Escalation{Dataset: n, Since: d.UpdatedAt}
			if closed[e.Key()] {
				continue
			}
			out.Blocked = append(out.Blocked, n)
			out.Faults = append(out.Faults, reviewFault(d, rule))
		}
	}
	return out, nil
}

// staleFault: a semantic fault raised when the Normalizer consults the
// registry (I3); the intent may go on after hard confirmation.
func staleFault(d registry.DatasetState, p Policy) fault.Fault {
	return fault.Fault{
		Code:                    fault.CodeContextStateStale,
		Family:                  fault.SemanticFaults,
		Severity:                fault.SeverityMedium,
		Stage:                   fault.StageIntentNormalizer,
		DetectedBeforeExecution: true,
		MandatoryAction:         p.Stale.Behavior.NewIntentOnStaleDataset,
		Remediation: []string{
			fmt.Sprintf("Confirm the intent explicitly: %s has not been resolved since %s", d.Name, d.UpdatedAt.UTC().Format(time.RFC3339)),
			fmt.Sprintf("Rerun the pending partitions %v of %s to resolve it", d.PendingPartitions, d.Name),
		},
		Rule:    "ttl_policy.stale",
		Message: fmt.Sprintf("dataset %s is stale (%s); publish is blocked", d.Name, p.Stale.Definition),
	}
}

func reviewFault(d registry.DatasetState, r Rule) fault.Fault {
	return fault.Fault{
		Code:                    CodeManualReviewRequired,
		Family:                  fault.SemanticFaults,
		Severity:                fault.SeverityHigh,
		Stage:                   fault.StageIntentNormalizer,
		DetectedBeforeExecution: true,
		MandatoryAction:         MandatoryBlock,
		Remediation: []string{
			fmt.Sprintf("Review the quarantined units %v of %s and record the review", d.QuarantinedUnits, d.Name),
			"Resubmit the intent once the review is recorded",
		},
		Rule: "ttl_policy.quarantined",
		Message: fmt.Sprintf("dataset %s has been quarantined since %s, beyond %d days; intents on it are blocked until manual review",
			d.Name, d.UpdatedAt.UTC().Format(time.RFC3339), r.TTLDays),
	}
}
