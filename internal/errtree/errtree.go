// Package errtree finds the errors of one type in a tree of wrapped and
// joined errors: validators report every problem at once, joined, and
// callers want each problem back, in the order it was reported.
package errtree

// All returns every error of type T inside err, depth first in the order
// they were joined. An error of type T is not searched further.
func All[T error](err error) []T {
	var out []T
	var walk func(error)
	walk = func(err error) {
		if err == nil {
			return
		}
		if t, ok := err.(T); ok {
			out = append(out, t)
			return
		}
		switch x := err.(type) {
		case interface{ Unwrap() []error }:
			for _, e := range x.Unwrap() {
				walk(e)
			}
		case interface{ Unwrap() error }:
			walk(x.Unwrap())
		}
	}
	walk(err)
	return out
}
