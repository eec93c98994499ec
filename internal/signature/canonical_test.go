package signature

import (
	"testing"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// whitepaperSignature is the 5.2 example, verbatim apart from roles.
const whitepaperSignature = `
domain: fiscal_data_processing
intent: reconciliation_and_persist
source_type: nested_json
target_layer: bronze_to_silver
operations: [join]
datasets:
  - name: nfe
    role: source
    size: 4TB
    classification: high_volume
  - name: clientes
    role: source
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

func parse(t *testing.T) Signature {
	t.Helper()
	var s Signature
	require.NoError(t, yaml.Unmarshal([]byte(whitepaperSignature), &s))
	return s
}

func TestHashIsStable(t *testing.T) {
	t.Parallel()
	a, err := parse(t).Hash()
	require.NoError(t, err)
	b, err := parse(t).Hash()
	require.NoError(t, err)
	require.Equal(t, a, b)
	require.Len(t, a, 64)
}

func TestHashIgnoresSetOrder(t *testing.T) {
	t.Parallel()
	s := parse(t)
	r := parse(t)
	r.Datasets[0], r.Datasets[1] = r.Datasets[1], r.Datasets[0]
	r.Datasets[0].PII = []string{"email", "cpf"}
	hs, _ := s.Hash()
	hr, _ := r.Hash()
	require.Equal(t, hs, hr)
}

func TestHashChangesWhenAnyFieldChanges(t *testing.T) {
	t.Parallel()
	base, err := parse(t).Hash()
	require.NoError(t, err)
	mutations := map[string]func(*Signature){
		"domain":                 func(s *Signature) { s.Domain = "master_data" },
		"intent":                 func(s *Signature) { s.Intent = "aggregate_report" },
		"source_type":            func(s *Signature) { s.SourceType = "table" },
		"target_layer":           func(s *Signature) { s.TargetLayer = "silver_to_gold" },
		"operations":             func(s *Signature) { s.Operations = append(s.Operations, OpPublish) },
		"dataset name":           func(s *Signature) { s.Datasets[0].Name = "nfe2" },
		"dataset role":           func(s *Signature) { s.Datasets[0].Role = RoleTarget },
		"dataset classification": func(s *Signature) { s.Datasets[1].Classification = "internal" },
		"dataset pii":            func(s *Signature) { s.Datasets[1].PII = []string{"cpf"} },
		"no_pii_raw":             func(s *Signature) { s.Constraints.NoPIIRaw = false },
		"partition_by":           func(s *Signature) { s.Constraints.PartitionBy = nil },
		"enforce_types":          func(s *Signature) { s.Constraints.EnforceTypes = false },
		"merge_key_required":     func(s *Signature) { s.Constraints.MergeKeyRequired = false },
		"merge_key":              func(s *Signature) { s.Constraints.MergeKey = "nfe_id" },
		"temporal_filter": func(s *Signature) {
			s.Constraints.TemporalFilter = &TemporalFilter{Column: "processing_date", LastDays: 7}
		},
		"anonymize":                func(s *Signature) { s.Constraints.Anonymize = []string{"clientes.cpf"} },
		"publish_blocked":          func(s *Signature) { s.Constraints.PublishBlocked = []string{"silver_documentos"} },
		"declared_imports":         func(s *Signature) { s.DeclaredImports = []string{"os"} },
		"declared_patterns":        func(s *Signature) { s.DeclaredPatterns = []string{"collect()"} },
		"replan":                   func(s *Signature) { s.Replan = 1 },
		"policy_bundle_version":    func(s *Signature) { s.ExecutionContext.PolicyBundleVersion = "v4.3" },
		"catalog_snapshot_version": func(s *Signature) { s.ExecutionContext.CatalogSnapshotVersion = "catalog_x" },
		"registry_version_id":      func(s *Signature) { s.ExecutionContext.RegistryVersionID = "0191" },
	}
	for name, mutate := range mutations {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := parse(t)
			mutate(&s)
			h, err := s.Hash()
			require.NoError(t, err)
			require.NotEqual(t, base, h, "changing %s must change intent_signature_hash", name)
		})
	}
}

func TestCanonicalDoesNotMutate(t *testing.T) {
	t.Parallel()
	s := parse(t)
	s.Datasets[1].PII = []string{"email", "cpf"}
	_ = s.Canonical()
	require.Equal(t, []string{"email", "cpf"}, s.Datasets[1].PII)
	require.Equal(t, "nfe", s.Datasets[0].Name)
}

func TestDestinationLayer(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"bronze_to_silver": "silver", "silver_to_gold": "gold", "gold": "gold", "": ""} {
		require.Equal(t, want, Signature{TargetLayer: in}.DestinationLayer(), in)
	}
}

func TestShapeHashIgnoresWhereAndWhenItWasSigned(t *testing.T) {
	t.Parallel()
	a := Signature{Intent: "x", Operations: []string{OpMerge}, Datasets: []Dataset{{Name: "nfe", Role: RoleSource}}}
	b := a
	b.ExecutionContext = ExecutionContext{RegistryVersionID: "v2", PolicyBundleVersion: "p", CatalogSnapshotVersion: "c"}
	b.Replan = 2
	ha, err := a.ShapeHash()
	require.NoError(t, err)
	hb, err := b.ShapeHash()
	require.NoError(t, err)
	require.Equal(t, ha, hb)
	c := a
	c.Constraints.MergeKey = "nfe_id"
	hc, err := c.ShapeHash()
	require.NoError(t, err)
	require.NotEqual(t, ha, hc, "what the intent does still changes it")
	full, err := b.Hash()
	require.NoError(t, err)
	require.NotEqual(t, full, hb)
}
