package skill_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/planner"
	"github.com/contextualflux/cfa/internal/planner/plannertest"
	"github.com/contextualflux/cfa/internal/signature"
	"github.com/contextualflux/cfa/internal/skill"
)

// run plans sig as one run would: its own execution_context (so its own
// signature hash) and as_of.
func run(t *testing.T, sig signature.Signature, registryVersion, asOf string) (signature.Signature, string, planner.ExecutionPlan) {
	t.Helper()
	cat := plannertest.Catalog()
	sig.ExecutionContext = signature.ExecutionContext{PolicyBundleVersion: "v1+abc", CatalogSnapshotVersion: cat.SnapshotVersion, RegistryVersionID: registryVersion}
	h, err := sig.Hash()
	require.NoError(t, err)
	p, err := planner.Plan(sig, cat, planner.Options{AsOf: asOf})
	require.NoError(t, err)
	require.Equal(t, h, p.SignatureHash)
	return sig, h, p
}

func windowed(cat func() signature.Signature) signature.Signature {
	sig := cat()
	sig.Constraints.TemporalFilter = &signature.TemporalFilter{Column: sig.Constraints.TemporalFilter.Column, LastDays: 7}
	return sig
}

// TestArtifactServesLaterRuns: a frozen plan is served to a later run of
// the same skill, rebound to that run's signature hash and window, and is
// then byte-identical to the plan that run makes (I8); a run of another
// shape is not served.
func TestArtifactServesLaterRuns(t *testing.T) {
	t.Parallel()
	base := func() signature.Signature { return plannertest.RevenueByState(plannertest.Catalog()) }
	require.NotNil(t, base().Constraints.TemporalFilter, "the fixture reads a window")
	sig := windowed(base)
	promoted, h, p := run(t, sig, "reg_1", "2026-03-22")
	art, err := skill.NewArtifact("intent-1", promoted, h, p, json.RawMessage(`[{"backend":"postgres"}]`), "c0de")
	require.NoError(t, err)
	id, err := skill.Key(promoted)
	require.NoError(t, err)
	require.Equal(t, id, art.SkillID)
	require.Empty(t, art.Signature.ExecutionContext, "the artifact keeps the keyed signature")

	for _, tc := range []struct {
		name     string
		sig      signature.Signature
		registry string
		asOf     string
		fits     bool
	}{
		{"the promoted run itself", sig, "reg_1", "2026-03-22", true},
		{"a later run: another registry version and as_of", sig, "reg_9", "2026-04-30", true},
		{"another window length plans the same template (the skill key tells them apart)", func() signature.Signature {
			s := windowed(base)
			s.Constraints.TemporalFilter.LastDays = 30
			return s
		}(), "reg_9", "2026-04-30", true},
		{"no_pii_raw flipped plans another template", func() signature.Signature {
			s := windowed(base)
			s.Constraints.NoPIIRaw = !s.Constraints.NoPIIRaw
			return s
		}(), "reg_9", "2026-04-30", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, _, fresh := run(t, tc.sig, tc.registry, tc.asOf)
			served, err := art.Rebind(fresh)
			if !tc.fits {
				require.ErrorIs(t, err, skill.ErrArtifactDoesNotFit)
				return
			}
			require.NoError(t, err)
			require.Equal(t, fresh, served)
			want, err := json.Marshal(fresh)
			require.NoError(t, err)
			got, err := json.Marshal(served)
			require.NoError(t, err)
			require.Equal(t, string(want), string(got))
		})
	}
}

func TestNewArtifactRefuses(t *testing.T) {
	t.Parallel()
	sig, h, p := run(t, windowed(func() signature.Signature { return plannertest.RevenueByState(plannertest.Catalog()) }), "reg_1", "2026-03-22")
	code := json.RawMessage(`[{}]`)
	for _, tc := range []struct {
		name string
		edit func(*planner.ExecutionPlan, *string, *json.RawMessage)
	}{
		{"a plan of another signature", func(p *planner.ExecutionPlan, h *string, _ *json.RawMessage) { *h = "0000" }},
		{"a plan whose hash does not verify", func(p *planner.ExecutionPlan, _ *string, _ *json.RawMessage) { p.Target = "elsewhere" }},
		{"no code", func(_ *planner.ExecutionPlan, _ *string, c *json.RawMessage) { *c = nil }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, h, c := p, h, code
			p.Steps = append([]planner.Step(nil), p.Steps...)
			tc.edit(&p, &h, &c)
			_, err := skill.NewArtifact("intent-1", sig, h, p, c, "c0de")
			require.ErrorIs(t, err, skill.ErrInvalidArtifact)
		})
	}
}
