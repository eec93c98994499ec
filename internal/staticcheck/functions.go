package staticcheck

import "strings"

// deniedFunctions reach the server's files, other servers, other sessions,
// configuration, or run SQL text that static validation never saw. Names are
// compared case-folded and whatever the schema (ADR 0067).
var deniedFunctions = map[string]bool{
	// server files
	"pg_read_file": true, "pg_read_binary_file": true, "pg_stat_file": true,
	"pg_file_write": true, "pg_file_rename": true, "pg_file_unlink": true,
	"pg_file_sync": true, "pg_logdir_ls": true,
	"lo_import": true, "lo_export": true,
	// sessions, timing and server control
	"pg_sleep": true, "pg_sleep_for": true, "pg_sleep_until": true,
	"pg_terminate_backend": true, "pg_cancel_backend": true,
	"pg_reload_conf": true, "pg_rotate_logfile": true, "pg_promote": true,
	"pg_switch_wal": true, "pg_create_restore_point": true,
	"pg_logical_emit_message": true, "pg_notify": true,
	"set_config": true,
	// dynamic SQL: run a query given as text
	"query_to_xml": true, "query_to_xmlschema": true, "query_to_xml_and_xmlschema": true,
	"cursor_to_xml": true, "cursor_to_xmlschema": true,
	"table_to_xml": true, "table_to_xmlschema": true, "table_to_xml_and_xmlschema": true,
	"schema_to_xml": true, "schema_to_xmlschema": true, "schema_to_xml_and_xmlschema": true,
	"database_to_xml": true, "database_to_xmlschema": true, "database_to_xml_and_xmlschema": true,
	"ts_stat": true,
}

// deniedPrefixes cover function families: dblink and dblink_*, directory
// listings, large objects (server-side file I/O), replication slots.
var deniedPrefixes = []string{
	"dblink", "pg_ls_", "pg_read_", "lo_", "pg_file_",
	"pg_create_logical_replication_slot", "pg_create_physical_replication_slot",
	"pg_drop_replication_slot", "pg_replication_origin_", "pg_stat_reset",
}

// denied reports whether the (case-folded) function name is on the deny list.
func denied(name string) bool {
	n := strings.ToLower(name)
	if deniedFunctions[n] {
		return true
	}
	for _, p := range deniedPrefixes {
		if strings.HasPrefix(n, p) {
			return true
		}
	}
	return false
}

// maskingFunctions turn a raw PII value into one that may be written
// (sha256(cpf) AS cpf_hash). Anything else keeps the value raw (ADR 0069).
var maskingFunctions = map[string]bool{
	"sha224": true, "sha256": true, "sha384": true, "sha512": true,
	"md5": true, "digest": true, "hmac": true,
}
