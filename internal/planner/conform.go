package planner

import (
	"fmt"
	"slices"
	"strings"

	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/signature"
)

// reexport is the remediation of a plan that left the signed envelope.
const reexport = "export the plan again with `cfa plan ID -o json` for this signature; a supplied plan may narrow it, never widen or change it"

// verifyInsideSignature checks that what a plan reads, joins and writes is
// what the signature signed and the catalog declares (docs/adr/0112): the
// signature's target in its catalog layer; only the signature's sources,
// with their catalog columns; every window (the plan's, each extract's
// filter, an overwrite's) inside the signed temporal filter, and a filter
// on every source partitioned by its column; joins on the keys the catalog
// derives (ADR 0059); the signature's merge key, which must be a key
// (mergeKeyIsAKey); dedupes on declared keys only; and exactly the
// target's catalog columns, from the sources, written. The as-of date is
// not known here, so a last_days window is checked by its length; Conform
// compares the dates with the governed plan's.
func verifyInsideSignature(p ExecutionPlan, load Step, sig signature.Signature, cat *catalog.Catalog) error {
	l := load.Params.Load
	targets := sig.Targets()
	if len(targets) != 1 {
		return fmt.Errorf("%w: the signature has %d targets and a plan writes one: split the intent", ErrNoTemplate, len(targets))
	}
	name := targets[0].Name
	if p.Target != name || load.Dataset != name || l.Target != name {
		return outside(ConstraintTarget, reexport, "the plan writes %s (load %s into %s), the signature's target is %s", p.Target, load.ID, l.Target, name)
	}
	target, ok := cat.Get(name)
	if !ok {
		return fmt.Errorf("%w: target %s is not in catalog %s: resolve the intent again", ErrUnknownDataset, name, cat.SnapshotVersion)
	}
	if p.TargetLayer != target.Layer || l.Layer != target.Layer {
		return outside(ConstraintTarget, reexport, "the plan writes %s in layer %q (load: %q), the catalog has it in %q", name, p.TargetLayer, l.Layer, target.Layer)
	}
	mk := sig.Constraints.MergeKey
	if want := loadKey(mk, target); l.MergeKey != mk || l.PartitionKey != target.PartitionKey || !slices.Equal(load.Params.Key, want) {
		return outside(ConstraintMergeKey, reexport, "load %s matches %s on %v (merge key %q, partition key %q); the signature's merge key %q gives %v",
			load.ID, name, load.Params.Key, l.MergeKey, l.PartitionKey, mk, want)
	}
	if err := mergeKeyIsAKey(mk, target); err != nil {
		return err
	}

	var sources []catalog.Dataset
	var names []string
	for _, d := range sig.Sources() {
		cd, ok := cat.Get(d.Name)
		if !ok {
			return fmt.Errorf("%w: source %s is not in catalog %s: resolve the intent again", ErrUnknownDataset, d.Name, cat.SnapshotVersion)
		}
		sources, names = append(sources, cd), append(names, cd.Name)
	}
	tf := sig.Constraints.TemporalFilter
	if tf != nil && p.Window == nil {
		return outside(ConstraintTemporalFilter, reexport, "the plan has no window, the signature reads %s", signedWindow(tf))
	}
	if why := exceedsSigned(p.Window, tf); why != "" {
		return outside(ConstraintTemporalFilter, reexport, "the plan's window %s", why)
	}
	if why := exceedsSigned(l.Window, tf); why != "" {
		return outside(ConstraintTemporalFilter, reexport, "load %s replaces %s", load.ID, why)
	}
	for _, s := range p.Steps {
		switch s.Kind {
		case KindExtract:
			if err := verifyExtractSigned(s, names, tf, cat); err != nil {
				return err
			}
		case KindJoin:
			if err := verifyJoinKey(p, s, names, cat); err != nil {
				return err
			}
		case KindDedupe:
			if !declaredKey(s.Params.Key, append([]catalog.Dataset{target}, sources...)) {
				return outside(ConstraintDedupeKey, "dedupe on a key the catalog declares unique (the target's or a source's merge_key, with its partition key)",
					"step %s keeps one row per (%s), which the catalog declares unique for no dataset of the intent: rows that only share those values would be dropped",
					s.ID, strings.Join(s.Params.Key, ", "))
			}
		}
	}

	written, want := Names(load.Columns), Names(catalogColumns(target))
	if !slices.Equal(written, want) {
		return outside(ConstraintColumns, reexport, "load %s writes (%s), %s has (%s) in the catalog", load.ID, strings.Join(written, ", "), name, strings.Join(want, ", "))
	}
	for _, c := range load.Columns {
		if c.Origin == "" && c.Transform == TransformCount {
			continue
		}
		ds, col, _ := strings.Cut(c.Origin, ".")
		i := slices.Index(names, ds)
		if i < 0 || !sources[i].HasColumn(col) {
			return outside(ConstraintColumns, reexport, "load %s writes %s.%s from %q, which is no column of a source the signature reads (%s)",
				load.ID, name, c.Name, c.Origin, strings.Join(names, ", "))
		}
	}
	if !slices.Equal(p.Contract.ExpectedColumns, written) {
		return outside(ConstraintColumns, reexport, "the contract expects (%s), the load writes (%s)", strings.Join(p.Contract.ExpectedColumns, ", "), strings.Join(written, ", "))
	}
	return nil
}

