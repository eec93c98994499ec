package resolution_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/contextualflux/cfa/internal/confirmation"
	"github.com/contextualflux/cfa/internal/registry"
	"github.com/contextualflux/cfa/internal/resolution"
	"github.com/contextualflux/cfa/internal/signature"
)

// whitepaper52 is the State Signature example of whitepaper 5.2, verbatim.
const whitepaper52 = `
signature:
  domain: fiscal_data_processing
  intent: reconciliation_and_persist
  source_type: nested_json
  target_layer: bronze_to_silver
  datasets:
    - name: nfe
      size: 4TB
      classification: high_volume
    - name: clientes
      size: 500MB
      classification: sensitive
      pii: [cpf, email]
  constraints:
    no_pii_raw: true
    partition_by: [processing_date]
    enforce_types: true
    merge_key_required: true
  execution_context:
    policy_bundle_version: "v4.2"
    catalog_snapshot_version: "catalog_2026_03_22"
`

func parse(t *testing.T, doc string) signature.Signature {
	t.Helper()
	var w struct {
		Signature signature.Signature `yaml:"signature"`
	}
	require.NoError(t, yaml.Unmarshal([]byte(doc), &w))
	return w.Signature
}

func TestResolveStructuredWhitepaperExample(t *testing.T) {
	t.Parallel()
	r := resolution.ResolveStructured(parse(t, whitepaper52), shipped, partiallyCommitted)
	require.True(t, r.Resolved, r.Reason)
	s := r.Signature

	// The submitter's fields are kept.
	require.Equal(t, "fiscal_data_processing", s.Domain)
	require.Equal(t, "reconciliation_and_persist", s.Intent)
	require.Equal(t, "bronze_to_silver", s.TargetLayer)
	require.Equal(t, signature.ExecutionContext{PolicyBundleVersion: "v4.2", CatalogSnapshotVersion: "catalog_2026_03_22"}, s.ExecutionContext)
	require.True(t, s.Constraints.NoPIIRaw && s.Constraints.EnforceTypes && s.Constraints.MergeKeyRequired)
	require.Equal(t, []string{"processing_date"}, s.Constraints.PartitionBy)

	// The catalog fills the rest; the operation comes from the intent label
	// and the target from the documented default.
	require.Equal(t, []string{signature.OpJoin}, s.Operations)
	require.Equal(t, []string{"nfe", "clientes"}, []string{s.Sources()[0].Name, s.Sources()[1].Name})
	nfe := s.Sources()[0]
	require.Equal(t, "processing_date", nfe.PartitionKey)
	require.Equal(t, "nfe_id", nfe.MergeKey)
	require.Equal(t, "nested_json", nfe.SourceType)
	require.Equal(t, "bronze", nfe.Layer)
	require.Equal(t, []string{"silver_documentos"}, names(s.Targets()))

	require.Equal(t, []string{"silver_documentos.state = partially_committed", "silver_documentos.publish_allowed = false"}, r.EnvironmentConstraintsInjected)
	require.Equal(t, []string{"silver_documentos"}, s.Constraints.PublishBlocked)
	require.Equal(t, resolution.AmbiguityMedium, r.AmbiguityLevel) // operations were inferred
	require.InDelta(t, 0.90, r.ConfidenceScore, 1e-9)
	require.Equal(t, confirmation.ModeHumanEscalation, r.ConfirmationMode)

	clean := resolution.ResolveStructured(parse(t, whitepaper52), shipped, registry.EnvironmentState{})
	require.Equal(t, confirmation.ModeHardRequired, clean.ConfirmationMode)
}

func TestResolveStructuredMatchesText(t *testing.T) {
	t.Parallel()
	text := resolution.Resolve("reconcile nfe with clientes and persist to silver", shipped, registry.EnvironmentState{})
	sig := signature.Signature{
		Operations:  []string{signature.OpJoin},
		TargetLayer: "bronze_to_silver",
		Datasets: []signature.Dataset{
			{Name: "clientes", Role: signature.RoleSource},
			{Name: "nfe", Role: signature.RoleSource},
			{Name: "silver_documentos", Role: signature.RoleTarget},
		},
	}
	st := resolution.ResolveStructured(sig, shipped, registry.EnvironmentState{})
	require.True(t, st.Resolved, st.Reason)
	a, err := text.Signature.Encode()
	require.NoError(t, err)
	b, err := st.Signature.Encode()
	require.NoError(t, err)
	require.Equal(t, string(a), string(b))
	require.Equal(t, 1.0, st.ConfidenceScore)
}

func TestResolveStructuredRefuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		sig    signature.Signature
		reason []string
	}{
		{"unknown dataset names closest", signature.Signature{Operations: []string{"aggregate"}, Datasets: []signature.Dataset{{Name: "nfee"}}},
			[]string{`"nfee" (closest: nfe`, "by their catalog name"}},
		{"alias is not a catalog name", signature.Signature{Operations: []string{"aggregate"}, Datasets: []signature.Dataset{{Name: "invoices"}}},
			[]string{`"invoices"`, "closest: nfe"}},
		{"unknown operation", signature.Signature{Operations: []string{"explode"}, Datasets: []signature.Dataset{{Name: "nfe"}}},
			[]string{`operation "explode"`}},
		{"no operation and unknown intent", signature.Signature{Intent: "do_stuff", Datasets: []signature.Dataset{{Name: "nfe"}}},
			[]string{`intent "do_stuff" names no operation`}},
		{"bad target layer", signature.Signature{Operations: []string{"aggregate"}, TargetLayer: "bronze_to_platinum", Datasets: []signature.Dataset{{Name: "nfe"}}},
			[]string{`target_layer "bronze_to_platinum"`}},
		{"bad role", signature.Signature{Operations: []string{"aggregate"}, Datasets: []signature.Dataset{{Name: "nfe", Role: "sink"}}},
			[]string{`role "sink"`}},
		{"no datasets", signature.Signature{Operations: []string{"aggregate"}},
			[]string{"names no datasets"}},
		{"target in another layer", signature.Signature{Operations: []string{"join"}, TargetLayer: "bronze_to_gold", Datasets: []signature.Dataset{{Name: "nfe"}, {Name: "clientes"}, {Name: "silver_documentos", Role: "target"}}},
			[]string{"target silver_documentos is a silver dataset"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := resolution.ResolveStructured(tc.sig, shipped, registry.EnvironmentState{})
			require.False(t, r.Resolved)
			for _, w := range tc.reason {
				require.Contains(t, r.Reason, w)
			}
		})
	}
}
