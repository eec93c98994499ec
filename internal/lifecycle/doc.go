// Package lifecycle is the Promotion Engine's evaluation, step 18 of the
// whitepaper's end-to-end flow: "Lifecycle evaluation — IFo + IFs + IFg +
// IDI by hash", guarded by I8 (reproducibility).
//
// Whitepaper 5.12:
//
//	promotion_policy:
//	  min_executions: 3 # minimum number of successful executions
//	  evaluation_window: last_7_days # within this window
//	  thresholds:
//	    IFo: 0.75
//	    IFs: 0.90
//	    IFg: 1.0 # binary — no exception
//	  gate: IFo >= T1 AND IFs >= T2 AND IFg = 1 AND executions >= min_executions
//	  promotion_unit:
//	    type: intent_signature_hash # hash of the State Signature — avoids promoting lookalikes
//
// and 5.11: "IDI below 0.75 → drift detected → skill goes directly to the
// watchlist; IDI below 0.50 → severe drift → immediate demotion", with the
// evaluation_window chosen by domain (fiscal last_3_days, master_data
// last_30_days, default last_7_days).
//
// Evaluate takes the execution just decided (step 17) and the history of
// its promotion_unit and returns the Evaluation: the four indices over the
// window, the gate's outcome and the first reason it failed. The scoring
// rules are documented where they are computed (scores.go, evaluate.go).
//
// Pure and deterministic: no clock (the window ends at the current
// execution's decided_at), no SQL, no Temporal; executions are ordered by
// (decided_at, intent_id) before anything is summed, so the result does not
// depend on the order of the history, and every score is rounded to four
// decimals so it prints and hashes the same everywhere.
package lifecycle
