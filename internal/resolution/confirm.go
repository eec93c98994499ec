package resolution

import (
	"strings"

	"github.com/contextualflux/cfa/internal/confirmation"
	"github.com/contextualflux/cfa/internal/registry"
	"github.com/contextualflux/cfa/internal/signature"
)

// ConfirmationInput derives the Confirmation Orchestrator's input from a
// resolution and the registry snapshot it was resolved against. The caller
// adds EstimatedCost and CostCeilingDBU once the Pre-cost Estimator has run
// and calls confirmation.Evaluate again.
func ConfirmationInput(res SemanticResolution, env registry.EnvironmentState) confirmation.Input {
	sig := res.Signature
	write := strings.Contains(sig.TargetLayer, "_to_")
	in := confirmation.Input{
		ConfidenceScore:          res.ConfidenceScore,
		AmbiguityLevel:           res.AmbiguityLevel,
		CompetingInterpretations: len(res.CompetingInterpretations),
		ReadOnly:                 !write && len(sig.Targets()) == 0,
		PublishAllowed:           true,
	}
	if write {
		in.SilverWrite = sig.DestinationLayer() == signature.LayerSilver
		in.GoldWrite = sig.DestinationLayer() == signature.LayerGold
	}
	for _, d := range sig.Datasets {
		if len(d.PII) > 0 {
			in.ContainsPII = true
		}
		st, ok := env.Dataset(d.Name)
		if !ok || st.State == registry.StateUnknown {
			continue
		}
		if st.State == registry.StateStale {
			in.StaleDataset = true
		}
		if d.Role == signature.RoleTarget && d.Layer == signature.LayerSilver && !st.PublishAllowed {
			in.PublishAllowed = false
		}
	}
	return in
}
