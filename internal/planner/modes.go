package planner

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/signature"
)

// ConstraintExecutionMode names the signature's execution fields
// (execution_mode, time_window, cross_dataset_atomic) in a refusal.
const ConstraintExecutionMode = "execution_mode"

// Bounds of a time_window (docs/adr/0137).
const (
	// MinTimeWindow is the shortest window a micro_batch commits.
	MinTimeWindow = time.Minute
	// MaxTimeWindow is the longest: a window never spans two partitions.
	MaxTimeWindow = 24 * time.Hour
	// MaxTimeWindows bounds the windows of one plan (three days of
	// 15-minute windows): each is a unit, an activity and a script.
	MaxTimeWindows = 288
)

// TimestampLayout is how a window's bounds and keys are written: ISO
// local time of the window column, no zone (the data plane's timestamps
// have none).
const TimestampLayout = "2006-01-02T15:04:05"

// TimeWindows are the time_window units of a micro_batch plan: the signed
// window on the target's partition key Column cut, day by day, into
// windows of Size. A window shorter than a day also bounds EventTime, a
// timestamp column of EventSource (the source partitioned by Column), so
// that every row of the day lands in exactly one window of it: the day's
// first window takes the rows before its end (and those with no
// EventTime), its last the rows from its start on.
type TimeWindows struct {
	// Size is the signature's time_window, as signed.
	Size        string       `json:"size"`
	Column      string       `json:"column"`
	EventTime   string       `json:"event_time,omitempty"`
	EventSource string       `json:"event_source,omitempty"`
	Units       []WindowUnit `json:"units"`
}

// WindowUnit is one time_window consistency unit. Key is its start, the
// unit key; Partition the day (a value of Column) it belongs to.
type WindowUnit struct {
	Key       string `json:"key"`
	Partition string `json:"partition"`
	From      string `json:"from"` // inclusive
	To        string `json:"to"`   // exclusive
}

// OpenStart reports whether the window is the first of its day: it also
// takes the rows whose event time falls before the day or is unknown.
func (w WindowUnit) OpenStart() bool { return w.From == w.Partition+"T00:00:00" }

// OpenEnd reports whether the window is the last of its day: it also
// takes the rows whose event time falls after the day.
func (w WindowUnit) OpenEnd() bool { return strings.HasSuffix(w.To, "T00:00:00") }

// Unit returns the window whose key is key.
func (tw *TimeWindows) Unit(key string) (WindowUnit, bool) {
	if tw == nil {
		return WindowUnit{}, false
	}
	i, ok := slices.BinarySearchFunc(tw.Units, key, func(w WindowUnit, k string) int { return strings.Compare(w.Key, k) })
	if !ok {
		return WindowUnit{}, false
	}
	return tw.Units[i], true
}

// ParseTimeWindow reads a signature's time_window: a Go duration ("15m",
// "1h", "24h") of whole seconds, from MinTimeWindow to MaxTimeWindow, that
// divides a day, so windows never straddle two partitions.
func ParseTimeWindow(s string) (time.Duration, error) {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	switch {
	case err != nil:
		return 0, fmt.Errorf("time_window %q is not a duration: write it as 15m, 1h or 24h", s)
	case d < MinTimeWindow || d > MaxTimeWindow:
		return 0, fmt.Errorf("time_window %s: give %s to %s", d, MinTimeWindow, MaxTimeWindow)
	case d%time.Second != 0 || MaxTimeWindow%d != 0:
		return 0, fmt.Errorf("time_window %s does not divide a day into whole windows: use e.g. 5m, 15m, 1h, 6h or 24h", d)
	}
	return d, nil
}

// withSignature fills the execution context the signature carries (5.5
// selection_rules): its execution_mode when the options leave it unset,
// and cross_dataset_atomic. An execution_mode outside the execution_model
// is a refusal; options that contradict the signature are the caller's
// error.
func (o Options) withSignature(sig signature.Signature) (Options, error) {
	var mode ExecutionMode
	switch sig.ExecutionMode {
	case "", signature.ModeBatch:
	case signature.ModeMicroBatch:
		mode = ModeMicroBatch
	default:
		return o, violation(ConstraintExecutionMode, "write batch (the default) or micro_batch",
			"execution_mode %q is not a mode of the execution_model (whitepaper 10: batch, micro_batch)", sig.ExecutionMode)
	}
	if mode != "" {
		if o.ExecutionMode != "" && o.ExecutionMode != mode {
			return o, fmt.Errorf("%w: Options.ExecutionMode %q contradicts the signature's execution_mode %q: leave it empty, the signature says it",
				ErrInvalidOptions, o.ExecutionMode, mode)
		}
		o.ExecutionMode = mode
	}
	o.CrossDatasetAtomic = o.CrossDatasetAtomic || sig.CrossDatasetAtomic
	return o, nil
}

