package staticcheck

import (
	"time"

	pg "github.com/pganalyze/pg_query_go/v6"
)

// dateRange is what a predicate proves about a temporal column: every row
// it keeps has from <= col < to, in whole days (YYYY-MM-DD, which order as
// strings). An empty side is unbounded. Each bound is the widest the
// predicate allows, so a read is never judged narrower than it is.
type dateRange struct{ from, to string }

// and intersects two ranges: both predicates hold.
func (r dateRange) and(o dateRange) dateRange {
	if o.from != "" && (r.from == "" || o.from > r.from) {
		r.from = o.from
	}
	if o.to != "" && (r.to == "" || o.to < r.to) {
		r.to = o.to
	}
	return r
}

// or is the hull of two ranges: either predicate holds.
func (r dateRange) or(o dateRange) dateRange {
	if r.from == "" || o.from == "" {
		r.from = ""
	} else if o.from < r.from {
		r.from = o.from
	}
	if r.to == "" || o.to == "" {
		r.to = ""
	} else if o.to > r.to {
		r.to = o.to
	}
	return r
}

func spanText(from, to string) string {
	if from == "" {
		from = "-inf"
	}
	if to == "" {
		to = "+inf"
	}
	return "[" + from + ", " + to + ")"
}

// checkSignedWindow flags a read (or DELETE, UPDATE) of a table with a
// signed window whose predicates do not keep its temporal column inside
// that window, as a plan whose filter was moved to 2000-01-01 or
// 9999-12-31 would (ADR 0112). Bounds that are not date constants prove
// nothing, so such a read fails closed.
func (c *checker) checkSignedWindow(l leaf, all []*pg.Node) {
	schema, rel := fold(l.rv.GetSchemaname()), fold(l.rv.GetRelname())
	for _, t := range sortedKeys(c.windows) {
		if !tableMatches(t, schema, rel) {
			continue
		}
		w, col := c.windows[t], c.temporal[t]
		if col == "" {
			c.add(RuleOutsideSignedWindow, l.rv.GetLocation(), "%s has a signed window %s but no temporal column declared: the read cannot be proven inside it", t, spanText(w.From, w.To))
			return
		}
		var got dateRange
		for _, n := range all {
			got = got.and(rangeOf(n, refName(l.rv), col))
		}
		if (w.From != "" && (got.from == "" || got.from < w.From)) || (w.To != "" && (got.to == "" || got.to > w.To)) {
			c.add(RuleOutsideSignedWindow, l.rv.GetLocation(), "%s is read on %s in %s, outside the signed window %s", t, col, spanText(got.from, got.to), spanText(w.From, w.To))
		}
		return
	}
}

// rangeOf is the range of col that predicate n keeps: comparisons, =,
// BETWEEN and IN against date constants, combined through AND and OR;
// anything else bounds nothing.
func rangeOf(n *pg.Node, qualifier, col string) dateRange {
	switch v := n.GetNode().(type) {
	case *pg.Node_BoolExpr:
		args := v.BoolExpr.GetArgs()
		switch v.BoolExpr.GetBoolop() {
		case pg.BoolExprType_AND_EXPR:
			var r dateRange
			for _, a := range args {
				r = r.and(rangeOf(a, qualifier, col))
			}
			return r
		case pg.BoolExprType_OR_EXPR:
			if len(args) == 0 {
				return dateRange{}
			}
			r := rangeOf(args[0], qualifier, col)
			for _, a := range args[1:] {
				r = r.or(rangeOf(a, qualifier, col))
			}
			return r
		}
	case *pg.Node_AExpr:
		return exprRange(v.AExpr, qualifier, col)
	}
	return dateRange{}
}

func exprRange(e *pg.A_Expr, qualifier, col string) dateRange {
	ops := stringList(e.GetName())
	if len(ops) != 1 {
		return dateRange{}
	}
	op := ops[0]
	switch e.GetKind() {
	case pg.A_Expr_Kind_AEXPR_OP:
		if d, ok := dateConst(e.GetRexpr()); ok && isColumn(e.GetLexpr(), qualifier, col) {
			return compareRange(op, d)
		}
		if d, ok := dateConst(e.GetLexpr()); ok && isColumn(e.GetRexpr(), qualifier, col) {
			return compareRange(map[string]string{"<": ">", "<=": ">=", ">": "<", ">=": "<=", "=": "="}[op], d)
		}
	case pg.A_Expr_Kind_AEXPR_BETWEEN, pg.A_Expr_Kind_AEXPR_BETWEEN_SYM:
		items := e.GetRexpr().GetList().GetItems()
		if !isColumn(e.GetLexpr(), qualifier, col) || len(items) != 2 {
			return dateRange{}
		}
		lo, lok := dateConst(items[0])
		hi, hok := dateConst(items[1])
		if !lok || !hok {
			return dateRange{}
		}
		if e.GetKind() == pg.A_Expr_Kind_AEXPR_BETWEEN_SYM && hi < lo {
			lo, hi = hi, lo
		}
		return dateRange{from: lo, to: nextDay(hi)}
	case pg.A_Expr_Kind_AEXPR_IN:
		items := e.GetRexpr().GetList().GetItems()
		if op != "=" || !isColumn(e.GetLexpr(), qualifier, col) || len(items) == 0 {
			return dateRange{}
		}
		var r dateRange
		for i, it := range items {
			d, ok := dateConst(it)
			if !ok {
				return dateRange{}
			}
			if i == 0 {
				r = dateRange{from: d, to: nextDay(d)}
			} else {
				r = r.or(dateRange{from: d, to: nextDay(d)})
			}
		}
		return r
	}
	return dateRange{}
}

// compareRange is the range "col op d" keeps. col > d keeps d's day for a
// timestamp column, so it is read as col >= d (never narrower than true).
func compareRange(op, d string) dateRange {
	switch op {
	case ">=", ">":
		return dateRange{from: d}
	case "<":
		return dateRange{to: d}
	case "<=":
		return dateRange{to: nextDay(d)}
	case "=":
		return dateRange{from: d, to: nextDay(d)}
	}
	return dateRange{}
}

// dateConst reads a date constant: 'YYYY-MM-DD', DATE 'YYYY-MM-DD' or
// 'YYYY-MM-DD'::date (or ::timestamp, ::timestamptz: midnight of the day).
func dateConst(n *pg.Node) (string, bool) {
	if tc := n.GetTypeCast(); tc != nil {
		names := stringList(tc.GetTypeName().GetNames())
		if len(names) == 0 {
			return "", false
		}
		switch fold(names[len(names)-1]) {
		case "date", "timestamp", "timestamptz":
		default:
			return "", false
		}
		n = tc.GetArg()
	}
	s := n.GetAConst().GetSval()
	if s == nil {
		return "", false
	}
	d := s.GetSval()
	if t, err := time.Parse(time.DateOnly, d); err != nil || t.Format(time.DateOnly) != d {
		return "", false
	}
	return d, true
}

func nextDay(d string) string {
	t, _ := time.Parse(time.DateOnly, d) // d came from dateConst
	return t.AddDate(0, 0, 1).Format(time.DateOnly)
}
