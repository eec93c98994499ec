package errtree_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/errtree"
)

type problem struct{ field string }

func (p *problem) Error() string { return p.field }

// Unwrap points at a sentinel: All must not look behind a match.
func (p *problem) Unwrap() error { return errSentinel }

var errSentinel = errors.New("sentinel")

func TestAllFindsEveryProblemInOrder(t *testing.T) {
	t.Parallel()
	a, b, c := &problem{"a"}, &problem{"b"}, &problem{"c"}
	for name, tc := range map[string]struct {
		err  error
		want []*problem
	}{
		"nil":               {nil, nil},
		"none":              {errors.New("plain"), nil},
		"one":               {a, []*problem{a}},
		"wrapped":           {fmt.Errorf("ctx: %w", a), []*problem{a}},
		"joined, in order":  {errors.Join(a, errors.New("x"), b), []*problem{a, b}},
		"nested join":       {errors.Join(fmt.Errorf("w: %w", errors.Join(a, b)), c), []*problem{a, b, c}},
		"multi-%w in order": {fmt.Errorf("%w and %w", b, a), []*problem{b, a}},
	} {
		require.Equal(t, tc.want, errtree.All[*problem](tc.err), name)
	}
}
