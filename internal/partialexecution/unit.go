package partialexecution

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/contextualflux/cfa/internal/fault"
)

// ErrInvalidResults is wrapped by every error about unit results or the
// consistency unit: the caller passed something the flow cannot judge.
var ErrInvalidResults = errors.New("invalid consistency unit results")

// UnitType is the closed consistency_unit enum (5.5, 5.8). Its values equal
// planner.ConsistencyUnit's; convert with UnitType(plan.ConsistencyUnit).
type UnitType string

// The allowed consistency unit types.
const (
	UnitPartition  UnitType = "partition"
	UnitDataset    UnitType = "dataset"
	UnitDagBranch  UnitType = "dag_branch"
	UnitTimeWindow UnitType = "time_window"
)

// UnitTypes lists the enum in the whitepaper's order.
var UnitTypes = []UnitType{UnitPartition, UnitDataset, UnitDagBranch, UnitTimeWindow}

// Valid reports whether t is in the closed enum.
func (t UnitType) Valid() bool { return slices.Contains(UnitTypes, t) }

// ordered reports whether unit keys of t are ordered values (dates, window
// starts), so that a "last successful partition" means something.
func (t UnitType) ordered() bool { return t == UnitPartition || t == UnitTimeWindow }

// ConsistencyUnit is partial_execution_state.consistency_unit: the unit type
// and the column its keys are values of (processing_date for partitions).
type ConsistencyUnit struct {
	Type UnitType `json:"type" yaml:"type"`
	Key  string   `json:"key" yaml:"key"`
}

// Validate checks the type and that partition and time_window units name
// their key column.
func (c ConsistencyUnit) Validate() error {
	if !c.Type.Valid() {
		return fmt.Errorf("%w: consistency_unit.type %q is not one of %v", ErrInvalidResults, c.Type, UnitTypes)
	}
	if c.Type.ordered() && strings.TrimSpace(c.Key) == "" {
		return fmt.Errorf("%w: consistency_unit.key is empty; a %s unit names its column (the target's partition key, e.g. processing_date)", ErrInvalidResults, c.Type)
	}
	return nil
}

// Unit identifies one consistency unit: the dataset it writes and its key
// (a partition value such as "2026-01-03", a window start, a branch id, or
// for dataset units the dataset name again).
type Unit struct {
	Dataset string `json:"dataset" yaml:"dataset"`
	Key     string `json:"key" yaml:"key"`
}

// String renders "dataset/key".
func (u Unit) String() string { return u.Dataset + "/" + u.Key }

func compareUnits(a, b Unit) int {
	return cmp.Or(cmp.Compare(a.Dataset, b.Dataset), cmp.Compare(a.Key, b.Key))
}

func (u Unit) validate() error {
	if strings.TrimSpace(u.Dataset) == "" || strings.TrimSpace(u.Key) == "" {
		return fmt.Errorf("%w: unit %q has an empty dataset or key; name the dataset written and the unit's key", ErrInvalidResults, u.String())
	}
	return nil
}

// UnitStatus is the result of a unit after its latest attempt.
type UnitStatus string

// Unit statuses.
const (
	StatusSuccessful UnitStatus = "successful"
	StatusFailed     UnitStatus = "failed"
)

// UnitResult is one unit's latest attempt: successful, or failed with the
// error_code and fault_family of its primary fault.
type UnitResult struct {
	Unit
	Status UnitStatus `json:"status" yaml:"status"`
	// Attempts counts the runs so far, the first included.
	Attempts    int          `json:"attempts" yaml:"attempts"`
	ErrorCode   string       `json:"error_code,omitempty" yaml:"error_code,omitempty"`
	FaultFamily fault.Family `json:"fault_family,omitempty" yaml:"fault_family,omitempty"`
}

// Succeeded is the result of a unit whose latest attempt passed.
func Succeeded(u Unit, attempts int) UnitResult {
	return UnitResult{Unit: u, Status: StatusSuccessful, Attempts: attempts}
}

