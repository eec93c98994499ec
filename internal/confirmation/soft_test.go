package confirmation_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	catalogfiles "github.com/contextualflux/cfa/catalog"
	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/confirmation"
	"github.com/contextualflux/cfa/internal/precost"
	"github.com/contextualflux/cfa/internal/signature"
)

// softRead is a medium-confidence read: soft (5.1 "medium confidence,
// read intent").
func softRead() confirmation.Input {
	return with(func(in *confirmation.Input) { in.ConfidenceScore = 0.8 })
}

// TestSoftProceedsOnlyWithoutConflict (docs/adr/0134): soft "displays the
// signature and proceeds if there is no conflict"; a constraint the
// registry injected or an intent running on a scope the intent touches
// escalates it to hard_required with the conflict named as a trigger; a
// stale dataset escalates it by its own trigger. Only a soft mode is
// escalated: auto goes on, and a mode that asks a human already asks.
func TestSoftProceedsOnlyWithoutConflict(t *testing.T) {
	t.Parallel()
	soft := []confirmation.Trigger{confirmation.TriggerMediumConfidence}
	cases := []struct {
		name      string
		in        confirmation.Input
		mode      confirmation.Mode
		triggers  []confirmation.Trigger
		conflicts []string
	}{
		{"no conflict: soft proceeds", softRead(), confirmation.ModeSoft, soft, nil},
		{"a constraint injected escalates", withSoft(func(in *confirmation.Input) {
			in.EnvironmentConstraints = []string{"vendas_diarias.state = partially_committed"}
		}), confirmation.ModeHardRequired, append(soft, confirmation.TriggerSoftConflictConstraint), []string{"vendas_diarias.state = partially_committed"}},
		{"publish blocked escalates", withSoft(func(in *confirmation.Input) {
			in.EnvironmentConstraints = []string{"silver_documentos.publish_allowed = false"}
		}), confirmation.ModeHardRequired, append(soft, confirmation.TriggerSoftConflictConstraint), []string{"silver_documentos.publish_allowed = false"}},
		{"a quarantined dataset escalates", withSoft(func(in *confirmation.Input) {
			in.EnvironmentConstraints = []string{"silver_documentos.state = quarantined"}
		}), confirmation.ModeHardRequired, append(soft, confirmation.TriggerSoftConflictConstraint), []string{"silver_documentos.state = quarantined"}},
		{"a running intent escalates", withSoft(func(in *confirmation.Input) { in.RunningIntents = []string{"intent-b"} }),
			confirmation.ModeHardRequired, append(soft, confirmation.TriggerSoftConflictRunningIntent),
			[]string{"intent intent-b holds or waits for a scope this intent touches"}},
		{"running intents listed once, sorted", withSoft(func(in *confirmation.Input) { in.RunningIntents = []string{"intent-c", "", "intent-b", "intent-c"} }),
			confirmation.ModeHardRequired, append(soft, confirmation.TriggerSoftConflictRunningIntent),
			[]string{"intent intent-b holds or waits for a scope this intent touches", "intent intent-c holds or waits for a scope this intent touches"}},
		{"both conflicts, constraints first", withSoft(func(in *confirmation.Input) {
			in.EnvironmentConstraints = []string{"x.state = quarantined", "a.publish_allowed = false"}
			in.RunningIntents = []string{"intent-b"}
		}), confirmation.ModeHardRequired, append(soft, confirmation.TriggerSoftConflictConstraint, confirmation.TriggerSoftConflictRunningIntent),
			[]string{"a.publish_allowed = false", "x.state = quarantined", "intent intent-b holds or waits for a scope this intent touches"}},
		{"a stale dataset escalates by its own trigger", withSoft(func(in *confirmation.Input) {
			in.StaleDataset, in.EnvironmentConstraints = true, []string{"vendas_diarias.state = stale"}
		}), confirmation.ModeHardRequired, []confirmation.Trigger{confirmation.TriggerStaleDataset, confirmation.TriggerMediumConfidence}, nil},
		{"a soft bronze write with a running intent escalates", with(func(in *confirmation.Input) {
			in.ReadOnly, in.RunningIntents = false, []string{"intent-b"}
		}), confirmation.ModeHardRequired, []confirmation.Trigger{confirmation.TriggerBronzeWrite, confirmation.TriggerSoftConflictRunningIntent},
			[]string{"intent intent-b holds or waits for a scope this intent touches"}},
		{"auto is not escalated by a conflict", with(func(in *confirmation.Input) {
			in.EnvironmentConstraints, in.RunningIntents = []string{"vendas_diarias.state = partially_committed"}, []string{"intent-b"}
		}), confirmation.ModeAuto, nil, nil},
		{"hard_required asks already: no conflict trigger", with(func(in *confirmation.Input) {
			in.ContainsPII, in.RunningIntents = true, []string{"intent-b"}
		}), confirmation.ModeHardRequired, []confirmation.Trigger{confirmation.TriggerPIIDetected}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := confirmation.Evaluate(tc.in)
			require.Equal(t, tc.mode, got.Mode)
			require.Equal(t, tc.triggers, got.Triggers)
			require.Equal(t, tc.conflicts, got.Conflicts)
			for _, tr := range got.Triggers {
				if tr == confirmation.TriggerSoftConflictConstraint || tr == confirmation.TriggerSoftConflictRunningIntent {
					require.Equal(t, confirmation.CategoryStale, confirmation.CategoryOf(tr), "a conflict is answered by the environment's approvers")
				}
			}
		})
	}
}

