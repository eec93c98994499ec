package bounds

import (
	"fmt"
	"math"

	"github.com/contextualflux/cfa/internal/composite"
	"github.com/contextualflux/cfa/internal/intent"
	"github.com/contextualflux/cfa/internal/planner"
	"github.com/contextualflux/cfa/internal/signature"
)

// Signature checks every number and date of a State Signature: replan,
// the datasets and their size_bytes, the temporal filter's from, to and
// last_days. Every bad field is reported, joined, each an *Error.
func Signature(sig signature.Signature) error {
	var c checker
	c.signature("", sig)
	return c.err()
}

func (c *checker) signature(prefix string, sig signature.Signature) {
	c.integer(prefix+"replan", int64(sig.Replan), 0, MaxReplan, "replans already applied")
	if c.count(prefix+"datasets", len(sig.Datasets), MaxDatasets, "datasets") {
		for i, d := range sig.Datasets {
			c.integer(fmt.Sprintf("%sdatasets[%d].size_bytes", prefix, i), d.SizeBytes, 0, MaxSizeBytes, "bytes")
		}
	}
	if tf := sig.Constraints.TemporalFilter; tf != nil {
		p := prefix + "constraints.temporal_filter."
		c.window(p, tf.From, tf.To)
		if tf.LastDays != 0 {
			c.integer(p+"last_days", int64(tf.LastDays), 1, MaxLastDays, "days")
		}
	}
}

// Plan checks a supplied execution plan: the number of steps and every
// window it reads or replaces (plan.window, each extract's filter, the
// load's window). Its fields are named under plan.
func Plan(p planner.ExecutionPlan) error {
	var c checker
	c.plan("plan.", p)
	return c.err()
}

func (c *checker) plan(prefix string, p planner.ExecutionPlan) {
	if w := p.Window; w != nil {
		c.window(prefix+"window.", w.From, w.To)
	}
	if !c.count(prefix+"steps", len(p.Steps), MaxPlanSteps, "steps") {
		return
	}
	for i, s := range p.Steps {
		at := fmt.Sprintf("%ssteps[%d].params.", prefix, i)
		if f := s.Params.Filter; f != nil {
			c.window(at+"filter.", f.From, f.To)
		}
		if l := s.Params.Load; l != nil && l.Window != nil {
			c.window(at+"load.window.", l.Window.From, l.Window.To)
		}
	}
}

// Options checks the options of a run, named by their JSON fields: as_of,
// escalation_timeout_seconds, unit_retry_base_seconds, cost_ceiling_dbu
// (0 keeps each one's default).
func Options(r intent.Request) error {
	var c checker
	c.options(r)
	return c.err()
}

func (c *checker) options(r intent.Request) {
	if r.AsOf != "" {
		c.date("as_of", r.AsOf)
	}
	c.optional("escalation_timeout_seconds", int64(r.EscalationTimeoutSeconds),
		int64(MinEscalationTimeout.Seconds()), int64(MaxEscalationTimeout.Seconds()), "seconds", "300")
	c.optional("unit_retry_base_seconds", int64(r.UnitRetryBaseSeconds),
		int64(MinUnitRetryBase.Seconds()), int64(MaxUnitRetryBase.Seconds()), "seconds", "30")
	c.optional("row_limit", int64(r.RowLimit), 1, planner.MaxRowLimit, "rows", fmt.Sprint(planner.DefaultRowLimit))
	if v := r.CostCeilingDBU; v != 0 && (math.IsNaN(v) || v < 0 || v > MaxCostCeilingDBU) {
		c.add("cost_ceiling_dbu", fmt.Sprint(v), fmt.Sprintf("above 0 and at most %g (DBU), or 0 for the default 50", MaxCostCeilingDBU))
	}
}

// Request checks everything an intent carries: its options, its
// structured signature (fields named as in the signature file) and its
// supplied plan (under plan.).
func Request(r intent.Request) error {
	var c checker
	c.options(r)
	if r.Signature != nil {
		c.signature("", *r.Signature)
	}
	if r.Plan != nil {
		c.plan("plan.", *r.Plan)
	}
	return c.err()
}

// Graph checks a composite intent graph: at most MaxSubIntents
// sub-intents and MaxDependencies dependencies, and the signature of each
// structured sub-intent (under sub_intents[i].signature.). A graph over
// its size is reported by its size alone.
func Graph(g composite.IntentGraph) error {
	var c checker
	okSubs := c.count("sub_intents", len(g.SubIntents), MaxSubIntents, "sub-intents")
	okDeps := c.count("dependencies", len(g.Dependencies), MaxDependencies, "dependencies")
	if okSubs && okDeps {
		for i, s := range g.SubIntents {
			if s.Signature != nil {
				c.signature(fmt.Sprintf("sub_intents[%d].signature.", i), *s.Signature)
			}
		}
	}
	return c.err()
}
