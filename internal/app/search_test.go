package app_test

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/workflows"
)

// TestDevServersRegisterTheSearchAttributes: the dev servers `make demo`
// and `make dev` start register every search attribute intents set, with
// its type (the tests' dev servers use workflows.DevServerArgs).
func TestDevServersRegisterTheSearchAttributes(t *testing.T) {
	t.Parallel()
	for _, path := range []string{"../../scripts/ensure-temporal.sh", "../../Makefile"} {
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		for _, n := range workflows.SearchAttributeNames() {
			require.Contains(t, string(b), "--search-attribute "+n+"="+workflows.SearchAttributes[n], path)
		}
	}
	require.Len(t, workflows.DevServerArgs(), 2*len(workflows.SearchAttributes))
}
