package codegen

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/planner"
)

// Code per consistency unit (docs/adr/0137, 0138). A micro_batch plan's
// Postgres artifact holds one script per time_window unit,
// <target>.<window start>.sql, each the plan's script with its extracts
// narrowed to the window: the day's partition, and for a window shorter
// than a day the event time. A cross_dataset_atomic plan's holds one
// script per target, <target>.sql, each its part's script. The executor
// runs a unit's own file (UnitFiles); static validation judges every file.

// UnitFile names the Postgres file of a plan's script for target: the
// script of one time_window unit when w is set.
func UnitFile(target string, w *planner.WindowUnit) string {
	if w == nil {
		return target + ".sql"
	}
	return target + "." + w.Key + ".sql"
}

// UnitFiles returns the files of a Postgres artifact that one consistency
// unit of plan runs, in order: a time_window unit's own script, a
// cross_dataset_atomic target's script (the unit key is the target), and
// every file for any other unit.
func UnitFiles(plan planner.ExecutionPlan, art Artifact, key string) ([]File, error) {
	var want string
	switch {
	case plan.TimeWindows != nil:
		w, ok := plan.TimeWindows.Unit(key)
		if !ok {
			return nil, fmt.Errorf("%w: %q is not a time_window unit of plan %s", ErrInvalidPlan, key, plan.Hash)
		}
		want = UnitFile(plan.Target, &w)
	case len(plan.Parts) > 0:
		if _, ok := plan.ForTarget(key); !ok {
			return nil, fmt.Errorf("%w: %q is not a target of cross_dataset_atomic plan %s", ErrInvalidPlan, key, plan.Hash)
		}
		want = UnitFile(key, nil)
	default:
		return art.Files, nil
	}
	i := slices.IndexFunc(art.Files, func(f File) bool { return f.Path == want })
	if i < 0 {
		return nil, fmt.Errorf("%w: the code of plan %s has no file %s for unit %s: generate it again", ErrInvalidPlan, plan.Hash, want, key)
	}
	return art.Files[i : i+1], nil
}

// generateUnits renders a plan with time windows, or with parts, as one
// file per unit.
func (p Postgres) generateUnits(plan planner.ExecutionPlan, cat *catalog.Catalog) (Artifact, error) {
	var files []File
	if tw := plan.TimeWindows; tw != nil {
		if err := validTimeWindows(plan, cat); err != nil {
			return Artifact{}, fmt.Errorf("generate %s for plan %s: %w", p.Name(), plan.Hash, err)
		}
		for i := range tw.Units {
			art, err := Postgres{window: &tw.Units[i]}.Generate(plan, cat)
			if err != nil {
				return Artifact{}, err
			}
			files = append(files, art.Files...)
		}
		return newArtifact(p.Name(), plan.Hash, files), nil
	}
	err := eachTarget(plan, func(part planner.ExecutionPlan, own bool) error {
		b := Postgres{own: own}
		art, err := b.Generate(part, cat)
		files = append(files, art.Files...)
		return err
	})
	if err != nil {
		return Artifact{}, fmt.Errorf("generate %s for plan %s: %w", p.Name(), plan.Hash, err)
	}
	return newArtifact(p.Name(), plan.Hash, files), nil
}

// eachTarget calls f with plan itself (own: render its own target only),
// then each of its parts, which must be whole plans of the same signature
// writing other targets.
func eachTarget(plan planner.ExecutionPlan, f func(planner.ExecutionPlan, bool) error) error {
	if plan.TimeWindows != nil {
		return fmt.Errorf("%w: a plan has time windows or parts, not both", ErrInvalidPlan)
	}
	seen := []string{plan.Target}
	if err := f(plan, true); err != nil {
		return err
	}
	for _, part := range plan.Parts {
		if part.SignatureHash != plan.SignatureHash || len(part.Parts) > 0 || part.TimeWindows != nil || slices.Contains(seen, part.Target) {
			return fmt.Errorf("%w: part %s is not a plan of another target for signature %s", ErrInvalidPlan, part.Target, plan.SignatureHash)
		}
		seen = append(seen, part.Target)
		if err := f(part, false); err != nil {
			return fmt.Errorf("target %s: %w", part.Target, err)
		}
	}
	return nil
}

// validTimeWindows checks what of the time windows is rendered: the
// windowed column is the plan window's, the event time a timestamp column
// of a dataset the plan extracts, every bound a timestamp of the layout.
func validTimeWindows(plan planner.ExecutionPlan, cat *catalog.Catalog) error {
	tw := plan.TimeWindows
	if len(plan.Parts) > 0 {
		return fmt.Errorf("%w: a plan has time windows or parts, not both", ErrInvalidPlan)
	}
	if plan.Window == nil || tw.Column != plan.Window.Column || len(tw.Units) == 0 {
		return fmt.Errorf("%w: time windows on %q do not cut the plan's window", ErrInvalidPlan, tw.Column)
	}
	if tw.EventTime != "" {
		d, ok := cat.Get(tw.EventSource)
		if !ok || !identRE.MatchString(tw.EventTime) || !slices.ContainsFunc(d.Columns, func(c catalog.Column) bool { return c.Name == tw.EventTime && c.Type == "timestamp" }) {
			return fmt.Errorf("%w: event time %s.%s is not a timestamp column of the catalog", ErrUnknownColumn, tw.EventSource, tw.EventTime)
		}
	}
	for _, w := range tw.Units {
		for _, ts := range []string{w.Key, w.From, w.To} {
			if t, err := time.Parse(planner.TimestampLayout, ts); err != nil || t.Format(planner.TimestampLayout) != ts {
				return fmt.Errorf("%w: time window bound %q is not %s", ErrInvalidPlan, ts, planner.TimestampLayout)
			}
		}
		if _, err := planner.ParseDate(w.Partition); err != nil || !strings.HasPrefix(w.Key, w.Partition+"T") {
			return fmt.Errorf("%w: time window %s is not on its day %q", ErrInvalidPlan, w.Key, w.Partition)
		}
	}
	return nil
}

