// Package audit implements the Audit Trail (whitepaper 5.15): typed events
// per stage, correlated by intent_id, versioned by policy_bundle, each shaped
// as a CFS Receipt and chained with SHA-256 so tampering is detectable.
//
// Whitepaper 5.15: "Immutable record of all decision events. It is not
// conventional logging. These are typed events, correlated by intent_id and
// versioned by policy_bundle." "Immutable after write. Causally ordered by
// intent_id, not merely chronologically."
//
//	audit_trail:
//	  immutability: append_only
//	  ordering: causal_order
//	  guarantees:
//	    - no_event_reordering # event A that caused B always appears before B
//	    - immutable_after_write
//	    - complete_per_intent # every intent_id has both start and end recorded
//
// CFS 0.1 Receipt: "bytes prev_hash = 7; // Chain to previous receipt" and
// "bytes integrity = 8; // Hash for tamper detection". SHOULD-001:
// "Implementations SHOULD maintain a merkle tree of receipts for
// tamper-evident audit trails."
//
// Seal turns an Event into a Receipt at a chain position, hashing the
// canonical encoding written by encode.go (SealParts splits it for a store
// that finishes the seal at the head); Verify and CompletePerIntent check a
// chain, and a Verifier does it one receipt at a time; WriteJSONL and
// ReadJSONL (ScanJSONL, VerifyJSONL when streaming) are the export format;
// MerkleRoot and InclusionProof are the SHOULD-001 tree.
// Design: docs/adr/0032 (chain), 0033 (JSONL), 0034 (Merkle), 0139
// (encoder, streaming).
package audit
