package activities_test

import (
	"context"
	"testing"

	"go.uber.org/zap"

	"github.com/contextualflux/cfa/activities"
	"github.com/contextualflux/cfa/internal/app"
	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/registry"
)

// BenchmarkDecision measures the pure kernel of one intent, as the
// activities run it: resolve + sign + govern (with its replan) + decide.
// No Postgres and no Temporal: those costs are in `cfa bench`.
func BenchmarkDecision(b *testing.B) {
	cat, err := app.LoadCatalog("")
	if err != nil {
		b.Fatal(err)
	}
	bundle, err := app.LoadBundle("")
	if err != nil {
		b.Fatal(err)
	}
	a := &activities.Activities{Catalog: cat, Bundle: bundle, Logger: zap.NewNop()}
	env := registry.EnvironmentState{VersionID: "bench"}
	ctx := context.Background()
	cases := map[string]string{
		"auto_aggregate":         "aggregate vendas_diarias by day",
		"reconcile_with_replan":  "reconcile nfe with clientes and persist to silver",
		"portuguese_with_filter": "conciliar nfe com clientes e gravar na silver desde 2026-01-01",
	}
	for name, text := range cases {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				res, err := a.Normalize(ctx, activities.NormalizeInput{Text: text, Environment: env})
				if err != nil || !res.Resolved {
					b.Fatalf("resolve %q: %v %s", text, err, res.Reason)
				}
				s, err := a.Sign(ctx, activities.SignInput{Signature: res.Signature})
				if err != nil {
					b.Fatal(err)
				}
				g, err := a.Govern(ctx, activities.GovernInput{Signed: s, Environment: env})
				if err != nil {
					b.Fatal(err)
				}
				out := decision.Approved
				if g.Outcome == activities.OutcomeBlock {
					out = decision.Blocked
				}
				if _, err := a.Decide(ctx, decision.Input{Votes: []decision.Vote{{Authority: decision.AuthorityPolicyEngine, Outcome: out}}}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
