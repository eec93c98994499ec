package bounds

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/contextualflux/cfa/internal/errtree"
)

// The limits. The README's Limits table and docs/adr/0113 list them: change
// them together.
const (
	// MinDate and MaxDate bound every date: a temporal filter's from and
	// to, as_of, a plan's windows.
	MinDate = "1900-01-01"
	MaxDate = "2100-12-31"
	// MaxLastDays bounds temporal_filter.last_days (ten years); 0 is unset.
	MaxLastDays = 3650
	// MaxReplan bounds a signature's replan count: the largest
	// max_replan_attempts a policy bundle may declare.
	MaxReplan = 10
	// MaxDatasets bounds the datasets a signature names.
	MaxDatasets = 50
	// MaxSizeBytes bounds a dataset's size_bytes (1 EiB).
	MaxSizeBytes int64 = 1 << 60
	// MaxPlanSteps bounds the steps of a supplied plan.
	MaxPlanSteps = 200
	// MaxSubIntents and MaxDependencies bound a composite intent graph.
	MaxSubIntents   = 200
	MaxDependencies = 1000
	// MinUnitRetryBase and MaxUnitRetryBase bound the retry backoff base of
	// a failed consistency unit (--unit-retry-base): three attempts at most
	// 1 h apart, then 2 h, hold the scopes for at most 3 h.
	MinUnitRetryBase = time.Second
	MaxUnitRetryBase = time.Hour
	// MinEscalationTimeout and MaxEscalationTimeout bound the human
	// escalation timeout (--escalation-timeout).
	MinEscalationTimeout = time.Second
	MaxEscalationTimeout = 7 * 24 * time.Hour
	// MaxCostCeilingDBU bounds cost_ceiling_dbu (--cost-ceiling).
	MaxCostCeilingDBU = 10_000.0
	// MaxListLimit bounds `cfa list --limit`.
	MaxListLimit = 1000
)

// dateLayout is the only date form an intent takes.
const dateLayout = "2006-01-02"

var minDate, maxDate = mustDate(MinDate), mustDate(MaxDate)

func mustDate(s string) time.Time {
	t, err := time.Parse(dateLayout, s)
	if err != nil {
		panic(err)
	}
	return t
}

// ErrOutOfBounds is wrapped by every error of this package.
var ErrOutOfBounds = errors.New("value out of bounds")

// Error is one field whose value is outside its bounds.
type Error struct {
	// Field is the field's path as the user wrote it, e.g.
	// constraints.temporal_filter.last_days or plan.steps[0].params.filter.from.
	Field string
	// Value is the value found, printed (strings quoted and shortened).
	Value string
	// Allowed says what the field accepts, e.g. "between 1 and 3650 (days)".
	Allowed string
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s is %s: must be %s", e.Field, e.Value, e.Allowed)
}

// Unwrap lets errors.Is(err, ErrOutOfBounds) match any *Error.
func (e *Error) Unwrap() error { return ErrOutOfBounds }

// Fields returns every *Error inside err, in the order they were found.
func Fields(err error) []*Error { return errtree.All[*Error](err) }

// checker collects the bad fields of one input.
type checker struct{ errs []error }

func (c *checker) add(field, value, allowed string) {
	c.errs = append(c.errs, &Error{Field: field, Value: value, Allowed: allowed})
}

func (c *checker) err() error { return errors.Join(c.errs...) }

// count checks the length of a list.
func (c *checker) count(field string, n, hi int, what string) bool {
	if n > hi {
		c.add(field, fmt.Sprintf("%d %s", n, what), fmt.Sprintf("at most %d %s", hi, what))
		return false
	}
	return true
}

// integer checks lo <= v <= hi.
func (c *checker) integer(field string, v, lo, hi int64, unit string) {
	if v < lo || v > hi {
		c.add(field, fmt.Sprint(v), fmt.Sprintf("between %d and %d (%s)", lo, hi, unit))
	}
}

// optional checks an integer whose zero means "the default".
func (c *checker) optional(field string, v, lo, hi int64, unit, def string) {
	if v != 0 && (v < lo || v > hi) {
		c.add(field, fmt.Sprint(v), fmt.Sprintf("between %d and %d (%s), or 0 for the default %s", lo, hi, unit, def))
	}
}

// dateAllowed is what a date field accepts.
var dateAllowed = fmt.Sprintf("a calendar date YYYY-MM-DD between %s and %s", MinDate, MaxDate)

// date checks a non-empty date field; ok is false when it is bad.
func (c *checker) date(field, s string) (time.Time, bool) {
	t, err := ParseDate(s)
	if err != nil {
		c.add(field, quote(s), dateAllowed)
		return time.Time{}, false
	}
	return t, true
}

// window checks an optional [from, to) pair of dates.
func (c *checker) window(prefix, from, to string) {
	var f, t time.Time
	okF, okT := false, false
	if from != "" {
		f, okF = c.date(prefix+"from", from)
	}
	if to != "" {
		t, okT = c.date(prefix+"to", to)
	}
	if okF && okT && !t.After(f) {
		c.add(prefix+"to", quote(to), fmt.Sprintf("after %sfrom (%s): from is inclusive, to exclusive", prefix, from))
	}
}

// ParseDate accepts a calendar date YYYY-MM-DD between MinDate and MaxDate.
func ParseDate(s string) (time.Time, error) {
	t, err := time.Parse(dateLayout, s)
	if err != nil || t.Format(dateLayout) != s {
		return time.Time{}, fmt.Errorf("date %s is not a calendar date: write it as YYYY-MM-DD: %w", quote(s), ErrOutOfBounds)
	}
	if t.Before(minDate) || t.After(maxDate) {
		return time.Time{}, fmt.Errorf("date %s is outside %s..%s: %w", s, MinDate, MaxDate, ErrOutOfBounds)
	}
	return t, nil
}

// quote prints a string value, shortened so a megabyte of text does not
// become a megabyte of audit trail.
func quote(s string) string {
	const most = 64
	if r := []rune(s); len(r) > most {
		return fmt.Sprintf("%q… (%d bytes)", string(r[:most]), len(s))
	}
	return fmt.Sprintf("%q", s)
}

// Duration prints a duration the way a user writes it: 24h, 1h30m, 500ms.
func Duration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
