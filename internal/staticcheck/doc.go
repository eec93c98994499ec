// Package staticcheck implements Static Validation (whitepaper 5.6): the
// generated SQL is parsed with the real Postgres parser (pg_query_go, the
// parser sqlc uses) and its syntax tree is checked before anything runs.
// Comments, string literals and dollar-quoted bodies never reach the checks,
// because they are not statements or calls in the tree.
//
// Whitepaper 5.6 Static Validation:
//
//	"Analysis of the generated code before execution. Detects violations
//	that can be identified without running the job. Belongs to the Static
//	Safety Faults family."
//
//	static_analysis:
//	  forbidden_tokens:
//	    - collect()
//	    - toPandas()
//	    - crossJoin()
//	    - cpf    # PII raw
//	    - email  # PII raw
//	  required_patterns:
//	    - filter(  # mandatory temporal predicate
//	    - merge(   # append direto proibido em Silver
//	  schema_contract:
//	    expected_columns: [nfe_id, cpf_hash, processing_date]
//	    forbidden_columns: [cpf, email]
//
// Whitepaper 5.13 Fault Model, Static Safety Faults: detected in Static
// Validation, owned by the code analysis layer, action "immediate block, no
// execution". Every Violation carries such a fault.Fault.
//
// The whitepaper's "tokens" are read as tree nodes for the Postgres backend:
// crossJoin() is a join without a predicate, filter( a bounding predicate on
// the temporal column, merge( a MERGE, ON CONFLICT or partition overwrite, and
// raw cpf/email a forbidden output column. A table with a signed window
// is read only inside it (ADR 0112). See ADRs 0065 to 0069.
package staticcheck