func withSoft(f func(*confirmation.Input)) confirmation.Input {
	in := softRead()
	f(&in)
	return in
}

// TestCostTriggerFromTheCatalogsSizes (docs/adr/0134): the cost triggers
// read the Pre-cost Estimator's model price of the signature, from the
// catalog's sizes and the temporal window, against the ceiling step 8
// uses (50 DBU by default). A full scan of nfe (4TB) fires both; a 7-day
// window fires neither; a 30-day window is "high" (above half the
// ceiling) but not near it.
func TestCostTriggerFromTheCatalogsSizes(t *testing.T) {
	t.Parallel()
	cat, err := catalog.Load(catalogfiles.FS)
	require.NoError(t, err)
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	read := func(op, dataset string, tf *signature.TemporalFilter) signature.Signature {
		return signature.Signature{Intent: op + "_report", Operations: []string{op},
			Datasets:    []signature.Dataset{{Name: dataset, Role: signature.RoleSource}},
			Constraints: signature.Constraints{TemporalFilter: tf}}
	}
	days := func(n int) *signature.TemporalFilter {
		return &signature.TemporalFilter{Column: "processing_date", LastDays: n}
	}
	both := []confirmation.Trigger{confirmation.TriggerPreCostNearCeiling, confirmation.TriggerHighEstimatedCost}
	cases := []struct {
		name     string
		sig      signature.Signature
		ceiling  float64
		dbu      float64 // the model's price, to two decimals
		mode     confirmation.Mode
		triggers []confirmation.Trigger
	}{
		{"aggregate nfe, no window: a full scan of 4TB", read(signature.OpAggregate, "nfe", nil), 0, 320, confirmation.ModeHumanEscalation, both},
		{"dedupe nfe, no window", read(signature.OpDedupe, "nfe", nil), 0, 320, confirmation.ModeHumanEscalation, both},
		{"aggregate nfe, last 7 days", read(signature.OpAggregate, "nfe", days(7)), 0, 6.14, confirmation.ModeAuto, nil},
		{"aggregate nfe, last 30 days: high, not near the ceiling", read(signature.OpAggregate, "nfe", days(30)), 0, 26.30, confirmation.ModeHardRequired,
			[]confirmation.Trigger{confirmation.TriggerHighEstimatedCost}},
		{"aggregate nfe, last 7 days, ceiling 5", read(signature.OpAggregate, "nfe", days(7)), 5, 6.14, confirmation.ModeHumanEscalation, both},
		{"aggregate nfe, last 60 days from a date", read(signature.OpAggregate, "nfe", &signature.TemporalFilter{Column: "processing_date", From: "2026-01-01"}), 0, 52.60,
			confirmation.ModeHumanEscalation, both},
		{"aggregate vendas_diarias, no window: small", read(signature.OpAggregate, "vendas_diarias", nil), 0, 0.94, confirmation.ModeAuto, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e, err := precost.EstimateCost(precost.Input{Signature: tc.sig, Catalog: cat, Now: now, CostCeilingDBU: tc.ceiling})
			require.NoError(t, err)
			require.InDelta(t, tc.dbu, e.EstimatedDBU, 0.01)
			got := confirmation.Evaluate(with(func(in *confirmation.Input) { in.EstimatedCost, in.CostCeilingDBU = e.EstimatedDBU, e.CostCeilingDBU }))
			require.Equal(t, tc.mode, got.Mode)
			require.Equal(t, tc.triggers, got.Triggers)
		})
	}
}

