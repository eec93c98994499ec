package cfs

import (
	"math"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/contextualflux/cfa/internal/cfs/cfspb"
)

// ForeverSeconds is the CFS "forever" timestamp: seconds = MAX_INT64. It is
// the exclusive end of an open interval.
const ForeverSeconds = math.MaxInt64

// Forever returns the CFS "forever" timestamp. It is outside the range
// google.protobuf.Timestamp allows, so protojson refuses it; use
// MarshalJSON, which maps it to MaxJSONTimestamp.
func Forever() *timestamppb.Timestamp { return &timestamppb.Timestamp{Seconds: ForeverSeconds} }

// IsForever reports whether ts is the CFS "forever" timestamp.
func IsForever(ts *timestamppb.Timestamp) bool { return ts != nil && ts.GetSeconds() == ForeverSeconds }

// NowSentinel returns the CFS special value for "now" (seconds=0, nanos=0),
// used by queries such as as_of_valid. It is not a clock read.
func NowSentinel() *timestamppb.Timestamp { return &timestamppb.Timestamp{} }

// IsNowSentinel reports whether ts is the CFS "now" value. A nil timestamp
// is not "now": CFS defaults absent as_of fields to now, callers decide.
func IsNowSentinel(ts *timestamppb.Timestamp) bool {
	return ts != nil && ts.GetSeconds() == 0 && ts.GetNanos() == 0
}

// Timestamp converts t to a protobuf timestamp in UTC with nanoseconds.
func Timestamp(t time.Time) *timestamppb.Timestamp { return timestamppb.New(t.UTC()) }

// CompareTimestamps orders a and b by (seconds, nanos). Nil compares as
// seconds=0, nanos=0.
func CompareTimestamps(a, b *timestamppb.Timestamp) int {
	switch {
	case a.GetSeconds() < b.GetSeconds():
		return -1
	case a.GetSeconds() > b.GetSeconds():
		return 1
	case a.GetNanos() < b.GetNanos():
		return -1
	case a.GetNanos() > b.GetNanos():
		return 1
	}
	return 0
}

// OpenInterval returns [from, forever).
func OpenInterval(from time.Time) *cfspb.Interval {
	return &cfspb.Interval{From: Timestamp(from), To: Forever()}
}

// ClosedInterval returns [from, to).
func ClosedInterval(from, to time.Time) *cfspb.Interval {
	return &cfspb.Interval{From: Timestamp(from), To: Timestamp(to)}
}

// IntervalContains reports whether from <= ts < to. A nil To is open.
func IntervalContains(iv *cfspb.Interval, ts *timestamppb.Timestamp) bool {
	if iv == nil || ts == nil {
		return false
	}
	if iv.GetFrom() != nil && CompareTimestamps(ts, iv.GetFrom()) < 0 {
		return false
	}
	return iv.GetTo() == nil || CompareTimestamps(ts, iv.GetTo()) < 0
}
