package service

import (
	"strconv"
	"time"

	"github.com/contextualflux/cfa/internal/signature"
)

// windowFromInterval gives a micro_batch signature that names no
// time_window the schedule's interval as its window (docs/adr/0137): a
// schedule every 15m commits 15-minute windows. Any other signature, and a
// cron schedule, are left as they are (a micro_batch run without a window
// is refused at planning, naming time_window).
func windowFromInterval(sig *signature.Signature, every time.Duration) *signature.Signature {
	if sig == nil || sig.ExecutionMode != signature.ModeMicroBatch || sig.TimeWindow != "" || every <= 0 {
		return sig
	}
	c := sig.Clone()
	c.TimeWindow = compactDuration(every)
	return &c
}

// compactDuration writes d as resolution writes a time_window (whole
// hours, else whole minutes, else seconds: 15m, 1h, 90m, 90s), so the
// schedule's signature and its runs' have one hash.
func compactDuration(d time.Duration) string {
	switch {
	case d%time.Hour == 0:
		return strconv.FormatInt(int64(d/time.Hour), 10) + "h"
	case d%time.Minute == 0:
		return strconv.FormatInt(int64(d/time.Minute), 10) + "m"
	}
	return strconv.FormatInt(int64(d/time.Second), 10) + "s"
}
