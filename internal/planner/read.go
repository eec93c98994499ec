package planner

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/signature"
)

// Read plans (docs/adr/0132). A signature that reads sources and names no
// target is a read: its plan is the read template, the sources' extracts
// (bounded by the window), the anonymize and join templates where the
// signature asks for them, and one query step, the SELECT whose rows are
// returned: the selection's columns, grouping, measures and row filters,
// every raw PII column masked as the policy bundle says (docs/adr/0133),
// ordered and limited. Nothing is written, so no load, no merge key and
// no consistency unit but the one read-only transaction.

// KindQuery is the last step of a read plan: the SELECT whose rows are
// returned to the user.
const KindQuery StepKind = "query"

// ReadOnly is every step's idempotence in a read plan: it writes nothing,
// so a retry returns the same rows from the same snapshot.
const ReadOnly Idempotence = "read_only"

// OpRead is the operation of a plain read ("read clientes", "show me
// nfe"); a read may also carry aggregate, join, enrich and anonymize.
const OpRead = signature.OpRead

// readOps are the operations a read may ask for.
var readOps = []string{OpRead, signature.OpAggregate, signature.OpJoin, signature.OpEnrich, signature.OpAnonymize}

// Row limits of a read: the rows returned when the intent says nothing,
// and the most it may ask for (results travel in the workflow's history).
const (
	DefaultRowLimit = 1000
	MaxRowLimit     = 10_000
)

// Mask is how a read returns a raw PII column: never as it is stored.
type Mask string

// The closed set of masks (docs/adr/0133).
const (
	// MaskSHA256 returns the hex SHA-256 of the value as <column>_hash,
	// the value the anonymize template writes into silver.
	MaskSHA256 Mask = "sha256"
	// MaskRedact returns the constant '***' as <column>_redacted.
	MaskRedact Mask = "redact"
)

// Masks lists the closed set.
var Masks = []Mask{MaskSHA256, MaskRedact}

// Valid reports whether m is in the closed set.
func (m Mask) Valid() bool { return slices.Contains(Masks, m) }

// As names the output of column masked by m.
func (m Mask) As(column string) string {
	column = strings.TrimSuffix(column, "_hash")
	if m == MaskRedact {
		return column + "_redacted"
	}
	return column + "_hash"
}

// RedactedValue is what a redacted column holds in every row.
const RedactedValue = "***"

// Measure functions of a query step (signature.Func*).
const (
	FuncCount         = signature.FuncCount
	FuncCountDistinct = signature.FuncCountDistinct
	FuncSum           = signature.FuncSum
	FuncAvg           = signature.FuncAvg
	FuncMin           = signature.FuncMin
	FuncMax           = signature.FuncMax
)

var measureFuncs = []string{FuncCount, FuncCountDistinct, FuncSum, FuncAvg, FuncMin, FuncMax}

// Operators of a row filter.
var Operators = []string{"=", "!=", ">", ">=", "<", "<="}

// Query is the query step's SELECT (Params.Query).
type Query struct {
	// Select are the output columns in order: the grouping keys or the
	// projected columns, then the measures.
	Select []Output `json:"select"`
	// GroupBy are input column names.
	GroupBy []string `json:"group_by,omitempty"`
	// Where are the row filters, ANDed.
	Where []Predicate `json:"where,omitempty"`
	// OrderBy are output names: the result's order is a function of the
	// rows alone (I8).
	OrderBy []string `json:"order_by,omitempty"`
	// Limit is the row limit; the SELECT fetches one row more, which
	// tells a truncated result.
	Limit int `json:"limit"`
}

// Output is one column of a query's result: an input column as it is,
// masked, or a measure over it.
type Output struct {
	As string `json:"as"`
	// Column is the input column; empty for count(*).
	Column string `json:"column,omitempty"`
	// Func is empty for the column itself, else a measure function.
	Func string `json:"func,omitempty"`
	// Mask is set when Column holds raw PII (or its hash): the value, or
	// the measure, is computed over the masked value.
	Mask Mask `json:"mask,omitempty"`
}

// Predicate is one row filter: Column Operator Value, Value the canonical
// literal of the column's catalog type (CanonicalValue).
type Predicate struct {
	Column   string `json:"column"`
	Operator string `json:"operator"`
	Value    string `json:"value"`
	Type     string `json:"type"`
}

// MaskedColumn is a column a read returns masked.
type MaskedColumn struct {
	Column string `json:"column"` // "dataset.column", the raw PII read
	As     string `json:"as"`     // the output column
	Mask   Mask   `json:"mask"`
}

