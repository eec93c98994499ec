// Package composite implements the Composite Intent Model (whitepaper 5.4):
//
//	"Composite intents are decomposed into sub-intents with explicit
//	dependencies. In the conceptual model this is represented as an Intent
//	Graph; in implementation, this capability may be absorbed internally by
//	the Execution Planner."
//
//	intent_graph:
//	  root_intent: fiscal_reconciliation_publish
//	  sub_intents:
//	    - id: ingest_nfe
//	    - id: anonymize_client_master
//	    - id: reconcile_documents
//	    - id: aggregate_by_state
//	    - id: publish_audit_view
//	  dependencies:
//	    - ingest_nfe -> reconcile_documents
//	    - anonymize_client_master -> reconcile_documents
//	    - reconcile_documents -> aggregate_by_state
//	    - aggregate_by_state -> publish_audit_view
//	  shared_context:
//	    consistency_unit: partition
//	    key: processing_date
//
// and the closed consistency_unit enum of 5.5 (partition, dataset,
// dag_branch, time_window), whose selection rule "if composite_intent ==
// true: dag_branch" this package reads as the failure scope of a composite:
// a failed sub-intent stops only its dependents (Blocked), its siblings go
// on. shared_context keeps the unit the sub-intents share, as the
// whitepaper's example does (docs/adr/0072).
//
// This package is the pure part: the graph model, strict YAML parsing with
// line-numbered errors (Parse), validation (Validate: identifiers, dangling
// and duplicate dependencies, self-dependencies, cycles named by their path)
// and the scheduling order (Levels, Ready, Dependents, Blocked). Running each
// sub-intent as a child workflow belongs to workflows/. Every result is
// sorted, so the same graph gives the same answers whatever the order of its
// YAML entries (I8).
package composite
