package confirmation

import (
	"math"
	"slices"
	"strings"
	"time"
)

// Timeout policy of human_escalation (5.1b fallback_on_timeout): block, tell
// the governance team, and record audit.EventHumanEscalationTimeout.
const (
	HumanTimeout  = 300 * time.Second
	TimeoutAction = "block"
	TimeoutReason = "human_confirmation_timeout"
	TimeoutNotify = "governance_team"
)

// Confidence bands of the 5.1 table (docs/adr/0013).
const (
	HighConfidence = 0.85 // at or above: eligible for auto
	LowConfidence  = 0.65 // below: low confidence (5.1b threshold)
)

// Input is what the orchestrator needs to know about a resolved intent.
// It is built by resolution.ConfirmationInput, with the estimated cost the
// normalizer set (resolution.Costed); the step-5 stage activity adds the
// running intents.
type Input struct {
	ConfidenceScore float64 // [0,1]; NaN or out of range counts as 0
	// AmbiguityLevel is low | medium | high; anything else counts as high
	// so a caller that forgets to set it fails closed.
	AmbiguityLevel           string
	CompetingInterpretations int  // interpretations the text admits; 0 when it admits one
	ContainsPII              bool // a dataset touched declares raw PII columns
	ReadOnly                 bool // no dataset is written
	SilverWrite              bool
	GoldWrite                bool
	// PublishAllowed is the registry's publish_allowed of the silver
	// dataset(s) written; false for any of them makes it false. Only read
	// when SilverWrite; its zero value fails closed.
	PublishAllowed bool
	StaleDataset   bool // a dataset touched is in state stale (5.9 ttl_policy)
	// EstimatedCost is the Pre-cost Estimator's model price of the
	// signature as resolved, in DBU (resolution.Costed, at normalization);
	// 0 = not estimated.
	EstimatedCost  float64
	CostCeilingDBU float64 // 0 = no ceiling known
	// EnvironmentConstraints are the constraints the Context Registry
	// injected (semantic_resolution.environment_constraints_injected): a
	// dataset touched is partially_committed, stale or quarantined, or may
	// not be published. Each is a conflict of a soft confirmation.
	EnvironmentConstraints []string
	// RunningIntents are the other intents that hold or wait for the scope
	// of a dataset the intent touches. Looked up by the stage activity at
	// step 5 (empty at normalization): each is a conflict of a soft
	// confirmation.
	RunningIntents []string
}

// Result is the chosen mode and every trigger that fired, in rule order.
type Result struct {
	Mode     Mode      `json:"mode"`
	Triggers []Trigger `json:"triggers,omitempty"`
	// Conflicts names what turned a soft confirmation into hard_required:
	// each constraint injected, each running intent. Empty otherwise.
	Conflicts []string `json:"conflicts,omitempty"`
}

type rule struct {
	trigger Trigger
	mode    Mode
	fires   func(Input) bool
}

// rules in a fixed order: 5.1b escalation triggers, then the 5.1 table's
// hard_required criteria, then soft. Result.Triggers keeps this order.
var rules = []rule{
	{TriggerLowConfidencePII, ModeHumanEscalation, func(in Input) bool { return confidence(in) < LowConfidence && in.ContainsPII }},
	{TriggerCompetingInterpretations, ModeHumanEscalation, func(in Input) bool { return in.CompetingInterpretations > 1 }},
	{TriggerSilverWritePublishBlocked, ModeHumanEscalation, func(in Input) bool { return in.SilverWrite && !in.PublishAllowed }},
	{TriggerGoldWrite, ModeHumanEscalation, func(in Input) bool { return in.GoldWrite }},
	{TriggerPreCostNearCeiling, ModeHumanEscalation, func(in Input) bool { return costAbove(in, 0.8) }},

	{TriggerPIIDetected, ModeHardRequired, func(in Input) bool { return in.ContainsPII }},
	{TriggerSilverWrite, ModeHardRequired, func(in Input) bool { return in.SilverWrite }},
	{TriggerHighEstimatedCost, ModeHardRequired, func(in Input) bool { return costAbove(in, 0.5) }},
	{TriggerRelevantAmbiguity, ModeHardRequired, func(in Input) bool { return ambiguity(in) == ambiguityHigh }},
	{TriggerStaleDataset, ModeHardRequired, func(in Input) bool { return in.StaleDataset }},
	{TriggerLowConfidence, ModeHardRequired, func(in Input) bool { return confidence(in) < LowConfidence }},

	{TriggerMediumConfidence, ModeSoft, func(in Input) bool {
		c := confidence(in)
		return c >= LowConfidence && c < HighConfidence
	}},
	{TriggerMediumAmbiguity, ModeSoft, func(in Input) bool { return ambiguity(in) == ambiguityMedium }},
	{TriggerBronzeWrite, ModeSoft, func(in Input) bool { return !in.ReadOnly && !in.SilverWrite && !in.GoldWrite }},
}

// Evaluate chooses the confirmation mode: the strictest mode among fired
// triggers, auto when none fires (high confidence, low risk, no PII). A
// soft mode proceeds only without a conflict (5.1: soft "displays the
// signature and proceeds if there is no conflict"): a constraint the
// registry injected or an intent running on a scope the intent touches
// makes it hard_required, the conflict named as a trigger (after the
// rules' triggers) and in Conflicts.
func Evaluate(in Input) Result {
	res := Result{Mode: ModeAuto}
	for _, r := range rules {
		if !r.fires(in) {
			continue
		}
		res.Triggers = append(res.Triggers, r.trigger)
		if r.mode.Rank() > res.Mode.Rank() {
			res.Mode = r.mode
		}
	}
	if res.Mode != ModeSoft {
		return res
	}
	if cs := sortedSet(in.EnvironmentConstraints); len(cs) > 0 {
		res.Triggers = append(res.Triggers, TriggerSoftConflictConstraint)
		res.Conflicts = append(res.Conflicts, cs...)
	}
	if ids := sortedSet(in.RunningIntents); len(ids) > 0 {
		res.Triggers = append(res.Triggers, TriggerSoftConflictRunningIntent)
		for _, id := range ids {
			res.Conflicts = append(res.Conflicts, "intent "+id+" holds or waits for a scope this intent touches")
		}
	}
	if len(res.Conflicts) > 0 {
		res.Mode = ModeHardRequired
	}
	return res
}

// sortedSet is ss sorted, without duplicates or empty strings, in a new
// slice: the same conflicts whatever order the caller listed them in.
func sortedSet(ss []string) []string {
	out := make([]string, 0, len(ss))
	for _, s := range ss {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

const (
	ambiguityLow    = "low"
	ambiguityMedium = "medium"
	ambiguityHigh   = "high"
)

func ambiguity(in Input) string {
	switch in.AmbiguityLevel {
	case ambiguityLow, ambiguityMedium:
		return in.AmbiguityLevel
	}
	return ambiguityHigh
}

func confidence(in Input) float64 {
	c := in.ConfidenceScore
	if math.IsNaN(c) || c < 0 || c > 1 {
		return 0
	}
	return c
}

// costAbove is false while the cost or the ceiling is unknown (zero): the
// Pre-cost Estimator, not a guess, supplies them.
func costAbove(in Input, fraction float64) bool {
	return in.CostCeilingDBU > 0 && in.EstimatedCost > in.CostCeilingDBU*fraction
}
