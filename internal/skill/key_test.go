package skill_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/signature"
	"github.com/contextualflux/cfa/internal/skill"
)

func reconcile() signature.Signature {
	return signature.Signature{
		Domain: "fiscal", Intent: "reconciliation_and_persist", TargetLayer: "bronze_to_silver",
		Operations: []string{signature.OpJoin, signature.OpAnonymize},
		Datasets: []signature.Dataset{
			{Name: "silver_documentos", Role: signature.RoleTarget, Layer: "silver", PartitionKey: "processing_date", MergeKey: "nfe_id"},
			{Name: "nfe", Role: signature.RoleSource, Layer: "bronze", PII: []string{"cpf"}},
			{Name: "clientes", Role: signature.RoleSource, Layer: "bronze"},
		},
		Constraints: signature.Constraints{NoPIIRaw: true, MergeKey: "nfe_id", Anonymize: []string{"nfe.cpf"}},
		ExecutionContext: signature.ExecutionContext{
			PolicyBundleVersion: "v1", CatalogSnapshotVersion: "catalog_2026_03_22", RegistryVersionID: "reg-1",
		},
	}
}

// TestKeyIsTheShapeWithoutWhatTheRegistryInjects: the skill id ignores
// where and when the intent was signed and what the Context Registry
// injected; anything the intent does changes it.
func TestKeyIsTheShapeWithoutWhatTheRegistryInjects(t *testing.T) {
	t.Parallel()
	base := reconcile()
	key, err := skill.Key(base)
	require.NoError(t, err)
	require.True(t, skill.ValidKey(key), key)

	shape, err := base.ShapeHash()
	require.NoError(t, err)
	require.Equal(t, shape, key, "without publish_blocked the skill id is the shape hash of ADR 0095")
	hash, err := base.Hash()
	require.NoError(t, err)
	require.NotEqual(t, hash, key, "the intent_signature_hash changes with every registry version")

	same := map[string]func(*signature.Signature){
		"another registry version": func(s *signature.Signature) { s.ExecutionContext.RegistryVersionID = "reg-2" },
		"another bundle and catalog": func(s *signature.Signature) {
			s.ExecutionContext = signature.ExecutionContext{PolicyBundleVersion: "v2", CatalogSnapshotVersion: "c2"}
		},
		"a replan counter":                func(s *signature.Signature) { s.Replan = 2 },
		"publish_blocked injected":        func(s *signature.Signature) { s.Constraints.PublishBlocked = []string{"silver_documentos"} },
		"publish_blocked on two datasets": func(s *signature.Signature) { s.Constraints.PublishBlocked = []string{"nfe", "silver_documentos"} },
		"operations in another order":     func(s *signature.Signature) { s.Operations = []string{signature.OpAnonymize, signature.OpJoin} },
		"datasets in another order":       func(s *signature.Signature) { s.Datasets[0], s.Datasets[2] = s.Datasets[2], s.Datasets[0] },
	}
	for name, edit := range same {
		t.Run("same skill: "+name, func(t *testing.T) {
			t.Parallel()
			s := reconcile()
			edit(&s)
			got, err := skill.Key(s)
			require.NoError(t, err)
			require.Equal(t, key, got)
		})
	}
	other := map[string]func(*signature.Signature){
		"another intent": func(s *signature.Signature) { s.Intent = "reconciliation" },
		"a policy replan's anonymize": func(s *signature.Signature) {
			s.Constraints.Anonymize = append(s.Constraints.Anonymize, "clientes.cpf")
		},
		"a temporal filter": func(s *signature.Signature) {
			s.Constraints.TemporalFilter = &signature.TemporalFilter{Column: "processing_date", LastDays: 30}
		},
		"another target layer": func(s *signature.Signature) { s.TargetLayer = "silver_to_gold" },
		"one more operation":   func(s *signature.Signature) { s.Operations = append(s.Operations, signature.OpPublish) },
	}
	for name, edit := range other {
		t.Run("another skill: "+name, func(t *testing.T) {
			t.Parallel()
			s := reconcile()
			edit(&s)
			got, err := skill.Key(s)
			require.NoError(t, err)
			require.NotEqual(t, key, got)
		})
	}
}

func TestKeyedDoesNotModifyTheSignature(t *testing.T) {
	t.Parallel()
	s := reconcile()
	s.Constraints.PublishBlocked = []string{"silver_documentos"}
	k := skill.Keyed(s)
	require.Empty(t, k.Constraints.PublishBlocked)
	require.Equal(t, signature.ExecutionContext{}, k.ExecutionContext)
	require.Equal(t, []string{"silver_documentos"}, s.Constraints.PublishBlocked)
	require.Equal(t, "reg-1", s.ExecutionContext.RegistryVersionID)
	key, err := skill.Key(s)
	require.NoError(t, err)
	again, err := k.Hash()
	require.NoError(t, err)
	require.Equal(t, key, again, "Key is the hash of Keyed")
}

func TestValidKey(t *testing.T) {
	t.Parallel()
	require.False(t, skill.ValidKey(""))
	require.False(t, skill.ValidKey("ABCDEF"+key64()[6:]))
	require.False(t, skill.ValidKey(key64()[:63]))
	require.True(t, skill.ValidKey(key64()))
}

func key64() string { return "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" }
