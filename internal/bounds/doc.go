// Package bounds holds the ranges of every number and date an intent can
// carry: the fields of a State Signature, of a supplied execution plan, of
// a composite intent graph and the options of a run (whitepaper 5.2: the
// signature is "the formal contract that governs the entire remainder of
// the pipeline"; a contract with a negative window or a date that is not a
// date governs nothing).
//
// The checks are pure: they name each bad field by its path as the user
// wrote it (constraints.temporal_filter.last_days, replan, plan.window.to,
// sub_intents[3].signature.replan, unit_retry_base_seconds) and say what is
// allowed. The first stage that sees an input runs them, and a bad value
// blocks the intent with a Semantic Fault (whitepaper 5.13: "replan or
// block before execution"), code INTENT_VALUE_OUT_OF_BOUNDS, one per field
// (Vote): the workflow never fails on one. The limits are documented in
// the README (Limits) and docs/adr/0113.
package bounds
