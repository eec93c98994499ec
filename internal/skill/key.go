package skill

import (
	"regexp"

	"github.com/contextualflux/cfa/internal/signature"
)

// Keyed returns the signature a skill is keyed by: sig's canonical form
// without execution_context and the replan counter (what ShapeHash clears,
// ADR 0095) and without constraints.publish_blocked, which the Context
// Registry injects by the state of the datasets at signing time
// (docs/adr/0121). sig is not modified.
func Keyed(sig signature.Signature) signature.Signature {
	sig.ExecutionContext = signature.ExecutionContext{}
	sig.Replan = 0
	sig.Constraints.PublishBlocked = nil
	return sig.Canonical()
}

// Key is the skill id of sig, the promotion unit: the hash of Keyed(sig).
// For a signature without publish_blocked it equals sig.ShapeHash(), the
// key the pre-cost history and the step-18 evidence use today.
func Key(sig signature.Signature) (string, error) {
	return Keyed(sig).Hash()
}

var keyPattern = regexp.MustCompile(`^[0-9a-f]{64}$`)

// ValidKey reports whether id has a skill id's form: 64 lowercase hex
// digits (a SHA-256).
func ValidKey(id string) bool { return keyPattern.MatchString(id) }
