package composite

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	catalogfiles "github.com/contextualflux/cfa/catalog"
	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/registry"
	"github.com/contextualflux/cfa/internal/resolution"
	"github.com/contextualflux/cfa/internal/signature"
)

// TestShippedExamplesResolve: every graph under examples/composite parses,
// every sub-intent resolves against the shipped catalog with a clean
// registry, and every edge follows the data: the upstream sub-intent writes
// a dataset the downstream one reads or publishes. A catalog or normalizer
// change that breaks an example fails here, not in the demo.
func TestShippedExamplesResolve(t *testing.T) {
	t.Parallel()
	cat, err := catalog.Load(catalogfiles.FS)
	require.NoError(t, err)
	files, err := filepath.Glob("../../examples/composite/*.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			t.Parallel()
			raw, err := os.ReadFile(file)
			require.NoError(t, err)
			g, err := Parse(raw)
			require.NoError(t, err)

			sigs := map[string]signature.Signature{}
			for _, s := range g.SubIntents {
				var res resolution.SemanticResolution
				if s.Signature != nil {
					res = resolution.ResolveStructured(*s.Signature, cat, registry.EnvironmentState{})
				} else {
					res = resolution.Resolve(s.Intent, cat, registry.EnvironmentState{})
				}
				require.True(t, res.Resolved, "sub-intent %s (%q) does not resolve: %s", s.ID, s.Intent, res.Reason)
				sigs[s.ID] = res.Signature
			}
			for _, d := range g.Dependencies {
				written := names(sigs[d.From], signature.RoleTarget)
				used := append(names(sigs[d.To], signature.RoleSource), names(sigs[d.To], signature.RoleTarget)...)
				require.True(t, slices.ContainsFunc(written, func(n string) bool { return slices.Contains(used, n) }),
					"edge %s: %s writes %v, %s uses %v; nothing flows along it", d, d.From, written, d.To, used)
			}
		})
	}
}

func names(sig signature.Signature, role string) []string {
	var out []string
	for _, d := range sig.Datasets {
		if d.Role == role {
			out = append(out, d.Name)
		}
	}
	return out
}