// verifyExtractSigned: an extract reads a source of the signature, only its
// catalog columns as they are, and, when the source is partitioned by the
// signed filter's column, through a window inside it.
func verifyExtractSigned(s Step, sources []string, tf *signature.TemporalFilter, cat *catalog.Catalog) error {
	if !slices.Contains(sources, s.Dataset) {
		return outside(ConstraintSources, reexport, "step %s reads %s, which the signature does not read (sources: %s)", s.ID, s.Dataset, strings.Join(sources, ", "))
	}
	d, _ := cat.Get(s.Dataset) // the sources were found in the catalog
	for _, c := range s.Columns {
		i := slices.IndexFunc(d.Columns, func(cc catalog.Column) bool { return cc.Name == c.Name })
		if i < 0 || c.Type != d.Columns[i].Type || c.Origin != d.Name+"."+c.Name || c.Transform != "" {
			return outside(ConstraintColumns, reexport, "step %s reads column %q (type %q, from %q, transform %q), which is not a column of %s as the catalog declares it",
				s.ID, c.Name, c.Type, c.Origin, c.Transform, d.Name)
		}
	}
	if tf != nil && d.PartitionKey == tf.Column && s.Params.Filter == nil {
		return outside(ConstraintTemporalFilter, reexport, "step %s reads %s, partitioned by %s, without the signed window %s", s.ID, d.Name, tf.Column, signedWindow(tf))
	}
	if why := exceedsSigned(s.Params.Filter, tf); why != "" {
		return outside(ConstraintTemporalFilter, reexport, "step %s reads %s through %s", s.ID, d.Name, why)
	}
	return nil
}

// verifyJoinKey: a join matches two sources of the signature on the key the
// catalog derives (ADR 0059): the right side's merge_key, or a column both
// sides carry and the right side hashed. Any other column (uf instead of
// cliente_id) pairs rows that do not belong together.
func verifyJoinKey(p ExecutionPlan, s Step, sources []string, cat *catalog.Catalog) error {
	j := s.Params.Join
	if j == nil {
		return fmt.Errorf("%w: join step %s has no params.join", ErrNoTemplate, s.ID)
	}
	if !slices.Contains(sources, j.LeftDataset) || !slices.Contains(sources, j.RightDataset) || j.LeftDataset == j.RightDataset {
		return outside(ConstraintSources, reexport, "step %s joins %s with %s; the signature reads %s", s.ID, j.LeftDataset, j.RightDataset, strings.Join(sources, ", "))
	}
	rds, _ := cat.Get(j.RightDataset)
	left, _ := p.Step(j.Left)
	right, _ := p.Step(j.Right)
	byKey := rds.MergeKey != "" && j.LeftColumn == rds.MergeKey && j.RightColumn == rds.MergeKey
	byHash := j.LeftColumn == j.RightColumn && hasName(left.Columns, j.LeftColumn) &&
		slices.ContainsFunc(right.Columns, func(c Column) bool { return c.Name == j.RightColumn && c.Transform == TransformSHA256 })
	if byKey || byHash {
		return nil
	}
	return outside(ConstraintJoinKey, reexport, "step %s joins on %s; the catalog joins %s on its merge_key %q (or a column both sides hash)",
		s.ID, j.Condition(), j.RightDataset, rds.MergeKey)
}

