package staticcheck

import (
	pg "github.com/pganalyze/pg_query_go/v6"
)

// checkRead applies the rules of a read (docs/adr/0132): with
// Rules.ReadOnly, the script is SELECT statements only, writes nothing (no
// INSERT, UPDATE, DELETE or MERGE, not in a CTE either; no SELECT INTO) and
// locks no row (FOR UPDATE / FOR SHARE); with Rules.MaxRows, its last
// statement is a SELECT ending with LIMIT n, n a constant of at most
// MaxRows.
func (c *checker) checkRead() {
	if c.rules.ReadOnly {
		for _, w := range c.writes {
			c.add(RuleForbiddenStatement, w.rel.GetLocation(), "a read writes nothing, and the script writes %s", qualified(w.rel))
		}
		for _, sel := range c.selects {
			if into := sel.GetIntoClause(); into != nil {
				c.add(RuleForbiddenStatement, into.GetRel().GetLocation(), "a read writes nothing, and SELECT INTO creates %s", qualified(into.GetRel()))
			}
			if len(sel.GetLockingClause()) > 0 {
				c.add(RuleForbiddenStatement, 0, "a read locks no row: remove FOR UPDATE / FOR SHARE")
			}
		}
		for i, raw := range c.stmts {
			if raw.GetStmt().GetSelectStmt() == nil {
				loc := int32(skipTrivia(c.sql, int(raw.GetStmtLocation())))
				c.add(RuleForbiddenStatement, loc, "statement %d: a read runs SELECT statements only", i+1)
			}
		}
	}
	if c.rules.MaxRows <= 0 {
		return
	}
	last := c.stmts[len(c.stmts)-1]
	loc := int32(skipTrivia(c.sql, int(last.GetStmtLocation())))
	sel := last.GetStmt().GetSelectStmt()
	if sel == nil {
		c.add(RuleUnboundedResult, loc, "the read does not end with a SELECT: its rows are not bounded by LIMIT %d", c.rules.MaxRows)
		return
	}
	n, ok := constInt(sel.GetLimitCount())
	switch {
	case sel.GetLimitCount() == nil:
		c.add(RuleUnboundedResult, loc, "the read's SELECT has no LIMIT: bound it by %d rows", c.rules.MaxRows)
	case !ok:
		c.add(RuleUnboundedResult, loc, "the read's LIMIT is not an integer constant: bound it by %d rows", c.rules.MaxRows)
	case n < 0 || n > c.rules.MaxRows:
		c.add(RuleUnboundedResult, loc, "the read returns up to %d rows, more than the %d allowed", n, c.rules.MaxRows)
	}
}

// constInt reads an integer constant.
func constInt(n *pg.Node) (int64, bool) {
	if ac := n.GetAConst(); ac != nil && ac.GetIval() != nil {
		return int64(ac.GetIval().GetIval()), true
	}
	return 0, false
}
