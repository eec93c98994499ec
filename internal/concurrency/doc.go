// Package concurrency implements the Concurrency Control of whitepaper
// section 10:
//
//	concurrency_control:
//	  model: single_active_intent_per_target_scope
//	  scope_definition:
//	    - dataset
//	    - dataset_partition
//	  lock:
//	    acquisition: before_pre_execution_revalidation # step 10 in the flow
//	    release: after_state_projection_confirmed     # step 15 in the flow
//	  conflict_resolution:
//	    on_conflict: queue # queue | reject
//	    # queue: second intent waits for the scope to be released
//	    # reject: second intent receives blocked immediately
//	  locking:
//	    type: optimistic
//	    validation: pre_execution_revalidation
//
//	"The queue mode is the recommended default for batch because it avoids
//	losing work."
//
// The comments "step 10" and "step 15" predate the 19-step table of
// section 7, where the lock is acquired at step 11 (before revalidation,
// step 12) and released with the projection at step 16; the named points
// are what count, and section 7 is followed.
//
// A Scope is a whole dataset or one partition of it; a dataset scope
// covers every partition of that dataset, so it conflicts with each of them
// (Conflicts). ScopesFor derives an intent's target scopes from plain inputs
// (the datasets it writes, their partition key, the partition values or
// the [from, to) date window it covers). The FIFO queue itself lives in
// Postgres (db.AcquireScopes, the ScopeBlockers query), where grants are
// made atomically. docs/adr/0085 records the decisions.
//
// Everything is pure: no clock, no SQL, no Temporal, no map-order
// dependence.
package concurrency
