package codegen

import (
	"fmt"
	"slices"
	"strings"

	"github.com/contextualflux/cfa/internal/planner"
)

// A read plan (docs/adr/0132) renders as one SELECT: the CTEs of its
// extract, anonymize and join steps, then the query step's SELECT with its
// masks (docs/adr/0133), filters as typed literals, grouping, order and
// LIMIT. The executor runs it in a READ ONLY transaction as the plan's
// read role.

// readFile names a read plan's file: read_<base dataset>.
func readFile(q planner.Step) string { return "read_" + q.Dataset }

// validateQuery checks a query step against its input, the catalog types
// of its filters and the closed sets of functions and masks; every raw PII
// column it returns must be masked.
func (sc *scope) validateQuery(s planner.Step) error {
	q := s.Params.Query
	if q == nil || !sc.plan.Read() {
		return fmt.Errorf("%w: a query step needs params.query and ends a read plan", ErrInvalidPlan)
	}
	if last, _ := sc.plan.QueryStep(); last.ID != s.ID {
		return fmt.Errorf("%w: query step %s is not the plan's last step", ErrInvalidPlan, s.ID)
	}
	in, err := sc.input(s, 0)
	if err != nil {
		return err
	}
	if q.Limit < 1 || q.Limit > planner.MaxRowLimit {
		return fmt.Errorf("%w: row limit %d is outside 1..%d", ErrInvalidPlan, q.Limit, planner.MaxRowLimit)
	}
	if len(q.Select) == 0 || len(q.Select) != len(s.Columns) {
		return fmt.Errorf("%w: the query selects %d outputs for %d columns", ErrInvalidPlan, len(q.Select), len(s.Columns))
	}
	if err := needAll(in.ID, in.Columns, q.GroupBy...); err != nil {
		return err
	}
	pii := sc.rawPII()
	for i, o := range q.Select {
		if o.As != s.Columns[i].Name || !identRE.MatchString(o.As) {
			return fmt.Errorf("%w: output %d is named %q, its column %q", ErrUnknownColumn, i, o.As, s.Columns[i].Name)
		}
		if o.Mask != "" && !o.Mask.Valid() {
			return fmt.Errorf("%w: output %s has mask %q: use one of %v", ErrUnsupported, o.As, o.Mask, planner.Masks)
		}
		if o.Column == "" {
			if o.Func != planner.FuncCount {
				return fmt.Errorf("%w: output %s: only count has no column", ErrInvalidPlan, o.As)
			}
			continue
		}
		if err := needAll(in.ID, in.Columns, o.Column); err != nil {
			return err
		}
		c := in.Columns[slices.IndexFunc(in.Columns, func(c planner.Column) bool { return c.Name == o.Column })]
		raw := slices.Contains(pii, c.Origin) && c.Transform == ""
		switch o.Func {
		case "":
			if raw && o.Mask == "" {
				return fmt.Errorf("%w: output %s returns raw PII %s unmasked", ErrInvalidPlan, o.As, c.Origin)
			}
			if !raw && c.Transform != planner.TransformSHA256 && o.Mask != "" {
				return fmt.Errorf("%w: output %s masks %s, which is not personal data", ErrInvalidPlan, o.As, c.Origin)
			}
		case planner.FuncCount, planner.FuncCountDistinct:
			if raw && o.Mask != planner.MaskSHA256 {
				return fmt.Errorf("%w: output %s counts raw PII %s without hashing it", ErrInvalidPlan, o.As, c.Origin)
			}
		case planner.FuncSum, planner.FuncAvg, planner.FuncMin, planner.FuncMax:
			if raw || o.Mask != "" {
				return fmt.Errorf("%w: output %s: %s of personal data %s", ErrInvalidPlan, o.As, o.Func, c.Origin)
			}
		default:
			return fmt.Errorf("%w: measure %s(%s)", ErrUnsupported, o.Func, o.Column)
		}
	}
	for _, w := range q.Where {
		if err := needAll(in.ID, in.Columns, w.Column); err != nil {
			return err
		}
		c := in.Columns[slices.IndexFunc(in.Columns, func(c planner.Column) bool { return c.Name == w.Column })]
		if slices.Contains(pii, c.Origin) {
			return fmt.Errorf("%w: a filter on personal data %s", ErrInvalidPlan, c.Origin)
		}
		if w.Type != c.Type {
			return fmt.Errorf("%w: filter on %s is typed %q, the column is %q", ErrInvalidPlan, w.Column, w.Type, c.Type)
		}
		if !slices.Contains(planner.Operators, w.Operator) {
			return fmt.Errorf("%w: filter operator %q", ErrUnsupported, w.Operator)
		}
		if _, err := literal(w.Type, w.Value); err != nil {
			return fmt.Errorf("%w: filter on %s: %w", ErrInvalidPlan, w.Column, err)
		}
	}
	for _, o := range q.OrderBy {
		if !has(s.Columns, o) {
			return fmt.Errorf("%w: order by %q is no output of %s", ErrUnknownColumn, o, s.ID)
		}
	}
	return nil
}