// checkModes refuses what the signature's execution fields ask and no
// template gives, before anything is built: a time_window without
// micro_batch, micro_batch without one or into a target with no date
// partition key.
func (b *builder) checkModes() error {
	sig := b.sig
	micro := sig.ExecutionMode == signature.ModeMicroBatch
	if sig.TimeWindow != "" && !micro && b.opts.ExecutionMode != ModeMicroBatch {
		return violation(ConstraintExecutionMode, "set execution_mode: micro_batch, or drop time_window",
			"time_window %q windows a micro_batch, and the execution_mode is batch", sig.TimeWindow)
	}
	if !micro || b.opts.CrossDatasetAtomic || b.opts.Composite {
		return nil // not windowed: a flag outranks the mode (docs/adr/0058)
	}
	if sig.TimeWindow == "" {
		return violation(ConstraintExecutionMode, "set time_window (e.g. 15m), or schedule the signature with `cfa schedule create --every 15m`",
			"micro_batch commits one time_window at a time and the signature gives no time_window")
	}
	if _, err := ParseTimeWindow(sig.TimeWindow); err != nil {
		return violation(ConstraintExecutionMode, "fix time_window", "%s", err.Error())
	}
	if len(b.sources) == 0 {
		return violation(ConstraintExecutionMode, "drop execution_mode: a publish reads nothing to window",
			"micro_batch of a publish of %s: nothing is read, so there is no time window to commit", b.target.Name)
	}
	if pk := b.target.PartitionKey; pk == "" || columnType(b.target, pk) != "date" {
		return violation(ConstraintExecutionMode, "run it as batch (drop execution_mode), or write a target partitioned by a date",
			"micro_batch windows the target's date partition key, and %s has none", b.target.Name)
	}
	return nil
}

// timeWindows cuts the signed window into the plan's time_window units
// (docs/adr/0137). A window is committed by MERGE on the deterministic
// key, so a retried window rewrites its own rows only; a partition
// overwrite would replace the whole day per window and is refused, as is
// an aggregate under windows shorter than a day (each would replace the
// day's totals with its own).
func (b *builder) timeWindows(mode LoadMode) (*TimeWindows, error) {
	if b.sig.TimeWindow == "" {
		return nil, violation(ConstraintExecutionMode, "set time_window (e.g. 15m), or schedule the signature with `cfa schedule create --every 15m`",
			"micro_batch commits one time_window at a time and the signature gives no time_window")
	}
	size, err := ParseTimeWindow(b.sig.TimeWindow)
	if err != nil {
		return nil, violation(ConstraintExecutionMode, "fix time_window", "%s", err.Error())
	}
	pk := b.target.PartitionKey
	if mode != LoadMerge {
		return nil, violation(ConstraintExecutionMode, "merge on the target's merge key, or run it as batch",
			"micro_batch commits each time window of %s by MERGE on its key; a %s would replace the whole window's partition once per window", b.target.Name, mode)
	}
	w := b.window
	if w == nil || w.Column != pk || w.From == "" || w.To == "" {
		return nil, violation(ConstraintExecutionMode, "bound the temporal filter on "+pk+" on both sides (e.g. last_days: 1)",
			"micro_batch cuts the signed window on %s's partition key %s into time windows, and the signature bounds none", b.target.Name, pk)
	}
	from, _ := ParseDate(w.From) // resolveWindow checked both
	to, _ := ParseDate(w.To)
	perDay := int(MaxTimeWindow / size)
	days := int(to.Sub(from) / MaxTimeWindow)
	if n := days * perDay; n > MaxTimeWindows {
		return nil, violation(ConstraintExecutionMode, "narrow the temporal filter or widen time_window",
			"[%s, %s) in windows of %s makes %d time windows, more than %d", w.From, w.To, b.sig.TimeWindow, n, MaxTimeWindows)
	}
	tw := &TimeWindows{Size: b.sig.TimeWindow, Column: pk}
	if size < MaxTimeWindow {
		if b.sig.HasOp(signature.OpAggregate) {
			return nil, violation(ConstraintExecutionMode, "use time_window 24h (one window per day) or batch",
				"an aggregate into %s groups whole days; a %s window would replace each day's totals with its own", b.target.Name, b.sig.TimeWindow)
		}
		i := slices.IndexFunc(b.sources, func(d catalog.Dataset) bool { return d.PartitionKey == pk })
		if i < 0 {
			return nil, violation(ConstraintExecutionMode, "use time_window 24h, or read a source partitioned by "+pk,
				"no source of %s is partitioned by %s to cut into %s windows", b.target.Name, pk, b.sig.TimeWindow)
		}
		src := b.sources[i]
		j := slices.IndexFunc(src.Columns, func(c catalog.Column) bool { return c.Type == "timestamp" })
		if j < 0 {
			return nil, violation(ConstraintExecutionMode, "use time_window 24h (one window per day)",
				"%s has no timestamp column to cut a day into %s windows", src.Name, b.sig.TimeWindow)
		}
		tw.EventTime, tw.EventSource = src.Columns[j].Name, src.Name
	}
	for d := from; d.Before(to); d = d.AddDate(0, 0, 1) {
		for k := range perDay {
			start := d.Add(time.Duration(k) * size)
			tw.Units = append(tw.Units, WindowUnit{Key: start.Format(TimestampLayout), Partition: d.Format(dateLayout),
				From: start.Format(TimestampLayout), To: start.Add(size).Format(TimestampLayout)})
		}
	}
	return tw, nil
}

