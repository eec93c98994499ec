package concurrency_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/concurrency"
)

const sd = "silver_documentos"

func held(id string, seq int64, s concurrency.Scope) concurrency.Request {
	return concurrency.Request{IntentID: id, Scope: s, Seq: seq, Held: true}
}

func waiting(id string, seq int64, s concurrency.Scope) concurrency.Request {
	return concurrency.Request{IntentID: id, Scope: s, Seq: seq}
}

func TestBlockersAndNext(t *testing.T) {
	t.Parallel()
	ds := concurrency.DatasetScope(sd)
	p1 := concurrency.PartitionScope(sd, "2026-01-01")
	p2 := concurrency.PartitionScope(sd, "2026-01-02")
	other := concurrency.DatasetScope("clientes_anon")
	cases := []struct {
		name     string
		active   []concurrency.Request
		intent   string
		blockers []int64 // Seq of the blockers of intent
		next     []string
	}{
		{"alone: nothing blocks", []concurrency.Request{waiting("a", 1, ds)}, "a", nil, []string{"a"}},
		{"held scope blocks a later waiter", []concurrency.Request{held("a", 1, ds), waiting("b", 2, ds)}, "b", []int64{1}, nil},
		{"held partition blocks a dataset waiter", []concurrency.Request{held("a", 1, p1), waiting("b", 2, ds)}, "b", []int64{1}, nil},
		{"held dataset blocks a partition waiter", []concurrency.Request{held("a", 1, ds), waiting("b", 2, p2)}, "b", []int64{1}, nil},
		{"different partitions run side by side", []concurrency.Request{held("a", 1, p1), waiting("b", 2, p2)}, "b", nil, []string{"b"}},
		{"different datasets run side by side", []concurrency.Request{held("a", 1, ds), waiting("b", 2, other)}, "b", nil, []string{"b"}},
		{"FIFO: an earlier waiter blocks a later one", []concurrency.Request{held("a", 1, p1), waiting("b", 2, ds), waiting("c", 3, p2)}, "c", []int64{2}, nil},
		{"a held request blocks even an earlier-sequenced waiter", []concurrency.Request{waiting("b", 1, p1), held("a", 2, p1)}, "b", []int64{2}, nil},
		{"all or nothing: one blocked scope holds the whole intent", []concurrency.Request{held("a", 1, p1), waiting("b", 2, p2), waiting("b", 3, p1)}, "b", []int64{1}, nil},
		{"next lists every grantable waiter in queue order", []concurrency.Request{
			waiting("c", 5, other), held("a", 1, p1), waiting("b", 2, p2), waiting("d", 6, p2),
		}, "d", []int64{2}, []string{"b", "c"}},
		{"a holder has no blockers", []concurrency.Request{held("a", 1, ds), waiting("b", 0, ds)}, "a", nil, nil},
		{"an unknown intent has no blockers", []concurrency.Request{held("a", 1, ds)}, "z", nil, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var seqs []int64
			for _, b := range concurrency.Blockers(tc.intent, tc.active) {
				seqs = append(seqs, b.Seq)
			}
			require.Equal(t, tc.blockers, seqs)
			require.Equal(t, tc.next, concurrency.Next(tc.active))
		})
	}
}

// TestNextNeverGrantsConflictingIntents replays a FIFO queue of 20 intents
// over one dataset and its partitions, granting Next and releasing the
// oldest holder each round: no two holders ever conflict, every intent is
// served, and intents on a conflicting scope are served in enqueue order.
func TestNextNeverGrantsConflictingIntents(t *testing.T) {
	t.Parallel()
	scopes := []concurrency.Scope{
		concurrency.DatasetScope(sd), concurrency.PartitionScope(sd, "2026-01-01"),
		concurrency.PartitionScope(sd, "2026-01-02"), concurrency.PartitionScope(sd, "2026-01-01"),
	}
	var active []concurrency.Request
	for i := range 20 {
		active = append(active, waiting(string(rune('a'+i)), int64(i+1), scopes[i%len(scopes)]))
	}
	var served []concurrency.Request
	for round := 0; len(active) > 0; round++ {
		require.Less(t, round, 100, "the queue must drain")
		for _, id := range concurrency.Next(active) {
			for i := range active {
				if active[i].IntentID == id {
					active[i].Held = true
				}
			}
		}
		var holders []concurrency.Request
		for _, r := range active {
			if r.Held {
				holders = append(holders, r)
			}
		}
		require.NotEmpty(t, holders, "a non-empty queue always has a holder")
		for i := range holders {
			for j := i + 1; j < len(holders); j++ {
				require.False(t, concurrency.Conflicts(holders[i].Scope, holders[j].Scope), "%s and %s held together", holders[i].IntentID, holders[j].IntentID)
			}
		}
		oldest := holders[0]
		for _, h := range holders {
			if h.Seq < oldest.Seq {
				oldest = h
			}
		}
		served = append(served, oldest)
		active = removeIntent(active, oldest.IntentID)
	}
	require.Len(t, served, 20)
	for i := range served {
		for j := i + 1; j < len(served); j++ {
			if concurrency.Conflicts(served[i].Scope, served[j].Scope) {
				require.Less(t, served[i].Seq, served[j].Seq, "conflicting intents served out of enqueue order")
			}
		}
	}
}

func removeIntent(rs []concurrency.Request, id string) []concurrency.Request {
	var out []concurrency.Request
	for _, r := range rs {
		if r.IntentID != id {
			out = append(out, r)
		}
	}
	return out
}

func TestAdmit(t *testing.T) {
	t.Parallel()
	blocker := []concurrency.Request{held("a", 1, concurrency.DatasetScope(sd))}
	cases := []struct {
		name     string
		mode     concurrency.ConflictResolution
		blockers []concurrency.Request
		want     concurrency.Admission
	}{
		{"free scope is acquired in queue mode", concurrency.OnConflictQueue, nil, concurrency.Acquire},
		{"free scope is acquired in reject mode", concurrency.OnConflictReject, nil, concurrency.Acquire},
		{"queue waits", concurrency.OnConflictQueue, blocker, concurrency.Queue},
		{"reject is blocked at once", concurrency.OnConflictReject, blocker, concurrency.Reject},
		{"unset mode is the default, queue", "", blocker, concurrency.Queue},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, concurrency.Admit(tc.mode, tc.blockers))
		})
	}
}

func TestParseConflictResolution(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]concurrency.ConflictResolution{"": concurrency.OnConflictQueue, "queue": concurrency.OnConflictQueue, "reject": concurrency.OnConflictReject} {
		got, err := concurrency.ParseConflictResolution(in)
		require.NoError(t, err)
		require.Equal(t, want, got)
	}
	_, err := concurrency.ParseConflictResolution("wait")
	require.ErrorContains(t, err, `write "queue"`)
}
