package activities

import (
	"context"

	"github.com/contextualflux/cfa/internal/composite"
	"github.com/contextualflux/cfa/internal/decision"
)

// GraphCheck is a composite intent's graph verdict: its levels, or the
// problems that block it.
type GraphCheck struct {
	Levels   [][]string `json:"levels,omitempty"`
	Problems []string   `json:"problems,omitempty"`
}

// CheckIntentGraph validates a composite intent's graph (cycles, dangling
// dependencies, ids). An invalid graph is a verdict, not an error: the
// workflow blocks it and records why.
func (a *Activities) CheckIntentGraph(_ context.Context, g composite.IntentGraph) (GraphCheck, error) {
	if err := g.Validate(); err != nil {
		var out GraphCheck
		for _, p := range composite.Problems(err) {
			out.Problems = append(out.Problems, p.Error())
		}
		if len(out.Problems) == 0 {
			out.Problems = []string{err.Error()}
		}
		return out, nil
	}
	return GraphCheck{Levels: g.Levels()}, nil
}

// ConsolidateComposite decides a composite intent from its sub-intents.
func (a *Activities) ConsolidateComposite(_ context.Context, subs []decision.SubDecision) (decision.Decision, error) {
	d, err := decision.Consolidate(subs)
	if err != nil {
		return d, invalid(err)
	}
	return d, nil
}
