package resolution_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	catalogfiles "github.com/contextualflux/cfa/catalog"
	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/registry"
	"github.com/contextualflux/cfa/internal/resolution"
	"github.com/contextualflux/cfa/internal/signature"
)

// The evaluation set of issue 14 (item 6): testdata/eval*.yaml, whose
// schema is documented at the top of each file. TestEvalSet resolves every
// case against the shipped catalog and an empty environment and scores five
// fields by micro-averaged precision and recall over set elements:
//
//	datasets   "source:NAME" and "target:NAME"
//	target     target names and "layer:TARGET_LAYER"
//	operation  operations
//	columns    projected columns and row filters ("ds.col OP value")
//	grouping   group-by columns and measures ("fn(ds.col)", "count(*)")
//
// A case whose expectation is resolved: false expects, in every field, the
// single element "<unresolved>", which a refusal yields: a wrong resolution
// costs recall (the refusal missed) and precision (whatever it produced). A
// wrong refusal of a case that must resolve yields nothing: it costs recall
// (every expected element is missed).
// Ambiguity, temporal window, execution mode and cross_dataset_atomic are
// reported as accuracies, not gated.

const (
	evalMinCases  = 150
	evalThreshold = 0.95
	unresolvedTok = "<unresolved>"
)

var evalFields = []string{"datasets", "target", "operation", "columns", "grouping"}

// evalLists names the expectation lists `any` may leave unscored.
var evalLists = []string{"sources", "targets", "target_layer", "operations", "columns", "filters", "group_by", "measures"}

type evalExpect struct {
	Resolved    *bool    `yaml:"resolved"`
	Sources     []string `yaml:"sources"`
	Targets     []string `yaml:"targets"`
	TargetLayer string   `yaml:"target_layer"`
	Operations  []string `yaml:"operations"`
	Columns     []string `yaml:"columns"`
	Filters     []string `yaml:"filters"`
	GroupBy     []string `yaml:"group_by"`
	Measures    []string `yaml:"measures"`
	Any         []string `yaml:"any"`
	Ambiguous   *bool    `yaml:"ambiguous"`
	Window      string   `yaml:"window"`
	Mode        string   `yaml:"mode"`
	Atomic      *bool    `yaml:"atomic"`
}

type evalCase struct {
	Text   string      `yaml:"text"`
	Lang   string      `yaml:"lang"`
	Note   string      `yaml:"note"`
	Expect *evalExpect `yaml:"expect"`

	file string
	line int
}

func (e *evalExpect) resolved() bool { return e.Resolved == nil || *e.Resolved }

func (e *evalExpect) scored(list string) bool { return !slices.Contains(e.Any, list) }

// loadEvalCases reads every testdata/eval*.yaml strictly (an unknown key is
// an error) and checks each case is well formed.
func loadEvalCases(t *testing.T) []evalCase {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "eval*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no testdata/eval*.yaml file")
	}
	var all []evalCase
	seen := map[string]string{}
	for _, f := range files { // Glob sorts: a fixed order
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var cases []evalCase
		dec := yaml.NewDecoder(bytes.NewReader(raw))
		dec.KnownFields(true)
		if err := dec.Decode(&cases); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		var doc yaml.Node // for line numbers only
		if err := yaml.Unmarshal(raw, &doc); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if len(doc.Content) != 1 || doc.Content[0].Kind != yaml.SequenceNode || len(doc.Content[0].Content) != len(cases) {
			t.Fatalf("%s: the file must be one list of cases", f)
		}
		for i := range cases {
			c := &cases[i]
			c.file, c.line = filepath.Base(f), doc.Content[0].Content[i].Line
			where := fmt.Sprintf("%s:%d", c.file, c.line)
			switch {
			case strings.TrimSpace(c.Text) == "":
				t.Fatalf("%s: a case has no text", where)
			case c.Expect == nil:
				t.Fatalf("%s: case %q has no expect", where, c.Text)
			case seen[c.Text] != "":
				t.Fatalf("%s: case %q repeats %s", where, c.Text, seen[c.Text])
			}
			seen[c.Text] = where
			if c.Lang == "" {
				c.Lang = "en"
			}
			if c.Lang != "en" && c.Lang != "pt" {
				t.Fatalf("%s: lang %q is neither en nor pt", where, c.Lang)
			}
			e := c.Expect
			for _, a := range e.Any {
				if !slices.Contains(evalLists, a) {
					t.Fatalf("%s: any names %q, not one of %v", where, a, evalLists)
				}
			}
			if !e.resolved() && !evalOnlyResolved(*e) {
				t.Fatalf("%s: case %q expects resolved: false and something else", where, c.Text)
			}
			if e.resolved() && len(e.Operations) == 0 && e.scored("operations") {
				t.Fatalf("%s: case %q expects a resolution with no operation; list them or add operations to any", where, c.Text)
			}
		}
		all = append(all, cases...)
	}
	return all
}