// rawPII lists the catalog's raw PII columns of the datasets the plan
// extracts, as "dataset.column".
func (sc *scope) rawPII() []string {
	var out []string
	for _, s := range sc.plan.Steps {
		if s.Kind != planner.KindExtract {
			continue
		}
		if d, ok := sc.cat.Get(s.Dataset); ok {
			for _, c := range d.PII {
				out = append(out, d.Name+"."+c)
			}
		}
	}
	return out
}

// renderQuery writes the query step's SELECT, ending with ";".
func (r renderer) renderQuery(b *strings.Builder, s planner.Step, lit func(string, string) (string, error)) error {
	q := s.Params.Query
	in := r.sc.steps[s.Inputs[0]]
	hashed := func(col string) bool {
		i := slices.IndexFunc(in.Columns, func(c planner.Column) bool { return c.Name == col })
		return i >= 0 && in.Columns[i].Transform == planner.TransformSHA256
	}
	masked := func(col string) string {
		if hashed(col) {
			return q1(col)
		}
		return fmt.Sprintf("encode(sha256(convert_to(%s::text, 'UTF8')), 'hex')", q1(col))
	}
	exprs := make([]string, len(q.Select))
	for i, o := range q.Select {
		var e string
		switch {
		case o.Func == "" && o.Mask == planner.MaskRedact:
			e = "'" + planner.RedactedValue + "'::text"
		case o.Func == "" && o.Mask == planner.MaskSHA256:
			e = masked(o.Column)
		case o.Func == "":
			e = q1(o.Column)
		case o.Func == planner.FuncCount && o.Column == "":
			e = "count(*)"
		default:
			arg := q1(o.Column)
			if o.Mask != "" {
				arg = masked(o.Column)
			}
			switch o.Func {
			case planner.FuncCountDistinct:
				e = "count(DISTINCT " + arg + ")"
			default:
				e = o.Func + "(" + arg + ")"
			}
		}
		if e != q1(o.As) {
			e += " AS " + q1(o.As)
		}
		exprs[i] = e
	}
	fmt.Fprintf(b, "-- %s: %s, %s; at most %d rows (LIMIT %d tells a truncated result)\n", s.ID, s.Kind, s.Idempotence, q.Limit, q.Limit+1)
	if m := r.sc.plan.MaskedColumns(); len(m) > 0 {
		parts := make([]string, len(m))
		for i, c := range m {
			parts[i] = fmt.Sprintf("%s %s as %s", c.Column, c.Mask, c.As)
		}
		fmt.Fprintf(b, "-- personal data masked (privacy wall): %s\n", strings.Join(parts, ", "))
	}
	fmt.Fprintf(b, "SELECT %s\nFROM %s\n", strings.Join(exprs, ",\n    "), q1(in.ID))
	if len(q.Where) > 0 {
		conds := make([]string, len(q.Where))
		for i, w := range q.Where {
			v, err := lit(w.Type, w.Value)
			if err != nil {
				return fmt.Errorf("filter on %s: %w", w.Column, err)
			}
			conds[i] = fmt.Sprintf("%s %s %s", q1(w.Column), w.Operator, v)
		}
		fmt.Fprintf(b, "WHERE %s\n", strings.Join(conds, "\n  AND "))
	}
	if len(q.GroupBy) > 0 {
		fmt.Fprintf(b, "GROUP BY %s\n", qList(q.GroupBy))
	}
	if len(q.OrderBy) > 0 {
		fmt.Fprintf(b, "ORDER BY %s\n", qList(q.OrderBy))
	}
	fmt.Fprintf(b, "LIMIT %d;\n", q.Limit+1)
	return nil
}

