package contextplane

import (
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"
)

// timestamp is t in UTC, truncated to microseconds: Postgres keeps no
// more, and a version must read back as it was sealed.
func timestamp(t time.Time) *timestamppb.Timestamp {
	return timestamppb.New(t.UTC().Truncate(time.Microsecond))
}
