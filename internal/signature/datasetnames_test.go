package signature

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDatasetNames(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		sig  Signature
		want []string
	}{
		{"the whitepaper's sources, in the signature's order", parse(t), []string{"nfe", "clientes"}},
		{"sources and targets alike, unsorted", Signature{Datasets: []Dataset{
			{Name: "silver_documentos", Role: RoleTarget}, {Name: "nfe", Role: RoleSource}, {Name: "clientes", Role: RoleSource},
		}}, []string{"silver_documentos", "nfe", "clientes"}},
		{"a dataset read and written appears twice", Signature{Datasets: []Dataset{
			{Name: "silver_documentos", Role: RoleSource}, {Name: "silver_documentos", Role: RoleTarget},
		}}, []string{"silver_documentos", "silver_documentos"}},
		{"no dataset: empty, not nil", Signature{}, []string{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := tc.sig.DatasetNames()
			require.NotNil(t, got)
			require.Equal(t, tc.want, got)
		})
	}
}