// verifyTimeWindows checks a plan's time windows against its unit and
// window: only a time_window plan has them; each lies in the plan's window,
// on a day it names, in key order; the event time is a timestamp column of
// a source the plan extracts.
func verifyTimeWindows(p ExecutionPlan, cat *catalog.Catalog) error {
	tw := p.TimeWindows
	if (tw != nil) != (p.ConsistencyUnit == UnitTimeWindow) {
		return outside(ConstraintExecution, reexport, "the plan commits by %s and has time windows: %v", p.ConsistencyUnit, tw != nil)
	}
	if tw == nil {
		return nil
	}
	size, err := ParseTimeWindow(tw.Size)
	if err != nil || p.Window == nil || tw.Column != p.Window.Column || len(tw.Units) == 0 || len(tw.Units) > MaxTimeWindows {
		return outside(ConstraintExecution, reexport, "the time windows (size %q on %q, %d units) do not cut the plan's %s", tw.Size, tw.Column, len(tw.Units), windowText(p.Window))
	}
	if tw.EventTime != "" || tw.EventSource != "" {
		d, ok := cat.Get(tw.EventSource)
		if !ok || columnType(d, tw.EventTime) != "timestamp" || !slices.ContainsFunc(p.Steps, func(s Step) bool { return s.Kind == KindExtract && s.Dataset == d.Name }) {
			return outside(ConstraintExecution, reexport, "the time windows bound %s.%s, not a timestamp column of a source the plan reads", tw.EventSource, tw.EventTime)
		}
	}
	for i, u := range tw.Units {
		start, serr := time.Parse(TimestampLayout, u.From)
		end, eerr := time.Parse(TimestampLayout, u.To)
		day, derr := ParseDate(u.Partition)
		switch {
		case serr != nil || eerr != nil || derr != nil || u.Key != u.From || end.Sub(start) != size:
			return outside(ConstraintExecution, reexport, "time window %q [%s, %s) on day %q is not a %s window", u.Key, u.From, u.To, u.Partition, tw.Size)
		case start.Before(day) || end.After(day.AddDate(0, 0, 1)):
			return outside(ConstraintExecution, reexport, "time window %s straddles its day %s", u.Key, u.Partition)
		case u.Partition < p.Window.From || u.Partition >= p.Window.To:
			return outside(ConstraintTemporalFilter, reexport, "time window %s lies outside the plan's %s", u.Key, windowText(p.Window))
		case i > 0 && tw.Units[i-1].Key >= u.Key:
			return outside(ConstraintExecution, reexport, "time windows are not in key order at %s", u.Key)
		}
	}
	return nil
}

func columnType(d catalog.Dataset, name string) string {
	for _, c := range d.Columns {
		if c.Name == name {
			return c.Type
		}
	}
	return ""
}

// conformModes holds a supplied plan to the governed plan's consistency
// units: the same time windows, and for a cross_dataset_atomic plan the
// same targets, each part conforming to the governed one.
func conformModes(p, governed ExecutionPlan) error {
	if !sameTimeWindows(p.TimeWindows, governed.TimeWindows) {
		return outside(ConstraintExecution, reexport, "the plan's time windows are not the signature's plan's (docs/adr/0137)")
	}
	if len(p.Parts) != len(governed.Parts) {
		return outside(ConstraintTarget, reexport, "the plan writes %d targets, the signature's plan %d", len(p.Parts)+1, len(governed.Parts)+1)
	}
	for i := range p.Parts {
		if err := Conform(p.Parts[i], governed.Parts[i]); err != nil {
			return fmt.Errorf("cross_dataset_atomic target %s: %w", p.Parts[i].Target, err)
		}
	}
	return nil
}

func sameTimeWindows(a, b *TimeWindows) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Size == b.Size && a.Column == b.Column && a.EventTime == b.EventTime && a.EventSource == b.EventSource && slices.Equal(a.Units, b.Units)
}
