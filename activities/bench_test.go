package activities_test

import (
	"testing"

	"github.com/contextualflux/cfa/internal/app"
	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/policy"
	"github.com/contextualflux/cfa/internal/registry"
	"github.com/contextualflux/cfa/internal/resolution"
)

// BenchmarkDecision measures the pure kernel of one intent as the stage
// activities run it: resolve + sign + govern (with its replan) + decide.
// No Postgres and no Temporal: those costs are in `make bench-e2e`.
func BenchmarkDecision(b *testing.B) {
	cat, err := app.LoadCatalog("")
	if err != nil {
		b.Fatal(err)
	}
	bundle, err := app.LoadBundle(b.Context(), "")
	if err != nil {
		b.Fatal(err)
	}
	env := registry.EnvironmentState{VersionID: "bench"}
	cases := map[string]string{
		"auto_aggregate":         "aggregate vendas_diarias by day",
		"reconcile_with_replan":  "reconcile nfe with clientes and persist to silver",
		"portuguese_with_filter": "conciliar nfe com clientes e gravar na silver desde 2026-01-01",
	}
	for name, text := range cases {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				res := resolution.Resolve(text, cat, env)
				if !res.Resolved {
					b.Fatalf("resolve %q: %s", text, res.Reason)
				}
				sig := res.Signature.Canonical()
				if _, err := sig.Hash(); err != nil {
					b.Fatal(err)
				}
				g, err := policy.Govern(sig, env, cat, bundle)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := decision.Decide(decision.Input{Votes: []decision.Vote{g.Vote(decision.AuthorityPolicyEngine)}}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
