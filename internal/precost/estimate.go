package precost

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/registry"
	"github.com/contextualflux/cfa/internal/signature"
)

// Feedback loop parameters (5.5 feedback_loop; docs/adr/0051).
const (
	// HistoryWindow is window: last_30_days. Runs at or after Now minus
	// the window, and not after Now, count (the store's CostHistory bounds).
	HistoryWindow = 30 * 24 * time.Hour
	// HistoryHalfLife: a run this old weighs half as much as one run now.
	HistoryHalfLife = 7 * 24 * time.Hour
	// HistoryPriorRuns is k in the history share n/(n+k): with k runs the
	// history and the model weigh the same.
	HistoryPriorRuns = 3
	// ModelConfidenceFloor is the confidence of a model-only estimate.
	ModelConfidenceFloor = 0.3
	// DegradedConfidenceFactor scales confidence when a dataset touched is
	// stale, partially_committed or quarantined: its catalog size describes
	// data that is being changed.
	DegradedConfidenceFactor = 0.5
)

// Basis says what an estimate rests on.
type Basis string

// Bases of an estimate.
const (
	BasisModel           Basis = "model"            // no run of this signature in the window
	BasisHistoryWeighted Basis = "history_weighted" // model blended with past runs
)

// ErrInvalidInput is wrapped by every error EstimateCost returns: the input
// cannot be priced and must be fixed; retrying will not help.
var ErrInvalidInput = errors.New("invalid pre-cost input")

// Run is the real cost of one past execution of the same
// intent_signature_hash (execution_history_by_signature_hash).
type Run struct {
	At              time.Time `json:"at"`
	ActualDBU       float64   `json:"actual_dbu"`
	ActualShuffleGB float64   `json:"actual_shuffle_gb"`
}

// Input is what the estimator reads. Nothing here is read from a clock or
// a database: the caller passes Now and the runs of the signature's hash.
type Input struct {
	Signature   signature.Signature
	Catalog     *catalog.Catalog // nil: sizes and keys copied into the signature are used
	Environment registry.EnvironmentState
	History     []Run     // any order; runs outside the window are ignored
	Now         time.Time // the workflow's time (workflow.Now); required
	// CostCeilingDBU is cost_ceiling_dbu; 0 means DefaultCostCeilingDBU.
	CostCeilingDBU float64
	// Model overrides the coefficients; nil means DefaultModel().
	Model *Model
}

// Estimate is the output of 5.5 pre_cost_estimator.
type Estimate struct {
	EstimatedDBU       float64 `json:"estimated_dbu"`
	EstimatedShuffleGB float64 `json:"estimated_shuffle_gb"`
	// CostRiskScore is EstimatedDBU / CostCeilingDBU clamped to [0, 1]:
	// above 0.8 escalates, 1 is at or over the ceiling.
	CostRiskScore float64 `json:"cost_risk_score"`
	// Confidence in [0,1] grows with HistoryRuns (docs/adr/0051).
	Confidence     float64 `json:"confidence"`
	Basis          Basis   `json:"basis"`
	HistoryRuns    int     `json:"history_runs"` // runs inside the window
	CostCeilingDBU float64 `json:"cost_ceiling_dbu"`
	// Model is the model's own figures before blending with history.
	Model Breakdown `json:"model"`
	// DegradedDatasets lists datasets whose registry state lowered the
	// confidence, sorted.
	DegradedDatasets []string `json:"degraded_datasets,omitempty"`
	// Shape is what was priced; Evaluate reprices it to suggest a filter.
	Shape Shape `json:"shape"`
}

// EstimateCost prices the signature with the model and blends in the
// history of the same intent_signature_hash. Errors wrap ErrInvalidInput
// and say what to fix. (It cannot be called Estimate: that is its result.)
func EstimateCost(in Input) (Estimate, error) {
	e, err := estimate(in)
	if err != nil {
		return Estimate{}, fmt.Errorf("pre-cost estimate of intent %q: %w: %w", in.Signature.Intent, ErrInvalidInput, err)
	}
	return e, nil
}

