package bounds

import (
	"fmt"
	"math"
	"time"

	"github.com/contextualflux/cfa/internal/planner"
)

// FlagError is a command-line option outside its bounds; it says the
// allowed range.
type FlagError struct {
	Flag string // e.g. --unit-retry-base
	Got  string // the value given
	Want string // the side it broke: positive, at least 1s, at most 1h
	Lo   string // the allowed range
	Hi   string
}

func (e *FlagError) Error() string {
	return fmt.Sprintf("%s must be %s, got %s: use a value between %s and %s, or leave it unset for the default", e.Flag, e.Want, e.Got, e.Lo, e.Hi)
}

// Unwrap lets errors.Is(err, ErrOutOfBounds) match.
func (e *FlagError) Unwrap() error { return ErrOutOfBounds }

// FlagDuration checks a duration option; 0 (unset) keeps the default.
func FlagDuration(flag string, d, lo, hi time.Duration) error {
	e := &FlagError{Flag: flag, Got: Duration(d), Lo: Duration(lo), Hi: Duration(hi)}
	switch {
	case d == 0:
		return nil
	case d < 0:
		e.Want = "positive"
	case d < lo:
		e.Want = "at least " + e.Lo
	case d > hi:
		e.Want = "at most " + e.Hi
	default:
		return nil
	}
	return e
}

// UnitRetryBase checks --unit-retry-base.
func UnitRetryBase(d time.Duration) error {
	return FlagDuration("--unit-retry-base", d, MinUnitRetryBase, MaxUnitRetryBase)
}

// EscalationTimeout checks --escalation-timeout.
func EscalationTimeout(d time.Duration) error {
	return FlagDuration("--escalation-timeout", d, MinEscalationTimeout, MaxEscalationTimeout)
}

// CostCeiling checks --cost-ceiling; 0 (unset) keeps the default 50.
func CostCeiling(v float64) error {
	if v == 0 || v > 0 && v <= MaxCostCeilingDBU {
		return nil
	}
	e := &FlagError{Flag: "--cost-ceiling", Got: fmt.Sprint(v), Want: "a positive number of DBU", Lo: "0", Hi: fmt.Sprintf("%g DBU", MaxCostCeilingDBU)}
	if v > MaxCostCeilingDBU && !math.IsInf(v, 1) {
		e.Want = fmt.Sprintf("at most %g DBU", MaxCostCeilingDBU)
	}
	return e
}

// RowLimit checks --row-limit, the most rows a read returns
// (docs/adr/0132); 0 (unset) keeps the default 1000.
func RowLimit(n int) error {
	if n == 0 || n >= 1 && n <= planner.MaxRowLimit {
		return nil
	}
	return &FlagError{Flag: "--row-limit", Got: fmt.Sprint(n), Want: fmt.Sprintf("between 1 and %d", planner.MaxRowLimit), Lo: "1", Hi: fmt.Sprint(planner.MaxRowLimit)}
}

// AsOf checks --as-of: a calendar date between MinDate and MaxDate.
func AsOf(s string) error {
	if s == "" {
		return nil
	}
	if _, err := ParseDate(s); err != nil {
		return &FlagError{Flag: "--as-of", Got: quote(s), Want: "a calendar date YYYY-MM-DD", Lo: MinDate, Hi: MaxDate}
	}
	return nil
}

// ListLimit checks `cfa list --limit`.
func ListLimit(n int) error {
	if n < 1 || n > MaxListLimit {
		return &FlagError{Flag: "--limit", Got: fmt.Sprint(n), Want: fmt.Sprintf("between 1 and %d", MaxListLimit), Lo: "1", Hi: fmt.Sprint(MaxListLimit)}
	}
	return nil
}
