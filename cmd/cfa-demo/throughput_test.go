package main

import (
	"context"
	"errors"
	"os"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestClosedLoop(t *testing.T) {
	t.Parallel()
	o := throughputOptions{n: 40, concurrency: 4, timeout: time.Second}
	t.Run("counts n runs after one warm-up per submitter, never more than concurrency at once", func(t *testing.T) {
		t.Parallel()
		var calls, inFlight, most atomic.Int64
		r, err := closedLoop(context.Background(), o, nil, func(context.Context) error {
			calls.Add(1)
			n := inFlight.Add(1)
			for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
			}
			time.Sleep(time.Millisecond)
			inFlight.Add(-1)
			return nil
		})
		require.NoError(t, err)
		require.Equal(t, int64(o.n+o.concurrency), calls.Load())
		require.LessOrEqual(t, most.Load(), int64(o.concurrency))
		require.Equal(t, o.n, r.N)
		require.Positive(t, r.PerSecond)
		require.GreaterOrEqual(t, r.P95ms, r.P50ms)
		require.GreaterOrEqual(t, r.P50ms, 1.0)
	})
	t.Run("the first failure stops the series", func(t *testing.T) {
		t.Parallel()
		var calls atomic.Int64
		boom := errors.New("boom")
		_, err := closedLoop(context.Background(), o, nil, func(context.Context) error {
			if calls.Add(1) > int64(o.concurrency+3) {
				return boom
			}
			return nil
		})
		require.ErrorIs(t, err, boom)
		require.Less(t, calls.Load(), int64(o.n+o.concurrency))
	})
	t.Run("a failed warm-up is named", func(t *testing.T) {
		t.Parallel()
		_, err := closedLoop(context.Background(), o, nil, func(context.Context) error { return errors.New("no worker") })
		require.ErrorContains(t, err, "warm-up: no worker")
	})
}

func TestCPUUseCountsThisProcess(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	before, ok := snapCPU(nil, "")
	require.True(t, ok)
	deadline := time.Now().Add(300 * time.Millisecond)
	for x := 0; time.Now().Before(deadline); x++ { // busy: this process's CPU grows
		_ = x * x
	}
	after, ok := snapCPU(map[int]bool{}, "")
	require.True(t, ok)
	u := after.since(before)
	require.NotNil(t, u)
	require.Positive(t, u.Cores)
	require.Positive(t, u.Submitters, "this process (pid %d) spun for 300 ms", os.Getpid())
	require.LessOrEqual(t, u.Submitters, u.Host+0.2) // ticks are coarse
	require.GreaterOrEqual(t, u.Other(), 0.0)
}

func TestBackendOf(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ title, want string }{
		{"postgres: 15/main: cfa_worker cfa_demo 127.0.0.1(54274) idle\x00", "cfa_demo"},
		{"postgres: cfa_worker cfa_demo 127.0.0.1(54274) SELECT", "cfa_demo"},
		{"postgres: 15/main: walwriter ", ""},
		{"postgres: 15/main: autovacuum launcher", ""},
		{"/usr/lib/postgresql/15/bin/postgres\x00-D\x00/var/lib/postgresql/15/main\x00", ""},
		{"postgres: 15/main: logical replication launcher ", ""},
		{"postgres: cfa_worker cfa_demo [local] idle", "cfa_demo"},
		{"", ""},
	} {
		require.Equal(t, tt.want, backendOf(tt.title), tt.title)
	}
}
