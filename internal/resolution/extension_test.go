package resolution_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/confirmation"
	"github.com/contextualflux/cfa/internal/registry"
	"github.com/contextualflux/cfa/internal/resolution"
	"github.com/contextualflux/cfa/internal/signature"
)

// The intent_normalizer extension points (whitepaper 9) change a resolution
// only through Complete, WithEnrichment, WithConfidence and Reconfirm; these
// tests pin what the core keeps around them.

// autoRead is the read-only aggregate the shipped normalizer resolves in
// auto mode: high confidence, no PII, nothing written.
const autoRead = "aggregate vendas_diarias by day"

func resolved(t *testing.T, text string, env registry.EnvironmentState) resolution.SemanticResolution {
	t.Helper()
	r := resolution.Resolve(text, shipped, env)
	require.True(t, r.Resolved, r.Reason)
	return r
}

// datasetNamed returns the signature's dataset called name.
func datasetNamed(t *testing.T, s signature.Signature, name string) signature.Dataset {
	t.Helper()
	for _, d := range s.Datasets {
		if d.Name == name {
			return d
		}
	}
	require.Failf(t, "dataset missing", "no dataset %s in %v", name, s.DatasetNames())
	return signature.Dataset{}
}

// staleSales marks vendas_diarias stale in the registry.
var staleSales = registry.EnvironmentState{VersionID: "v3", Datasets: []registry.DatasetState{
	{Name: "vendas_diarias", State: registry.StateStale, PublishAllowed: true},
}}

func salesDraft() signature.Signature {
	return signature.Signature{
		Intent:     "daily_revenue_report",
		Operations: []string{signature.OpAggregate},
		Datasets:   []signature.Dataset{{Name: "vendas_diarias", Role: signature.RoleSource}},
	}
}

func TestCompleteFillsADraftFromTheCatalog(t *testing.T) {
	t.Parallel()
	r := resolution.Complete(salesDraft(), 0.92, nil, shipped, registry.EnvironmentState{})
	require.True(t, r.Resolved, r.Reason)

	d := datasetNamed(t, r.Signature, "vendas_diarias")
	require.Equal(t, "bronze", d.Layer, "the catalog fills the layer")
	require.Equal(t, "12GB", d.Size)
	require.Equal(t, int64(12<<30), d.SizeBytes)
	require.Equal(t, "internal", d.Classification)
	require.Equal(t, "parquet", d.SourceType)
	require.Equal(t, "sale_date", d.PartitionKey)
	require.Empty(t, d.PII)

	require.InDelta(t, 0.92, r.ConfidenceScore, 1e-12, "the resolver's confidence is kept")
	require.Equal(t, []string{}, r.CompetingInterpretations, "never nil: the audit shows []")
	require.Equal(t, resolution.AmbiguityLow, r.AmbiguityLevel)
	require.Equal(t, confirmation.ModeAuto, r.ConfirmationMode, "triggers %v", r.ConfirmationTriggers)
}

func TestCompleteRefusesADatasetNotInTheCatalog(t *testing.T) {
	t.Parallel()
	draft := salesDraft()
	draft.Datasets = append(draft.Datasets, signature.Dataset{Name: "receita_diaria", Role: signature.RoleSource})
	r := resolution.Complete(draft, 1, nil, shipped, registry.EnvironmentState{})
	require.False(t, r.Resolved)
	require.Contains(t, r.Reason, `"receita_diaria"`)
	require.Contains(t, r.Reason, "not in the catalog")
	require.Empty(t, r.Signature.Datasets, "nothing is guessed")
	require.Empty(t, r.ConfirmationMode)
	require.Zero(t, r.ConfidenceScore, "the resolver's confidence is not applied to an unresolved draft")
}

func TestCompleteInjectsTheRegistryConstraints(t *testing.T) {
	t.Parallel()
	r := resolution.Complete(salesDraft(), 0.99, nil, shipped, staleSales)
	require.True(t, r.Resolved, r.Reason)
	require.Equal(t, []string{"vendas_diarias.state = stale"}, r.EnvironmentConstraintsInjected)
	require.Equal(t, confirmation.ModeHardRequired, r.ConfirmationMode)
	require.Contains(t, r.ConfirmationTriggers, confirmation.TriggerStaleDataset)
}