// evalOnlyResolved reports an expectation that says nothing but resolved.
func evalOnlyResolved(e evalExpect) bool {
	e.Resolved = nil
	return e.Sources == nil && e.Targets == nil && e.TargetLayer == "" && e.Operations == nil && e.Columns == nil &&
		e.Filters == nil && e.GroupBy == nil && e.Measures == nil && e.Any == nil && e.Ambiguous == nil &&
		e.Window == "" && e.Mode == "" && e.Atomic == nil
}

// evalCatalog is loaded once, as every worker loads it.
var evalCatalog = func() *catalog.Catalog {
	c, err := catalog.Load(catalogfiles.FS)
	if err != nil {
		panic(err)
	}
	return c
}()

// evalFieldSets are the expected and got elements of one field of one case.
type evalFieldSets struct {
	want, got []string
	skip      bool // every list of the field is in any
}

func evalPrefixed(prefix string, xs []string) []string {
	out := make([]string, 0, len(xs))
	for _, x := range xs {
		out = append(out, prefix+x)
	}
	return out
}

// evalNormFilter folds "ds.col OP value" for comparison: value without quotes,
// lower case, single spaces.
func evalNormFilter(col, op, value string) string {
	value = strings.Trim(strings.TrimSpace(value), `'"`)
	return strings.ToLower(strings.TrimSpace(col) + " " + strings.TrimSpace(op) + " " + value)
}

func evalParseFilter(s string) string {
	parts := strings.SplitN(strings.TrimSpace(s), " ", 3)
	if len(parts) < 3 {
		return strings.ToLower(s)
	}
	return evalNormFilter(parts[0], parts[1], parts[2])
}

func evalMeasure(m signature.Measure) string {
	col := m.Column
	if col == "" {
		col = "*"
	}
	return strings.ToLower(m.Function + "(" + col + ")")
}

func evalLower(xs []string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = strings.ToLower(strings.TrimSpace(x))
	}
	return out
}

// evalSets computes, for one case, the expected and got elements of each
// scored field.
func evalSets(e *evalExpect, r resolution.SemanticResolution) map[string]evalFieldSets {
	out := map[string]evalFieldSets{}
	if !e.resolved() {
		for _, f := range evalFields {
			fs := evalFieldSets{want: []string{unresolvedTok}}
			if !r.Resolved {
				fs.got = []string{unresolvedTok}
			} else {
				fs.got = evalGot(f, r, nil)
			}
			out[f] = fs
		}
		return out
	}
	for _, f := range evalFields {
		var fs evalFieldSets
		switch f {
		case "datasets":
			fs.skip = !e.scored("sources") && !e.scored("targets")
			if e.scored("sources") {
				fs.want = append(fs.want, evalPrefixed("source:", e.Sources)...)
			}
			if e.scored("targets") {
				fs.want = append(fs.want, evalPrefixed("target:", e.Targets)...)
			}
		case "target":
			hasLayer := e.TargetLayer != "" && e.scored("target_layer")
			fs.skip = !e.scored("targets") && !hasLayer
			if e.scored("targets") {
				fs.want = append(fs.want, e.Targets...)
			}
			if hasLayer {
				fs.want = append(fs.want, "layer:"+e.TargetLayer)
			}
		case "operation":
			fs.skip = !e.scored("operations")
			fs.want = e.Operations
		case "columns":
			fs.skip = !e.scored("columns") && !e.scored("filters")
			if e.scored("columns") {
				fs.want = append(fs.want, evalLower(e.Columns)...)
			}
			if e.scored("filters") {
				for _, x := range e.Filters {
					fs.want = append(fs.want, evalParseFilter(x))
				}
			}
		case "grouping":
			fs.skip = !e.scored("group_by") && !e.scored("measures")
			if e.scored("group_by") {
				fs.want = append(fs.want, evalLower(e.GroupBy)...)
			}
			if e.scored("measures") {
				fs.want = append(fs.want, evalLower(e.Measures)...)
			}
		}
		if r.Resolved { // a refusal says nothing: it costs recall only
			fs.got = evalGot(f, r, e)
		}
		out[f] = fs
	}
	return out
}

