package staticcheck

import (
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// output is one column written to the target, with the expression producing
// it when the statement shows one.
type output struct {
	name string
	expr *pg.Node
	loc  int32
}

// checkContract checks the schema contract on every statement writing the
// target (INSERT, MERGE, UPDATE, ON CONFLICT DO UPDATE); without such a
// statement, on the final SELECT's target list.
func (c *checker) checkContract() {
	tainted := c.taintedNames()
	found := false
	for _, w := range c.writes {
		if !c.isTarget(w.rel) {
			continue
		}
		found = true
		switch s := w.stmt.(type) {
		case *pg.InsertStmt:
			c.insertContract(s, tainted)
		case *pg.MergeStmt:
			c.mergeContract(s, tainted)
		case *pg.UpdateStmt:
			c.checkOutputs(resTargets(s.GetTargetList()), tainted, nil, 0, "")
		}
	}
	if found {
		return
	}
	last := c.stmts[len(c.stmts)-1]
	loc := int32(skipTrivia(c.sql, int(last.GetStmtLocation())))
	sel := last.GetStmt().GetSelectStmt()
	if sel == nil || sel.GetIntoClause() != nil {
		what := "the script"
		if c.rules.TargetTable != "" {
			what = "no statement writes " + c.rules.TargetTable + " and the script"
		}
		for _, e := range c.rules.ExpectedColumns {
			c.add(RuleContractMissingColumn, loc, "%s does not end with a SELECT: expected column %s is not produced", what, e)
		}
		return
	}
	outs, ok := c.selectOutputs(sel)
	if !ok {
		return
	}
	c.checkOutputs(outs, tainted, c.rules.ExpectedColumns, loc, "the final SELECT")
}

func (c *checker) insertContract(s *pg.InsertStmt, tainted map[string]bool) {
	loc := s.GetRelation().GetLocation()
	what := "INSERT INTO " + qualified(s.GetRelation())
	cols := stringList(s.GetCols())
	if len(cols) == 0 {
		c.add(RuleContractUnverifiable, loc, "%s has no column list: the written columns are positional", what)
		return
	}
	var outs []output
	rows := c.rowsOf(s.GetSelectStmt().GetSelectStmt(), what)
	for i, col := range cols {
		o := output{name: col, loc: s.GetCols()[i].GetResTarget().GetLocation()}
		outs = append(outs, o)
		for _, r := range rows {
			if i < len(r) {
				outs = append(outs, output{name: col, expr: r[i], loc: o.loc})
			}
		}
	}
	if oc := s.GetOnConflictClause(); oc != nil {
		outs = append(outs, resTargets(oc.GetTargetList())...)
	}
	c.checkOutputs(outs, tainted, c.rules.ExpectedColumns, loc, what)
}

func (c *checker) mergeContract(s *pg.MergeStmt, tainted map[string]bool) {
	loc := s.GetRelation().GetLocation()
	what := "MERGE INTO " + qualified(s.GetRelation())
	var inserted, updated []output
	hasInsert := false
	for _, n := range s.GetMergeWhenClauses() {
		wc := n.GetMergeWhenClause()
		switch wc.GetCommandType() {
		case pg.CmdType_CMD_INSERT:
			hasInsert = true
			cols := resTargets(wc.GetTargetList())
			if len(cols) == 0 {
				c.add(RuleContractUnverifiable, loc, "%s: WHEN NOT MATCHED THEN INSERT has no column list", what)
				continue
			}
			for i := range cols {
				if i < len(wc.GetValues()) {
					cols[i].expr = wc.GetValues()[i]
				}
			}
			inserted = append(inserted, cols...)
		case pg.CmdType_CMD_UPDATE:
			updated = append(updated, resTargets(wc.GetTargetList())...)
		}
	}
	expected := c.rules.ExpectedColumns
	if hasInsert {
		c.checkOutputs(inserted, tainted, expected, loc, what)
		expected = nil
	}
	c.checkOutputs(updated, tainted, expected, loc, what)
}

// rowsOf returns the expressions of each row a SELECT or VALUES produces,
// positionally; a * that hides them is reported and yields no row.
func (c *checker) rowsOf(sel *pg.SelectStmt, what string) [][]*pg.Node {
	if sel == nil {
		return nil
	}
	if sel.GetOp() != pg.SetOperation_SETOP_NONE {
		return append(c.rowsOf(sel.GetLarg(), what), c.rowsOf(sel.GetRarg(), what)...)
	}
	if vl := sel.GetValuesLists(); len(vl) > 0 {
		rows := make([][]*pg.Node, 0, len(vl))
		for _, v := range vl {
			rows = append(rows, v.GetList().GetItems())
		}
		return rows
	}
	row := make([]*pg.Node, 0, len(sel.GetTargetList()))
	for _, t := range sel.GetTargetList() {
		rt := t.GetResTarget()
		if isStar(rt.GetVal()) {
			c.add(RuleContractUnverifiable, rt.GetLocation(), "%s selects *: the written columns cannot be checked", what)
			return nil
		}
		row = append(row, rt.GetVal())
	}
	return [][]*pg.Node{row}
}

// selectOutputs names the columns of a SELECT's result as Postgres does.
func (c *checker) selectOutputs(sel *pg.SelectStmt) ([]output, bool) {
	if sel.GetOp() != pg.SetOperation_SETOP_NONE {
		l, ok := c.selectOutputs(sel.GetLarg())
		if !ok {
			return nil, false
		}
		r, ok := c.selectOutputs(sel.GetRarg())
		if !ok {
			return nil, false
		}
		for i := range r {
			if i < len(l) {
				r[i].name = l[i].name // the left arm names the columns
			}
		}
		return append(l, r...), true
	}
	var outs []output
	for _, t := range sel.GetTargetList() {
		rt := t.GetResTarget()
		if isStar(rt.GetVal()) {
			c.add(RuleContractUnverifiable, rt.GetLocation(), "the final SELECT selects *: its columns cannot be checked")
			return nil, false
		}
		outs = append(outs, output{name: colName(rt), expr: rt.GetVal(), loc: rt.GetLocation()})
	}
	return outs, true
}

func resTargets(nodes []*pg.Node) []output {
	out := make([]output, 0, len(nodes))
	for _, n := range nodes {
		if rt := n.GetResTarget(); rt != nil {
			out = append(out, output{name: rt.GetName(), expr: rt.GetVal(), loc: rt.GetLocation()})
		}
	}
	return out
}

// checkOutputs: forbidden names and raw values under any name are violations;
// every expected column (exact, case-sensitive as Postgres) must be named.
func (c *checker) checkOutputs(outs []output, tainted map[string]bool, expected []string, loc int32, what string) {
	names := map[string]bool{}
	for _, o := range outs {
		names[o.name] = true
		if c.forbidden[fold(o.name)] {
			c.add(RuleContractForbiddenColumn, o.loc, "writes forbidden column %s", o.name)
			continue
		}
		if o.expr == nil {
			continue
		}
		if src, ok := taintedBy(o.expr, tainted, c.relNames); ok {
			c.add(RuleContractForbiddenColumn, o.loc, "column %s carries raw %s without masking", o.name, src)
		}
	}
	for _, e := range expected {
		if !names[e] {
			c.add(RuleContractMissingColumn, loc, "%s does not write expected column %s", what, e)
		}
	}
}

// taintedNames closes the forbidden columns over aliasing: a subquery or CTE
// output computed from a raw value (SELECT cpf AS doc) taints its name (doc)
// for the whole script. Name-based, so it over-approximates (ADR 0069).
func (c *checker) taintedNames() map[string]bool {
	t := map[string]bool{}
	for k := range c.forbidden {
		t[k] = true
	}
	for changed := true; changed; {
		changed = false
		mark := func(name string) {
			if n := fold(name); n != "" && !t[n] {
				t[n] = true
				changed = true
			}
		}
		for _, sel := range c.selects {
			for _, n := range sel.GetTargetList() {
				rt := n.GetResTarget()
				if rt == nil || isStar(rt.GetVal()) {
					continue
				}
				if _, ok := taintedBy(rt.GetVal(), t, c.relNames); ok {
					mark(colName(rt))
				}
			}
		}
		for _, a := range c.aliased {
			for _, arm := range arms(a.sel) {
				for i, n := range arm.GetTargetList() {
					rt := n.GetResTarget()
					if rt == nil || i >= len(a.colnames) || isStar(rt.GetVal()) {
						continue
					}
					if _, ok := taintedBy(rt.GetVal(), t, c.relNames); ok {
						mark(a.colnames[i])
					}
				}
			}
		}
	}
	return t
}

func arms(sel *pg.SelectStmt) []*pg.SelectStmt {
	if sel == nil {
		return nil
	}
	if sel.GetOp() != pg.SetOperation_SETOP_NONE {
		return append(arms(sel.GetLarg()), arms(sel.GetRarg())...)
	}
	return []*pg.SelectStmt{sel}
}

// taintedBy reports the raw name an expression exposes: a reference to a
// tainted column, a whole row (t.* or t inside an expression), not under a
// masking function. References inside subqueries of the expression count.
func taintedBy(expr *pg.Node, tainted, relNames map[string]bool) (string, bool) {
	src := ""
	visit(expr.ProtoReflect(), func(m protoreflect.Message) bool {
		if src != "" {
			return false
		}
		switch n := m.Interface().(type) {
		case *pg.FuncCall:
			names := stringList(n.GetFuncname())
			if len(names) > 0 && maskingFunctions[fold(names[len(names)-1])] {
				return false
			}
		case *pg.ColumnRef:
			f := n.GetFields()
			if len(f) == 0 {
				return false
			}
			if f[len(f)-1].GetAStar() != nil {
				src = "row " + strings.Join(stringList(f), ".") + ".*"
				return false
			}
			last := fold(f[len(f)-1].GetString_().GetSval())
			if tainted[last] {
				src = last
			} else if len(f) == 1 && relNames[last] {
				src = "row " + last
			}
			return false
		}
		return true
	})
	return src, src != ""
}

func isStar(n *pg.Node) bool {
	cr := n.GetColumnRef()
	if cr == nil || len(cr.GetFields()) == 0 {
		return false
	}
	return cr.GetFields()[len(cr.GetFields())-1].GetAStar() != nil
}

// colName names a target as Postgres does: the alias, else the column or
// function name, else ?column?.
func colName(rt *pg.ResTarget) string {
	if rt.GetName() != "" {
		return rt.GetName()
	}
	n := rt.GetVal()
	for {
		if tc := n.GetTypeCast(); tc != nil {
			n = tc.GetArg()
			continue
		}
		break
	}
	if cr := n.GetColumnRef(); cr != nil {
		if f := stringList(cr.GetFields()); len(f) > 0 {
			return f[len(f)-1]
		}
	}
	if fc := n.GetFuncCall(); fc != nil {
		if f := stringList(fc.GetFuncname()); len(f) > 0 {
			return f[len(f)-1]
		}
	}
	return "?column?"
}
