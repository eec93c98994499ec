// Package partialexecution implements Partial Execution State (whitepaper
// 5.8): the fate of each consistency unit after execution, the
// partial_failure_policy's four modes, the retry_policy as data, the fixed
// sequence retry_failed_units → apply_partial_failure_policy → project_state
// (Flow), and Panic Rollback. It is pure: no Temporal, no SQL, no clock;
// units are sorted by dataset and key, so input order never changes output.
//
// Whitepaper 5.8 Partial Execution State:
//
//	partial_execution_state:
//	  overall_state: partially_committed
//	  consistency_unit:
//	    type: partition # partition | dataset | dag_branch | time_window
//	    key: processing_date
//	  successful_units:
//	    - dataset: nfe
//	      partitions: ["2026-01-01", "2026-01-02"]
//	    - dataset: clientes_anon
//	      partitions: ["2026-01-01", "2026-01-02"]
//	  failed_units:
//	    - dataset: nfe
//	      partitions: ["2026-01-03"]
//	      error_code: RUNTIME_SHUFFLE_LIMIT_EXCEEDED
//	      fault_family: runtime_behavioral
//	  consistency_policy:
//	    mode: selective_quarantine
//	    rollback_required: false
//	    publish_allowed: false
//
//	partial_execution_flow:
//	  sequence:
//	    - retry_failed_units
//	    - apply_partial_failure_policy
//	    - project_state
//
//	partial_failure_policy:
//	  mode: selective_quarantine
//	  allowed_partial_commit: true
//	  publish_on_partial_success: false
//	  rollback_scope: failed_consistency_unit_only
//	  promotion_eligible: false
//
//	retry_policy:
//	  enabled: true
//	  max_attempts: 3
//	  retry_scope: failed_consistency_units_only
//	  backoff: {strategy: exponential, base_seconds: 30}
//	  on_max_exceeded: {action: quarantine_failed_units, state: quarantined}
//
//	panic_rollback:
//	  triggers: [external_permission_revoked, compute_resource_unavailable,
//	             storage_quota_exceeded, policy_bundle_changed_mid_exec]
//	  action: immediate_interrupt_and_isolate
//	  scope: all_in_flight_consistency_units
//	  post_panic:
//	    state: quarantined
//	    projection_allowed: false
//	    audit_event: PANIC_ROLLBACK_TRIGGERED
//	    reason_required: true
//
// Invariant I7: no dataset in state partially_committed is published as
// trusted; publish_allowed is released only when no unit is pending.
// Invariant I6 (precedence over I4): a forbidden operation detected at run
// time quarantines everything before any projection.
//
// Decisions: docs/adr/0082 (retries), 0083 (modes, registry, votes), 0084
// (the enforced sequence and panic rollback).
package partialexecution