// extractWhere is an extract's WHERE: its filter, narrowed under a
// time_window unit to the window's day and, for a window shorter than a
// day, bounded on the event time of the windowed source.
func (r renderer) extractWhere(s planner.Step) string {
	f := s.Params.Filter
	if f == nil {
		return ""
	}
	w, tw := r.window, r.sc.plan.TimeWindows
	if w == nil || tw == nil || f.Column != tw.Column {
		return windowPredicate(f)
	}
	day, _ := planner.ParseDate(w.Partition) // validTimeWindows checked it
	narrow := planner.Window{Column: f.Column, From: max(f.From, w.Partition), To: day.AddDate(0, 0, 1).Format("2006-01-02")}
	if f.To != "" {
		narrow.To = min(f.To, narrow.To)
	}
	pred := windowPredicate(&narrow)
	if tw.EventTime == "" || s.Dataset != tw.EventSource {
		return pred
	}
	col := q(tw.EventTime)
	switch {
	case w.OpenStart() && w.OpenEnd():
	case w.OpenStart():
		// The day's first window also takes the rows with no event time,
		// and those stamped before the day: no row of the day is lost.
		pred += " AND (" + col + " < " + timestampLiteral(w.To) + " OR " + col + " IS NULL)"
	case w.OpenEnd():
		pred += " AND " + col + " >= " + timestampLiteral(w.From)
	default:
		pred += " AND " + col + " >= " + timestampLiteral(w.From) + " AND " + col + " < " + timestampLiteral(w.To)
	}
	return pred
}

// timestampLiteral is TIMESTAMP 'YYYY-MM-DD HH:MM:SS'; ts passed
// validTimeWindows, so it holds only digits, hyphens, colons and a T.
func timestampLiteral(ts string) string {
	return "TIMESTAMP '" + strings.Replace(ts, "T", " ", 1) + "'"
}

// generateParts renders a cross_dataset_atomic plan with the dbt backend:
// one model per target and one schema.yml declaring every source and
// model (dbt refuses a source declared twice).
func (d DBT) generateParts(plan planner.ExecutionPlan, cat *catalog.Catalog) (Artifact, error) {
	var files []File
	merged := dbtSchema{Version: 2}
	err := eachTarget(plan, func(part planner.ExecutionPlan, own bool) error {
		art, err := DBT{own: own}.Generate(part, cat)
		if err != nil {
			return err
		}
		for _, f := range art.Files {
			switch {
			case f.Path == "models/schema.yml":
				var s dbtSchema
				if err := yaml.Unmarshal([]byte(f.Content), &s); err != nil {
					return fmt.Errorf("read the schema.yml of %s: %w", part.Target, err)
				}
				merged = mergeSchemas(merged, s)
			case slices.ContainsFunc(files, func(g File) bool { return g.Path == f.Path }):
				// packages.yml: the same pin for every target
			default:
				files = append(files, f)
			}
		}
		return nil
	})
	if err != nil {
		return Artifact{}, fmt.Errorf("generate %s for plan %s: %w", d.Name(), plan.Hash, err)
	}
	schema, err := encodeSchema(merged, "")
	if err != nil {
		return Artifact{}, fmt.Errorf("generate %s for plan %s: %w", d.Name(), plan.Hash, err)
	}
	files = append(files, File{Path: "models/schema.yml", Content: schema})
	return newArtifact(d.Name(), plan.Hash, files), nil
}

// mergeSchemas adds b's sources (tables by name, once) and models to a.
func mergeSchemas(a, b dbtSchema) dbtSchema {
	for _, s := range b.Sources {
		i := slices.IndexFunc(a.Sources, func(x dbtSource) bool { return x.Name == s.Name })
		if i < 0 {
			a.Sources = append(a.Sources, dbtSource{Name: s.Name, Schema: s.Schema})
			i = len(a.Sources) - 1
		}
		for _, t := range s.Tables {
			if !slices.ContainsFunc(a.Sources[i].Tables, func(x dbtTable) bool { return x.Name == t.Name }) {
				a.Sources[i].Tables = append(a.Sources[i].Tables, t)
			}
		}
		slices.SortFunc(a.Sources[i].Tables, func(x, y dbtTable) int { return strings.Compare(x.Name, y.Name) })
	}
	slices.SortFunc(a.Sources, func(x, y dbtSource) int { return strings.Compare(x.Name, y.Name) })
	a.Models = append(a.Models, b.Models...)
	slices.SortFunc(a.Models, func(x, y dbtModel) int { return strings.Compare(x.Name, y.Name) })
	return a
}
