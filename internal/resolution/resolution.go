// Package resolution implements the Intent Normalizer and Semantic
// Resolution (whitepaper 5.1): from user text, the data catalog and the
// Context Registry's environment_state, it derives a State Signature with a
// confidence score, an ambiguity level and the constraints the registry
// injects. It is deterministic: same inputs, same output (I8).
package resolution

import (
	"github.com/contextualflux/cfa/internal/confirmation"
	"github.com/contextualflux/cfa/internal/signature"
)

// Ambiguity levels of semantic_resolution.ambiguity_level.
const (
	AmbiguityLow    = "low"
	AmbiguityMedium = "medium"
	AmbiguityHigh   = "high"
)

// SemanticResolution is the Normalizer's output (whitepaper 5.1).
type SemanticResolution struct {
	Signature                      signature.Signature    `json:"signature"`
	ConfidenceScore                float64                `json:"confidence_score"`
	AmbiguityLevel                 string                 `json:"ambiguity_level"`
	CompetingInterpretations       []string               `json:"competing_interpretations"`
	ConfirmationMode               confirmation.Mode      `json:"confirmation_mode"`
	ConfirmationTriggers           []confirmation.Trigger `json:"confirmation_triggers,omitempty"`
	EnvironmentConstraintsInjected []string               `json:"environment_constraints_injected"`
	// EstimatedCostDBU is the Pre-cost Estimator's model price of the
	// signature as resolved, against CostCeilingDBU: the Confirmation
	// Orchestrator's cost triggers (5.1, 5.1b). Set by Costed at
	// normalization; 0 when not estimated.
	EstimatedCostDBU float64 `json:"estimated_cost_dbu,omitempty"`
	CostCeilingDBU   float64 `json:"cost_ceiling_dbu,omitempty"`
	// Resolved is false when the intent cannot be resolved; Reason then says
	// why, and the intent is blocked rather than guessed.
	Resolved bool   `json:"resolved"`
	Reason   string `json:"reason,omitempty"`
}
