package signature

import (
	"fmt"
	"slices"
	"strings"
)

// Fields Diff compares: what a user states in an intent, which a replan
// may change (docs/adr/0136). Anonymization is per column:
// FieldAnonymize + "dataset.column".
const (
	FieldTemporalWindow = "temporal_window"
	FieldColumns        = "selection.columns"
	FieldGroupBy        = "selection.group_by"
	FieldMeasures       = "selection.measures"
	FieldFilters        = "selection.filters"
	FieldAnonymize      = "anonymize:"
	FieldSources        = "datasets.source"
	FieldTargets        = "datasets.target"
	FieldTargetLayer    = "target_layer"
	FieldOperations     = "operations"
	FieldExecutionMode  = "execution_mode"
)

// How a field changed.
const (
	ChangeNarrowed   = "narrowed"
	ChangeWidened    = "widened"
	ChangeChanged    = "changed"
	ChangeAnonymized = "anonymized"
)

// Change is one field of a signature that another one changed, in words:
// Before and After are what a person reads ("last 400 days").
type Change struct {
	Field  string `json:"field"`
	Change string `json:"change"`
	Before string `json:"before"`
	After  string `json:"after"`
}

// What names the field as a sentence does: "temporal window",
// "requested column nfe.cpf".
func (c Change) What() string {
	if col, ok := strings.CutPrefix(c.Field, FieldAnonymize); ok {
		return "requested column " + col
	}
	if l, ok := fieldLabels[c.Field]; ok {
		return l
	}
	return c.Field
}

// String is the change as one line: "temporal window narrowed: last 400
// days → last 60 days".
func (c Change) String() string {
	return fmt.Sprintf("%s %s: %s → %s", c.What(), c.Change, c.Before, c.After)
}

var fieldLabels = map[string]string{
	FieldTemporalWindow: "temporal window",
	FieldColumns:        "projected columns",
	FieldGroupBy:        "grouping",
	FieldMeasures:       "measures",
	FieldFilters:        "row filters",
	FieldSources:        "source datasets",
	FieldTargets:        "target datasets",
	FieldTargetLayer:    "target layer",
	FieldOperations:     "operations",
	FieldExecutionMode:  "execution mode",
}

// Diff lists what got changed of what asked carried, in a fixed order:
// the temporal window, the selection (columns, grouping, measures, row
// filters), the anonymization of a column the selection names, the source
// and target datasets, the target layer, an operation removed, the
// execution mode. A field asked leaves empty is not compared: a window or a
// selection got adds where asked had none bounds what asked left to the
// defaults, and is not reported (docs/adr/0136). Neither are operations
// got only adds (an anonymize or a merge is a treatment, not less of what
// was asked). Diff is pure: both signatures are compared in their
// canonical form.
func Diff(asked, got Signature) []Change {
	a, g := asked.Canonical(), got.Canonical()
	var out []Change
	add := func(c *Change) {
		if c != nil {
			out = append(out, *c)
		}
	}
	add(windowDiff(a.Constraints.TemporalFilter, g.Constraints.TemporalFilter))
	if !a.Selection.Empty() {
		as, gs := a.Selection, g.Selection
		if gs == nil {
			gs = &Selection{}
		}
		add(listDiff(FieldColumns, as.Columns, gs.Columns, false))
		add(listDiff(FieldGroupBy, as.GroupBy, gs.GroupBy, false))
		add(listDiff(FieldMeasures, measureNames(as.Measures), measureNames(gs.Measures), false))
		add(listDiff(FieldFilters, filterNames(as.Filters), filterNames(gs.Filters), true))
		for _, col := range requestedColumns(as) {
			if slices.Contains(g.Constraints.Anonymize, col) && !slices.Contains(a.Constraints.Anonymize, col) {
				out = append(out, Change{Field: FieldAnonymize + col, Change: ChangeAnonymized, Before: "raw", After: "sha256-hashed, or dropped when the target keeps no hash of it"})
			}
		}
	}
	if ss := names(a.Sources()); len(ss) > 0 {
		add(listDiff(FieldSources, ss, names(g.Sources()), false))
	}
	if ts := names(a.Targets()); len(ts) > 0 {
		if gt := names(g.Targets()); !slices.Equal(ts, gt) {
			out = append(out, Change{Field: FieldTargets, Change: ChangeChanged, Before: list(ts), After: list(gt)})
		}
	}
	if a.TargetLayer != "" && a.TargetLayer != g.TargetLayer {
		out = append(out, Change{Field: FieldTargetLayer, Change: ChangeChanged, Before: a.TargetLayer, After: orNone(g.TargetLayer)})
	}
	if slices.ContainsFunc(a.Operations, func(op string) bool { return !g.HasOp(op) }) {
		out = append(out, Change{Field: FieldOperations, Change: ChangeNarrowed, Before: list(a.Operations), After: list(g.Operations)})
	}
	if am, gm := modeOf(a), modeOf(g); am != modeOf(Signature{}) && am != gm {
		out = append(out, Change{Field: FieldExecutionMode, Change: ChangeChanged, Before: am, After: gm})
	}
	return out
}