// declaredKey reports whether key holds the identity of one of ds: one row
// per key then drops only rows that repeat a row the catalog says is one.
func declaredKey(key []string, ds []catalog.Dataset) bool {
	return slices.ContainsFunc(ds, func(d catalog.Dataset) bool {
		id := identity(d)
		return len(id) > 0 && subset(id, key)
	})
}

func catalogColumns(d catalog.Dataset) []Column {
	out := make([]Column, len(d.Columns))
	for i, c := range d.Columns {
		out[i] = Column{Name: c.Name, Type: c.Type}
	}
	return out
}

// signedWindow renders the signature's temporal filter for a message.
func signedWindow(tf *signature.TemporalFilter) string {
	if tf.LastDays > 0 {
		return fmt.Sprintf("last_days %d on %s", tf.LastDays, tf.Column)
	}
	return fmt.Sprintf("%s in %s", tf.Column, span(tf.From, tf.To))
}

func span(from, to string) string {
	if from == "" {
		from = "-inf"
	}
	if to == "" {
		to = "+inf"
	}
	return "[" + from + ", " + to + ")"
}

// exceedsSigned says how w reads more than the signature's temporal filter
// ("" when it does not, or either is absent): another column, an open side
// the signature bounds, a bound past the signed one, or, for last_days, more
// days than signed.
func exceedsSigned(w *Window, tf *signature.TemporalFilter) string {
	if w == nil || tf == nil {
		return ""
	}
	got := w.Column + " in " + span(w.From, w.To)
	switch {
	case w.Column != tf.Column:
		return fmt.Sprintf("%s, the signature filters %s", got, signedWindow(tf))
	case tf.From != "" && (w.From == "" || w.From < tf.From), tf.To != "" && (w.To == "" || w.To > tf.To):
		return fmt.Sprintf("%s, wider than the signed %s", got, signedWindow(tf))
	case tf.LastDays > 0:
		from, ferr := ParseDate(w.From)
		to, terr := ParseDate(w.To)
		if ferr != nil || terr != nil || to.Sub(from).Hours() > float64(24*tf.LastDays) {
			return fmt.Sprintf("%s, wider than the signed %s", got, signedWindow(tf))
		}
	}
	return ""
}

// within reports whether w is inside env: on the same column, with no side
// env bounds left open or moved outward. A nil env bounds nothing.
func within(w, env *Window) bool {
	switch {
	case env == nil:
		return true
	case w == nil || w.Column != env.Column:
		return false
	case env.From != "" && (w.From == "" || w.From < env.From):
		return false
	case env.To != "" && (w.To == "" || w.To > env.To):
		return false
	}
	return true
}

func windowText(w *Window) string {
	if w == nil {
		return "no window"
	}
	return w.Column + " in " + span(w.From, w.To)
}

