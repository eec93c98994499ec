package staticcheck

import (
	pg "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// leaf is a table read in a FROM tree with the join predicates that filter it:
// ON of an inner join, or of the outer join in which it is the nullable side.
type leaf struct {
	rv    *pg.RangeVar
	quals []*pg.Node
}

// checkFrom checks one query scope: the relations of its FROM (and UPDATE /
// DELETE / MERGE) items with their WHERE. Subqueries and CTEs are their own
// scopes and are checked when the walk reaches them.
func (c *checker) checkFrom(items []*pg.Node, where *pg.Node, sc *scope) {
	var leaves []leaf
	var joins []*pg.JoinExpr
	for _, it := range items {
		collectLeaves(it, nil, &leaves, &joins)
	}
	conj := conjuncts(where, nil)
	for _, l := range leaves {
		if l.rv.GetSchemaname() == "" && sc.isCTE(fold(l.rv.GetRelname())) {
			continue
		}
		all := conj
		for _, q := range l.quals {
			all = conjuncts(q, all)
		}
		// An unbounded read is named once, by its own rule.
		if !c.checkHighVolume(l, where, all) {
			c.checkSignedWindow(l, all)
		}
	}
	c.checkCrossJoins(items, joins, where)
}

// checkHighVolume reports a read of a high-volume table its predicates do
// not bound on the temporal column; false when it reported nothing.
func (c *checker) checkHighVolume(l leaf, where *pg.Node, all []*pg.Node) bool {
	table, col, ok := c.highVolume(l.rv)
	switch {
	case !ok:
		return false
	case where == nil && len(l.quals) == 0:
		c.add(RuleUnboundedScan, l.rv.GetLocation(), "high-volume table %s is read without a WHERE clause (no predicate on %s)", table, orUnknown(col))
	case col == "":
		c.add(RuleMissingTemporalPredicate, l.rv.GetLocation(), "high-volume table %s has no temporal column declared: the read cannot be proven bounded", table)
	case !anyBounds(all, refName(l.rv), col):
		c.add(RuleMissingTemporalPredicate, l.rv.GetLocation(), "high-volume table %s is read without a bounding predicate on %s in the same query", table, col)
	default:
		return false
	}
	return true
}

func orUnknown(s string) string {
	if s == "" {
		return "its temporal column"
	}
	return s
}

func collectLeaves(n *pg.Node, quals []*pg.Node, out *[]leaf, joins *[]*pg.JoinExpr) {
	switch v := n.GetNode().(type) {
	case *pg.Node_RangeVar:
		*out = append(*out, leaf{rv: v.RangeVar, quals: quals})
	case *pg.Node_RangeTableSample: // FROM t TABLESAMPLE ... still reads t
		collectLeaves(v.RangeTableSample.GetRelation(), quals, out, joins)
	case *pg.Node_JoinExpr:
		j := v.JoinExpr
		*joins = append(*joins, j)
		with := func() []*pg.Node {
			q := append([]*pg.Node(nil), quals...)
			if j.GetQuals() != nil {
				q = append(q, j.GetQuals())
			}
			return q
		}
		lq, rq := quals, quals
		switch j.GetJointype() {
		case pg.JoinType_JOIN_INNER:
			lq, rq = with(), with()
		case pg.JoinType_JOIN_LEFT:
			rq = with()
		case pg.JoinType_JOIN_RIGHT:
			lq = with()
		}
		collectLeaves(j.GetLarg(), lq, out, joins)
		collectLeaves(j.GetRarg(), rq, out, joins)
	}
}

// highVolume reports whether rv names a configured high-volume table. An
// unqualified name matches by table name (search_path could resolve it).
func (c *checker) highVolume(rv *pg.RangeVar) (table, col string, ok bool) {
	schema, rel := fold(rv.GetSchemaname()), fold(rv.GetRelname())
	for _, t := range sortedKeys(c.hv) {
		if tableMatches(t, schema, rel) {
			return t, c.hv[t], true
		}
	}
	return "", "", false
}

// tableMatches compares a configured (folded) name with a relation's parts.
func tableMatches(configured, schema, rel string) bool {
	cs, ct := splitQualified(configured)
	if ct != rel {
		return false
	}
	return cs == "" || schema == "" || cs == schema
}

func splitQualified(q string) (schema, table string) {
	for i := len(q) - 1; i >= 0; i-- {
		if q[i] == '.' {
			return q[:i], q[i+1:]
		}
	}
	return "", q
}

// refName is the name a column reference uses to qualify rv's columns.
func refName(rv *pg.RangeVar) string {
	if a := rv.GetAlias(); a != nil && a.GetAliasname() != "" {
		return fold(a.GetAliasname())
	}
	return fold(rv.GetRelname())
}

// conjuncts flattens top-level ANDs; anything under OR or NOT stays whole.
func conjuncts(n *pg.Node, acc []*pg.Node) []*pg.Node {
	if n == nil {
		return acc
	}
	if b := n.GetBoolExpr(); b != nil && b.GetBoolop() == pg.BoolExprType_AND_EXPR {
		for _, a := range b.GetArgs() {
			acc = conjuncts(a, acc)
		}
		return acc
	}
	return append(acc, n)
}

func anyBounds(conj []*pg.Node, qualifier, col string) bool {
	for _, n := range conj {
		if bounds(n, qualifier, col) {
			return true
		}
	}
	return false
}

// bounds reports whether the predicate restricts col to a range: =, <, <=,
// >, >=, = ANY, BETWEEN or IN against expressions free of column references
// (scalar subqueries allowed); AND of which one bounds; OR of which all bound.
func bounds(n *pg.Node, qualifier, col string) bool {
	switch v := n.GetNode().(type) {
	case *pg.Node_BoolExpr:
		args := v.BoolExpr.GetArgs()
		switch v.BoolExpr.GetBoolop() {
		case pg.BoolExprType_AND_EXPR:
			for _, a := range args {
				if bounds(a, qualifier, col) {
					return true
				}
			}
		case pg.BoolExprType_OR_EXPR:
			for _, a := range args {
				if !bounds(a, qualifier, col) {
					return false
				}
			}
			return len(args) > 0
		}
		return false
	case *pg.Node_AExpr:
		e := v.AExpr
		switch e.GetKind() {
		case pg.A_Expr_Kind_AEXPR_OP, pg.A_Expr_Kind_AEXPR_OP_ANY:
			ops := stringList(e.GetName())
			if len(ops) != 1 {
				return false
			}
			switch ops[0] {
			case "=", "<", "<=", ">", ">=":
			default:
				return false
			}
			if e.GetKind() == pg.A_Expr_Kind_AEXPR_OP_ANY && ops[0] != "=" {
				return false
			}
			if isColumn(e.GetLexpr(), qualifier, col) && constantish(e.GetRexpr()) {
				return true
			}
			return e.GetKind() == pg.A_Expr_Kind_AEXPR_OP && isColumn(e.GetRexpr(), qualifier, col) && constantish(e.GetLexpr())
		case pg.A_Expr_Kind_AEXPR_BETWEEN, pg.A_Expr_Kind_AEXPR_BETWEEN_SYM, pg.A_Expr_Kind_AEXPR_IN:
			ops := stringList(e.GetName())
			if e.GetKind() == pg.A_Expr_Kind_AEXPR_IN && (len(ops) != 1 || ops[0] != "=") {
				return false // NOT IN
			}
			return isColumn(e.GetLexpr(), qualifier, col) && constantish(e.GetRexpr())
		}
	}
	return false
}

// isColumn reports whether n (possibly cast) references col of the relation
// named qualifier, or col unqualified.
func isColumn(n *pg.Node, qualifier, col string) bool {
	if tc := n.GetTypeCast(); tc != nil {
		return isColumn(tc.GetArg(), qualifier, col)
	}
	cr := n.GetColumnRef()
	if cr == nil {
		return false
	}
	f := stringList(cr.GetFields())
	if len(f) != len(cr.GetFields()) || len(f) == 0 || fold(f[len(f)-1]) != col {
		return false
	}
	return len(f) == 1 || fold(f[len(f)-2]) == qualifier
}

// constantish: no column reference outside scalar subqueries.
func constantish(n *pg.Node) bool {
	if n == nil {
		return false
	}
	found := false
	visit(n.ProtoReflect(), func(m protoreflect.Message) bool {
		switch m.Interface().(type) {
		case *pg.SubLink:
			return false
		case *pg.ColumnRef:
			found = true
		}
		return !found
	})
	return !found
}

func hasColumnRef(n *pg.Node) bool {
	found := false
	visit(n.ProtoReflect(), func(m protoreflect.Message) bool {
		if _, ok := m.Interface().(*pg.ColumnRef); ok {
			found = true
		}
		return !found
	})
	return found
}

// visit is a plain pre-order walk in declaration order; f returns false to
// skip a message's children.
func visit(m protoreflect.Message, f func(protoreflect.Message) bool) {
	if _, ok := m.Interface().(*pg.Node); ok {
		if w := m.WhichOneof(m.Descriptor().Oneofs().Get(0)); w != nil {
			visit(m.Get(w).Message(), f)
		}
		return
	}
	if !f(m) {
		return
	}
	fields := m.Descriptor().Fields()
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		if fd.Kind() != protoreflect.MessageKind {
			continue
		}
		if fd.IsList() {
			l := m.Get(fd).List()
			for j := 0; j < l.Len(); j++ {
				visit(l.Get(j).Message(), f)
			}
		} else if m.Has(fd) {
			visit(m.Get(fd).Message(), f)
		}
	}
}

