package main

import (
	"cmp"
	"slices"
)

// percentile returns the nearest-rank p-th percentile (0 < p <= 100) of xs,
// or the zero value when xs is empty. xs is not modified.
func percentile[T cmp.Ordered](xs []T, p int) T {
	var zero T
	if len(xs) == 0 {
		return zero
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	rank := (len(s)*p + 99) / 100 // ceil(n*p/100)
	return s[min(max(rank, 1), len(s))-1]
}

// median is the lower median: percentile 50.
func median[T cmp.Ordered](xs []T) T { return percentile(xs, 50) }
