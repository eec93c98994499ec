package resolution

import (
	"fmt"

	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/registry"
)

// ResolveAs resolves text as one of its competing interpretations, the one
// an approver chose by name (5.1b). An empty name is Resolve. A name that
// is not among Resolve's competing_interpretations is an error listing the
// names that are; so is a reading that does not resolve (its reason says
// why).
//
// The resolution carries the chosen reading's signature, and the text's
// confidence, ambiguity and competing interpretations: the choice does not
// make the text less ambiguous, so the confirmation mode is computed as
// usual and keeps its triggers; the human who chose is the confirmation
// (docs/adr/0130). Deterministic: same text, catalog, registry and name,
// same resolution (I8).
func ResolveAs(text string, cat *catalog.Catalog, env registry.EnvironmentState, interpretation string) (SemanticResolution, error) {
	d, stop := textDraft(text, cat, env)
	if interpretation == "" {
		if stop != nil {
			return *stop, nil
		}
		return finish(d, cat), nil
	}
	if stop != nil {
		return *stop, fmt.Errorf("interpretation %q: the intent does not resolve (%s), so it has no interpretations to choose from", interpretation, stop.Reason)
	}
	return finishAs(d, cat, interpretation)
}
