package lifecycle

import (
	"math"
	"slices"
)

// Scores of one execution, each in [0,1] and rounded to four decimals.
type Scores struct {
	IFo float64 `json:"ifo"`
	IFs float64 `json:"ifs"`
	IFg float64 `json:"ifg"`

	// IFo: operational efficiency.
	NormalizedLatency  float64 `json:"normalized_latency"`
	NormalizedCost     float64 `json:"normalized_cost"`
	ExecutionStability float64 `json:"execution_stability"`

	// IFs: semantic fidelity of the output.
	OutputContractAdherence     float64 `json:"output_contract_adherence"`
	SemanticDriftAbsence        float64 `json:"semantic_drift_absence"`
	DomainInvariantPreservation float64 `json:"domain_invariant_preservation"`

	// IFg: governance, each 0 or 1, kept so an IFg of 0 says which failed.
	PolicyCompliance     float64 `json:"policy_compliance"`
	AbsenceOfPIIExposure float64 `json:"absence_of_pii_exposure"`
	LayerAdherence       float64 `json:"layer_adherence"`
}

// baseline is the historical baseline of one execution: the medians of the
// earlier executions of the unit in the window that ran at least one unit.
type baseline struct {
	durations []float64 // sorted
	costs     []float64 // sorted
}

// add records e as an earlier execution for the ones that follow it. An
// execution that ran nothing says nothing about how long the work takes.
func (b *baseline) add(e Execution) {
	if e.Units == 0 {
		return
	}
	b.durations = insertSorted(b.durations, float64(e.DurationMS))
	b.costs = insertSorted(b.costs, e.CostDBU)
}

func insertSorted(s []float64, v float64) []float64 {
	i, _ := slices.BinarySearch(s, v)
	return slices.Insert(s, i, v)
}

// median of a sorted sample: the middle value, or the mean of the two
// middle ones; ok is false for an empty sample.
func median(sorted []float64) (m float64, ok bool) {
	n := len(sorted)
	switch {
	case n == 0:
		return 0, false
	case n%2 == 1:
		return sorted[n/2], true
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2, true
}

// normalized is min(1, baseline/value): 1 at or under the baseline,
// baseline/value above it (twice the median scores 0.5). With no baseline
// yet, or a value of 0, there is nothing to be worse than: 1.
func normalized(sorted []float64, value float64) float64 {
	m, ok := median(sorted)
	if !ok || value == 0 {
		return 1
	}
	return math.Min(1, m/value)
}

// score computes the Scores of e against the baseline of the executions
// before it.
//
//	normalized_latency  = min(1, median(earlier duration_ms) / duration_ms)
//	normalized_cost     = min(1, median(earlier cost_dbu) / cost_dbu)
//	execution_stability = 0 on critical_failure or units = 0, else
//	                      (committed_units/units) * (units/attempts)
//	IFo = mean of the three
//
//	output_contract_adherence     = 1 - schema_fault_units/units
//	semantic_drift_absence        = 1 - drift_fault_units/units
//	domain_invariant_preservation = 1 if key_unique else 0
//	IFs = mean of the three; all 0 when units = 0 (no output, no evidence)
//
//	IFg = 1 iff policy_compliant and pii_protected and layer_adherent
//
// Components are rounded before their mean, and the mean again, so the
// printed components give the printed index.
func score(e Execution, b *baseline) Scores {
	s := Scores{
		NormalizedLatency:    round(normalized(b.durations, float64(e.DurationMS))),
		NormalizedCost:       round(normalized(b.costs, e.CostDBU)),
		PolicyCompliance:     binary(e.PolicyCompliant),
		AbsenceOfPIIExposure: binary(e.PIIProtected),
		LayerAdherence:       binary(e.LayerAdherent),
	}
	if !e.CriticalFailure && e.Units > 0 {
		// Committed share times first-try share: retries and uncommitted
		// units both cost stability.
		u := float64(e.Units)
		s.ExecutionStability = round(float64(e.CommittedUnits) / u * (u / float64(e.Attempts)))
	}
	if e.Units > 0 {
		u := float64(e.Units)
		s.OutputContractAdherence = round(1 - float64(e.SchemaFaultUnits)/u)
		s.SemanticDriftAbsence = round(1 - float64(e.DriftFaultUnits)/u)
		s.DomainInvariantPreservation = binary(e.KeyUnique)
	}
	s.IFo = mean(s.NormalizedLatency, s.NormalizedCost, s.ExecutionStability)
	s.IFs = mean(s.OutputContractAdherence, s.SemanticDriftAbsence, s.DomainInvariantPreservation)
	s.IFg = math.Min(s.PolicyCompliance, math.Min(s.AbsenceOfPIIExposure, s.LayerAdherence))
	return s
}

func binary(ok bool) float64 {
	if ok {
		return 1
	}
	return 0
}

// mean of xs, rounded; xs are summed in the order given, which callers fix.
func mean(xs ...float64) float64 {
	sum := 0.0
	for _, x := range xs {
		sum += x
	}
	return round(sum / float64(len(xs)))
}

// round to four decimals so scores print and hash the same everywhere.
func round(x float64) float64 { return math.Round(x*1e4) / 1e4 }