// evalGot is what the resolution says for one field, restricted to the
// lists e scores (nil e: everything).
func evalGot(field string, r resolution.SemanticResolution, e *evalExpect) []string {
	s := r.Signature
	scored := func(list string) bool { return e == nil || e.scored(list) }
	var sel signature.Selection
	if s.Selection != nil {
		sel = *s.Selection
	}
	var out []string
	switch field {
	case "datasets":
		for _, d := range s.Datasets {
			if scored(d.Role + "s") {
				out = append(out, d.Role+":"+d.Name)
			}
		}
	case "target":
		if scored("targets") {
			for _, d := range s.Targets() {
				out = append(out, d.Name)
			}
		}
		if s.TargetLayer != "" && (e == nil || e.TargetLayer != "" && e.scored("target_layer")) {
			out = append(out, "layer:"+s.TargetLayer)
		}
	case "operation":
		if scored("operations") {
			out = append(out, s.Operations...)
		}
	case "columns":
		if scored("columns") {
			// A projected column that repeats a grouping key, a measure's
			// or a filter's column restates the selection: not counted
			// unless the case lists it.
			restated := map[string]bool{}
			for _, c := range sel.GroupBy {
				restated[strings.ToLower(c)] = true
			}
			for _, m := range sel.Measures {
				restated[strings.ToLower(m.Column)] = true
			}
			for _, f := range sel.Filters {
				restated[strings.ToLower(f.Column)] = true
			}
			for _, c := range evalLower(sel.Columns) {
				if !restated[c] || e == nil || slices.Contains(evalLower(e.Columns), c) {
					out = append(out, c)
				}
			}
		}
		if scored("filters") {
			for _, f := range sel.Filters {
				out = append(out, evalNormFilter(f.Column, f.Operator, f.Value))
			}
		}
	case "grouping":
		if scored("group_by") {
			out = append(out, evalLower(sel.GroupBy)...)
		}
		if scored("measures") {
			for _, m := range sel.Measures {
				out = append(out, evalMeasure(m))
			}
		}
	}
	return out
}

// evalMatch counts true positives, false positives and false negatives of one
// field: plain elements first, then "a|b" alternatives, each got element
// used at most once.
func evalMatch(want, got []string) (tp, fp, fn int, missing, extra []string) {
	used := make([]bool, len(got))
	take := func(alts []string) bool {
		for i, g := range got {
			if !used[i] && slices.Contains(alts, g) {
				used[i] = true
				return true
			}
		}
		return false
	}
	ordered := slices.Clone(want)
	slices.SortStableFunc(ordered, func(a, b string) int {
		return evalBoolInt(strings.Contains(a, "|")) - evalBoolInt(strings.Contains(b, "|"))
	})
	for _, w := range ordered {
		if take(strings.Split(w, "|")) {
			tp++
		} else {
			fn++
			missing = append(missing, w)
		}
	}
	for i, g := range got {
		if !used[i] {
			fp++
			extra = append(extra, g)
		}
	}
	return tp, fp, fn, missing, extra
}

func evalBoolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func evalWindow(tf *signature.TemporalFilter) string {
	if tf == nil {
		return ""
	}
	s := tf.Column
	if tf.From != "" {
		s += " from=" + tf.From
	}
	if tf.To != "" {
		s += " to=" + tf.To
	}
	if tf.LastDays != 0 {
		s += fmt.Sprintf(" last_days=%d", tf.LastDays)
	}
	return s
}

// evalSameMode compares "micro_batch 15m" with the signature's mode and window,
// durations by value ("15m" = "15m0s").
func evalSameMode(want string, s signature.Signature) bool {
	wm, ww, _ := strings.Cut(strings.TrimSpace(want), " ")
	if wm != s.ExecutionMode {
		return false
	}
	if ww == s.TimeWindow {
		return true
	}
	a, errA := time.ParseDuration(strings.TrimSpace(ww))
	b, errB := time.ParseDuration(s.TimeWindow)
	return errA == nil && errB == nil && a == b
}

// evalSummary writes what a resolution says, for the failure list.
func evalSummary(s signature.Signature) string {
	var parts []string
	for _, f := range evalFields {
		parts = append(parts, fmt.Sprintf("%s=%v", f, evalGot(f, resolution.SemanticResolution{Resolved: true, Signature: s}, nil)))
	}
	return strings.Join(parts, " ")
}

type evalPRF struct{ tp, fp, fn int }

func (p evalPRF) precision() float64 {
	if p.tp+p.fp == 0 {
		return 1
	}
	return float64(p.tp) / float64(p.tp+p.fp)
}

func (p evalPRF) recall() float64 {
	if p.tp+p.fn == 0 {
		return 1
	}
	return float64(p.tp) / float64(p.tp+p.fn)
}

type evalAccuracy struct{ right, total int }

func (a *evalAccuracy) add(ok bool) {
	a.total++
	if ok {
		a.right++
	}
}

func (a evalAccuracy) String() string {
	if a.total == 0 {
		return "-"
	}
	return fmt.Sprintf("%d/%d (%.3f)", a.right, a.total, float64(a.right)/float64(a.total))
}