// windowDiff compares two temporal filters: narrower when got's window
// lies inside asked's, wider when it contains it, changed otherwise (a
// relative window against dates, another column).
func windowDiff(a, g *TemporalFilter) *Change {
	if a == nil || g != nil && *a == *g {
		return nil
	}
	c := &Change{Field: FieldTemporalWindow, Change: ChangeChanged}
	if g == nil {
		c.Change, c.Before, c.After = ChangeWidened, DescribeWindow(a, false), "no window (every partition)"
		return c
	}
	sameColumn := a.Column == g.Column
	c.Before, c.After = DescribeWindow(a, !sameColumn), DescribeWindow(g, !sameColumn)
	relative := func(t *TemporalFilter) bool { return t.LastDays > 0 && t.From == "" && t.To == "" }
	absolute := func(t *TemporalFilter) bool { return t.LastDays == 0 }
	switch {
	case !sameColumn:
	case relative(a) && relative(g):
		c.Change = ChangeWidened
		if g.LastDays < a.LastDays {
			c.Change = ChangeNarrowed
		}
	case absolute(a) && absolute(g):
		// From is inclusive ("" unbounded below), To exclusive ("" unbounded
		// above); ISO dates order as strings.
		after := func(x, y string) bool { return y == "" || x != "" && x >= y }
		before := func(x, y string) bool { return y == "" || x != "" && x <= y }
		switch {
		case after(g.From, a.From) && before(g.To, a.To):
			c.Change = ChangeNarrowed
		case after(a.From, g.From) && before(a.To, g.To):
			c.Change = ChangeWidened
		}
	}
	return c
}

// DescribeWindow writes a temporal filter as a person says it: "last 60
// days", "since 2025-01-01", "from 2025-01-01 until 2025-02-01"; with
// column, " on <column>" follows.
func DescribeWindow(tf *TemporalFilter, column bool) string {
	if tf == nil {
		return "no window"
	}
	var parts []string
	switch {
	case tf.LastDays == 1:
		parts = append(parts, "last 1 day")
	case tf.LastDays > 1:
		parts = append(parts, fmt.Sprintf("last %d days", tf.LastDays))
	}
	switch {
	case tf.From != "" && tf.To != "":
		parts = append(parts, "from "+tf.From+" until "+tf.To)
	case tf.From != "":
		parts = append(parts, "since "+tf.From)
	case tf.To != "":
		parts = append(parts, "until "+tf.To)
	}
	s := strings.Join(parts, ", ")
	if s == "" {
		s = "every partition"
	}
	if column && tf.Column != "" {
		s += " on " + tf.Column
	}
	return s
}

// listDiff compares two sorted sets: fewer items is narrower (more, for
// row filters: each one keeps fewer rows), more is wider, else changed.
// Grouping is never narrower or wider: another grouping is another result.
func listDiff(field string, a, g []string, moreIsNarrower bool) *Change {
	if slices.Equal(a, g) {
		return nil
	}
	c := &Change{Field: field, Change: ChangeChanged, Before: list(a), After: list(g)}
	if field == FieldGroupBy {
		return c
	}
	switch {
	case subset(g, a):
		c.Change = ChangeNarrowed
		if moreIsNarrower {
			c.Change = ChangeWidened
		}
	case subset(a, g):
		c.Change = ChangeWidened
		if moreIsNarrower {
			c.Change = ChangeNarrowed
		}
	}
	return c
}

func subset(small, big []string) bool {
	for _, s := range small {
		if !slices.Contains(big, s) {
			return false
		}
	}
	return true
}

// requestedColumns are the "dataset.column"s a selection names, sorted.
func requestedColumns(s *Selection) []string {
	cols := slices.Concat(s.Columns, s.GroupBy)
	for _, m := range s.Measures {
		if m.Column != "" {
			cols = append(cols, m.Column)
		}
	}
	for _, f := range s.Filters {
		cols = append(cols, f.Column)
	}
	return sortedUnique(cols, strings.Compare)
}

func measureNames(ms []Measure) []string {
	out := make([]string, 0, len(ms))
	for _, m := range ms {
		col := m.Column
		if col == "" {
			col = "*"
		}
		out = append(out, m.Function+"("+col+")")
	}
	return sortedUnique(out, strings.Compare)
}

func filterNames(fs []RowFilter) []string {
	out := make([]string, 0, len(fs))
	for _, f := range fs {
		out = append(out, f.Column+" "+f.Operator+" "+f.Value)
	}
	return sortedUnique(out, strings.Compare)
}

func names(ds []Dataset) []string {
	out := make([]string, 0, len(ds))
	for _, d := range ds {
		out = append(out, d.Name)
	}
	return sortedUnique(out, strings.Compare)
}

func modeOf(s Signature) string {
	m := s.ExecutionMode
	if m == "" {
		m = ModeBatch
	}
	if s.TimeWindow != "" {
		m += " every " + s.TimeWindow
	}
	if s.CrossDatasetAtomic {
		m += ", atomic across targets"
	}
	return m
}

func list(items []string) string {
	if len(items) == 0 {
		return "none"
	}
	return strings.Join(items, ", ")
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
