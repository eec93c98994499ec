package staticcheck

import pg "github.com/pganalyze/pg_query_go/v6"

// governed reports whether rv is a Silver or Gold table: its schema is named
// silver or gold, or it is the target and the target layer is governed.
func (c *checker) governed(rv *pg.RangeVar) bool {
	switch Layer(fold(rv.GetSchemaname())) {
	case LayerSilver, LayerGold:
		return true
	}
	return c.isTarget(rv) && Layer(fold(string(c.rules.TargetLayer))).governed()
}

func (c *checker) isTarget(rv *pg.RangeVar) bool {
	return c.rules.TargetTable != "" && tableMatches(fold(c.rules.TargetTable), fold(rv.GetSchemaname()), fold(rv.GetRelname()))
}

func sameTable(a, b *pg.RangeVar) bool {
	if fold(a.GetRelname()) != fold(b.GetRelname()) {
		return false
	}
	sa, sb := fold(a.GetSchemaname()), fold(b.GetSchemaname())
	return sa == "" || sb == "" || sa == sb
}

// checkLayerWrites enforces the required write patterns into Silver and Gold:
// an INSERT needs ON CONFLICT, or an earlier top-level DELETE of the same
// table bounded by its temporal column (a partition overwrite). MERGE and
// UPDATE never append.
func (c *checker) checkLayerWrites() {
	for _, w := range c.writes {
		ins, ok := w.stmt.(*pg.InsertStmt)
		if !ok || !c.governed(w.rel) || ins.GetOnConflictClause() != nil {
			continue
		}
		if c.overwritten(w) {
			continue
		}
		c.add(RuleAppendIntoLayer, w.rel.GetLocation(), "plain INSERT into governed table %s appends: use MERGE, ON CONFLICT or a partition overwrite", qualified(w.rel))
	}
}

func (c *checker) overwritten(ins write) bool {
	col := ""
	for _, t := range sortedKeys(c.temporal) {
		if tableMatches(t, fold(ins.rel.GetSchemaname()), fold(ins.rel.GetRelname())) {
			col = c.temporal[t]
			break
		}
	}
	for _, w := range c.writes {
		del, ok := w.stmt.(*pg.DeleteStmt)
		if !ok || !w.topLevel || w.stmtIndex >= ins.stmtIndex || !sameTable(w.rel, ins.rel) || del.GetWhereClause() == nil {
			continue
		}
		if col == "" || anyBounds(conjuncts(del.GetWhereClause(), nil), refName(w.rel), col) {
			return true
		}
	}
	return false
}