// IsRead reports whether the signature is a read: it reads sources and
// writes no target.
func IsRead(sig signature.Signature) bool {
	return len(sig.Targets()) == 0 && len(sig.Sources()) > 0
}

// Read reports whether the plan is a read plan: no target, and a query
// step last.
func (p ExecutionPlan) Read() bool {
	_, ok := p.QueryStep()
	return ok && p.Target == ""
}

// QueryStep returns a read plan's query step.
func (p ExecutionPlan) QueryStep() (Step, bool) {
	if n := len(p.Steps); n > 0 && p.Steps[n-1].Kind == KindQuery && p.Steps[n-1].Params.Query != nil {
		return p.Steps[n-1], true
	}
	return Step{}, false
}

// MaskedColumns lists what a read plan returns masked, in output order.
func (p ExecutionPlan) MaskedColumns() []MaskedColumn {
	q, ok := p.QueryStep()
	if !ok {
		return nil
	}
	var out []MaskedColumn
	for i, o := range q.Params.Query.Select {
		if o.Mask != "" && i < len(q.Columns) {
			out = append(out, MaskedColumn{Column: q.Columns[i].Origin, As: o.As, Mask: o.Mask})
		}
	}
	return out
}

// readOptions checks the options a read adds.
func (o Options) readOptions() (Options, error) {
	switch {
	case o.RowLimit == 0:
		o.RowLimit = DefaultRowLimit
	case o.RowLimit < 0 || o.RowLimit > MaxRowLimit:
		return o, fmt.Errorf("%w: row_limit %d: ask for 1 to %d rows", ErrInvalidOptions, o.RowLimit, MaxRowLimit)
	}
	for col, m := range o.Masks {
		if !m.Valid() {
			return o, fmt.Errorf("%w: mask %q of %s: use one of %v", ErrInvalidOptions, m, col, Masks)
		}
	}
	return o, nil
}

// buildRead fills the read template.
func (b *builder) buildRead() (ExecutionPlan, error) {
	var err error
	if b.opts, err = b.opts.readOptions(); err != nil {
		return ExecutionPlan{}, err
	}
	for _, op := range b.sig.Operations {
		if !slices.Contains(readOps, op) {
			return ExecutionPlan{}, fmt.Errorf("%w: a read (sources, no target) cannot %s: name the dataset to write, or ask for %s only",
				ErrNoTemplate, op, strings.Join(readOps, ", "))
		}
	}
	for _, d := range b.sig.Sources() {
		cd, ok := b.cat.Get(d.Name)
		if !ok {
			return ExecutionPlan{}, fmt.Errorf("%w: %s is not in catalog %s: resolve the intent again", ErrUnknownDataset, d.Name, b.cat.SnapshotVersion)
		}
		b.sources = append(b.sources, cd)
	}
	slices.SortFunc(b.sources, func(x, y catalog.Dataset) int {
		if c := cmp.Compare(y.SizeBytes, x.SizeBytes); c != 0 {
			return c
		}
		return strings.Compare(x.Name, y.Name)
	})
	if err := b.resolveWindow(); err != nil {
		return ExecutionPlan{}, err
	}
	anon, err := b.anonymizeColumns()
	if err != nil {
		return ExecutionPlan{}, err
	}
	cur, err := b.inputs(anon)
	if err != nil {
		return ExecutionPlan{}, err
	}
	if err := b.query(cur); err != nil {
		return ExecutionPlan{}, err
	}
	prune(b.steps)
	for i := range b.steps {
		b.steps[i].Idempotence = ReadOnly
	}
	p := ExecutionPlan{
		CatalogSnapshotVersion: b.cat.SnapshotVersion,
		Intent:                 b.sig.Intent,
		Strategy:               ReadOnly,
		ConsistencyUnit:        UnitDataset,
		ConsistencyRule:        "read: one read-only transaction over one snapshot",
		Window:                 b.window,
		Steps:                  b.steps,
	}
	q, _ := p.QueryStep()
	p.Contract.ExpectedColumns = Names(q.Columns)
	// A read never returns raw PII, whatever no_pii_raw says.
	p.Contract.ForbiddenColumns = b.rawPIINames()
	if p.Contract.ForbiddenColumns == nil {
		p.Contract.ForbiddenColumns = []string{}
	}
	return p, nil
}

// resolved is an input column a selection names.
type resolved struct {
	col  Column
	mask Mask // how it is returned: "" as it is
}

