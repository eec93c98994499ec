package projection

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/contextualflux/cfa/internal/concurrency"
	"github.com/contextualflux/cfa/internal/fault"
)

// FailedProjection marks a projection that did not commit: the
// environment_state of its scopes is uncertain (on_projection_failure,
// reason environment_state_uncertain) until the marker is resolved, by the
// projection eventually committing or by an operator who checked the
// registry against the data.
type FailedProjection struct {
	IntentID string `json:"intent_id"`
	// Scopes are the target scopes the intent held. Empty means unknown:
	// the whole registry is uncertain.
	Scopes          []concurrency.Scope `json:"scopes,omitempty"`
	ParentVersionID string              `json:"parent_version_id"`
	FailedAt        time.Time           `json:"failed_at"`
	Cause           string              `json:"cause"`
	Resolved        bool                `json:"resolved"`
}

// MarkFailed builds the marker of intentID's failed projection, with the
// scopes it held and the error the commit returned.
func MarkFailed(intentID string, scopes []concurrency.Scope, parentVersionID string, at time.Time, cause error) FailedProjection {
	msg := ""
	if cause != nil {
		msg = cause.Error()
	}
	return FailedProjection{
		IntentID:        intentID,
		Scopes:          concurrency.Normalize(scopes),
		ParentVersionID: parentVersionID,
		FailedAt:        at,
		Cause:           msg,
	}
}

// covers reports whether the marker makes any of scopes uncertain.
func (f FailedProjection) covers(scopes []concurrency.Scope) bool {
	return len(f.Scopes) == 0 || concurrency.AnyConflict(f.Scopes, scopes)
}

// Gate is the I4 check's answer for one intent.
type Gate struct {
	Blocked bool `json:"blocked"`
	// Because lists the unresolved markers that block, oldest first.
	Because []FailedProjection `json:"because,omitempty"`
	// Fault is the ENVIRONMENT_STATE_UNCERTAIN fault when Blocked.
	Fault *fault.Fault `json:"fault,omitempty"`
}

// CheckCertain applies I4 to the intent intentID about to run on scopes:
// it is blocked while an unresolved failed projection of another intent
// covers a conflicting scope (or has unknown scopes). The intent whose
// projection failed is not blocked by its own marker: retrying that
// projection is how the marker gets resolved. Run it at the step 3 lock
// check and again after acquiring the lock (a marker may appear while the
// intent waits); pass the scopes of every dataset the intent touches,
// sources as dataset scopes, since reading a dataset whose state is
// uncertain is as unsafe as writing it.
func CheckCertain(intentID string, scopes []concurrency.Scope, failed []FailedProjection) Gate {
	var because []FailedProjection
	for _, f := range failed {
		if f.Resolved || f.IntentID == intentID || !f.covers(scopes) {
			continue
		}
		because = append(because, f)
	}
	if len(because) == 0 {
		return Gate{}
	}
	slices.SortFunc(because, func(a, b FailedProjection) int {
		if c := a.FailedAt.Compare(b.FailedAt); c != 0 {
			return c
		}
		return strings.Compare(a.IntentID, b.IntentID)
	})
	f := uncertainFault(intentID, because)
	return Gate{Blocked: true, Because: because, Fault: &f}
}

// uncertainFault: an environmental fault (the registry no longer describes
// the data; the infrastructure layer owns the fix), detected before the
// blocked intent executes, with block_next_intent (docs/adr/0088).
func uncertainFault(intentID string, because []FailedProjection) fault.Fault {
	parts := make([]string, len(because))
	rem := make([]string, 0, len(because)+1)
	for i, f := range because {
		scope := "the whole registry"
		if len(f.Scopes) > 0 {
			keys := make([]string, len(f.Scopes))
			for j, s := range f.Scopes {
				keys[j] = s.Key()
			}
			scope = strings.Join(keys, ", ")
		}
		parts[i] = fmt.Sprintf("the projection of intent %s failed at %s on %s (%s)", f.IntentID, f.FailedAt.UTC().Format(time.RFC3339), scope, f.Cause)
		rem = append(rem, fmt.Sprintf("Retry the projection of intent %s (same version_id), or resolve its marker once the registry matches the data", f.IntentID))
	}
	rem = append(rem, "Resubmit intent "+intentID+" after the marker is resolved")
	return fault.Fault{
		Code:                    fault.CodeEnvironmentStateUncertain,
		Family:                  fault.EnvironmentalFaults,
		Severity:                fault.SeverityHigh,
		Stage:                   fault.StageStateProjection,
		DetectedBeforeExecution: true,
		MandatoryAction:         ActionBlockNextIntent,
		Remediation:             rem,
		Rule:                    "I4",
		Message:                 ReasonEnvironmentStateUncertain + ": " + strings.Join(parts, "; "),
	}
}
