// Package contextplane maps the Context Registry onto the CFS context
// plane: dataset states, partitions, executions, skills and plans become
// CFS Records with deterministic ids, and the lineage of an execution
// becomes Links. It also holds the pure parts of the Read protocol: the
// query languages, the field mask and the query cursor. No SQL, no clock.
//
// Whitepaper 5.9, Context Registry: "It is not an execution log — it is a
// living model of the state of the environment. It represents not only
// 'what was done' but also 'what state what was done is now in'." and
// "The Context Registry requires explicit versioning. Without it, there is
// no temporal consistency".
//
// CFS 0.1, MUST-003 Bitemporal Semantics: "Links and versioned data MUST
// support AS-OF queries on both valid-time and system-time axes."
// MUST-004 Append-Only History: "Corrections MUST append new records, never
// mutate existing ones. System intervals MUST only close, never reopen."
//
// Record ids (a version chain is one id, docs/adr/0147):
//
//	dataset:<name>                 labels [dataset]
//	partition:<dataset>/<partition> labels [partition]
//	execution:<intent_id>          labels [execution]
//	skill:<key>                    labels [skill]
//	plan:<plan hash>               labels [plan]
//
// Link ids: lineage:<intent_id>:<type>:<target record id>, with types
// planned_by (execution → plan), reads and writes (execution → dataset).
package contextplane
