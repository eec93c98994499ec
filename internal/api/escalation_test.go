package api

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/confirmation"
	"github.com/contextualflux/cfa/internal/signature"
	"github.com/contextualflux/cfa/workflows"
)

// TestEscalationShowsTheSignatureAndTheInterpretations: the API's pending
// view shows the signature asked about and the competing interpretations
// an approval may choose (ApproveEscalationRequest.interpretation).
func TestEscalationShowsTheSignatureAndTheInterpretations(t *testing.T) {
	p := &workflows.PendingEscalation{}
	p.Mode = confirmation.ModeHumanEscalation
	p.Signature = signature.Signature{Intent: "anonymization_and_persist", Operations: []string{"anonymize"},
		Datasets: []signature.Dataset{{Name: "clientes", Role: signature.RoleSource}, {Name: "clientes_anon", Role: signature.RoleTarget}}}
	p.Interpretations = []string{"anonymize_clientes_silver", "anonymize_produtos_silver"}
	e := escalationOf(p)
	require.Equal(t, confirmation.Show(p.Signature), e.GetSignature())
	require.Equal(t, p.Interpretations, e.GetInterpretations())
}