func TestCompleteCompetingInterpretations(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		competing []string
		want      []string
		ambiguity string
		mode      confirmation.Mode
	}{
		{"none", nil, []string{}, resolution.AmbiguityLow, confirmation.ModeAuto},
		{"one reading is no competition", []string{"daily_revenue"}, []string{}, resolution.AmbiguityLow, confirmation.ModeAuto},
		{"a repeated reading counts once", []string{"daily_revenue", "daily_revenue"}, []string{}, resolution.AmbiguityLow, confirmation.ModeAuto},
		{"two readings escalate", []string{"revenue_by_uf", "daily_revenue"}, []string{"daily_revenue", "revenue_by_uf"},
			resolution.AmbiguityHigh, confirmation.ModeHumanEscalation},
		{"sorted and deduplicated", []string{"b", "a", "b", "c"}, []string{"a", "b", "c"},
			resolution.AmbiguityHigh, confirmation.ModeHumanEscalation},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := resolution.Complete(salesDraft(), 0.95, tc.competing, shipped, registry.EnvironmentState{})
			require.True(t, r.Resolved, r.Reason)
			require.Equal(t, tc.want, r.CompetingInterpretations)
			require.Equal(t, tc.ambiguity, r.AmbiguityLevel)
			require.Equal(t, tc.mode, r.ConfirmationMode, "triggers %v", r.ConfirmationTriggers)
			if tc.mode == confirmation.ModeHumanEscalation {
				require.Contains(t, r.ConfirmationTriggers, confirmation.TriggerCompetingInterpretations)
				require.Contains(t, r.ConfirmationTriggers, confirmation.TriggerRelevantAmbiguity)
			}
		})
	}
}

func TestCompleteClampsTheResolversConfidence(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		score float64
		want  float64
		mode  confirmation.Mode
	}{
		{"above one", 7, 1, confirmation.ModeAuto},
		{"negative", -0.4, 0, confirmation.ModeHardRequired},
		{"NaN", math.NaN(), 0, confirmation.ModeHardRequired},
		{"low", 0.3, 0.3, confirmation.ModeHardRequired},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := resolution.Complete(salesDraft(), tc.score, nil, shipped, registry.EnvironmentState{})
			require.True(t, r.Resolved, r.Reason)
			require.Equal(t, tc.want, r.ConfidenceScore)
			require.Equal(t, tc.mode, r.ConfirmationMode, "triggers %v", r.ConfirmationTriggers)
		})
	}
}

func TestWithEnrichmentAddedPIIEscalates(t *testing.T) {
	t.Parallel()
	base := resolved(t, autoRead, registry.EnvironmentState{})
	require.Equal(t, confirmation.ModeAuto, base.ConfirmationMode, "fixture: the shipped reading needs no confirmation")

	enriched := base.Signature
	enriched.Datasets = []signature.Dataset{{Name: "vendas_diarias", PII: []string{"cpf_cliente"}}}
	r := resolution.WithEnrichment(base, enriched, registry.EnvironmentState{})

	require.Equal(t, []string{"cpf_cliente"}, datasetNamed(t, r.Signature, "vendas_diarias").PII)
	require.Equal(t, confirmation.ModeHardRequired, r.ConfirmationMode)
	require.Equal(t, []confirmation.Trigger{confirmation.TriggerPIIDetected}, r.ConfirmationTriggers)
}

func TestWithEnrichmentNeverRemovesPII(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		hookPII  []string
		wantPII  []string
		wantMode confirmation.Mode
	}{
		{"the hook drops every PII column", nil, []string{"cpf", "email"}, confirmation.ModeHardRequired},
		{"the hook declares an empty list", []string{}, []string{"cpf", "email"}, confirmation.ModeHardRequired},
		{"the hook keeps one and adds one", []string{"telefone", "cpf"}, []string{"cpf", "email", "telefone"}, confirmation.ModeHardRequired},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			base := resolved(t, "anonymize customers", registry.EnvironmentState{})
			require.Equal(t, []string{"cpf", "email"}, datasetNamed(t, base.Signature, "clientes").PII, "fixture: the catalog's PII")

			enriched := signature.Signature{Datasets: []signature.Dataset{{Name: "clientes", Role: signature.RoleSource, PII: tc.hookPII}}}
			r := resolution.WithEnrichment(base, enriched, registry.EnvironmentState{})
			require.Equal(t, tc.wantPII, datasetNamed(t, r.Signature, "clientes").PII)
			require.Equal(t, tc.wantMode, r.ConfirmationMode)
			require.Contains(t, r.ConfirmationTriggers, confirmation.TriggerPIIDetected)
		})
	}
}

