package staticcheck

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	pg "github.com/pganalyze/pg_query_go/v6"
	pgparser "github.com/pganalyze/pg_query_go/v6/parser"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Validate parses sql with the Postgres parser and checks its syntax tree
// against the static safety rules. It never executes anything, reads no
// clock and is deterministic: the same input gives the same Report, with
// violations ordered by location, rule and message. A script that does not
// parse is a violation (parse_error), never a pass.
func Validate(sql string, rules Rules) Report {
	c := newChecker(sql, rules)
	c.run()
	return c.report()
}

// write is a statement node that writes a table (top level or inside a CTE).
type write struct {
	stmt      protoreflect.ProtoMessage // *pg.InsertStmt, *pg.UpdateStmt, *pg.DeleteStmt or *pg.MergeStmt
	rel       *pg.RangeVar
	stmtIndex int  // index of the top-level statement it belongs to
	topLevel  bool // the statement itself, not a data-modifying CTE
}

// aliasedSelect is a subquery whose output columns are renamed positionally,
// as in WITH s(a, b) AS (...) or FROM (...) AS s(a, b).
type aliasedSelect struct {
	sel      *pg.SelectStmt
	colnames []string
}

type checker struct {
	sql   string
	rules Rules

	hv        map[string]string // folded qualified high-volume table → folded temporal column
	temporal  map[string]string // folded qualified table → folded temporal column
	windows   map[string]Window // folded qualified table → signed window on its temporal column
	allowed   map[string]bool   // folded allowed function names (nil = no allow list)
	forbidden map[string]bool   // folded forbidden output columns
	contract  bool              // expected or forbidden columns declared

	stmtIndex int
	top       protoreflect.ProtoMessage // the top-level statement being walked
	stmts     []*pg.RawStmt

	writes     []write
	selects    []*pg.SelectStmt
	aliased    []aliasedSelect
	relNames   map[string]bool // every relation alias, name and CTE name (whole-row refs)
	violations []Violation
}

func newChecker(sql string, r Rules) *checker {
	c := &checker{
		sql:       sql,
		rules:     r,
		hv:        map[string]string{},
		temporal:  map[string]string{},
		windows:   map[string]Window{},
		forbidden: map[string]bool{},
		relNames:  map[string]bool{},
	}
	for t, col := range r.TemporalColumns {
		c.temporal[fold(t)] = fold(col)
	}
	for _, t := range r.HighVolumeTables {
		c.hv[fold(t)] = c.temporal[fold(t)]
	}
	for t, w := range r.SignedWindows {
		c.windows[fold(t)] = w
	}
	if len(r.AllowedFunctions) > 0 {
		c.allowed = map[string]bool{}
		for _, f := range r.AllowedFunctions {
			c.allowed[fold(f)] = true
		}
	}
	for _, f := range r.ForbiddenColumns {
		c.forbidden[fold(f)] = true
	}
	c.contract = len(r.ExpectedColumns) > 0 || len(r.ForbiddenColumns) > 0
	return c
}

