package db_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/db"
)

func lockReq(intent string, mode string, scopes ...db.LockScope) db.LockRequest {
	return db.LockRequest{IntentID: intent, WorkflowID: "wf-" + intent, Scopes: scopes, OnConflict: mode}
}

func TestScopeLocksFIFOAndPartitions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := db.New(testDB.Pool)
	ds := "locks_fifo_" + fmt.Sprint(time.Now().UnixNano())
	p1, p2 := db.LockScope{Dataset: ds, Partition: "2026-01-01"}, db.LockScope{Dataset: ds, Partition: "2026-01-02"}
	whole := db.LockScope{Dataset: ds}

	st, err := s.AcquireScopes(ctx, lockReq("a-"+ds, "", p1))
	require.NoError(t, err)
	require.True(t, st.Held)
	again, err := s.AcquireScopes(ctx, lockReq("a-"+ds, "", p1))
	require.NoError(t, err)
	require.True(t, again.Held, "a retried acquisition is idempotent")

	st, err = s.AcquireScopes(ctx, lockReq("b-"+ds, "", p1))
	require.NoError(t, err)
	require.False(t, st.Held)
	require.Equal(t, "a-"+ds, st.Ahead[0].IntentID)
	require.True(t, st.Ahead[0].Held)

	st, err = s.AcquireScopes(ctx, lockReq("c-"+ds, "", p2))
	require.NoError(t, err)
	require.True(t, st.Held, "another partition of the same dataset is another scope")

	st, err = s.AcquireScopes(ctx, lockReq("d-"+ds, "", whole))
	require.NoError(t, err)
	require.False(t, st.Held, "a dataset scope covers its partitions")
	require.Len(t, st.Ahead, 3, "a (held), b (waiting earlier), c (held)")

	_, err = s.AcquireScopes(ctx, lockReq("e-"+ds, db.OnConflictReject, p2))
	require.ErrorIs(t, err, db.ErrScopeRejected)
	st, err = s.AcquireScopes(ctx, lockReq("e2-"+ds, db.OnConflictReject, db.LockScope{Dataset: ds, Partition: "2026-01-09"}))
	require.ErrorIs(t, err, db.ErrScopeRejected, "d waits for the whole dataset first: FIFO holds in reject mode too")
	require.False(t, st.Held)

	wake, err := s.ReleaseScopes(ctx, "a-"+ds, db.ReleaseProjectionConfirmed)
	require.NoError(t, err)
	require.Equal(t, []string{"wf-b-" + ds, "wf-d-" + ds}, wake, "waiters are woken in queue order")
	st, err = s.AcquireScopes(ctx, lockReq("d-"+ds, "", whole))
	require.NoError(t, err)
	require.False(t, st.Held, "d is behind b, which is behind nobody now")
	st, err = s.AcquireScopes(ctx, lockReq("b-"+ds, "", p1))
	require.NoError(t, err)
	require.True(t, st.Held)

	for _, id := range []string{"b-", "c-"} {
		_, err := s.ReleaseScopes(ctx, id+ds, db.ReleaseProjectionConfirmed)
		require.NoError(t, err)
	}
	st, err = s.AcquireScopes(ctx, lockReq("d-"+ds, "", whole))
	require.NoError(t, err)
	require.True(t, st.Held)
	_, err = s.AcquireScopes(ctx, db.LockRequest{IntentID: "x", WorkflowID: "x"})
	require.ErrorContains(t, err, "no scope given")
}

// TestScopeLocksSerializeConcurrentIntents: 20 intents on one scope; never
// two holders at once, none lost, granted in the order they were enqueued.
func TestScopeLocksSerializeConcurrentIntents(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := db.New(testDB.Pool)
	ds := "locks_conc_" + fmt.Sprint(time.Now().UnixNano())
	scope := db.LockScope{Dataset: ds, Partition: "2026-01-03"}
	const n = 20
	var holders, maxHolders atomic.Int32
	var mu sync.Mutex
	var enqueued, granted []string
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprintf("i%02d-%s", i, ds)
			mu.Lock()
			st, err := s.AcquireScopes(ctx, lockReq(id, "", scope))
			enqueued = append(enqueued, id) // under mu: the enqueue order
			mu.Unlock()
			require.NoError(t, err)
			for !st.Held {
				time.Sleep(2 * time.Millisecond) // tests poll; workflows wait for a signal
				st, err = s.AcquireScopes(ctx, lockReq(id, "", scope))
				require.NoError(t, err)
			}
			h := holders.Add(1)
			for {
				m := maxHolders.Load()
				if h <= m || maxHolders.CompareAndSwap(m, h) {
					break
				}
			}
			mu.Lock()
			granted = append(granted, id)
			mu.Unlock()
			time.Sleep(time.Millisecond)
			holders.Add(-1)
			_, err = s.ReleaseScopes(ctx, id, db.ReleaseProjectionConfirmed)
			require.NoError(t, err)
		}()
	}
	wg.Wait()
	require.Equal(t, int32(1), maxHolders.Load(), "single_active_intent_per_target_scope")
	require.Len(t, granted, n, "no intent lost")
	require.Equal(t, enqueued, granted, "FIFO: granted in enqueue order")
	active, err := s.ActiveLocks(ctx)
	require.NoError(t, err)
	for _, h := range active {
		require.NotEqual(t, ds, h.Scope.Dataset)
	}
}

// TestScopeLocksAfterARejectionAndOnAChangedRetry: a rejected intent that
// asks again queues behind the holder (its released rows are history), and
// a retried acquisition that names scopes other than the ones held fails.
func TestScopeLocksAfterARejectionAndOnAChangedRetry(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := db.New(testDB.Pool)
	ds := "locks_retry_" + fmt.Sprint(time.Now().UnixNano())
	p1 := db.LockScope{Dataset: ds, Partition: "2026-01-01"}
	st, err := s.AcquireScopes(ctx, lockReq("a-"+ds, "", p1))
	require.NoError(t, err)
	require.True(t, st.Held)

	_, err = s.AcquireScopes(ctx, lockReq("b-"+ds, db.OnConflictReject, p1))
	require.ErrorIs(t, err, db.ErrScopeRejected)
	_, err = s.AcquireScopes(ctx, lockReq("b-"+ds, db.OnConflictReject, p1))
	require.ErrorIs(t, err, db.ErrScopeRejected, "a retried rejection is rejected again, never granted")
	st, err = s.AcquireScopes(ctx, lockReq("b-"+ds, db.OnConflictQueue, p1))
	require.NoError(t, err)
	require.False(t, st.Held, "b asks again and queues behind a")

	_, err = s.AcquireScopes(ctx, lockReq("a-"+ds, "", db.LockScope{Dataset: ds, Partition: "2026-01-09"}))
	require.ErrorIs(t, err, db.ErrInvalidLockRequest, "a held intent cannot widen its scopes by retrying")

	wake, err := s.ReleaseScopes(ctx, "a-"+ds, db.ReleaseProjectionConfirmed)
	require.NoError(t, err)
	require.Equal(t, []string{"wf-b-" + ds}, wake)
	again, err := s.ReleaseScopes(ctx, "a-"+ds, db.ReleaseProjectionConfirmed)
	require.NoError(t, err)
	require.Equal(t, wake, again, "a retried release still says whom to wake")
	_, err = s.AcquireScopes(ctx, db.LockRequest{IntentID: "x", WorkflowID: "x", Scopes: []db.LockScope{p1}, OnConflict: "maybe"})
	require.ErrorIs(t, err, db.ErrInvalidLockRequest)
}
