package lifecycle

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/contextualflux/cfa/internal/decision"
)

// Execution is the evidence one finished execution leaves for its skill.
type Execution struct {
	IntentID         string         `json:"intent_id"`
	PromotionUnit    string         `json:"promotion_unit"` // the signature's shape hash (hash without execution_context)
	Domain           string         `json:"domain"`         // catalog domain of the target, e.g. fiscal, master_data
	DecidedAt        time.Time      `json:"decided_at"`
	DecisionState    decision.State `json:"decision_state"` // the Decision Engine's state (step 17), before any promotion label
	DriftReplans     int            `json:"drift_replans"`  // replans forced by the environment: stale_environment_state + pre-cost replans
	DurationMS       int64          `json:"duration_ms"`    // sum over unit attempts
	CostDBU          float64        `json:"cost_dbu"`       // real cost, all attempts
	Units            int            `json:"units"`
	Attempts         int            `json:"attempts"` // >= Units when Units > 0
	CommittedUnits   int            `json:"committed_units"`
	CriticalFailure  bool           `json:"critical_failure"`   // panic rollback or projection failure
	SchemaFaultUnits int            `json:"schema_fault_units"` // units whose latest attempt had a failing RUNTIME_SCHEMA_DRIFT
	DriftFaultUnits  int            `json:"drift_fault_units"`  // units whose latest attempt failed on rows/range/null ratio/shuffle
	KeyUnique        bool           `json:"key_unique"`         // merge key still unique in the target after projection
	PolicyCompliant  bool           `json:"policy_compliant"`   // no policy violation detected post-execution, no invariant veto
	PIIProtected     bool           `json:"pii_protected"`      // no raw PII column in any output
	LayerAdherent    bool           `json:"layer_adherent"`     // wrote only the declared layer
	Reproducible     bool           `json:"reproducible"`       // I8: execution_context complete and plan/code hashes recorded
}

// ErrInvalidExecution: an execution whose evidence cannot be scored.
var ErrInvalidExecution = errors.New("invalid execution")

// Validate reports every problem of e at once, each saying what to fix.
func (e Execution) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w %q: "+format, append([]any{ErrInvalidExecution, e.IntentID}, args...)...))
	}
	if e.IntentID == "" {
		bad("intent_id is empty; give the intent the execution belongs to")
	}
	if e.PromotionUnit == "" {
		bad("promotion_unit is empty; give the signature's shape hash (intent_signature_hash without execution_context)")
	}
	// A zero time would put the window around year 1 and match nothing.
	if e.DecidedAt.IsZero() {
		bad("decided_at is zero; give the time the Decision Engine decided")
	}
	if _, err := decision.Parse(string(e.DecisionState)); err != nil {
		bad("%v", err)
	}
	for _, f := range []struct {
		key string
		n   int64
	}{
		{"drift_replans", int64(e.DriftReplans)}, {"duration_ms", e.DurationMS}, {"units", int64(e.Units)},
		{"attempts", int64(e.Attempts)}, {"committed_units", int64(e.CommittedUnits)},
		{"schema_fault_units", int64(e.SchemaFaultUnits)}, {"drift_fault_units", int64(e.DriftFaultUnits)},
	} {
		if f.n < 0 {
			bad("%s is %d; give a count >= 0", f.key, f.n)
		}
	}
	if math.IsNaN(e.CostDBU) || math.IsInf(e.CostDBU, 0) || e.CostDBU < 0 {
		bad("cost_dbu is %g; give a finite number >= 0", e.CostDBU)
	}
	// Every unit runs at least once, so fewer attempts than units is a
	// miscount, and the stability ratio would exceed 1.
	if e.Attempts < e.Units {
		bad("attempts %d < units %d; count every attempt of every unit", e.Attempts, e.Units)
	}
	for _, f := range []struct {
		key string
		n   int
	}{{"committed_units", e.CommittedUnits}, {"schema_fault_units", e.SchemaFaultUnits}, {"drift_fault_units", e.DriftFaultUnits}} {
		if f.n > e.Units {
			bad("%s %d > units %d; count units, not attempts", f.key, f.n, e.Units)
		}
	}
	return errors.Join(errs...)
}

// approved: the current execution may be promoted only from approved. A
// promotion_candidate is an approved execution already labelled, so
// re-evaluating it gives the same answer.
func approved(s decision.State) bool {
	return s == decision.Approved || s == decision.PromotionCandidate
}

// successful: a complete execution, counted toward min_executions.
// approved_with_warnings is complete (its alerts were non-blocking).
func successful(s decision.State) bool {
	return approved(s) || s == decision.ApprovedWithWarnings
}

// before is the total order of executions: decided_at, then intent_id.
func before(a, b Execution) int {
	return cmp.Or(a.DecidedAt.Compare(b.DecidedAt), strings.Compare(a.IntentID, b.IntentID))
}
