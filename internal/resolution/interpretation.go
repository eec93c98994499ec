package resolution

import (
	"fmt"

	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/registry"
)

// ResolveAs resolves text as one of its competing interpretations, the one
// an approver chose by name (5.1b). An empty name is Resolve. A name that
// is not among Resolve's competing_interpretations is an error listing the
// names that are.
func ResolveAs(text string, cat *catalog.Catalog, env registry.EnvironmentState, interpretation string) (SemanticResolution, error) {
	res := Resolve(text, cat, env)
	if interpretation == "" {
		return res, nil
	}
	return SemanticResolution{}, fmt.Errorf("interpretation %q: choosing an interpretation is not built yet (competing: %v)", interpretation, res.CompetingInterpretations)
}