func q1(name string) string { return Ident(name) }

// literal renders a filter value as a typed SQL literal: the value is
// checked again against the column's type (planner.CanonicalValue), so
// only a canonical number, date, timestamp, boolean or a quoted string
// reaches code. Strings double their quotes; the executor runs with
// standard_conforming_strings on, so a backslash is itself.
func literal(catalogType, v string) (string, error) {
	c, err := planner.CanonicalValue(catalogType, v)
	if err != nil {
		return "", err
	}
	if c != v {
		return "", fmt.Errorf("value %q is not canonical (%q): plan again", v, c)
	}
	switch t := catalogType; {
	case t == "date":
		return "DATE '" + c + "'", nil
	case t == "timestamp":
		return "TIMESTAMP '" + c + "'", nil
	case t == "string":
		return "'" + strings.ReplaceAll(c, "'", "''") + "'", nil
	}
	return c, nil // a number or a boolean, canonical
}

// dbtLiteral is literal for a dbt model: a string that holds Jinja's
// delimiters is written as a Jinja string expression, so dbt prints it
// and never renders it.
func dbtLiteral(catalogType, v string) (string, error) {
	l, err := literal(catalogType, v)
	if err != nil || !strings.ContainsAny(l, "{}%#") {
		return l, err
	}
	esc := strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(l)
	return `{{ "` + esc + `" }}`, nil
}

// generateRead renders a read plan for Postgres.
func (p Postgres) generateRead(r renderer, b *strings.Builder) (Artifact, error) {
	plan := r.sc.plan
	q, _ := plan.QueryStep()
	r.ctes(b, q.ID)
	if err := r.renderQuery(b, q, literal); err != nil {
		return Artifact{}, fmt.Errorf("generate %s for plan %s: %w", p.Name(), plan.Hash, err)
	}
	return newArtifact(p.Name(), plan.Hash, []File{{Path: readFile(q) + ".sql", Content: b.String()}}), nil
}

// generateRead renders a read plan as a dbt analysis: dbt compiles it
// (`dbt compile`) against the sources of models/schema.yml and builds
// nothing.
func (d DBT) generateRead(sc *scope) (Artifact, error) {
	plan := sc.plan
	q, _ := plan.QueryStep()
	r := renderer{sc: sc, relation: dbtRelation}
	var m strings.Builder
	r.header(&m, "--", d.Name())
	r.ctes(&m, q.ID)
	if err := r.renderQuery(&m, q, dbtLiteral); err != nil {
		return Artifact{}, fmt.Errorf("generate %s for plan %s: %w", d.Name(), plan.Hash, err)
	}
	schema, err := encodeSchema(dbtSchema{Version: 2, Sources: dbtSources(sc)},
		"# "+q.ID+": a read, compiled as analyses/"+readFile(q)+".sql; no model is built.\n")
	if err != nil {
		return Artifact{}, fmt.Errorf("generate %s for plan %s: %w", d.Name(), plan.Hash, err)
	}
	return newArtifact(d.Name(), plan.Hash, []File{
		{Path: "analyses/" + readFile(q) + ".sql", Content: m.String()},
		{Path: "models/schema.yml", Content: schema},
	}), nil
}