// Conform checks that p, a plan supplied for an approved signature (the
// execution_planner extension point, docs/adr/0075), stays inside
// governed, the plan the planner builds for the same signature, catalog and
// as-of date: the reference envelope (docs/adr/0112). A supplied plan may
// read less (a narrower window, fewer columns or sources), never more or
// otherwise: the same target, strategy, consistency unit, load, merge and
// load key, written columns and contract; every window inside the governed
// one; joins only on the governed join keys. Verify checks what needs no
// as-of date; Conform pins the dates. Call both before code generation;
// static validation calls Conform again. The error wraps
// ErrOutsideSignature: its fault is a Static Safety Fault (RefusalFault).
func Conform(p, governed ExecutionPlan) error {
	if p.SignatureHash != governed.SignatureHash || p.CatalogSnapshotVersion != governed.CatalogSnapshotVersion {
		return outside(ConstraintSignature, reexport, "the plan was made for signature %s and %s, the approved signature is %s and the catalog %s",
			p.SignatureHash, p.CatalogSnapshotVersion, governed.SignatureHash, governed.CatalogSnapshotVersion)
	}
	if err := conformModes(p, governed); err != nil {
		return err
	}
	if p.Target != governed.Target || p.TargetLayer != governed.TargetLayer {
		return outside(ConstraintTarget, reexport, "the plan writes %s (%s), the signature's plan writes %s (%s)", p.Target, p.TargetLayer, governed.Target, governed.TargetLayer)
	}
	if p.Strategy != governed.Strategy || p.ConsistencyUnit != governed.ConsistencyUnit {
		return outside(ConstraintExecution, reexport, "the plan declares %s by %s, the signature's plan %s by %s",
			p.Strategy, p.ConsistencyUnit, governed.Strategy, governed.ConsistencyUnit)
	}
	if !within(p.Window, governed.Window) {
		return outside(ConstraintTemporalFilter, reexport, "the plan's window is %s, outside the signed %s", windowText(p.Window), windowText(governed.Window))
	}
	gl, gok := governed.LoadStep()
	pl, pok := p.LoadStep()
	if gok != pok {
		return outside(ConstraintTarget, reexport, "the plan has a load: %v, the signature's plan: %v", pok, gok)
	}
	for _, s := range p.Steps {
		switch s.Kind {
		case KindExtract:
			g := slices.IndexFunc(governed.Steps, func(g Step) bool { return g.Kind == KindExtract && g.Dataset == s.Dataset })
			if g < 0 {
				return outside(ConstraintSources, reexport, "step %s reads %s, which the signature's plan does not read", s.ID, s.Dataset)
			}
			ge := governed.Steps[g]
			for _, c := range s.Columns {
				if !slices.Contains(ge.Columns, c) {
					return outside(ConstraintColumns, reexport, "step %s reads %s.%s, which the signature's plan does not read (it reads %s)",
						s.ID, s.Dataset, c.Name, strings.Join(Names(ge.Columns), ", "))
				}
			}
			if !within(s.Params.Filter, ge.Params.Filter) {
				return outside(ConstraintTemporalFilter, reexport, "step %s reads %s through %s, outside the signed %s",
					s.ID, s.Dataset, windowText(s.Params.Filter), windowText(ge.Params.Filter))
			}
		case KindJoin:
			j := s.Params.Join
			if j == nil || !slices.ContainsFunc(governed.Steps, func(g Step) bool {
				gj := g.Params.Join
				return g.Kind == KindJoin && gj != nil && gj.LeftDataset == j.LeftDataset && gj.LeftColumn == j.LeftColumn &&
					gj.RightDataset == j.RightDataset && gj.RightColumn == j.RightColumn
			}) {
				cond := "nothing"
				if j != nil {
					cond = j.Condition()
				}
				return outside(ConstraintJoinKey, reexport, "step %s joins on %s, a join the signature's plan does not make", s.ID, cond)
			}
		}
	}
	if !pok {
		return nil
	}
	l, g := pl.Params.Load, gl.Params.Load
	if l == nil || g == nil || l.Mode != g.Mode || l.Target != g.Target || l.Layer != g.Layer {
		return outside(ConstraintTarget, reexport, "load %s is not the signature's load %s (%s into %s)", pl.ID, gl.ID, g.Mode, g.Target)
	}
	if l.MergeKey != g.MergeKey || l.PartitionKey != g.PartitionKey || !slices.Equal(pl.Params.Key, gl.Params.Key) {
		return outside(ConstraintMergeKey, reexport, "load %s matches on %v (merge key %q), the signature's plan on %v (merge key %q)",
			pl.ID, pl.Params.Key, l.MergeKey, gl.Params.Key, g.MergeKey)
	}
	if !within(l.Window, g.Window) || (g.Window == nil) != (l.Window == nil) {
		return outside(ConstraintTemporalFilter, reexport, "load %s replaces %s, outside the signed %s", pl.ID, windowText(l.Window), windowText(g.Window))
	}
	if !slices.Equal(pl.Columns, gl.Columns) {
		return outside(ConstraintColumns, reexport, "load %s writes (%s), the signature's plan writes (%s) with their lineage",
			pl.ID, strings.Join(Names(pl.Columns), ", "), strings.Join(Names(gl.Columns), ", "))
	}
	if !slices.Equal(p.Contract.ExpectedColumns, governed.Contract.ExpectedColumns) || !slices.Equal(p.Contract.ForbiddenColumns, governed.Contract.ForbiddenColumns) {
		return outside(ConstraintColumns, reexport, "the plan's contract (expected %v, forbidden %v) is not the signature's (expected %v, forbidden %v)",
			p.Contract.ExpectedColumns, p.Contract.ForbiddenColumns, governed.Contract.ExpectedColumns, governed.Contract.ForbiddenColumns)
	}
	return nil
}
