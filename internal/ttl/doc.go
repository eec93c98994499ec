// Package ttl implements the TTL and Obsolete State Policy of whitepaper
// 5.9:
//
//	"The Context Registry may accumulate obsolete state indefinitely. A
//	dataset marked as partially_committed for weeks, with no new execution
//	over it, continues to block publication without ever being resolved —
//	silently poisoning future intents."
//
//	ttl_policy:
//	  partially_committed:
//	    ttl_days: 7 # after 7 days without resolution
//	    on_expiry:
//	      action: transition_to_stale
//	      notify: true # gera evento no Audit Trail
//	  quarantined:
//	    ttl_days: 30 # long quarantine — requires manual review
//	    on_expiry:
//	      action: escalate_to_manual_review
//	      block_dependent_intents: true
//	  stale:
//	    definition: state not updated beyond the TTL without declared resolution
//	    behavior:
//	      new_intent_on_stale_dataset: hard_confirmation_required
//	      publish_blocked: true
//	    audit_event: CONTEXT_STATE_STALE
//
// Sweep, given a committed snapshot and now, returns the transitions due:
// a partially_committed entry older than 7 days becomes stale (the entries
// to commit on top of the snapshot, and the CONTEXT_STATE_STALE event to
// audit); a quarantined entry older than 30 days is escalated to manual
// review. Age is measured from the entry's updated_at, the last time its
// state changed, and "beyond" is strict (docs/adr/0089). A sweep is
// idempotent: once its stale entries are committed and its escalations
// recorded, a second sweep at the same now returns nothing.
//
// CheckIntent gives a new intent its obligations on the datasets it
// touches: hard confirmation and no publication on a stale dataset, and a
// block while a quarantine past its TTL awaits manual review.
//
// Pure: no clock (now is passed in), no SQL, no Temporal; results are in
// dataset-name order.
package ttl
