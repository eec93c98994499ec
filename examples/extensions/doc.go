// Package extensions holds example plug-ins for the extension points of
// CFA v2 (whitepaper section 9, package extension), each a small package a
// deployment can copy into its own module: their code imports only the
// public packages extension, worker and db.
//
//   - denylist is a policy_engine.external_compliance_validator: it refuses
//     any intent touching a dataset on a deny list (a legacy compliance
//     system's embargo list) with one LEGACY_EMBARGO fault per dataset.
//   - jsonlaudit is an audit_trail.storage_backend: it wraps another
//     AuditStorage (the shipped Postgres store, which seals the chain) and
//     mirrors each receipt as one line of the JSONL export format.
//   - cmd/custom-worker is a worker binary with both: it builds an
//     extension.Points and calls worker.Run.
//
// Build the custom worker with
//
//	go build ./examples/extensions/cmd/custom-worker
//
// This package's tests run both plug-ins through the real intent workflow
// and activities over a Postgres database of their own (README.md).
package extensions
