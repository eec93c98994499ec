package kernel

import (
	"fmt"
	"slices"
	"strings"

	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/codegen"
	"github.com/contextualflux/cfa/internal/partialexecution"
	"github.com/contextualflux/cfa/internal/planner"
	"github.com/contextualflux/cfa/internal/runtimevalidation"
	"github.com/contextualflux/cfa/internal/staticcheck"
)

// Unit is one consistency unit of a plan as the executor runs and commits
// it (docs/adr/0137, 0138): the plan whose load it runs (a
// cross_dataset_atomic target's part), the dataset it writes and the
// partition its sources and staged rows are narrowed to.
type Unit struct {
	Key  string
	Plan planner.ExecutionPlan
	// Target is the dataset the unit writes.
	Target string
	// Partition is the partition value the unit reads and writes ("" for
	// the plan's whole window): the key of a partition unit, the day of a
	// time_window unit.
	Partition string
}

// UnitOf is unit key of plan p; partitioned says a partition unit's key is
// its partition (ConsistencyUnitOf).
func UnitOf(p planner.ExecutionPlan, key string, partitioned bool) (Unit, error) {
	u := Unit{Key: key, Plan: p, Target: p.Target}
	switch {
	case p.TimeWindows != nil:
		w, ok := p.TimeWindows.Unit(key)
		if !ok {
			return u, fmt.Errorf("%w: %q is not a time_window unit of plan %s", ErrInvalidInput, key, p.Hash)
		}
		u.Partition = w.Partition
	case len(p.Parts) > 0:
		part, ok := p.ForTarget(key)
		if !ok {
			return u, fmt.Errorf("%w: %q is not a target of cross_dataset_atomic plan %s", ErrInvalidInput, key, p.Hash)
		}
		u.Plan, u.Target = part, key
	case partitioned:
		u.Partition = key
	}
	return u, nil
}

// UnitScript is the Postgres code unit key of p runs: its own file of the
// artifact (a time window's, a target's), every file otherwise.
func UnitScript(p planner.ExecutionPlan, code codegen.Artifact, key string) (string, error) {
	files, err := codegen.UnitFiles(p, code, key)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrInvalidInput, err)
	}
	var b strings.Builder
	for _, f := range files {
		b.WriteString(f.Content)
	}
	return b.String(), nil
}

// Atomic reports whether p commits several targets as one (a
// cross_dataset_atomic plan with parts): each unit is a target, keyed by
// its name, and a failure of any rolls them all back.
func Atomic(p planner.ExecutionPlan) bool { return len(p.Parts) > 0 }

// Targets lists the datasets p writes, its own first.
func Targets(p planner.ExecutionPlan) []string {
	var out []string
	for _, q := range p.PerTarget() {
		out = append(out, q.Target)
	}
	return out
}

// UnitKeys lists the units of p when they follow from the plan alone: a
// cross_dataset_atomic plan's targets, a micro_batch plan's windows on the
// days given (the partitions of the window that hold data); nil
// otherwise.
func UnitKeys(p planner.ExecutionPlan, days []string) []string {
	switch {
	case Atomic(p):
		out := Targets(p)
		slices.Sort(out)
		return out
	case p.TimeWindows != nil:
		var out []string
		for _, w := range p.TimeWindows.Units {
			if slices.Contains(days, w.Partition) {
				out = append(out, w.Key)
			}
		}
		return out
	}
	return nil
}

// CommittedPartitions are the target partitions the committed units of p
// wrote, where the merge key must still be unique: a partition unit's
// key, a time window's day; nil for dataset and branch units.
func CommittedPartitions(p planner.ExecutionPlan, committed []string, partitioned bool) []string {
	var out []string
	for _, k := range committed {
		if u, err := UnitOf(p, k, partitioned); err == nil && u.Partition != "" && !slices.Contains(out, u.Partition) {
			out = append(out, u.Partition)
		}
	}
	return out
}

// staticRules derives the static rules of each file of p's Postgres
// artifact from the governed plan: a cross_dataset_atomic target's file
// is judged by its part's rules, every other by the plan's.
func staticRules(p planner.ExecutionPlan, cat *catalog.Catalog) (func(path string) staticcheck.Rules, error) {
	var own staticcheck.Rules
	byFile := map[string]staticcheck.Rules{}
	for i, q := range p.PerTarget() {
		r, err := codegen.Postgres{}.StaticRules(q, cat)
		if err != nil {
			return nil, err
		}
		if i == 0 {
			own = r
			continue
		}
		byFile[codegen.UnitFile(q.Target, nil)] = r
	}
	return func(path string) staticcheck.Rules {
		if r, ok := byFile[path]; ok {
			return r
		}
		return own
	}, nil
}

// atomicUnit is the consistency unit of a cross_dataset_atomic plan: one
// dataset unit over every target, keyed by their names.
func atomicUnit(p planner.ExecutionPlan) partialexecution.ConsistencyUnit {
	targets := Targets(p)
	slices.Sort(targets)
	return partialexecution.ConsistencyUnit{Type: partialexecution.UnitDataset, Key: strings.Join(targets, ",")}
}

// UnitLimits are the runtime limits one unit of p is validated against.
// expected_output_range is what a partition (a day) is expected to write:
// a time_window unit, a fraction of its day, is expected to write that
// fraction of the minimum (rounded up), so a 15-minute window is not
// failed for being smaller than a day (docs/adr/0137). Every other limit
// holds per unit as it is.
func UnitLimits(p planner.ExecutionPlan, l runtimevalidation.Limits) runtimevalidation.Limits {
	tw := p.TimeWindows
	if tw == nil {
		return l
	}
	size, err := planner.ParseTimeWindow(tw.Size)
	if err != nil || size >= planner.MaxTimeWindow {
		return l
	}
	perDay := int64(planner.MaxTimeWindow / size)
	l.ExpectedOutputRange.Min = (l.ExpectedOutputRange.Min + perDay - 1) / perDay
	return l
}