func TestWithEnrichmentTakesClassificationAndSizeOnlyForTheSignaturesDatasets(t *testing.T) {
	t.Parallel()
	base := resolved(t, autoRead, registry.EnvironmentState{})
	enriched := signature.Signature{Datasets: []signature.Dataset{
		{Name: "vendas_diarias", Classification: "sensitive", Size: "2TB", SizeBytes: 2 << 40},
		// Not read by the intent: nothing of it is taken, and it is not added.
		{Name: "nfe", Classification: "public", Size: "1KB", SizeBytes: 1 << 10, PII: []string{"cpf"}},
	}}
	r := resolution.WithEnrichment(base, enriched, registry.EnvironmentState{})

	require.Equal(t, []string{"vendas_diarias"}, r.Signature.DatasetNames(), "no dataset is added")
	d := datasetNamed(t, r.Signature, "vendas_diarias")
	require.Equal(t, "sensitive", d.Classification)
	require.Equal(t, "2TB", d.Size)
	require.Equal(t, int64(2<<40), d.SizeBytes)
	require.Empty(t, d.PII, "another dataset's PII is not moved onto this one")
	require.Equal(t, confirmation.ModeAuto, r.ConfirmationMode, "nothing that escalates was added to the signature's datasets")

	// An empty classification or size keeps the catalog's.
	r = resolution.WithEnrichment(resolved(t, autoRead, registry.EnvironmentState{}),
		signature.Signature{Datasets: []signature.Dataset{{Name: "vendas_diarias"}}}, registry.EnvironmentState{})
	d = datasetNamed(t, r.Signature, "vendas_diarias")
	require.Equal(t, "internal", d.Classification)
	require.Equal(t, "12GB", d.Size)
	require.Equal(t, int64(12<<30), d.SizeBytes)
}

// TestWithEnrichmentNeverLowersProtection: a classification that is not
// sensitive does not replace the catalog's, and a smaller size is ignored
// (a smaller scan would be governed less strictly).
func TestWithEnrichmentNeverLowersProtection(t *testing.T) {
	t.Parallel()
	for _, e := range []signature.Dataset{
		{Name: "vendas_diarias", Classification: "public"},
		{Name: "vendas_diarias", Size: "1KB", SizeBytes: 1 << 10},
		{Name: "vendas_diarias", Classification: "public", Size: "1KB", SizeBytes: 1 << 10},
	} {
		r := resolution.WithEnrichment(resolved(t, autoRead, registry.EnvironmentState{}), signature.Signature{Datasets: []signature.Dataset{e}}, registry.EnvironmentState{})
		d := datasetNamed(t, r.Signature, "vendas_diarias")
		require.Equal(t, "internal", d.Classification, "%+v", e)
		require.Equal(t, "12GB", d.Size, "%+v", e)
		require.Equal(t, int64(12<<30), d.SizeBytes, "%+v", e)
	}
}

func TestWithEnrichmentKeepsDatasetsOperationsAndConstraints(t *testing.T) {
	t.Parallel()
	base := resolved(t, "anonimizar clientes e gravar na silver", registry.EnvironmentState{})
	want := base.Signature
	wantNames, wantOps, wantAnon := want.DatasetNames(), append([]string{}, want.Operations...), append([]string{}, want.Constraints.Anonymize...)
	wantLayer, wantIntent := want.TargetLayer, want.Intent

	enriched := signature.Signature{
		Intent:      "drop_everything",
		TargetLayer: "bronze",
		Operations:  []string{signature.OpPublish},
		Datasets: []signature.Dataset{
			{Name: "clientes", Role: signature.RoleTarget},
			{Name: "gold_faturamento_uf", Role: signature.RoleTarget},
		},
		Constraints: signature.Constraints{Anonymize: nil, NoPIIRaw: false, PublishBlocked: []string{"x"}},
	}
	r := resolution.WithEnrichment(base, enriched, registry.EnvironmentState{})
	require.Equal(t, wantNames, r.Signature.DatasetNames())
	require.Equal(t, wantOps, r.Signature.Operations)
	require.Equal(t, wantAnon, r.Signature.Constraints.Anonymize)
	require.True(t, r.Signature.Constraints.NoPIIRaw)
	require.Empty(t, r.Signature.Constraints.PublishBlocked)
	require.Equal(t, wantLayer, r.Signature.TargetLayer)
	require.Equal(t, wantIntent, r.Signature.Intent)
	require.Equal(t, signature.RoleSource, datasetNamed(t, r.Signature, "clientes").Role, "roles stay as resolved")
}

