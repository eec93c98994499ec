// Package revalidation implements Pre-execution Revalidation (TOCTOU),
// whitepaper 5.9 and step 12 of section 7:
//
//	pre_execution_revalidation:
//	  trigger: immediately_before_execution # after the lock is acquired, before the Sandbox
//	  checks:
//	    - context_registry.version_id # is the consulted snapshot still the latest_committed?
//	    - policy_bundle_version       # has policy not changed since the Signature?
//	    - catalog_snapshot_version    # has the catalog not changed since the Signature?
//	  on_mismatch:
//	    action: replan_or_abort
//	    reason: stale_environment_state
//	    counts_as_replan_attempt: true # counts toward the Policy Engine max_replan_attempts
//
// Revalidate compares the signature's execution_context with the versions
// in force once the scope lock is held (concurrency.BeforePreExecutionRevalidation)
// and returns Proceed, or Replan with every mismatch (field, signed value,
// current value) and a STALE_ENVIRONMENT_STATE fault. The comparison is
// strict: any new registry version_id forces a replan, even one whose
// projection touched none of the intent's datasets (docs/adr/0086).
//
// Pure: no clock, no SQL, no Temporal.
package revalidation