// query adds the query step: the selection over the running result.
func (b *builder) query(in head) error {
	sel := b.sig.Selection
	if sel == nil {
		sel = &signature.Selection{}
	}
	raw := rawPII(b.sig, b.cat)
	resolve := func(what, ref string) (resolved, error) {
		c, err := b.inputColumn(in, what, ref)
		if err != nil {
			return resolved{}, err
		}
		r := resolved{col: c}
		if slices.Contains(raw, c.Origin) && (c.Transform == "" || c.Transform == TransformSHA256) {
			r.mask = b.maskOf(c.Origin)
		}
		return r, nil
	}
	q := &Query{Limit: b.opts.RowLimit}
	var out []Column
	used := map[string]bool{}
	emit := func(o Output, c Column) error {
		if used[o.As] {
			return fmt.Errorf("%w: two result columns would be named %q: ask for one of them", ErrNoTemplate, o.As)
		}
		if len(o.As) > 63 {
			return fmt.Errorf("%w: result column name %q is longer than 63 bytes", ErrNoTemplate, o.As)
		}
		used[o.As] = true
		q.Select = append(q.Select, o)
		out = append(out, c)
		return nil
	}
	value := func(r resolved) (Output, Column) {
		c := r.col
		o := Output{As: c.Name, Column: c.Name, Mask: r.mask}
		col := Column{Name: c.Name, Type: c.Type, Origin: c.Origin, Transform: c.Transform}
		if r.mask != "" {
			o.As, col.Name, col.Type, col.Transform = r.mask.As(c.Name), r.mask.As(c.Name), "string", string(r.mask)
		}
		return o, col
	}

	aggregate := len(sel.Measures) > 0 || len(sel.GroupBy) > 0
	var keys []resolved
	// With measures, a projected column is a grouping key: SQL returns one
	// row per group.
	for _, ref := range append(slices.Clone(sel.GroupBy), sel.Columns...) {
		r, err := resolve("group_by", ref)
		if err != nil {
			return err
		}
		if !slices.ContainsFunc(keys, func(k resolved) bool { return k.col.Name == r.col.Name }) {
			keys = append(keys, r)
		}
	}
	if !aggregate && len(keys) == 0 {
		for _, c := range in.cols { // the whole row
			keys = append(keys, resolved{col: c, mask: maskIf(slices.Contains(raw, c.Origin), b.maskOf(c.Origin))})
		}
	}
	// The input's order (the catalog's) is the result's: the canonical
	// signature sorts its lists by name.
	slices.SortStableFunc(keys, func(x, y resolved) int {
		return cmp.Compare(slices.IndexFunc(in.cols, func(c Column) bool { return c.Name == x.col.Name }),
			slices.IndexFunc(in.cols, func(c Column) bool { return c.Name == y.col.Name }))
	})
	for _, k := range keys {
		if aggregate && k.mask == MaskRedact {
			return violation(ConstraintNoPIIRaw, "group on another column, or have the privacy wall hash it (masking: sha256)",
				"grouping on %s, which the privacy wall redacts, would return one row per hidden value", k.col.Origin)
		}
		o, c := value(k)
		if err := emit(o, c); err != nil {
			return err
		}
		if aggregate {
			q.GroupBy = append(q.GroupBy, k.col.Name)
		}
		q.OrderBy = append(q.OrderBy, o.As)
	}
	for _, m := range sel.Measures {
		o, c, err := b.measure(m, resolve)
		if err != nil {
			return err
		}
		if err := emit(o, c); err != nil {
			return err
		}
		if !aggregate {
			q.OrderBy = append(q.OrderBy, o.As)
		}
	}
	for _, f := range sel.Filters {
		r, err := resolve("filter", f.Column)
		if err != nil {
			return err
		}
		if r.mask != "" || slices.Contains(raw, r.col.Origin) {
			return violation(ConstraintNoPIIRaw, "filter on a column that is not personal data",
				"a filter on %s would reveal raw PII through the rows it keeps", r.col.Origin)
		}
		if !slices.Contains(Operators, f.Operator) {
			return fmt.Errorf("%w: filter %s %s %q: the operator must be one of %s", ErrNoTemplate, f.Column, f.Operator, f.Value, strings.Join(Operators, " "))
		}
		v, err := CanonicalValue(r.col.Type, f.Value)
		if err != nil {
			return fmt.Errorf("%w: filter %s %s %q: %w", ErrNoTemplate, f.Column, f.Operator, f.Value, err)
		}
		q.Where = append(q.Where, Predicate{Column: r.col.Name, Operator: f.Operator, Value: v, Type: r.col.Type})
	}
	if len(q.Select) == 0 {
		return fmt.Errorf("%w: the read selects no column", ErrNoTemplate)
	}
	if aggregate && len(q.GroupBy) == 0 {
		q.OrderBy = nil // one row
	}
	b.add(Step{Kind: KindQuery, Inputs: []string{in.id}, Dataset: b.sources[0].Name, Columns: out, Params: Params{Query: q}})
	return nil
}

