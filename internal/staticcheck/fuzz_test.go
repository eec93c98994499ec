package staticcheck

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/stretchr/testify/require"
)

// The fuzz oracle is independent of the validator: it reads pg_query's JSON
// rendering of the tree (not the protobuf walk) with its own short lists.
var (
	oracleAllowedStatements = map[string]bool{
		"SelectStmt": true, "InsertStmt": true, "UpdateStmt": true, "DeleteStmt": true,
		"MergeStmt": true, "TransactionStmt": true, "VariableSetStmt": true,
	}
	oracleForbiddenSettings = map[string]bool{"role": true, "session_authorization": true, "search_path": true}
	oracleDangerousCalls    = map[string]bool{
		"pg_read_file": true, "pg_read_binary_file": true, "pg_ls_dir": true, "pg_stat_file": true,
		"lo_import": true, "lo_export": true, "dblink": true, "dblink_exec": true, "pg_sleep": true,
		"set_config": true, "pg_terminate_backend": true, "pg_cancel_backend": true, "query_to_xml": true,
	}
	oracleFuncname = regexp.MustCompile(`"funcname":\[((?:\{"String":\{"sval":"(?:[^"\\]|\\.)*"\}\},?)+)\]`)
	oracleSval     = regexp.MustCompile(`"sval":"((?:[^"\\]|\\.)*)"`)
)

// oracleForbidden says why a parsed script must not pass, or "".
func oracleForbidden(t *testing.T, tree string) string {
	var doc struct {
		Stmts []struct {
			Stmt map[string]json.RawMessage `json:"stmt"`
		} `json:"stmts"`
	}
	require.NoError(t, json.Unmarshal([]byte(tree), &doc))
	if len(doc.Stmts) == 0 {
		return "no statement"
	}
	for _, s := range doc.Stmts {
		for kind, body := range s.Stmt {
			if !oracleAllowedStatements[kind] {
				return "statement " + kind
			}
			if kind == "VariableSetStmt" {
				var v struct{ Kind, Name string }
				require.NoError(t, json.Unmarshal(body, &v))
				if v.Kind == "VAR_RESET_ALL" || oracleForbiddenSettings[strings.ToLower(v.Name)] {
					return "SET " + v.Name
				}
			}
			if kind == "SelectStmt" && strings.HasPrefix(string(body), `{"intoClause"`) {
				return "SELECT INTO"
			}
		}
	}
	for _, m := range oracleFuncname.FindAllStringSubmatch(tree, -1) {
		names := oracleSval.FindAllStringSubmatch(m[1], -1)
		if last := strings.ToLower(names[len(names)-1][1]); oracleDangerousCalls[last] {
			return "call " + last
		}
	}
	return ""
}

// FuzzValidate: Validate never panics, is deterministic, and never passes a
// script that does not parse or that holds a forbidden statement or call.
func FuzzValidate(f *testing.F) {
	for _, tc := range validateCases {
		f.Add(tc.sql)
	}
	f.Add("SELECT 1; DROP TABLE x")
	f.Add("select/**/pg_read_file('x')")
	f.Add(`SELECT "pg_catalog"."pg_sleep"(1)`)
	f.Add("WITH RECURSIVE r AS (SELECT 1 UNION ALL SELECT 1 FROM r) SELECT * FROM r")
	f.Fuzz(func(t *testing.T, sql string) {
		r := Validate(sql, opsRules())
		require.Equal(t, r, Validate(sql, opsRules()), "Validate must be deterministic")
		require.Equal(t, len(r.Violations) == 0, r.Passed)
		for _, v := range r.Violations {
			require.True(t, v.Location >= 0 && v.Location <= len(sql), "location %d out of range", v.Location)
		}
		if !utf8.ValidString(sql) || strings.IndexByte(sql, 0) >= 0 {
			require.False(t, r.Passed, "unsafe input accepted")
			return
		}
		tree, err := pg.ParseToJSON(sql)
		if err != nil {
			require.False(t, r.Passed, "a script that does not parse passed")
			return
		}
		if why := oracleForbidden(t, tree); why != "" {
			require.False(t, r.Passed, "forbidden %s accepted", why)
		}
	})
}
