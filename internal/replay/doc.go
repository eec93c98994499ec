// Package replay proves I8 for one intent: it runs the governed flow
// again from what the audit trail recorded, and compares what it gets
// with what was recorded, byte for byte.
//
// Whitepaper section 6, I8 (verifiable reproducibility):
//
//	"Every execution must be reproducible with exactly the same results
//	from the same inputs: user_intent + context_registry.version_id +
//	policy_bundle_version + catalog_snapshot_version. If the Audit Trail
//	and the Signatures execution_context do not allow exact re-execution,
//	the execution violates I8 and the skill is permanently blocked from
//	promotion."
//
// and 5.2: "With it [execution_context] embedded in the Signature, the
// system can reproduce any historical execution with the policies and
// catalog that were in force at that moment, not merely explain what
// happened."
//
// Replay takes a Record (the intent's trail, its planning records, and the
// registry snapshots, policy bundles and catalogs its execution_context
// names, loaded by version: db.Store.ReplayRecord) and re-runs, with the
// same kernel the stage activities run (internal/kernel), resolution,
// signing, governance with its replans, the pre-cost verdict, planning,
// code generation, static validation, the partial failure policy and the
// Decision Engine. What the flow asked outside itself is taken from the
// record as an answer: the humans' confirmations, the extension points'
// answers, the pre-cost estimate of a backend or of the cost history, and
// what the environment said (scope locks, I4, the TTL policy, the units'
// runtime reports, the projection, the promotion evaluation). Where the
// two runs part, Result names the first difference with both values; the
// exact boundary is docs/adr/0127. Nothing here reads a clock, a database
// or a map in unspecified order.
package replay
