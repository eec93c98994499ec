package staticcheck

import (
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// scope is the set of CTE names visible where a relation is named: an
// unqualified name that a visible CTE defines is that CTE, not a table.
type scope struct {
	ctes   map[string]bool
	parent *scope
}

func (s *scope) isCTE(name string) bool {
	for ; s != nil; s = s.parent {
		if s.ctes[name] {
			return true
		}
	}
	return false
}

// walk visits every message of the tree in field-declaration order (never
// map or Range order). Statement nodes open CTE scopes; calls and column
// references are checked wherever they appear, in any expression.
func (c *checker) walk(m protoreflect.Message, sc *scope) {
	switch n := m.Interface().(type) {
	case *pg.Node:
		if w := m.WhichOneof(m.Descriptor().Oneofs().Get(0)); w != nil {
			c.walk(m.Get(w).Message(), sc)
		}
		return
	case *pg.SelectStmt:
		c.selectStmt(n, sc)
		return
	case *pg.InsertStmt:
		inner := c.withScope(n.GetWithClause(), sc)
		c.recordWrite(n, n.GetRelation())
		c.children(m, inner, "with_clause")
		return
	case *pg.UpdateStmt:
		inner := c.withScope(n.GetWithClause(), sc)
		c.recordWrite(n, n.GetRelation())
		c.checkWriteBounded(n.GetRelation(), n.GetWhereClause(), "UPDATE")
		c.checkFrom(append([]*pg.Node{rangeVarNode(n.GetRelation())}, n.GetFromClause()...), n.GetWhereClause(), inner)
		c.children(m, inner, "with_clause")
		return
	case *pg.DeleteStmt:
		inner := c.withScope(n.GetWithClause(), sc)
		c.recordWrite(n, n.GetRelation())
		c.checkWriteBounded(n.GetRelation(), n.GetWhereClause(), "DELETE")
		c.checkFrom(append([]*pg.Node{rangeVarNode(n.GetRelation())}, n.GetUsingClause()...), n.GetWhereClause(), inner)
		c.children(m, inner, "with_clause")
		return
	case *pg.MergeStmt:
		inner := c.withScope(n.GetWithClause(), sc)
		c.recordWrite(n, n.GetRelation())
		if jc := n.GetJoinCondition(); jc == nil || !hasColumnRef(jc) {
			c.add(RuleCrossJoin, n.GetRelation().GetLocation(), "MERGE into %s joins its source without a column predicate", qualified(n.GetRelation()))
		}
		c.checkFrom([]*pg.Node{n.GetSourceRelation()}, n.GetJoinCondition(), inner)
		c.children(m, inner, "with_clause")
		return
	case *pg.FuncCall:
		c.funcCall(n)
	case *pg.ColumnRef:
		c.columnRef(n)
	case *pg.RangeVar:
		c.relNames[fold(n.GetRelname())] = true
		if a := n.GetAlias(); a != nil {
			c.relNames[fold(a.GetAliasname())] = true
			if len(a.GetColnames()) > 0 && c.contract {
				c.add(RuleContractUnverifiable, n.GetLocation(), "%s AS %s(...) renames the table's columns positionally: which one is raw PII cannot be told without the catalog", qualified(n), a.GetAliasname())
			}
		}
	case *pg.RangeSubselect:
		if a := n.GetAlias(); a != nil {
			c.relNames[fold(a.GetAliasname())] = true
			if sel := n.GetSubquery().GetSelectStmt(); sel != nil && len(a.GetColnames()) > 0 {
				c.aliased = append(c.aliased, aliasedSelect{sel, stringList(a.GetColnames())})
			}
		}
	case *pg.RangeFunction:
		if a := n.GetAlias(); a != nil {
			c.relNames[fold(a.GetAliasname())] = true
		}
	case *pg.CommonTableExpr:
		c.relNames[fold(n.GetCtename())] = true
		if sel := n.GetCtequery().GetSelectStmt(); sel != nil && len(n.GetAliascolnames()) > 0 {
			c.aliased = append(c.aliased, aliasedSelect{sel, stringList(n.GetAliascolnames())})
		}
	}
	c.children(m, sc, "")
}

// children walks the message fields of m in declaration order, except skip.
func (c *checker) children(m protoreflect.Message, sc *scope, skip protoreflect.Name) {
	fields := m.Descriptor().Fields()
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		if fd.Kind() != protoreflect.MessageKind || fd.Name() == skip {
			continue
		}
		if fd.IsList() {
			l := m.Get(fd).List()
			for j := 0; j < l.Len(); j++ {
				c.walk(l.Get(j).Message(), sc)
			}
		} else if m.Has(fd) {
			c.walk(m.Get(fd).Message(), sc)
		}
	}
}

