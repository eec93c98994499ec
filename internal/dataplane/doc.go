// Package dataplane is the demo's data on Postgres (issue 4, component 1):
// the tables the generated SQL reads and writes, the staging and quarantine
// copies a consistency unit writes into, the published views downstream
// readers use, a deterministic generator of bronze data, the sandbox role a
// unit runs under, and the metrics Runtime Validation reads.
//
// Unlike the domain packages it runs SQL: it is the executor's side of the
// database, next to db/ (the control plane's migrations and queries).
//
// Whitepaper 5.8 Partial Execution State, publish semantics:
//
//	publish_semantics:
//	  definition: dataset_visible_and_trusted_for_downstream_consumption
//	  states:
//	    - committed_not_published  # data written, not available downstream
//	    - published                # data available and trusted
//	    - degraded                 # available with declared restrictions (degraded_publish)
//	  write_vs_publish:
//	    distinction: it is possible to have write without publish — never publish without write
//
// Whitepaper 5.7 Runtime Validation, the metrics this package measures:
//
//	runtime_metrics:
//	  max_rows_output: 10_000_000
//	  max_null_ratio: 0.05 # 5%
//	  expected_output_range: {min: 1_000, max: 10_000_000}
//	  schema_drift_detection: true
//
// Layout (docs/adr/0090 to 0094):
//
//	bronze.<d>, silver.<d>, gold.<d>   one table per catalog dataset (Ensure)
//	staging.<t>, quarantine.<t>        per silver/gold dataset, plus cfa_* unit columns
//	silver_published.<t>, gold_published.<t>
//	                                   views: only partitions public.cfa_publication
//	                                   marks published or degraded
//	cfa_sbx_<db>_<target>_<scope>      NOLOGIN role per plan scope (EnsureSandboxRole), made by
//	                                   cfa_ensure_sandbox_role, become by the sandbox login (ADR 0114)
//
// A unit runs the plan's script, redirected by RedirectToStaging and its
// reads narrowed to its partition by NarrowToPartition (docs/adr/0140), in
// its own transaction on the sandbox login after BeginUnit; ReportUnit
// measures and fingerprints what it staged; Promote and Quarantine then
// move its staged rows as the worker, which owns the data plane, and
// SetPublication records what readers may see.
package dataplane