// Failed is the result of a unit whose latest attempt raised f (for runtime
// validation, runtimevalidation.UnitReport.Primary()).
func Failed(u Unit, attempts int, f fault.Fault) UnitResult {
	return UnitResult{Unit: u, Status: StatusFailed, Attempts: attempts, ErrorCode: f.Code, FaultFamily: f.Family}
}

var families = []fault.Family{fault.SemanticFaults, fault.StaticSafetyFaults, fault.RuntimeBehavioralFaults, fault.EnvironmentalFaults}

func (r UnitResult) validate() error {
	if err := r.Unit.validate(); err != nil {
		return err
	}
	if r.Attempts < 1 {
		return fmt.Errorf("%w: unit %s has attempts %d; the first run is attempt 1", ErrInvalidResults, r.Unit, r.Attempts)
	}
	switch r.Status {
	case StatusSuccessful:
		if r.ErrorCode != "" || r.FaultFamily != "" {
			return fmt.Errorf("%w: unit %s is successful but carries error_code %q; drop it or mark the unit failed", ErrInvalidResults, r.Unit, r.ErrorCode)
		}
	case StatusFailed:
		if strings.TrimSpace(r.ErrorCode) == "" {
			return fmt.Errorf("%w: failed unit %s has no error_code; pass the code of its primary fault", ErrInvalidResults, r.Unit)
		}
		if !slices.Contains(families, r.FaultFamily) {
			return fmt.Errorf("%w: failed unit %s has fault_family %q; use one of %v", ErrInvalidResults, r.Unit, r.FaultFamily, families)
		}
	default:
		return fmt.Errorf("%w: unit %s has status %q; use %q or %q", ErrInvalidResults, r.Unit, r.Status, StatusSuccessful, StatusFailed)
	}
	return nil
}

// panics reports whether a failure of this family must go through Panic
// Rollback rather than the partial failure policy: environmental faults
// (5.13) and static safety faults seen at run time (I6).
func panics(f fault.Family) bool {
	return f == fault.EnvironmentalFaults || f == fault.StaticSafetyFaults
}

// ErrPanicRequired is returned when a unit failed with an environmental
// fault or a forbidden operation at run time: such a failure is not a
// partial execution; call PanicRollback (or Flow.PanicRollback).
var ErrPanicRequired = errors.New("panic rollback required")

// sortedResults validates results, refuses duplicates and panic families,
// and returns a sorted copy.
func sortedResults(results []UnitResult) ([]UnitResult, error) {
	if len(results) == 0 {
		return nil, fmt.Errorf("%w: no unit results; pass the latest result of every unit the plan ran", ErrInvalidResults)
	}
	out := slices.Clone(results)
	slices.SortFunc(out, func(a, b UnitResult) int { return compareUnits(a.Unit, b.Unit) })
	for i, r := range out {
		if err := r.validate(); err != nil {
			return nil, err
		}
		if i > 0 && out[i-1].Unit == r.Unit {
			return nil, fmt.Errorf("%w: unit %s has two results; pass only its latest attempt", ErrInvalidResults, r.Unit)
		}
		if r.Status == StatusFailed && panics(r.FaultFamily) {
			return nil, fmt.Errorf("unit %s failed with %s (%s): %w; it must not go through the partial failure policy (5.8 panic_rollback, I6)",
				r.Unit, r.ErrorCode, r.FaultFamily, ErrPanicRequired)
		}
	}
	return out, nil
}

// CouldNotRun is the result of a unit that never produced a report: its
// attempts ran out on an infrastructure error (msg), so it failed with
// EXECUTION_UNIT_FAILED as its fault.
func CouldNotRun(u Unit, attempts int, msg string) UnitResult {
	return Failed(u, attempts, fault.Fault{Code: fault.CodeExecutionUnitFailed, Family: fault.RuntimeBehavioralFaults,
		Severity: fault.SeverityHigh, Stage: fault.StageExecution, MandatoryAction: "quarantine", Message: msg})
}
