// Package confirmation implements the Confirmation Orchestrator
// (whitepaper 5.1b): it chooses a confirmation mode from escalation triggers.
package confirmation

// Mode is how much human confirmation an intent needs.
type Mode string

// Confirmation modes, from least to most friction.
const (
	ModeAuto            Mode = "auto"
	ModeSoft            Mode = "soft"
	ModeHardRequired    Mode = "hard_required"
	ModeHumanEscalation Mode = "human_escalation"
)

// Rank orders modes by friction.
func (m Mode) Rank() int {
	switch m {
	case ModeAuto:
		return 0
	case ModeSoft:
		return 1
	case ModeHardRequired:
		return 2
	case ModeHumanEscalation:
		return 3
	}
	return -1
}

// NeedsHuman reports whether the mode waits for an approve or reject signal.
func (m Mode) NeedsHuman() bool { return m.Rank() >= ModeHardRequired.Rank() }

// Trigger names a fired escalation trigger (the 5.1b escalation_triggers).
type Trigger string

// The escalation triggers of whitepaper 5.1b, plus the 5.1 hard_required criteria.
const (
	TriggerLowConfidencePII          Trigger = "confidence_score < 0.65 AND contains_pii == true"
	TriggerCompetingInterpretations  Trigger = "competing_interpretations > 1"
	TriggerSilverWritePublishBlocked Trigger = "silver_write AND context_registry.publish_allowed == false"
	TriggerGoldWrite                 Trigger = "gold_write"
	TriggerPreCostNearCeiling        Trigger = "estimated_cost > cost_ceiling_dbu * 0.8"
	TriggerPIIDetected               Trigger = "pii_detected"
	TriggerSilverWrite               Trigger = "silver_write"
	TriggerRelevantAmbiguity         Trigger = "relevant_semantic_ambiguity"
	TriggerStaleDataset              Trigger = "new_intent_on_stale_dataset"
	// Criteria the whitepaper states in prose; docs/adr/0013 sets their thresholds.
	TriggerHighEstimatedCost Trigger = "estimated_cost > cost_ceiling_dbu * 0.5"
	TriggerLowConfidence     Trigger = "confidence_score < 0.65"
	TriggerMediumConfidence  Trigger = "confidence_score < 0.85"
	TriggerMediumAmbiguity   Trigger = "ambiguity_level == medium"
	TriggerBronzeWrite       Trigger = "bronze_write"
	// Conflicts of a soft confirmation (5.1: soft "displays the signature
	// and proceeds if there is no conflict"; docs/adr/0134). Each turns a
	// soft mode into hard_required; a stale dataset needs none of its own:
	// TriggerStaleDataset is hard_required already.
	TriggerSoftConflictConstraint    Trigger = "soft_conflict: environment_constraints_injected"
	TriggerSoftConflictRunningIntent Trigger = "soft_conflict: running_intent_on_target_scope"
)
