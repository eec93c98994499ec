package service

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/planner"
	"github.com/contextualflux/cfa/internal/signature"
)

// TestScheduleIntervalIsTheTimeWindow: `cfa schedule create --every 15m
// -f signature.yaml` of a micro_batch signature without a time_window
// commits windows of the interval (docs/adr/0137); nothing else changes.
func TestScheduleIntervalIsTheTimeWindow(t *testing.T) {
	t.Parallel()
	micro := &signature.Signature{Intent: "reconcile", ExecutionMode: signature.ModeMicroBatch}
	for _, tc := range []struct {
		name  string
		sig   *signature.Signature
		every time.Duration
		want  string // the run's time_window; "-" leaves the signature as it is
	}{
		{"every_15m", micro, 15 * time.Minute, "15m"},
		{"every_hour", micro, time.Hour, "1h"},
		{"every_90m", micro, 90 * time.Minute, "90m"},
		{"every_day", micro, 24 * time.Hour, "24h"},
		{"every_90s", micro, 90 * time.Second, "90s"},
		{"window_given", &signature.Signature{ExecutionMode: signature.ModeMicroBatch, TimeWindow: "5m"}, time.Hour, "-"},
		{"batch", &signature.Signature{Intent: "reconcile"}, time.Hour, "-"},
		{"cron", micro, 0, "-"},
		{"text_or_skill", nil, time.Hour, "-"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := windowFromInterval(tc.sig, tc.every)
			if tc.want == "-" {
				require.Same(t, tc.sig, got)
				return
			}
			require.NotSame(t, tc.sig, got, "the request's signature is not edited in place")
			require.Empty(t, tc.sig.TimeWindow)
			require.Equal(t, tc.want, got.TimeWindow)
			d, err := planner.ParseTimeWindow(got.TimeWindow)
			require.NoError(t, err)
			require.Equal(t, tc.every, d)
		})
	}
}