func maskIf(pii bool, m Mask) Mask {
	if pii {
		return m
	}
	return ""
}

// maskOf is the mask of a raw PII column ("dataset.column"): the bundle's
// (Options.Masks), else sha256 (never the raw value).
func (b *builder) maskOf(origin string) Mask {
	if m, ok := b.opts.Masks[origin]; ok {
		return m
	}
	return MaskSHA256
}

// measure resolves one measure of the selection.
func (b *builder) measure(m signature.Measure, resolve func(string, string) (resolved, error)) (Output, Column, error) {
	if !slices.Contains(measureFuncs, m.Function) {
		return Output{}, Column{}, fmt.Errorf("%w: measure %q: use one of %s", ErrNoTemplate, m.Function, strings.Join(measureFuncs, ", "))
	}
	if m.Column == "" {
		if m.Function != FuncCount {
			return Output{}, Column{}, fmt.Errorf("%w: measure %s needs a column", ErrNoTemplate, m.Function)
		}
		return Output{As: "count", Func: FuncCount}, Column{Name: "count", Type: "bigint", Transform: TransformCount}, nil
	}
	r, err := resolve("measure", m.Column)
	if err != nil {
		return Output{}, Column{}, err
	}
	c := r.col
	o := Output{As: m.Function + "_" + strings.TrimSuffix(c.Name, "_hash"), Column: c.Name, Func: m.Function}
	if r.mask != "" || c.Transform == TransformSHA256 {
		// Counting the masked value counts the raw one; anything else
		// over personal data would reveal it.
		if m.Function != FuncCount && m.Function != FuncCountDistinct {
			return Output{}, Column{}, violation(ConstraintNoPIIRaw, "count or count_distinct it, or measure another column",
				"%s of %s would reveal personal data", m.Function, c.Origin)
		}
		o.Mask = MaskSHA256
	}
	out := Column{Name: o.As, Origin: c.Origin, Transform: m.Function}
	switch m.Function {
	case FuncCount, FuncCountDistinct:
		out.Type = "bigint"
	case FuncSum:
		if !numeric(c.Type) {
			return Output{}, Column{}, fmt.Errorf("%w: sum of %s, which is %s: sum a numeric column", ErrNoTemplate, c.Origin, c.Type)
		}
		switch {
		case c.Type == "int" || c.Type == "smallint":
			out.Type = "bigint"
		case c.Type == "double" || c.Type == "float":
			out.Type = "double"
		default:
			out.Type = "decimal"
		}
	case FuncAvg:
		if !numeric(c.Type) {
			return Output{}, Column{}, fmt.Errorf("%w: avg of %s, which is %s: average a numeric column", ErrNoTemplate, c.Origin, c.Type)
		}
		out.Type = "decimal"
		if c.Type == "double" || c.Type == "float" {
			out.Type = "double"
		}
	case FuncMin, FuncMax:
		if !orderable(c.Type) {
			return Output{}, Column{}, fmt.Errorf("%w: %s of %s, which is %s: only scalar columns have a minimum and maximum", ErrNoTemplate, m.Function, c.Origin, c.Type)
		}
		out.Type = c.Type
	}
	return o, out, nil
}

func orderable(t string) bool {
	return !strings.HasPrefix(t, "array<") && !strings.HasPrefix(t, "struct<") && !strings.HasPrefix(t, "map<")
}