// firstLocation is the smallest parser location inside n (best effort).
func firstLocation(n protoreflect.Message) int32 {
	best := int32(-1)
	visit(n, func(m protoreflect.Message) bool {
		if fd := m.Descriptor().Fields().ByName("location"); fd != nil && fd.Kind() == protoreflect.Int32Kind {
			if l := int32(m.Get(fd).Int()); l >= 0 && (best < 0 || l < best) {
				best = l
			}
		}
		return true
	})
	if best < 0 {
		return 0
	}
	return best
}

// checkCrossJoins flags joins without a column predicate (CROSS JOIN, ON
// TRUE) and FROM lists whose items the WHERE clause does not connect.
func (c *checker) checkCrossJoins(items []*pg.Node, joins []*pg.JoinExpr, where *pg.Node) {
	for _, j := range joins {
		if j.GetIsNatural() || len(j.GetUsingClause()) > 0 {
			continue
		}
		if q := j.GetQuals(); q != nil && hasColumnRef(q) {
			continue
		}
		if j.GetQuals() == nil && references(j.GetRarg(), itemNames(j.GetLarg())) {
			continue // CROSS JOIN LATERAL f(a.x): correlated, not a cartesian product
		}
		c.add(RuleCrossJoin, firstLocation(j.GetRarg().ProtoReflect()), "join without a column predicate (CROSS JOIN or ON constant)")
	}
	if len(items) < 2 {
		return
	}
	parent := make([]int, len(items))
	for i := range parent {
		parent[i] = i
	}
	find := func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	names := make([]map[string]bool, len(items))
	owner := map[string]int{}
	for i, it := range items {
		names[i] = itemNames(it)
		for n := range names[i] {
			owner[n] = i
		}
	}
	link := func(n *pg.Node, self int) {
		first := self
		for _, q := range sortedKeys(qualifiersIn(n)) {
			if o, ok := owner[q]; ok {
				if first < 0 {
					first = o
					continue
				}
				parent[find(o)] = find(first)
			}
		}
	}
	for _, cj := range conjuncts(where, nil) {
		link(cj, -1)
	}
	for i, it := range items {
		if lateral(it) {
			link(it, i)
		}
	}
	root := find(0)
	for i := 1; i < len(items); i++ {
		if find(i) != root {
			c.add(RuleCrossJoin, firstLocation(items[i].ProtoReflect()), "FROM lists relations that no join predicate connects (implicit cross join)")
			parent[find(i)] = root
		}
	}
}

