// Package runtimevalidation implements Runtime Validation (whitepaper 5.7):
// it judges the measured behaviour of one consistency unit in the Sandbox
// against the runtime_metrics limits and the load's schema contract, and
// reports Runtime Behavioral Faults (5.13). It is pure: no clock, no I/O, no
// map-order dependence; the same input always gives the same report.
//
// Whitepaper 5.7 Runtime Validation:
//
//	"Validates the actual runtime behavior of the execution in the Sandbox.
//	Detects violations that are only visible with real data. Belongs to the
//	Runtime Behavioral Faults family."
//
//	runtime_metrics:
//	  max_rows_output: 10_000_000
//	  max_shuffle_size_mb: 500
//	  max_null_ratio: 0.05 # 5%
//	  expected_output_range:
//	    min: 1_000
//	    max: 10_000_000
//	  schema_drift_detection: true
//	  cost_ceiling_dbu: 50
//
// Whitepaper 5.13, Runtime Behavioral Faults ("cardinality drift, excessive
// shuffle, schema divergence"): detected in Runtime Validation, owned by
// Sandbox / Observability, action "quarantine, rollback, or partial state".
// Which of the three applies is the Partial Failure Policy's decision
// (package partialexecution); this package only says which units failed.
//
// Scope of each limit (per unit or per execution), which faults fail a unit
// and which only warn: docs/adr/0080 and 0081.
package runtimevalidation
