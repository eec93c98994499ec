// Package lineage derives OpenLineage run events (spec 2-0-2) from an
// intent's audit trail: what an executed intent read and wrote, its
// columns' lineage, and the CFA decision behind it, for a lineage server
// such as Marquez or DataHub (docs/lineage.md, docs/adr/0119).
//
// It is pure: Read takes an intent's receipts (the sealed audit events, in
// any order), Events turns what they say into run events with the catalog
// and the plan that ran. The same receipts, catalog, plan and Options give
// the same events, byte for byte, so an event can always be derived again
// from the chain, which stays the record.
//
// The mapping (one OpenLineage run per executed intent; its runId is
// derived from the intent id):
//
//   - START: the units are about to run, PRE_EXECUTION_REVALIDATION with
//     outcome proceed; for a publish-only intent, ENVIRONMENT_UPDATE with
//     outcome published (the publication is its execution).
//   - COMPLETE, FAIL or ABORT: the DECISION of an intent that started.
//     COMPLETE when the decision lets what depends on the intent go on
//     (approved, approved_with_warnings, promotion_candidate:
//     decision.Succeeded); ABORT when the intent was cancelled (fault
//     INTENT_CANCELLED); FAIL for every other decision (blocked, including
//     a stage interrupted by an outage, rolled_back, quarantined,
//     partially_committed).
//   - Nothing for an intent that never reached execution: blocked before
//     it, a dry run, an intent that reads and writes no dataset, a
//     composite parent (each of its sub-intents is an intent of its own),
//     a TTL sweep, an operator action. Their governance is in the audit
//     trail; lineage describes data that moved. A read (docs/adr/0132)
//     runs: its events name the datasets it read and no output.
package lineage