func estimate(in Input) (Estimate, error) {
	if in.Now.IsZero() {
		return Estimate{}, errors.New("Input.Now is zero: pass the workflow's time (workflow.Now)")
	}
	ceiling, err := ceilingOrDefault(in.CostCeilingDBU)
	if err != nil {
		return Estimate{}, err
	}
	m := DefaultModel()
	if in.Model != nil {
		m = *in.Model
		if err := m.validate(); err != nil {
			return Estimate{}, err
		}
	}
	shape, err := buildShape(in.Signature, in.Catalog, m, in.Now)
	if err != nil {
		return Estimate{}, err
	}
	model := shape.Price(shape.FilterDays)

	runs, err := window(in.History, in.Now)
	if err != nil {
		return Estimate{}, err
	}
	e := Estimate{
		EstimatedDBU:       model.DBU,
		EstimatedShuffleGB: model.ShuffleGiB,
		Basis:              BasisModel,
		HistoryRuns:        len(runs),
		CostCeilingDBU:     ceiling,
		Model:              model,
		Shape:              shape,
	}
	share := float64(len(runs)) / float64(len(runs)+HistoryPriorRuns)
	if len(runs) > 0 {
		dbu, shuffle := weightedAverage(runs, in.Now)
		e.EstimatedDBU = share*dbu + (1-share)*model.DBU
		e.EstimatedShuffleGB = share*shuffle + (1-share)*model.ShuffleGiB
		e.Basis = BasisHistoryWeighted
	}
	e.Confidence = ModelConfidenceFloor + (1-ModelConfidenceFloor)*share
	e.DegradedDatasets = degraded(in.Signature, in.Environment)
	if len(e.DegradedDatasets) > 0 {
		e.Confidence *= DegradedConfidenceFactor
	}
	e.CostRiskScore = min(1, max(0, e.EstimatedDBU/ceiling))
	return e, nil
}

func ceilingOrDefault(c float64) (float64, error) {
	switch {
	case c == 0:
		return DefaultCostCeilingDBU, nil
	case !(c > 0) || math.IsInf(c, 0):
		return 0, fmt.Errorf("cost_ceiling_dbu is %v: set a positive number of DBU, or 0 for the default %v", c, float64(DefaultCostCeilingDBU))
	}
	return c, nil
}

// buildShape resolves the signature's datasets against the catalog.
func buildShape(sig signature.Signature, cat *catalog.Catalog, m Model, now time.Time) (Shape, error) {
	s := Shape{
		Dedupe:    sig.HasOp(signature.OpDedupe),
		Aggregate: sig.HasOp(signature.OpAggregate),
		Merge:     sig.HasOp(signature.OpMerge) || sig.Constraints.MergeKeyRequired || sig.Constraints.MergeKey != "",
	}
	for _, d := range sig.Datasets {
		p, err := part(d, sig, cat, m)
		if err != nil {
			return Shape{}, err
		}
		switch d.Role {
		case signature.RoleSource:
			s.Sources = append(s.Sources, p)
		case signature.RoleTarget:
			s.Targets = append(s.Targets, p)
		default:
			return Shape{}, fmt.Errorf("dataset %q has role %q: set role to %q or %q", d.Name, d.Role, signature.RoleSource, signature.RoleTarget)
		}
	}
	if len(s.Sources)+len(s.Targets) == 0 {
		return Shape{}, errors.New("the signature names no dataset: resolve the intent against the catalog first")
	}
	// Name order, so the sums (and their float bits) do not depend on the
	// order the signature lists its datasets in.
	byName := func(a, b Part) int { return strings.Compare(a.Name, b.Name) }
	slices.SortFunc(s.Sources, byName)
	slices.SortFunc(s.Targets, byName)
	s.Join = (sig.HasOp(signature.OpJoin) || sig.HasOp(signature.OpEnrich)) && len(s.Sources) >= 2
	if len(s.Sources) == 0 && sig.HasOp(signature.OpPublish) {
		// Publish-only (docs/adr/0073): nothing is read or written, so no
		// merge reads the target, whatever set_merge_key added.
		s.Merge = false
	}

	if tf := sig.Constraints.TemporalFilter; tf != nil {
		days, err := filterDays(*tf, now)
		if err != nil {
			return Shape{}, err
		}
		s.FilterColumn, s.FilterDays = tf.Column, days
	} else {
		s.FilterColumn = hintColumn(s.Sources)
	}
	m.PartitionSpanDays = nil // each Part carries its span
	s.Model = m
	return s, nil
}

func part(d signature.Dataset, sig signature.Signature, cat *catalog.Catalog, m Model) (Part, error) {
	size, pk, pii := d.SizeBytes, d.PartitionKey, d.PII
	if cat != nil {
		cd, ok := cat.Get(d.Name)
		if !ok {
			return Part{}, fmt.Errorf("dataset %q is not in catalog snapshot %q: resolve the intent against the current catalog", d.Name, cat.SnapshotVersion)
		}
		size, pk, pii = cd.SizeBytes, cd.PartitionKey, cd.PII
	}
	if size <= 0 {
		return Part{}, fmt.Errorf("dataset %q has unknown size (%d bytes): declare its size in the catalog entry (e.g. size: 500MB)", d.Name, size)
	}
	p := Part{Name: d.Name, SizeGiB: float64(size) / GiB, PartitionKey: pk, Anonymized: anonymized(d.Name, pii, sig)}
	if pk != "" {
		p.SpanDays = m.spanDays(d.Name)
	}
	return p, nil
}

