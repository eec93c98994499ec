// Package projection implements the State Projection Protocol (whitepaper
// 5.10), step 16 of section 7, and the I4 gate on a failed projection:
//
//	state_projection:
//	  trigger: post_runtime_validation # occurs after validation, before the next intent
//	  inputs:
//	    - partial_execution_state
//	    - execution_metadata
//	  scope:
//	    - dataset_state
//	    - partition_availability
//	    - publish_allowed
//	    - quarantined_units
//	    - pending_partitions
//	  rules:
//	    - if overall_state == "partially_committed":
//	        dataset.state = "partially_committed"
//	        publish_allowed = false
//	    - if failed_units exist:
//	        dataset.pending_units = failed_units
//	    - if policy.mode == "selective_quarantine":
//	        dataset.quarantined_units = failed_units
//	  atomicity: required
//	  on_projection_failure:
//	    action: block_next_intent
//	    reason: environment_state_uncertain
//
// I4: "Every partial_execution_state must be projected into the Context
// Registry before the next intent is processed. If projection fails, the
// next intent is blocked until the environment is consistent."
// I7: "No dataset in state partially_committed may be published as
// trusted. The publish_allowed flag is managed by the State Projection
// Protocol and is only released after complete resolution of the pending
// units."
//
// Project computes the next snapshot copy-on-write (5.9 versioning,
// docs/adr/0041): untouched datasets are carried over unchanged, each
// touched one is the previous entry merged with this execution's units
// (docs/adr/0087), the list is sorted by name, and one execution_history
// entry is added. The caller commits it in one transaction
// (atomicity: required) and releases the scope lock in the same step
// (concurrency.AfterStateProjectionConfirmed). If the commit fails,
// MarkFailed records the uncertainty and CheckCertain blocks the next
// intent on a conflicting scope with ENVIRONMENT_STATE_UNCERTAIN until the
// marker is resolved (docs/adr/0088).
//
// A panic rollback projects nothing (5.8 post_panic projection_allowed:
// false; I6 takes precedence over I4): the workflow does not call Project
// then.
//
// Pure: no clock (Input.Now), no SQL, no Temporal.
package projection