// lateral items may reference earlier FROM items (functions always may).
func lateral(n *pg.Node) bool {
	switch v := n.GetNode().(type) {
	case *pg.Node_RangeFunction:
		return true
	case *pg.Node_RangeSubselect:
		return v.RangeSubselect.GetLateral()
	}
	return false
}

func references(n *pg.Node, names map[string]bool) bool {
	for q := range qualifiersIn(n) {
		if names[q] {
			return true
		}
	}
	return false
}

// itemNames are the names by which a FROM item's columns can be qualified.
func itemNames(n *pg.Node) map[string]bool {
	out := map[string]bool{}
	var add func(*pg.Node)
	add = func(n *pg.Node) {
		switch v := n.GetNode().(type) {
		case *pg.Node_RangeVar:
			out[refName(v.RangeVar)] = true
		case *pg.Node_RangeTableSample:
			add(v.RangeTableSample.GetRelation())
		case *pg.Node_JoinExpr:
			add(v.JoinExpr.GetLarg())
			add(v.JoinExpr.GetRarg())
			if a := v.JoinExpr.GetAlias(); a != nil {
				out[fold(a.GetAliasname())] = true
			}
		case *pg.Node_RangeSubselect:
			if a := v.RangeSubselect.GetAlias(); a != nil {
				out[fold(a.GetAliasname())] = true
			}
		case *pg.Node_RangeFunction:
			if a := v.RangeFunction.GetAlias(); a != nil {
				out[fold(a.GetAliasname())] = true
			} else if fs := v.RangeFunction.GetFunctions(); len(fs) > 0 {
				if l := fs[0].GetList(); l != nil && len(l.GetItems()) > 0 {
					if fc := l.GetItems()[0].GetFuncCall(); fc != nil {
						if names := stringList(fc.GetFuncname()); len(names) > 0 {
							out[fold(names[len(names)-1])] = true
						}
					}
				}
			}
		}
	}
	add(n)
	return out
}

// qualifiersIn collects the relation qualifiers of every column reference in n.
func qualifiersIn(n *pg.Node) map[string]bool {
	out := map[string]bool{}
	if n == nil {
		return out
	}
	visit(n.ProtoReflect(), func(m protoreflect.Message) bool {
		if cr, ok := m.Interface().(*pg.ColumnRef); ok {
			f := cr.GetFields()
			if len(f) >= 2 {
				if s := f[len(f)-2].GetString_(); s != nil {
					out[fold(s.GetSval())] = true
				}
			} else if len(f) == 1 {
				if s := f[0].GetString_(); s != nil {
					out[fold(s.GetSval())] = true // whole-row reference t
				}
			}
		}
		return true
	})
	return out
}

// checkWriteBounded flags UPDATE and DELETE of a governed table without WHERE.
func (c *checker) checkWriteBounded(rv *pg.RangeVar, where *pg.Node, verb string) {
	if rv != nil && where == nil && c.governed(rv) {
		c.add(RuleUnboundedWrite, rv.GetLocation(), "%s of governed table %s without WHERE rewrites the whole table", verb, qualified(rv))
	}
}
