package confirmation_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/confirmation"
)

func TestStandingCovers(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 10, 6, 0, 0, 0, time.UTC)
	given := confirmation.Standing{
		ID: "sa-1", SkillID: "skill-a", PolicyBundleVersion: "b1", CatalogSnapshotVersion: "c1",
		Mode: confirmation.ModeHardRequired, Categories: []confirmation.Category{confirmation.CategoryPII, confirmation.CategorySilverWrite},
		ExpiresAt: now.Add(time.Hour),
	}
	ask := confirmation.StandingAsk{
		SkillID: "skill-a", PolicyBundleVersion: "b1", CatalogSnapshotVersion: "c1", Mode: confirmation.ModeHardRequired,
		Triggers: []confirmation.Trigger{confirmation.TriggerPIIDetected, confirmation.TriggerSilverWrite}, At: now,
	}
	cases := []struct {
		name   string
		given  func(s *confirmation.Standing)
		ask    func(a *confirmation.StandingAsk)
		covers bool
		why    string
	}{
		{"the same signature, bundle, catalog and categories", nil, nil, true, ""},
		{"a subset of the categories", nil, func(a *confirmation.StandingAsk) { a.Triggers = a.Triggers[:1] }, true, ""},
		{"another signature", nil, func(a *confirmation.StandingAsk) { a.SkillID = "skill-b" }, false, "signature differs"},
		{"another policy bundle", nil, func(a *confirmation.StandingAsk) { a.PolicyBundleVersion = "b2" }, false, "policy bundle is b2"},
		{"another catalog snapshot", nil, func(a *confirmation.StandingAsk) { a.CatalogSnapshotVersion = "c2" }, false, "catalog snapshot is c2"},
		{"expired", nil, func(a *confirmation.StandingAsk) { a.At = now.Add(time.Hour) }, false, "expired"},
		{"revoked", func(s *confirmation.Standing) { s.Revoked = true }, nil, false, "revoked"},
		{"a stricter mode", nil, func(a *confirmation.StandingAsk) { a.Mode = confirmation.ModeHumanEscalation }, false, "the question is human_escalation"},
		{"a milder mode", func(s *confirmation.Standing) { s.Mode = confirmation.ModeHumanEscalation }, nil, true, ""},
		{"a category not answered", nil, func(a *confirmation.StandingAsk) {
			a.Triggers = append(a.Triggers, confirmation.TriggerPreCostNearCeiling)
		}, false, "approver for cost"},
		{"no trigger is an ambiguity", nil, func(a *confirmation.StandingAsk) { a.Triggers = nil }, false, "approver for ambiguity"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g, a := given, ask
			g.Categories = append([]confirmation.Category(nil), given.Categories...)
			a.Triggers = append([]confirmation.Trigger(nil), ask.Triggers...)
			if c.given != nil {
				c.given(&g)
			}
			if c.ask != nil {
				c.ask(&a)
			}
			ok, why := g.Covers(a)
			require.Equal(t, c.covers, ok, why)
			if !c.covers {
				require.Contains(t, why, c.why)
			}
		})
	}
}

func TestFindStandingGivesTheFirstThatCoversOrEveryDifference(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC)
	ask := confirmation.StandingAsk{SkillID: "k", PolicyBundleVersion: "b2", CatalogSnapshotVersion: "c", Mode: confirmation.ModeHardRequired,
		Triggers: []confirmation.Trigger{confirmation.TriggerPIIDetected}, At: at}
	old := confirmation.Standing{ID: "sa-old", SkillID: "k", PolicyBundleVersion: "b1", CatalogSnapshotVersion: "c", Mode: confirmation.ModeHardRequired,
		Categories: []confirmation.Category{confirmation.CategoryPII}, ExpiresAt: at.Add(time.Hour)}
	_, ok, why := confirmation.FindStanding(nil, ask)
	require.False(t, ok)
	require.Contains(t, why, "no standing approval")
	_, ok, why = confirmation.FindStanding([]confirmation.Standing{old}, ask)
	require.False(t, ok)
	require.Contains(t, why, "policy bundle is b2, standing approval sa-old was given under b1")
	current := old
	current.ID, current.PolicyBundleVersion = "sa-new", "b2"
	got, ok, _ := confirmation.FindStanding([]confirmation.Standing{old, current}, ask)
	require.True(t, ok)
	require.Equal(t, "sa-new", got.ID)
}

func TestStandingAnswers(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		ans       confirmation.Answer
		answer    string
		scheduled bool
		dur       time.Duration
		code      string
	}{
		{"not standing", confirmation.Answer{By: "maria", Reason: "ok"}, confirmation.AnswerApprove, false, 0, ""},
		{"standing, default duration", confirmation.Answer{By: "maria", Reason: "ok", Standing: true}, confirmation.AnswerApprove, true, confirmation.DefaultStandingFor, ""},
		{"standing for a week", confirmation.Answer{By: "maria", Reason: "ok", Standing: true, StandingFor: "168h"}, confirmation.AnswerApprove, true, 168 * time.Hour, ""},
		{"standing_for without standing", confirmation.Answer{By: "maria", Reason: "ok", StandingFor: "1h"}, confirmation.AnswerApprove, true, 0, confirmation.RefusedMalformed},
		{"standing too long", confirmation.Answer{By: "maria", Reason: "ok", Standing: true, StandingFor: "9999h"}, confirmation.AnswerApprove, true, 0, confirmation.RefusedMalformed},
		{"standing not a duration", confirmation.Answer{By: "maria", Reason: "ok", Standing: true, StandingFor: "forever"}, confirmation.AnswerApprove, true, 0, confirmation.RefusedMalformed},
		{"standing on an unscheduled intent", confirmation.Answer{By: "maria", Reason: "ok", Standing: true}, confirmation.AnswerApprove, false, confirmation.DefaultStandingFor, confirmation.RefusedStandingNotScheduled},
		{"a standing rejection", confirmation.Answer{By: "maria", Reason: "no", Standing: true}, confirmation.AnswerReject, true, confirmation.DefaultStandingFor, confirmation.RefusedStandingReject},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.ans.Validate()
			if err == nil {
				err = c.ans.CheckStanding(c.answer, c.scheduled)
			}
			if c.code == "" {
				require.NoError(t, err)
				d, err := c.ans.StandingDuration()
				require.NoError(t, err)
				require.Equal(t, c.dur, d)
				return
			}
			var r *confirmation.Refusal
			require.True(t, errors.As(err, &r), "%v", err)
			require.Equal(t, c.code, r.Code, r.Reason)
			require.True(t, strings.TrimSpace(r.Reason) != "")
		})
	}
	// A signal's payload may carry them.
	ans, err := confirmation.DecodeAnswer([]byte(`{"by": "maria", "reason": "ok", "standing": true, "standing_for": "24h"}`))
	require.NoError(t, err)
	require.True(t, ans.Standing)
}
