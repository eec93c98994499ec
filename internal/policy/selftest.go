package policy

import (
	"errors"
	"fmt"
	"slices"
)

// RunTests checks every row of the rule files' tests tables: with the row's
// facts (unset facts are zero), exactly the listed rules of that file fire.
// It returns all failures joined.
func (b *Bundle) RunTests() error {
	var errs []error
	for _, t := range b.tests {
		ev := b.EvaluateFacts(&t.facts)
		var got []string
		for _, r := range ev.Fired {
			if rule, _ := b.Rule(r.Name); rule.File == t.file {
				got = append(got, r.Name)
			}
		}
		want := slices.Clone(t.fires)
		slices.Sort(want)
		slices.Sort(got)
		if !slices.Equal(got, want) {
			errs = append(errs, fmt.Errorf("%s: test %q (line %d): fired %v, want %v", t.file, t.name, t.line, got, want))
		}
	}
	return errors.Join(errs...)
}

// TestCount is the number of test-table rows loaded with the bundle.
func (b *Bundle) TestCount() int { return len(b.tests) }
