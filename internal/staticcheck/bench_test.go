package staticcheck

import (
	"strings"
	"testing"

	pg "github.com/pganalyze/pg_query_go/v6"
	"github.com/stretchr/testify/require"
)

// BenchmarkValidate measures the 40-line fiscal MERGE script with the full
// rule set (scans, joins, layer writes, contract).
func BenchmarkValidate(b *testing.B) {
	rules := fiscalRules()
	require.Equal(b, 40, strings.Count(fiscalMerge, "\n"))
	require.True(b, Validate(fiscalMerge, rules).Passed)
	b.ReportAllocs()
	for b.Loop() {
		if !Validate(fiscalMerge, rules).Passed {
			b.Fatal("fiscal merge must pass")
		}
	}
}

// BenchmarkParseOnly is the floor: the Postgres parser through cgo plus the
// protobuf decoding of its tree, without any check.
func BenchmarkParseOnly(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := pg.Parse(fiscalMerge); err != nil {
			b.Fatal(err)
		}
	}
}