// inputColumn finds the column a selection names ("dataset.column", or a
// bare column the running result has once) in the running result.
func (b *builder) inputColumn(in head, what, ref string) (Column, error) {
	ds, col, qualified := strings.Cut(ref, ".")
	if !qualified {
		col, ds = ref, ""
	}
	var hits []Column
	for _, c := range in.cols {
		if qualified && c.Origin == ref || !qualified && (c.Name == col || strings.HasSuffix(c.Origin, "."+col)) {
			hits = append(hits, c)
		}
	}
	if len(hits) == 1 {
		return hits[0], nil
	}
	if len(hits) > 1 {
		return Column{}, fmt.Errorf("%w: %s %q names more than one column (%s): write it as dataset.column", ErrNoTemplate, what, ref, originsOf(hits))
	}
	if qualified {
		i := slices.IndexFunc(b.sources, func(d catalog.Dataset) bool { return d.Name == ds })
		if i < 0 {
			names := make([]string, len(b.sources))
			for j, s := range b.sources {
				names[j] = s.Name
			}
			return Column{}, fmt.Errorf("%w: %s %q names %s, which the read does not read (it reads %s)", ErrUnknownDataset, what, ref, ds, strings.Join(names, ", "))
		}
		if b.sources[i].HasColumn(col) {
			return Column{}, fmt.Errorf("%w: %s %q: the join keeps %s of %s, which has a column of that name: ask for %s.%s",
				ErrNoTemplate, what, ref, col, b.sources[0].Name, b.sources[0].Name, col)
		}
		return Column{}, fmt.Errorf("%w: %s %q: %s has no column %q (its columns: %s)", ErrUnknownColumn, what, ref, ds, col, strings.Join(catalogNames(b.sources[i]), ", "))
	}
	return Column{}, fmt.Errorf("%w: %s %q is no column of %s", ErrUnknownColumn, what, ref, originsOfDatasets(b.sources))
}

func originsOf(cols []Column) string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = c.Origin
	}
	return strings.Join(out, ", ")
}

func originsOfDatasets(ds []catalog.Dataset) string {
	var out []string
	for _, d := range ds {
		out = append(out, d.Name+" ("+strings.Join(catalogNames(d), ", ")+")")
	}
	return strings.Join(out, ", ")
}

func catalogNames(d catalog.Dataset) []string {
	out := make([]string, len(d.Columns))
	for i, c := range d.Columns {
		out[i] = c.Name
	}
	return out
}

var (
	decimalRE   = regexp.MustCompile(`^[+-]?[0-9]{1,38}(\.[0-9]{1,38})?$`)
	timestampTZ = []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02T15:04", "2006-01-02 15:04", time.DateOnly}
)

// maxLiteral bounds a string filter value.
const maxLiteral = 256

// CanonicalValue checks a filter value against a catalog type and returns
// its canonical text: an integer without sign or leading zeros, a decimal
// as written without its plus sign, a date YYYY-MM-DD, a timestamp
// "YYYY-MM-DD HH:MM:SS[.fff]" in UTC, true or false, or the string itself
// (printable UTF-8, at most 256 bytes). The backends render it as a typed
// literal; nothing else of the user's text reaches code.
func CanonicalValue(catalogType, v string) (string, error) {
	switch t := catalogType; {
	case integer(t):
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return "", fmt.Errorf("%q is not an integer (the column is %s)", v, t)
		}
		return strconv.FormatInt(n, 10), nil
	case t == "double" || t == "float":
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || f != f || f > 1e308 || f < -1e308 {
			return "", fmt.Errorf("%q is not a finite number (the column is %s)", v, t)
		}
		return strconv.FormatFloat(f, 'g', -1, 64), nil
	case t == "decimal" || strings.HasPrefix(t, "decimal("):
		s := strings.TrimSpace(strings.ReplaceAll(v, ",", "."))
		if !decimalRE.MatchString(s) {
			return "", fmt.Errorf("%q is not a decimal number such as 1234.56 (the column is %s)", v, t)
		}
		return strings.TrimPrefix(s, "+"), nil
	case t == "date":
		d, err := ParseDate(strings.TrimSpace(v))
		if err != nil {
			return "", err
		}
		return d.Format(dateLayout), nil
	case t == "timestamp":
		s := strings.TrimSpace(v)
		for _, layout := range timestampTZ {
			if ts, err := time.Parse(layout, s); err == nil {
				return ts.UTC().Format("2006-01-02 15:04:05.999999"), nil
			}
		}
		return "", fmt.Errorf("%q is not a timestamp: write it as YYYY-MM-DD, YYYY-MM-DD HH:MM:SS or RFC 3339", v)
	case t == "boolean":
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "true", "t", "yes", "sim", "1":
			return "true", nil
		case "false", "f", "no", "não", "nao", "0":
			return "false", nil
		}
		return "", fmt.Errorf("%q is not true or false", v)
	case t == "string":
		if len(v) > maxLiteral || !utf8.ValidString(v) || strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			return "", fmt.Errorf("the value must be printable UTF-8 of at most %d bytes", maxLiteral)
		}
		return v, nil
	}
	return "", fmt.Errorf("a %s column cannot be filtered: filter on a scalar column", catalogType)
}