// withScope walks the CTEs of a WITH clause, each in the scope Postgres
// gives it (earlier siblings; all of them when RECURSIVE), and returns the
// scope of the statement body.
func (c *checker) withScope(w *pg.WithClause, sc *scope) *scope {
	if w == nil {
		return sc
	}
	inner := &scope{ctes: map[string]bool{}, parent: sc}
	for _, n := range w.GetCtes() {
		inner.ctes[fold(n.GetCommonTableExpr().GetCtename())] = true
	}
	earlier := &scope{ctes: map[string]bool{}, parent: sc}
	for _, n := range w.GetCtes() {
		visible := earlier
		if w.GetRecursive() {
			visible = inner
		}
		c.walk(n.ProtoReflect(), visible)
		next := &scope{ctes: map[string]bool{}, parent: sc}
		for k := range earlier.ctes {
			next.ctes[k] = true
		}
		next.ctes[fold(n.GetCommonTableExpr().GetCtename())] = true
		earlier = next
	}
	return inner
}

func (c *checker) selectStmt(n *pg.SelectStmt, sc *scope) {
	inner := c.withScope(n.GetWithClause(), sc)
	if into := n.GetIntoClause(); into != nil {
		c.add(RuleForbiddenStatement, into.GetRel().GetLocation(), "statement %d: SELECT ... INTO %s creates a table and is forbidden", c.stmtIndex+1, qualified(into.GetRel()))
	}
	c.selects = append(c.selects, n)
	c.checkFrom(n.GetFromClause(), n.GetWhereClause(), inner)
	c.children(n.ProtoReflect(), inner, "with_clause")
}

func (c *checker) recordWrite(stmt protoreflect.ProtoMessage, rel *pg.RangeVar) {
	if rel == nil {
		return
	}
	c.writes = append(c.writes, write{stmt: stmt, rel: rel, stmtIndex: c.stmtIndex, topLevel: stmt == c.top})
}

// funcCall checks a call anywhere: schema-qualified or not, any casing.
func (c *checker) funcCall(n *pg.FuncCall) {
	names := stringList(n.GetFuncname())
	if len(names) == 0 {
		return
	}
	name := names[len(names)-1]
	full := strings.Join(names, ".")
	if denied(name) {
		c.add(RuleForbiddenFunction, n.GetLocation(), "call to %s is forbidden", full)
		return
	}
	if c.allowed == nil {
		return
	}
	fn := fold(name)
	schema := ""
	if len(names) > 1 {
		schema = fold(names[len(names)-2])
	}
	if c.allowed[fold(full)] || ((schema == "" || schema == "pg_catalog") && c.allowed[fn]) {
		return
	}
	c.add(RuleFunctionNotAllowed, n.GetLocation(), "call to %s is not in the allowed functions", full)
}

// columnRef catches attribute notation: in Postgres t.f may call f(t).
func (c *checker) columnRef(n *pg.ColumnRef) {
	fields := n.GetFields()
	if len(fields) < 2 {
		return
	}
	if last := fields[len(fields)-1].GetString_(); last != nil && denied(last.GetSval()) {
		c.add(RuleForbiddenFunction, n.GetLocation(), "attribute notation .%s calls the forbidden function %s", last.GetSval(), last.GetSval())
	}
}

func rangeVarNode(rv *pg.RangeVar) *pg.Node {
	return &pg.Node{Node: &pg.Node_RangeVar{RangeVar: rv}}
}

// stringList returns the String values of a list of nodes (names, column lists).
func stringList(nodes []*pg.Node) []string {
	out := make([]string, 0, len(nodes))
	for _, n := range nodes {
		switch v := n.GetNode().(type) {
		case *pg.Node_String_:
			out = append(out, v.String_.GetSval())
		case *pg.Node_ResTarget:
			out = append(out, v.ResTarget.GetName())
		}
	}
	return out
}

func qualified(rv *pg.RangeVar) string {
	if rv == nil {
		return "?"
	}
	if rv.GetSchemaname() != "" {
		return rv.GetSchemaname() + "." + rv.GetRelname()
	}
	return rv.GetRelname()
}