// anonymized: constraints.anonymize names one of the dataset's columns, or
// the anonymize operation is asked without a list and the dataset has PII.
func anonymized(name string, pii []string, sig signature.Signature) bool {
	if len(sig.Constraints.Anonymize) == 0 {
		return sig.HasOp(signature.OpAnonymize) && len(pii) > 0
	}
	return slices.ContainsFunc(sig.Constraints.Anonymize, func(col string) bool {
		ds, _, ok := strings.Cut(col, ".")
		return ok && ds == name
	})
}

// hintColumn is the partition key of the largest partitioned source, the
// column resolution (docs/adr/0015) and add_temporal_filter choose.
func hintColumn(sources []Part) string {
	var best Part
	for _, p := range sources {
		if p.PartitionKey != "" && (best.PartitionKey == "" || p.SizeGiB > best.SizeGiB) {
			best = p
		}
	}
	return best.PartitionKey
}

const isoDate = "2006-01-02"

// filterDays is the number of days a temporal filter reads: last_days,
// [from, to) or [from, today], the narrowest when several bounds are set;
// 0 when it bounds nothing from below (only to).
func filterDays(tf signature.TemporalFilter, now time.Time) (int, error) {
	if tf.Column == "" {
		return 0, errors.New("temporal_filter has no column: set it to the partition key it bounds")
	}
	if tf.LastDays < 0 {
		return 0, fmt.Errorf("temporal_filter.last_days is %d: set a positive number of days", tf.LastDays)
	}
	days := tf.LastDays
	if tf.From == "" {
		return days, nil
	}
	from, err := time.Parse(isoDate, tf.From)
	if err != nil {
		return 0, fmt.Errorf("temporal_filter.from %q is not a date: write it as YYYY-MM-DD", tf.From)
	}
	var span int
	if tf.To != "" {
		to, err := time.Parse(isoDate, tf.To)
		if err != nil {
			return 0, fmt.Errorf("temporal_filter.to %q is not a date: write it as YYYY-MM-DD", tf.To)
		}
		if !to.After(from) {
			return 0, fmt.Errorf("temporal_filter [%s, %s) is empty: set to after from", tf.From, tf.To)
		}
		span = int(to.Sub(from).Hours() / 24)
	} else {
		today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
		span = max(1, int(today.Sub(from).Hours()/24)+1) // from through today, at least today
	}
	if days == 0 {
		return span, nil
	}
	return min(days, span), nil
}

// window keeps the runs in [now-HistoryWindow, now], ordered by time then
// value so the weighted sums do not depend on the caller's order.
func window(history []Run, now time.Time) ([]Run, error) {
	since := now.Add(-HistoryWindow)
	var runs []Run
	for _, r := range history {
		if bad(r.ActualDBU) || bad(r.ActualShuffleGB) {
			return nil, fmt.Errorf("history run at %s has actual_dbu %v and actual_shuffle_gb %v: record finite, non-negative costs",
				r.At.UTC().Format(time.RFC3339), r.ActualDBU, r.ActualShuffleGB)
		}
		if r.At.Before(since) || r.At.After(now) {
			continue
		}
		runs = append(runs, r)
	}
	slices.SortFunc(runs, func(a, b Run) int {
		return cmp.Or(a.At.Compare(b.At), cmp.Compare(a.ActualDBU, b.ActualDBU), cmp.Compare(a.ActualShuffleGB, b.ActualShuffleGB))
	})
	return runs, nil
}

func bad(v float64) bool { return v < 0 || math.IsNaN(v) || math.IsInf(v, 0) }

// weightedAverage weighs each run by 2^(-age/HistoryHalfLife).
func weightedAverage(runs []Run, now time.Time) (dbu, shuffle float64) {
	var sum float64
	for _, r := range runs {
		w := math.Exp2(-float64(now.Sub(r.At)) / float64(HistoryHalfLife))
		sum += w
		dbu += w * r.ActualDBU
		shuffle += w * r.ActualShuffleGB
	}
	return dbu / sum, shuffle / sum
}

// degraded lists the datasets whose registry state is not trustworthy for
// sizing. A dataset the registry has never projected (bronze landing
// tables) counts as committed: its size is the catalog's.
func degraded(sig signature.Signature, env registry.EnvironmentState) []string {
	var out []string
	for _, d := range sig.Datasets {
		st, ok := env.Dataset(d.Name)
		if !ok {
			continue
		}
		switch st.State {
		case registry.StateStale, registry.StatePartiallyCommitted, registry.StateQuarantined:
			out = append(out, d.Name)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