// verifyRead checks a read plan: only the read template's steps, read
// only, over the signature's sources inside the signed window, a query step
// last that returns no raw PII, and no load.
func verifyRead(p ExecutionPlan, sig signature.Signature, cat *catalog.Catalog) error {
	if p.Target != "" {
		return outside(ConstraintTarget, reexport, "the plan writes %s; the signature writes nothing", p.Target)
	}
	if p.Strategy != ReadOnly || p.ConsistencyUnit != UnitDataset {
		return outside(ConstraintExecution, reexport, "a read is %s by %s, the plan declares %s by %s", ReadOnly, UnitDataset, p.Strategy, p.ConsistencyUnit)
	}
	q, ok := p.QueryStep()
	if !ok {
		return fmt.Errorf("%w: a read plan ends with one query step", ErrNoTemplate)
	}
	var names []string
	for _, d := range sig.Sources() {
		if _, ok := cat.Get(d.Name); !ok {
			return fmt.Errorf("%w: source %s is not in catalog %s: resolve the intent again", ErrUnknownDataset, d.Name, cat.SnapshotVersion)
		}
		names = append(names, d.Name)
	}
	tf := sig.Constraints.TemporalFilter
	if why := exceedsSigned(p.Window, tf); why != "" {
		return outside(ConstraintTemporalFilter, reexport, "the plan's window %s", why)
	}
	seen := map[string]bool{}
	for i, s := range p.Steps {
		if seen[s.ID] || s.ID == "" {
			return fmt.Errorf("%w: step ID %q is empty or repeated", ErrNoTemplate, s.ID)
		}
		for _, in := range s.Inputs {
			if !seen[in] {
				return fmt.Errorf("%w: step %s reads %q, which is not an earlier step", ErrNoTemplate, s.ID, in)
			}
		}
		seen[s.ID] = true
		if s.Idempotence != ReadOnly {
			return violation(ConstraintIdempotency, "every step of a read is read_only", "step %s declares idempotence %q", s.ID, s.Idempotence)
		}
		switch s.Kind {
		case KindExtract:
			if err := verifyExtract(s, cat); err != nil {
				return err
			}
			if err := verifyExtractSigned(s, names, tf, cat); err != nil {
				return err
			}
		case KindJoin:
			if err := verifyJoinKey(p, s, names, cat); err != nil {
				return err
			}
		case KindAnonymize:
		case KindQuery:
			if i != len(p.Steps)-1 {
				return fmt.Errorf("%w: query step %s is not the last step", ErrNoTemplate, s.ID)
			}
		default:
			return fmt.Errorf("%w: a read plan has no %s step (%s)", ErrNoTemplate, s.Kind, s.ID)
		}
	}
	raw := rawPII(sig, cat)
	in, _ := p.Step(q.Inputs[0])
	if len(q.Columns) != len(q.Params.Query.Select) {
		return fmt.Errorf("%w: query step %s has %d columns and %d outputs", ErrNoTemplate, q.ID, len(q.Columns), len(q.Params.Query.Select))
	}
	for _, o := range q.Params.Query.Select {
		i := slices.IndexFunc(in.Columns, func(c Column) bool { return c.Name == o.Column })
		if o.Column == "" || i < 0 {
			continue // count(*), or a column codegen refuses
		}
		c := in.Columns[i]
		if slices.Contains(raw, c.Origin) && c.Transform == "" && o.Mask == "" {
			return violation(ConstraintNoPIIRaw, "mask the column as the privacy wall says (sha256 or redact)",
				"query %s returns raw PII %s as %s", q.ID, c.Origin, o.As)
		}
	}
	if !slices.Equal(p.Contract.ExpectedColumns, Names(q.Columns)) {
		return outside(ConstraintColumns, reexport, "the contract expects (%s), the query returns (%s)",
			strings.Join(p.Contract.ExpectedColumns, ", "), strings.Join(Names(q.Columns), ", "))
	}
	return nil
}

// inputs are the input columns the query reads.
func (q *Query) inputs() []string {
	var out []string
	for _, o := range q.Select {
		if o.Column != "" {
			out = append(out, o.Column)
		}
	}
	out = append(out, q.GroupBy...)
	for _, w := range q.Where {
		out = append(out, w.Column)
	}
	return out
}