func fold(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

func (c *checker) add(rule Rule, loc int32, format string, args ...any) {
	c.violations = append(c.violations, newViolation(rule, int(loc), fmt.Sprintf(format, args...)))
}

func (c *checker) run() {
	// The parser reads a C string: a NUL would hide everything after it from
	// the checks while a driver might still send it. Postgres rejects invalid
	// UTF-8 in a UTF8 database; refuse both before parsing (fail closed).
	if i := strings.IndexByte(c.sql, 0); i >= 0 {
		c.add(RuleParseError, int32(i), "the script contains a NUL byte at offset %d", i)
		return
	}
	if !utf8.ValidString(c.sql) {
		c.add(RuleParseError, 0, "the script is not valid UTF-8")
		return
	}
	tree, err := pg.Parse(c.sql)
	if err != nil {
		c.add(RuleParseError, int32(c.errorOffset(err)), "the script does not parse as Postgres SQL: %v", err)
		return
	}
	if len(tree.GetStmts()) == 0 {
		c.add(RuleParseError, 0, "the script contains no statement")
		return
	}
	c.stmts = tree.GetStmts()
	for i, raw := range c.stmts {
		c.stmtIndex = i
		c.topLevelStatement(raw)
	}
	c.checkLayerWrites()
	c.checkRead()
	if c.contract {
		c.checkContract()
	}
}

// errorOffset converts the parser's 1-based character cursor into a byte offset.
func (c *checker) errorOffset(err error) int {
	var perr *pgparser.Error
	if !errors.As(err, &perr) || perr.Cursorpos <= 0 {
		return 0
	}
	chars := perr.Cursorpos - 1
	for off := range c.sql {
		if chars == 0 {
			return off
		}
		chars--
	}
	return len(c.sql)
}

// allowedSettings may be changed with SET / SET LOCAL / RESET: resource
// limits only. search_path (changes what names resolve to), role and
// session_authorization are forbidden.
var allowedSettings = map[string]bool{
	"statement_timeout": true, "lock_timeout": true, "idle_in_transaction_session_timeout": true,
	"work_mem": true, "maintenance_work_mem": true, "transaction": true,
}

func (c *checker) topLevelStatement(raw *pg.RawStmt) {
	loc := int32(skipTrivia(c.sql, int(raw.GetStmtLocation())))
	node := raw.GetStmt()
	if node == nil || node.GetNode() == nil {
		c.add(RuleParseError, loc, "statement %d is empty", c.stmtIndex+1)
		return
	}
	switch s := node.GetNode().(type) {
	case *pg.Node_SelectStmt, *pg.Node_InsertStmt, *pg.Node_UpdateStmt, *pg.Node_DeleteStmt, *pg.Node_MergeStmt:
	case *pg.Node_TransactionStmt:
		switch s.TransactionStmt.GetKind() {
		case pg.TransactionStmtKind_TRANS_STMT_BEGIN, pg.TransactionStmtKind_TRANS_STMT_START,
			pg.TransactionStmtKind_TRANS_STMT_COMMIT, pg.TransactionStmtKind_TRANS_STMT_ROLLBACK,
			pg.TransactionStmtKind_TRANS_STMT_SAVEPOINT, pg.TransactionStmtKind_TRANS_STMT_RELEASE,
			pg.TransactionStmtKind_TRANS_STMT_ROLLBACK_TO:
		default:
			c.add(RuleForbiddenStatement, loc, "statement %d: two-phase commit (%s) is forbidden", c.stmtIndex+1, s.TransactionStmt.GetKind())
		}
	case *pg.Node_VariableSetStmt:
		v := s.VariableSetStmt
		if v.GetKind() == pg.VariableSetKind_VAR_RESET_ALL || !allowedSettings[fold(v.GetName())] {
			c.add(RuleForbiddenStatement, loc, "statement %d: %s is forbidden (only resource limits may be set)", c.stmtIndex+1, setLabel(v))
		}
	case *pg.Node_CopyStmt:
		what := "COPY"
		switch {
		case s.CopyStmt.GetIsProgram():
			what = "COPY ... PROGRAM"
		case s.CopyStmt.GetFilename() != "":
			what = "COPY ... FILE"
		}
		c.add(RuleForbiddenStatement, loc, "statement %d: %s is forbidden", c.stmtIndex+1, what)
	default:
		c.add(RuleForbiddenStatement, loc, "statement %d: %s is forbidden", c.stmtIndex+1, statementLabel(node))
	}
	// Walk forbidden statements too, so a forbidden call inside them is named.
	m := node.ProtoReflect()
	if w := node.ProtoReflect().WhichOneof(m.Descriptor().Oneofs().Get(0)); w != nil {
		c.top = m.Get(w).Message().Interface()
	}
	c.walk(m, nil)
}

func setLabel(v *pg.VariableSetStmt) string {
	switch v.GetKind() {
	case pg.VariableSetKind_VAR_RESET, pg.VariableSetKind_VAR_RESET_ALL:
		if v.GetName() == "" {
			return "RESET ALL"
		}
		return "RESET " + v.GetName()
	}
	name := v.GetName()
	if name == "" {
		name = "ALL"
	}
	return "SET " + name
}

// statementLabel turns a statement node into SQL words: DropStmt with
// OBJECT_TABLE → "DROP TABLE", AlterTableStmt → "ALTER TABLE".
func statementLabel(node *pg.Node) string {
	m := node.ProtoReflect()
	w := m.WhichOneof(m.Descriptor().Oneofs().Get(0))
	if w == nil {
		return "an unknown statement"
	}
	inner := m.Get(w).Message()
	name := strings.TrimSuffix(string(inner.Descriptor().Name()), "Stmt")
	var b strings.Builder
	for i, r := range name {
		if i > 0 && r >= 'A' && r <= 'Z' {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
	}
	label := strings.ToUpper(b.String())
	if l, ok := statementLabels[inner.Descriptor().Name()]; ok {
		label = l
	}
	switch s := inner.Interface().(type) {
	case *pg.DropStmt:
		label += " " + strings.ReplaceAll(strings.TrimPrefix(s.GetRemoveType().String(), "OBJECT_"), "_", " ")
	case *pg.GrantStmt:
		if !s.GetIsGrant() {
			label = "REVOKE"
		}
	case *pg.GrantRoleStmt:
		label = "GRANT ROLE"
		if !s.GetIsGrant() {
			label = "REVOKE ROLE"
		}
	}
	return label
}

// statementLabels name the statements whose node names are not their SQL.
var statementLabels = map[protoreflect.Name]string{
	"CreateStmt":         "CREATE TABLE",
	"CreateTrigStmt":     "CREATE TRIGGER",
	"RuleStmt":           "CREATE RULE",
	"ViewStmt":           "CREATE VIEW",
	"IndexStmt":          "CREATE INDEX",
	"RefreshMatViewStmt": "REFRESH MATERIALIZED VIEW",
	"CreateFunctionStmt": "CREATE FUNCTION/PROCEDURE",
	"VacuumStmt":         "VACUUM/ANALYZE",
	"ExplainStmt":        "EXPLAIN",
}

// skipTrivia moves past whitespace and comments, so that a statement's
// location points at its first keyword rather than at the preceding ";".
func skipTrivia(sql string, off int) int {
	for off < len(sql) {
		switch {
		case sql[off] == ' ' || sql[off] == '\t' || sql[off] == '\n' || sql[off] == '\r' || sql[off] == '\f' || sql[off] == '\v':
			off++
		case strings.HasPrefix(sql[off:], "--"):
			nl := strings.IndexByte(sql[off:], '\n')
			if nl < 0 {
				return len(sql)
			}
			off += nl + 1
		case strings.HasPrefix(sql[off:], "/*"):
			depth, i := 0, off
			for i < len(sql) {
				if strings.HasPrefix(sql[i:], "/*") {
					depth++
					i += 2
				} else if strings.HasPrefix(sql[i:], "*/") {
					depth--
					i += 2
					if depth == 0 {
						break
					}
				} else {
					i++
				}
			}
			off = i
		default:
			return off
		}
	}
	return off
}

func (c *checker) report() Report {
	sort.SliceStable(c.violations, func(i, j int) bool {
		a, b := c.violations[i], c.violations[j]
		if a.Location != b.Location {
			return a.Location < b.Location
		}
		if a.Rule != b.Rule {
			return a.Rule < b.Rule
		}
		return a.Message < b.Message
	})
	out := make([]Violation, 0, len(c.violations))
	for i, v := range c.violations {
		if i > 0 && v.Location == c.violations[i-1].Location && v.Rule == c.violations[i-1].Rule && v.Message == c.violations[i-1].Message {
			continue
		}
		out = append(out, v)
	}
	return Report{Passed: len(out) == 0, Violations: out}
}
