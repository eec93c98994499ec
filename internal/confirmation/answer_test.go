package confirmation_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/confirmation"
)

func TestDecodeAnswerTakesOnlyAWellFormedAnswer(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, payload, code string
	}{
		{"good", `{"by": "maria", "reason": "reviewed PII handling"}`, ""},
		{"no payload at all", ``, confirmation.RefusedMalformed},
		{"empty object", `{}`, confirmation.RefusedMissingField},
		{"a bare string", `"yes"`, confirmation.RefusedMalformed},
		{"null", `null`, confirmation.RefusedMissingField},
		{"missing by", `{"reason": "ok"}`, confirmation.RefusedMissingField},
		{"blank by", `{"by": "  ", "reason": "ok"}`, confirmation.RefusedMissingField},
		{"missing reason", `{"by": "maria"}`, confirmation.RefusedMissingField},
		{"wrong type", `{"by": 42, "reason": "ok"}`, confirmation.RefusedMalformed},
		{"unknown field", `{"by": "maria", "reason": "ok", "approved": true}`, confirmation.RefusedMalformed},
		{"two values", `{"by": "maria", "reason": "ok"} {"by": "x", "reason": "y"}`, confirmation.RefusedMalformed},
		{"a list", `[{"by": "maria", "reason": "ok"}]`, confirmation.RefusedMalformed},
		{"a newline in by", `{"by": "maria\nroot", "reason": "ok"}`, confirmation.RefusedMalformed},
		{"too long", `{"by": "maria", "reason": "` + strings.Repeat("x", confirmation.MaxAnswerField+1) + `"}`, confirmation.RefusedMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := confirmation.DecodeAnswer([]byte(tc.payload))
			if tc.code == "" {
				require.NoError(t, err)
				require.Equal(t, confirmation.Answer{By: "maria", Reason: "reviewed PII handling"}, a)
				return
			}
			var r *confirmation.Refusal
			require.True(t, errors.As(err, &r), "%v", err)
			require.Equal(t, tc.code, r.Code, r.Reason)
			require.ErrorIs(t, err, confirmation.ErrRefused)
		})
	}
}

func TestApproversAreDeclaredPerCategory(t *testing.T) {
	t.Parallel()
	decl := confirmation.Approvers{
		Groups: map[string][]string{"governance_team": {"maria", "joao"}, "data_owners": {"ana", "maria"}},
		ByCategory: map[confirmation.Category][]string{
			confirmation.CategoryPII:       {"governance_team"},
			confirmation.CategoryGoldWrite: {"data_owners", "pedro"},
		},
	}
	require.NoError(t, decl.Validate())
	gold := decl.For([]confirmation.Trigger{confirmation.TriggerGoldWrite}, "ana")
	require.Equal(t, []string{"ana", "maria", "pedro"}, gold.Approvers)
	both := decl.For([]confirmation.Trigger{confirmation.TriggerGoldWrite, confirmation.TriggerPIIDetected}, "joao")
	require.Equal(t, []string{"maria"}, both.Approvers, "an approver answers for every trigger")
	none := decl.For([]confirmation.Trigger{confirmation.TriggerPreCostNearCeiling}, "ana")
	require.Empty(t, none.Approvers, "nothing declared for cost: nobody may approve")

	for _, tc := range []struct {
		name     string
		allowed  confirmation.Allowed
		answer   string
		by, code string
	}{
		{"a declared approver approves", gold, confirmation.AnswerApprove, "pedro", ""},
		{"a group member approves", gold, confirmation.AnswerApprove, "maria", ""},
		{"the submitter may not approve", gold, confirmation.AnswerApprove, "ana", confirmation.RefusedSelfApproval},
		{"the submitter may withdraw", gold, confirmation.AnswerReject, "ana", ""},
		{"someone else may not approve", gold, confirmation.AnswerApprove, "joao", confirmation.RefusedNotApprover},
		{"someone else may not reject", gold, confirmation.AnswerReject, "joao", confirmation.RefusedNotApprover},
		{"an approver of one category only", both, confirmation.AnswerApprove, "pedro", confirmation.RefusedNotApprover},
		{"nobody declared", none, confirmation.AnswerApprove, "maria", confirmation.RefusedNotApprover},
		{"self approval when the bundle allows it", func() confirmation.Allowed {
			d := decl
			d.SelfApproval = true
			return d.For([]confirmation.Trigger{confirmation.TriggerGoldWrite}, "ana")
		}(), confirmation.AnswerApprove, "ana", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.allowed.Check(tc.answer, tc.by)
			if tc.code == "" {
				require.NoError(t, err)
				return
			}
			var r *confirmation.Refusal
			require.True(t, errors.As(err, &r), "%v", err)
			require.Equal(t, tc.code, r.Code, r.Reason)
		})
	}
}

func TestApproversValidate(t *testing.T) {
	t.Parallel()
	for name, a := range map[string]confirmation.Approvers{
		"unknown category": {ByCategory: map[confirmation.Category][]string{"gold": {"maria"}}},
		"uppercase name":   {ByCategory: map[confirmation.Category][]string{confirmation.CategoryPII: {"Maria"}}},
		"empty group":      {Groups: map[string][]string{"team": {}}},
		"nested group":     {Groups: map[string][]string{"a": {"b"}, "b": {"maria"}}},
	} {
		require.Error(t, a.Validate(), name)
	}
}
