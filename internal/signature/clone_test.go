package signature_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/signature"
)

func TestCloneSharesNothing(t *testing.T) {
	orig := signature.Signature{
		Operations: []string{signature.OpJoin},
		Datasets:   []signature.Dataset{{Name: "nfe", PII: []string{"cpf"}}},
		Constraints: signature.Constraints{PartitionBy: []string{"processing_date"}, Anonymize: []string{"clientes.cpf"},
			PublishBlocked: []string{"x"}, TemporalFilter: &signature.TemporalFilter{Column: "processing_date", LastDays: 30}},
		DeclaredImports: []string{"a"}, DeclaredPatterns: []string{"b"},
	}
	c := orig.Clone()
	require.Equal(t, orig, c)
	c.Operations[0] = "changed"
	c.Datasets[0].PII[0] = "changed"
	c.Datasets[0].Name = "changed"
	c.Constraints.PartitionBy[0] = "changed"
	c.Constraints.Anonymize[0] = "changed"
	c.Constraints.PublishBlocked[0] = "changed"
	c.Constraints.TemporalFilter.LastDays = 1
	c.DeclaredImports[0], c.DeclaredPatterns[0] = "changed", "changed"
	require.Equal(t, signature.OpJoin, orig.Operations[0])
	require.Equal(t, signature.Dataset{Name: "nfe", PII: []string{"cpf"}}, orig.Datasets[0])
	require.Equal(t, []string{"processing_date"}, orig.Constraints.PartitionBy)
	require.Equal(t, []string{"clientes.cpf"}, orig.Constraints.Anonymize)
	require.Equal(t, []string{"x"}, orig.Constraints.PublishBlocked)
	require.Equal(t, 30, orig.Constraints.TemporalFilter.LastDays)
	require.Equal(t, []string{"a"}, orig.DeclaredImports)
	require.Equal(t, []string{"b"}, orig.DeclaredPatterns)
	require.Nil(t, signature.Signature{}.Clone().Datasets)
}