func TestEvalSet(t *testing.T) {
	t.Parallel()
	cases := loadEvalCases(t)
	if len(cases) < evalMinCases {
		t.Errorf("the evaluation set has %d cases; it needs at least %d", len(cases), evalMinCases)
	}

	// Counts by language and expected outcome, and by file (theme).
	counts := map[string]map[bool]int{"en": {}, "pt": {}}
	byFile := map[string]map[string]int{}
	var fileOrder []string
	for _, c := range cases {
		counts[c.Lang][c.Expect.resolved()]++
		if byFile[c.file] == nil {
			byFile[c.file] = map[string]int{}
			fileOrder = append(fileOrder, c.file)
		}
		byFile[c.file][c.Lang]++
	}
	var b strings.Builder
	fmt.Fprintf(&b, "evaluation set: %d cases\n", len(cases))
	fmt.Fprintf(&b, "  %-10s %9s %11s %6s\n", "language", "resolved", "unresolved", "total")
	for _, l := range []string{"en", "pt"} {
		fmt.Fprintf(&b, "  %-10s %9d %11d %6d\n", l, counts[l][true], counts[l][false], counts[l][true]+counts[l][false])
	}
	fmt.Fprintf(&b, "  %-10s %9d %11d %6d\n", "all", counts["en"][true]+counts["pt"][true], counts["en"][false]+counts["pt"][false], len(cases))
	fmt.Fprintf(&b, "  %-22s %4s %4s %6s\n", "file", "en", "pt", "total")
	for _, f := range fileOrder {
		fmt.Fprintf(&b, "  %-22s %4d %4d %6d\n", f, byFile[f]["en"], byFile[f]["pt"], byFile[f]["en"]+byFile[f]["pt"])
	}
	t.Log("\n" + b.String())

	scores := map[string]*evalPRF{}
	for _, f := range evalFields {
		scores[f] = &evalPRF{}
	}
	var resolvedAcc, ambiguousAcc, windowAcc, modeAcc, atomicAcc evalAccuracy
	var failures []string
	for _, c := range cases {
		r := resolution.Resolve(c.Text, evalCatalog, registry.EnvironmentState{})
		e := c.Expect
		var diffs []string
		resolvedAcc.add(r.Resolved == e.resolved())
		if r.Resolved != e.resolved() {
			d := fmt.Sprintf("resolved: want %v, got %v", e.resolved(), r.Resolved)
			if r.Reason != "" {
				d += fmt.Sprintf(" (%s)", r.Reason)
			} else {
				d += " as " + evalSummary(r.Signature)
			}
			diffs = append(diffs, d)
		}
		sets := evalSets(e, r)
		for _, f := range evalFields {
			fs := sets[f]
			if fs.skip {
				continue
			}
			tp, fp, fn, missing, extra := evalMatch(fs.want, fs.got)
			s := scores[f]
			s.tp, s.fp, s.fn = s.tp+tp, s.fp+fp, s.fn+fn
			if (fp > 0 || fn > 0) && r.Resolved == e.resolved() {
				diffs = append(diffs, fmt.Sprintf("%s: want %v, got %v (missing %v, extra %v)", f, fs.want, fs.got, missing, extra))
			}
		}
		if e.resolved() && r.Resolved {
			if e.Ambiguous != nil {
				got := len(r.CompetingInterpretations) > 1
				ambiguousAcc.add(got == *e.Ambiguous)
				if got != *e.Ambiguous {
					diffs = append(diffs, fmt.Sprintf("ambiguous: want %v, got %v %v", *e.Ambiguous, got, r.CompetingInterpretations))
				}
			}
			if e.Window != "" {
				got := evalWindow(r.Signature.Constraints.TemporalFilter)
				windowAcc.add(got == e.Window)
				if got != e.Window {
					diffs = append(diffs, fmt.Sprintf("window: want %q, got %q", e.Window, got))
				}
			}
			if e.Mode != "" {
				ok := evalSameMode(e.Mode, r.Signature)
				modeAcc.add(ok)
				if !ok {
					diffs = append(diffs, fmt.Sprintf("mode: want %q, got %q", e.Mode, strings.TrimSpace(r.Signature.ExecutionMode+" "+r.Signature.TimeWindow)))
				}
			}
			if e.Atomic != nil {
				atomicAcc.add(r.Signature.CrossDatasetAtomic == *e.Atomic)
				if r.Signature.CrossDatasetAtomic != *e.Atomic {
					diffs = append(diffs, fmt.Sprintf("atomic: want %v, got %v", *e.Atomic, r.Signature.CrossDatasetAtomic))
				}
			}
		}
		if len(diffs) > 0 {
			failures = append(failures, fmt.Sprintf("%s:%d [%s] %q\n      %s", c.file, c.line, c.Lang, c.Text, strings.Join(diffs, "\n      ")))
		}
	}

	b.Reset()
	fmt.Fprintf(&b, "  %-10s %5s %5s %5s %10s %8s\n", "field", "tp", "fp", "fn", "precision", "recall")
	var below []string
	for _, f := range evalFields {
		s := scores[f]
		mark := ""
		if s.precision() < evalThreshold || s.recall() < evalThreshold {
			mark = "  < " + fmt.Sprint(evalThreshold)
			below = append(below, f)
		}
		fmt.Fprintf(&b, "  %-10s %5d %5d %5d %10.3f %8.3f%s\n", f, s.tp, s.fp, s.fn, s.precision(), s.recall(), mark)
	}
	fmt.Fprintf(&b, "  reported, not gated: resolved %s, ambiguous %s, window %s, mode %s, atomic %s\n",
		resolvedAcc, ambiguousAcc, windowAcc, modeAcc, atomicAcc)
	t.Log("\nprecision and recall (micro-averaged over set elements)\n" + b.String())
	if len(failures) > 0 {
		t.Logf("\n%d of %d cases differ from their expectation:\n  %s", len(failures), len(cases), strings.Join(failures, "\n  "))
	}
	if len(below) > 0 {
		t.Errorf("precision or recall below %.2f on %s", evalThreshold, strings.Join(below, ", "))
	}
}
