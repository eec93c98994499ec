package concurrency

import (
	"cmp"
	"fmt"
	"slices"
)

// ConflictResolution is conflict_resolution.on_conflict.
type ConflictResolution string

// The on_conflict values.
const (
	// OnConflictQueue: the second intent waits for the scope to be released
	// (FIFO). The default: "recommended for batch because it avoids losing
	// work".
	OnConflictQueue ConflictResolution = "queue"
	// OnConflictReject: the second intent receives blocked immediately.
	OnConflictReject ConflictResolution = "reject"
)

// DefaultOnConflict is the on_conflict used when none is declared.
const DefaultOnConflict = OnConflictQueue

// ParseConflictResolution reads an on_conflict value; "" is the default,
// queue.
func ParseConflictResolution(s string) (ConflictResolution, error) {
	switch ConflictResolution(s) {
	case "":
		return DefaultOnConflict, nil
	case OnConflictQueue, OnConflictReject:
		return ConflictResolution(s), nil
	}
	return "", fmt.Errorf("on_conflict %q: write %q (wait, the default) or %q (blocked at once)", s, OnConflictQueue, OnConflictReject)
}

// Request is one active (held or waiting) scope request, as a row of
// scope_locks that is not released.
type Request struct {
	IntentID string `json:"intent_id"`
	Scope    Scope  `json:"scope"`
	// Seq is the enqueue sequence (scope_locks.id), unique per request:
	// smaller is earlier.
	Seq  int64 `json:"seq"`
	Held bool  `json:"held"`
}

// Blockers returns the active requests of other intents that come before
// intentID's waiting requests, in Seq order: those on a conflicting scope
// that are held, or waiting with a smaller Seq. An intent that holds its
// scopes, or has no request, has no blockers. This is the FIFO rule of
// db's ScopeBlockers query: an earlier waiter is never overtaken on a
// conflicting scope, even by a request that could run beside the holder.
func Blockers(intentID string, active []Request) []Request {
	var out []Request
	seen := map[int64]bool{}
	for _, m := range active {
		if m.IntentID != intentID || m.Held {
			continue
		}
		for _, o := range active {
			if o.IntentID == intentID || seen[o.Seq] || !Conflicts(m.Scope, o.Scope) {
				continue
			}
			if o.Held || o.Seq < m.Seq {
				seen[o.Seq] = true
				out = append(out, o)
			}
		}
	}
	slices.SortFunc(out, func(a, b Request) int { return cmp.Compare(a.Seq, b.Seq) })
	return out
}

// Next returns the intents whose waiting requests can all be granted now
// (they have no Blockers), ordered by their earliest Seq. An intent's
// scopes are granted together, all or nothing, so two intents never
// deadlock on each other's partitions. The intents Next returns never
// conflict with one another: of two conflicting waiters the later one is
// blocked by the earlier.
func Next(active []Request) []string {
	first := map[string]int64{}
	var waiting []string
	for _, r := range active {
		if r.Held {
			continue
		}
		if s, ok := first[r.IntentID]; !ok || r.Seq < s {
			if !ok {
				waiting = append(waiting, r.IntentID)
			}
			first[r.IntentID] = r.Seq
		}
	}
	var out []string
	for _, id := range waiting {
		if len(Blockers(id, active)) == 0 {
			out = append(out, id)
		}
	}
	slices.SortFunc(out, func(a, b string) int { return cmp.Or(cmp.Compare(first[a], first[b]), cmp.Compare(a, b)) })
	return out
}

// Admission is what happens to an intent's request given its blockers.
type Admission string

// The admissions.
const (
	Acquire Admission = "acquire" // no blocker: the scopes are granted
	Queue   Admission = "queue"   // blocked, on_conflict queue: wait for a release
	Reject  Admission = "reject"  // blocked, on_conflict reject: the intent is blocked at once
)

// Admit applies conflict_resolution to an intent's blockers (from
// Blockers): none → Acquire; otherwise Queue or Reject by mode ("" is
// queue). The step 3 lock check and the step 11 acquisition both use it.
func Admit(mode ConflictResolution, blockers []Request) Admission {
	switch {
	case len(blockers) == 0:
		return Acquire
	case mode == OnConflictReject:
		return Reject
	}
	return Queue
}