func TestWithConfidence(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		text     string
		score    float64
		want     float64
		mode     confirmation.Mode
		triggers []confirmation.Trigger
	}{
		{"high keeps auto", autoRead, 0.95, 0.95, confirmation.ModeAuto, nil},
		{"above one is clamped to one", autoRead, 1.5, 1, confirmation.ModeAuto, nil},
		{"medium asks a soft confirmation", autoRead, 0.7, 0.7, confirmation.ModeSoft,
			[]confirmation.Trigger{confirmation.TriggerMediumConfidence}},
		{"low escalates", autoRead, 0.1, 0.1, confirmation.ModeHardRequired,
			[]confirmation.Trigger{confirmation.TriggerLowConfidence}},
		{"negative counts as zero", autoRead, -3, 0, confirmation.ModeHardRequired,
			[]confirmation.Trigger{confirmation.TriggerLowConfidence}},
		{"NaN counts as zero", autoRead, math.NaN(), 0, confirmation.ModeHardRequired,
			[]confirmation.Trigger{confirmation.TriggerLowConfidence}},
		{"low on PII is a human escalation", "aggregate nfe", 0.1, 0.1, confirmation.ModeHumanEscalation,
			[]confirmation.Trigger{confirmation.TriggerLowConfidencePII, confirmation.TriggerPIIDetected, confirmation.TriggerLowConfidence}},
		// A scorer cannot make an intent proceed past the other triggers.
		{"high cannot lift a PII escalation", "aggregate nfe", 1, 1, confirmation.ModeHardRequired,
			[]confirmation.Trigger{confirmation.TriggerPIIDetected}},
		{"high cannot lift a gold write", "aggregate silver_documentos by uf into gold", 1, 1, confirmation.ModeHumanEscalation, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := resolution.WithConfidence(resolved(t, tc.text, registry.EnvironmentState{}), tc.score, registry.EnvironmentState{})
			require.Equal(t, tc.want, r.ConfidenceScore)
			require.Equal(t, tc.mode, r.ConfirmationMode, "triggers %v", r.ConfirmationTriggers)
			if tc.triggers != nil {
				require.Equal(t, tc.triggers, r.ConfirmationTriggers)
			}
			if tc.mode == confirmation.ModeAuto {
				require.Empty(t, r.ConfirmationTriggers)
			}
		})
	}
}

func TestReconfirm(t *testing.T) {
	t.Parallel()
	t.Run("recomputes the mode the resolution's fields call for", func(t *testing.T) {
		t.Parallel()
		base := resolved(t, autoRead, registry.EnvironmentState{})
		edited := base
		edited.ConfirmationMode, edited.ConfirmationTriggers = confirmation.ModeHumanEscalation, []confirmation.Trigger{"stale"}
		r := resolution.Reconfirm(edited, registry.EnvironmentState{})
		require.Equal(t, base.ConfirmationMode, r.ConfirmationMode)
		require.Equal(t, base.ConfirmationTriggers, r.ConfirmationTriggers)
	})
	t.Run("reads the environment it is given", func(t *testing.T) {
		t.Parallel()
		r := resolution.Reconfirm(resolved(t, autoRead, registry.EnvironmentState{}), staleSales)
		require.Equal(t, confirmation.ModeHardRequired, r.ConfirmationMode)
		require.Equal(t, []confirmation.Trigger{confirmation.TriggerStaleDataset}, r.ConfirmationTriggers)
	})
	t.Run("leaves an unresolved resolution unresolved and without a mode", func(t *testing.T) {
		t.Parallel()
		u := resolution.Resolve("make the numbers look better", shipped, registry.EnvironmentState{})
		require.False(t, u.Resolved)
		r := resolution.Reconfirm(u, registry.EnvironmentState{})
		require.Equal(t, u, r)
		require.Empty(t, r.ConfirmationMode)
		u = resolution.WithConfidence(u, 1, registry.EnvironmentState{})
		require.False(t, u.Resolved)
		require.Empty(t, u.ConfirmationMode)
	})
}

func TestWithEnrichmentLeavesItsInputUnchanged(t *testing.T) {
	t.Parallel()
	base := resolved(t, autoRead, registry.EnvironmentState{})
	enriched := signature.Signature{Datasets: []signature.Dataset{{Name: "vendas_diarias", Classification: "sensitive", PII: []string{"cpf_cliente"}}}}
	r := resolution.WithEnrichment(base, enriched, registry.EnvironmentState{})
	require.Equal(t, []string{"cpf_cliente"}, datasetNamed(t, r.Signature, "vendas_diarias").PII, "fixture")

	d := datasetNamed(t, base.Signature, "vendas_diarias")
	require.Empty(t, d.PII, "the resolution passed in is not edited")
	require.Equal(t, "internal", d.Classification)
	require.Equal(t, confirmation.ModeAuto, base.ConfirmationMode)
}
