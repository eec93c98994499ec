package resolution

import (
	"fmt"
	"strings"
	"time"

	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/confirmation"
	"github.com/contextualflux/cfa/internal/precost"
	"github.com/contextualflux/cfa/internal/registry"
	"github.com/contextualflux/cfa/internal/signature"
)

// ConfirmationInput derives the Confirmation Orchestrator's input from a
// resolution and the registry snapshot it was resolved against: its
// estimated cost (Costed) and the constraints the registry injected
// included. The step-5 stage activity adds the running intents
// (confirmation.Input.RunningIntents) before it evaluates a soft mode again.
func ConfirmationInput(res SemanticResolution, env registry.EnvironmentState) confirmation.Input {
	sig := res.Signature
	write := strings.Contains(sig.TargetLayer, "_to_")
	in := confirmation.Input{
		ConfidenceScore:          res.ConfidenceScore,
		AmbiguityLevel:           res.AmbiguityLevel,
		CompetingInterpretations: len(res.CompetingInterpretations),
		ReadOnly:                 !write && len(sig.Targets()) == 0,
		PublishAllowed:           true,
		EstimatedCost:            res.EstimatedCostDBU,
		CostCeilingDBU:           res.CostCeilingDBU,
		EnvironmentConstraints:   res.EnvironmentConstraintsInjected,
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

// CostInput is what the cost trigger of normalization needs beyond the
// resolution: the time relative windows end at and the intent's ceiling.
type CostInput struct {
	// Now is the workflow's time of the stage (a window "since" a date
	// runs to its day); zero: no estimate is made.
	Now time.Time
	// CostCeilingDBU is the intent's cost_ceiling_dbu; 0 is
	// precost.DefaultCostCeilingDBU, as at step 8.
	CostCeilingDBU float64
}

// Costed prices a resolved signature with the Pre-cost Estimator's model
// (precost.EstimateCost over the catalog's sizes and partition keys and
// the signature's temporal window, without the history of past runs,
// which belongs to a signed signature) and chooses the confirmation mode
// again with it, so the 5.1 trigger "high estimated cost" and 5.1b's
// estimated_cost > cost_ceiling_dbu * 0.8 fire at normalization
// (docs/adr/0134). The ceiling is the one step 8 uses. A resolution that
// is not resolved, a zero Now, or a signature the model cannot price
// (an error that says why) is returned with no estimate: the cost
// triggers stay silent and step 8 reports the problem.
func Costed(res SemanticResolution, cat *catalog.Catalog, env registry.EnvironmentState, in CostInput) (SemanticResolution, error) {
	if !res.Resolved || in.Now.IsZero() {
		return res, nil
	}
	e, err := precost.EstimateCost(precost.Input{
		Signature: res.Signature.Clone(), Catalog: cat, Environment: env.Clone(), Now: in.Now, CostCeilingDBU: in.CostCeilingDBU,
	})
	if err != nil {
		return res, fmt.Errorf("estimated cost of the resolved signature: %w", err)
	}
	res.EstimatedCostDBU, res.CostCeilingDBU = e.EstimatedDBU, e.CostCeilingDBU
	c := confirmation.Evaluate(ConfirmationInput(res, env))
	res.ConfirmationMode, res.ConfirmationTriggers = c.Mode, c.Triggers
	return res, nil
}