// TestChoosingAnInterpretation (docs/adr/0135): an approval may name one
// of the competing interpretations; anything else is refused with the
// names it may choose.
func TestChoosingAnInterpretation(t *testing.T) {
	t.Parallel()
	offered := []string{"anonymize_clientes_silver", "anonymize_produtos_silver"}
	cases := []struct {
		name    string
		answer  string
		ans     confirmation.Answer
		offered []string
		code    string
		reason  string
	}{
		{"none chosen", confirmation.AnswerApprove, confirmation.Answer{}, offered, "", ""},
		{"one offered", confirmation.AnswerApprove, confirmation.Answer{Interpretation: "anonymize_produtos_silver"}, offered, "", ""},
		{"not offered", confirmation.AnswerApprove, confirmation.Answer{Interpretation: "anonymize_vendas"}, offered,
			confirmation.RefusedUnknownInterpretation, "choose one of anonymize_clientes_silver, anonymize_produtos_silver"},
		{"nothing offered", confirmation.AnswerApprove, confirmation.Answer{Interpretation: "anonymize_produtos_silver"}, nil,
			confirmation.RefusedUnknownInterpretation, "offers no competing interpretations"},
		{"with a rejection", confirmation.AnswerReject, confirmation.Answer{Interpretation: "anonymize_produtos_silver"}, offered,
			confirmation.RefusedMalformed, "only an approval chooses"},
		{"case matters", confirmation.AnswerApprove, confirmation.Answer{Interpretation: "Anonymize_Produtos_Silver"}, offered,
			confirmation.RefusedUnknownInterpretation, "is not one of"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := tc.ans.CheckInterpretation(tc.answer, tc.offered)
			if tc.code == "" {
				require.NoError(t, err)
				return
			}
			var r *confirmation.Refusal
			require.True(t, errors.As(err, &r), "%v", err)
			require.Equal(t, tc.code, r.Code)
			require.Contains(t, r.Reason, tc.reason)
		})
	}
}

func TestAnInterpretationInThePayload(t *testing.T) {
	t.Parallel()
	a, err := confirmation.DecodeAnswer([]byte(`{"by": "maria", "reason": "produtos was meant", "interpretation": "anonymize_produtos_silver"}`))
	require.NoError(t, err)
	require.Equal(t, "anonymize_produtos_silver", a.Interpretation)
	for name, payload := range map[string]string{
		"a newline":     `{"by": "maria", "reason": "ok", "interpretation": "a\nb"}`,
		"too long":      `{"by": "maria", "reason": "ok", "interpretation": "` + strings.Repeat("x", confirmation.MaxAnswerField+1) + `"}`,
		"with standing": `{"by": "maria", "reason": "ok", "interpretation": "anonymize_produtos_silver", "standing": true}`,
		"not a string":  `{"by": "maria", "reason": "ok", "interpretation": 2}`,
	} {
		_, err := confirmation.DecodeAnswer([]byte(payload))
		var r *confirmation.Refusal
		require.True(t, errors.As(err, &r), "%s: %v", name, err)
		require.Equal(t, confirmation.RefusedMalformed, r.Code, name)
	}
}

func TestShowSaysWhatTheSignatureDoes(t *testing.T) {
	t.Parallel()
	sig := signature.Signature{Intent: "aggregate_report", TargetLayer: "bronze", Operations: []string{"aggregate"},
		Datasets:  []signature.Dataset{{Name: "nfe", Role: signature.RoleSource}},
		Selection: &signature.Selection{GroupBy: []string{"nfe.uf"}, Measures: []signature.Measure{{Function: "sum", Column: "nfe.valor_total"}, {Function: "count"}}},
		Constraints: signature.Constraints{TemporalFilter: &signature.TemporalFilter{Column: "processing_date", LastDays: 7},
			Anonymize: []string{"nfe.cpf"}}}
	require.Equal(t, "aggregate_report: aggregate nfe (bronze); measures sum(nfe.valor_total), count(*); group by nfe.uf; window processing_date last 7 days; anonymize nfe.cpf",
		confirmation.Show(sig))
	write := signature.Signature{Intent: "reconciliation_and_persist", TargetLayer: "bronze_to_silver", Operations: []string{"join"},
		Datasets:    []signature.Dataset{{Name: "nfe", Role: signature.RoleSource}, {Name: "clientes", Role: signature.RoleSource}, {Name: "silver_documentos", Role: signature.RoleTarget}},
		Constraints: signature.Constraints{MergeKey: "nfe_id"}}
	require.Equal(t, "reconciliation_and_persist: join nfe, clientes into silver_documentos (bronze_to_silver); no temporal window; merge key nfe_id", confirmation.Show(write))
}
