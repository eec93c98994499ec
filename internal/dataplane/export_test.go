package dataplane

// Internals the tests of package dataplane_test reach.
var (
	CanonicalLines      = canonicalLines
	AppendCanonicalJSON = appendCanonicalJSON
)
