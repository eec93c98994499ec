// Package codegen turns an execution plan into code for one backend (issue 3,
// component 4), the input of Static Validation (whitepaper 5.6):
//
//	static_analysis:
//	  required_patterns:
//	    - filter(  # mandatory temporal predicate
//	    - merge(   # append direto proibido em Silver
//	  schema_contract:
//	    expected_columns: [nfe_id, cpf_hash, processing_date]
//	    forbidden_columns: [cpf, email]
//
// and the idempotence the Planner promises (5.5): "On retry or re-execution
// after partial failure, the system must not duplicate data".
//
// Postgres renders one SQL script (a CTE per step, then MERGE on the plan's
// deterministic key or DELETE + INSERT of the partition window), and
// Postgres.StaticRules the staticcheck.Rules that script is validated
// against. DBT renders an incremental dbt model with a schema.yml contract.
// A publish-only plan runs nothing: comments only, or a dbt source. Both check the plan's
// hash and every identifier and literal against the catalog before writing a
// byte; identifiers are quoted as pgx.Identifier.Sanitize quotes them, dates
// are emitted as DATE 'YYYY-MM-DD' after validation, and no user text is ever
// concatenated into code. Output is byte-identical for identical inputs (I8).
// A micro_batch plan renders one script per time_window unit, a
// cross_dataset_atomic plan one per target (UnitFile, UnitFiles); window
// bounds are emitted as TIMESTAMP 'YYYY-MM-DD HH:MM:SS' after validation.
// A read plan renders as one SELECT (read.go): Postgres runs it read only,
// dbt compiles it as an analysis.
// Decisions are recorded in docs/adr/0061 to 0063, 0073, 0132, 0133, 0137
// and 0138.
package codegen
