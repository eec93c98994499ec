package ttl_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/fault"
	"github.com/contextualflux/cfa/internal/registry"
	"github.com/contextualflux/cfa/internal/ttl"
)

// whitepaperTTLPolicy is 5.9's block, verbatim but for indentation.
const whitepaperTTLPolicy = `
ttl_policy:
  partially_committed:
    ttl_days: 7 # after 7 days without resolution
    on_expiry:
      action: transition_to_stale
      notify: true # gera evento no Audit Trail
  quarantined:
    ttl_days: 30 # long quarantine — requires manual review
    on_expiry:
      action: escalate_to_manual_review
      block_dependent_intents: true
  stale:
    definition: state not updated beyond the TTL without declared resolution
    behavior:
      new_intent_on_stale_dataset: hard_confirmation_required
      publish_blocked: true
    audit_event: CONTEXT_STATE_STALE
`

// projected is when fiscal_reconciliation_001 was projected (5.9's
// execution_history timestamp).
var projected = time.Date(2026, 3, 22, 14, 30, 0, 0, time.UTC)

const day = 24 * time.Hour

func TestWhitepaperPolicyIsDefault(t *testing.T) {
	t.Parallel()
	p, err := ttl.ParsePolicy([]byte(whitepaperTTLPolicy))
	require.NoError(t, err)
	require.Equal(t, ttl.Default(), p)
	require.NoError(t, ttl.Default().Validate())
	require.Equal(t, 7*day, p.PartiallyCommitted.TTL())
	require.Equal(t, 30*day, p.Quarantined.TTL())
	require.Equal(t, fault.CodeContextStateStale, p.Stale.AuditEvent)
}

func TestParsePolicyRejects(t *testing.T) {
	t.Parallel()
	cases := []struct{ name, doc, want string }{
		{"no top level", "partially_committed: {ttl_days: 7}", "field partially_committed not found"},
		{"empty document", "other: 1\n", "field other not found"},
		{"missing mapping", "ttl_policy:\n", "no ttl_policy"},
		{"unknown key", "ttl_policy:\n  partially_committed:\n    ttl_dayz: 7\n", "ttl_dayz"},
		{"zero ttl", "ttl_policy:\n  partially_committed:\n    ttl_days: 0\n    on_expiry: {action: transition_to_stale}\n  quarantined:\n    ttl_days: 30\n    on_expiry: {action: escalate_to_manual_review}\n  stale:\n    behavior: {new_intent_on_stale_dataset: hard_confirmation_required}\n    audit_event: CONTEXT_STATE_STALE\n", "partially_committed.ttl_days is 0"},
		{"unknown action", "ttl_policy:\n  partially_committed:\n    ttl_days: 7\n    on_expiry: {action: delete}\n  quarantined:\n    ttl_days: 30\n    on_expiry: {action: escalate_to_manual_review}\n  stale:\n    behavior: {new_intent_on_stale_dataset: hard_confirmation_required}\n    audit_event: CONTEXT_STATE_STALE\n", `action "delete"`},
		{"no stale behaviour", "ttl_policy:\n  partially_committed:\n    ttl_days: 7\n    on_expiry: {action: transition_to_stale}\n  quarantined:\n    ttl_days: 30\n    on_expiry: {action: escalate_to_manual_review}\n", "new_intent_on_stale_dataset is empty"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := ttl.ParsePolicy([]byte(tc.doc))
			require.ErrorIs(t, err, ttl.ErrInvalidPolicy)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

// whitepaperRegistry is 5.9's environment_state, stamped with the time
// of its projection.
func whitepaperRegistry() registry.EnvironmentState {
	return registry.EnvironmentState{VersionID: "v1", Datasets: []registry.DatasetState{
		{Name: "clientes_anon", State: registry.StateCommitted, PublishAllowed: true, UpdatedAt: projected},
		{Name: "silver_documentos", State: registry.StatePartiallyCommitted, LastSuccessfulPartition: "2026-01-02",
			PendingPartitions: []string{"2026-01-03"}, QuarantinedUnits: []string{"2026-01-03"}, UpdatedAt: projected},
	}}
}

func env(ds ...registry.DatasetState) registry.EnvironmentState {
	return registry.EnvironmentState{VersionID: "v1", Datasets: ds}
}

func ds(name, state string, updated time.Time) registry.DatasetState {
	return registry.DatasetState{Name: name, State: state, UpdatedAt: updated}
}

func TestSweep(t *testing.T) {
	t.Parallel()
	now := projected.Add(40 * day)
	type want struct {
		dataset string
		action  ttl.Action
		to      string
	}
	cases := []struct {
		name      string
		state     registry.EnvironmentState
		now       time.Time
		escalated []ttl.Escalation
		want      []want
	}{
		{"whitepaper registry at exactly 7 days: not yet beyond", whitepaperRegistry(), projected.Add(7 * day), nil, nil},
		{"whitepaper registry one nanosecond beyond 7 days: stale", whitepaperRegistry(), projected.Add(7*day + time.Nanosecond), nil,
			[]want{{"silver_documentos", ttl.TransitionToStale, registry.StateStale}}},
		{"6 days 23 hours: nothing", whitepaperRegistry(), projected.Add(7*day - time.Hour), nil, nil},
		{"quarantined exactly 30 days: not yet", env(ds("q", registry.StateQuarantined, now.Add(-30*day))), now, nil, nil},
		{"quarantined beyond 30 days: escalate", env(ds("q", registry.StateQuarantined, now.Add(-30*day-time.Second))), now, nil,
			[]want{{"q", ttl.EscalateToManualReview, registry.StateQuarantined}}},
		{"quarantined 20 days is within its TTL though beyond 7", env(ds("q", registry.StateQuarantined, now.Add(-20*day))), now, nil, nil},
		{"an escalation already recorded is not repeated", env(ds("q", registry.StateQuarantined, now.Add(-31*day))), now,
			[]ttl.Escalation{{Dataset: "q", Since: now.Add(-31 * day)}}, nil},
		{"an escalation of an earlier episode does not count", env(ds("q", registry.StateQuarantined, now.Add(-31*day))), now,
			[]ttl.Escalation{{Dataset: "q", Since: now.Add(-90 * day)}}, []want{{"q", ttl.EscalateToManualReview, registry.StateQuarantined}}},
		{"committed, stale and unknown never expire", env(ds("c", registry.StateCommitted, now.Add(-400*day)), ds("s", registry.StateStale, now.Add(-400*day)), ds("u", registry.StateUnknown, time.Time{})), now, nil, nil},
		{"updated_at in the future: nothing", env(ds("p", registry.StatePartiallyCommitted, now.Add(day))), now, nil, nil},
		{"several datasets in name order", env(
			ds("zeta", registry.StatePartiallyCommitted, now.Add(-8*day)),
			ds("alpha", registry.StateQuarantined, now.Add(-31*day)),
			ds("mid", registry.StatePartiallyCommitted, now.Add(-2*day)),
			ds("beta", registry.StatePartiallyCommitted, now.Add(-100*day)),
		), now, nil, []want{
			{"alpha", ttl.EscalateToManualReview, registry.StateQuarantined},
			{"beta", ttl.TransitionToStale, registry.StateStale},
			{"zeta", ttl.TransitionToStale, registry.StateStale},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in := ttl.Input{State: tc.state, Now: tc.now, Escalated: tc.escalated}
			res, err := ttl.Sweep(in, ttl.Default())
			require.NoError(t, err)
			require.Equal(t, "v1", res.ParentVersionID)
			var got []want
			for _, tr := range res.Transitions {
				got = append(got, want{tr.Dataset, tr.Action, tr.To})
				prev, ok := tc.state.Dataset(tr.Dataset)
				require.True(t, ok)
				require.Equal(t, prev.State, tr.From)
				require.Equal(t, prev.UpdatedAt, tr.Since)
				require.True(t, tc.now.After(tr.ExpiredAt))
				require.NotEmpty(t, tr.Key)
				switch tr.Action {
				case ttl.TransitionToStale:
					require.Equal(t, fault.CodeContextStateStale, tr.AuditEvent)
					require.True(t, tr.Notify)
					require.True(t, tr.PublishBlocked)
					require.Equal(t, ttl.HardConfirmationRequired, tr.NewIntent)
				case ttl.EscalateToManualReview:
					require.Equal(t, ttl.AuditEventEscalated, tr.AuditEvent)
					require.True(t, tr.BlockDependentIntents)
				}
			}
			require.Equal(t, tc.want, got)

			again, err := ttl.Sweep(in, ttl.Default())
			require.NoError(t, err)
			require.Equal(t, res, again, "deterministic")

			// Idempotent: commit the stale entries, record the escalations,
			// sweep again at the same now: nothing new.
			next := apply(tc.state, res.Changed)
			for _, c := range res.Changed {
				require.Equal(t, registry.StateStale, c.State)
				require.False(t, c.PublishAllowed, "I7")
				require.Equal(t, tc.now, c.UpdatedAt)
				prev, _ := tc.state.Dataset(c.Name)
				require.Equal(t, prev.PendingPartitions, c.PendingPartitions, "stale keeps what is pending")
				require.Equal(t, prev.QuarantinedUnits, c.QuarantinedUnits)
			}
			second, err := ttl.Sweep(ttl.Input{State: next, Now: tc.now, Escalated: append(tc.escalated, res.Escalations()...)}, ttl.Default())
			require.NoError(t, err)
			require.Empty(t, second.Transitions)
			require.Empty(t, second.Changed)
		})
	}
}

func TestSweepIgnoresInputOrder(t *testing.T) {
	t.Parallel()
	now := projected.Add(40 * day)
	a := env(ds("a", registry.StatePartiallyCommitted, projected), ds("b", registry.StateQuarantined, projected), ds("c", registry.StatePartiallyCommitted, projected))
	b := env(a.Datasets[2], a.Datasets[0], a.Datasets[1])
	ra, err := ttl.Sweep(ttl.Input{State: a, Now: now}, ttl.Default())
	require.NoError(t, err)
	rb, err := ttl.Sweep(ttl.Input{State: b, Now: now}, ttl.Default())
	require.NoError(t, err)
	require.Equal(t, ra, rb)
	require.Len(t, ra.Transitions, 3)
}

func TestSweepRejects(t *testing.T) {
	t.Parallel()
	bad := ttl.Default()
	bad.Quarantined.TTLDays = -1
	cases := []struct {
		name string
		in   ttl.Input
		p    ttl.Policy
		want error
		msg  string
	}{
		{"no clock", ttl.Input{State: whitepaperRegistry()}, ttl.Default(), ttl.ErrInvalidState, "now is zero"},
		{"entry without updated_at", ttl.Input{State: env(ds("p", registry.StatePartiallyCommitted, time.Time{})), Now: projected}, ttl.Default(), ttl.ErrInvalidState, `"p" (partially_committed) has no updated_at`},
		{"invalid policy", ttl.Input{State: whitepaperRegistry(), Now: projected}, bad, ttl.ErrInvalidPolicy, "quarantined.ttl_days is -1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := ttl.Sweep(tc.in, tc.p)
			require.ErrorIs(t, err, tc.want)
			require.ErrorContains(t, err, tc.msg)
		})
	}
}

func TestCheckIntent(t *testing.T) {
	t.Parallel()
	now := projected.Add(40 * day)
	state := env(
		ds("committed", registry.StateCommitted, now.Add(-400*day)),
		ds("fresh_partial", registry.StatePartiallyCommitted, now.Add(-day)),
		ds("overdue_partial", registry.StatePartiallyCommitted, now.Add(-8*day)),
		ds("stale", registry.StateStale, now.Add(-day)),
		ds("young_quarantine", registry.StateQuarantined, now.Add(-29*day)),
		ds("old_quarantine", registry.StateQuarantined, now.Add(-31*day)),
	)
	reviewed := []ttl.Escalation{{Dataset: "old_quarantine", Since: now.Add(-31 * day)}}
	cases := []struct {
		name     string
		datasets []string
		reviewed []ttl.Escalation
		hard     []string
		blocked  []string
		codes    []string
	}{
		{"clean datasets ask nothing", []string{"committed", "fresh_partial", "young_quarantine", "never_projected"}, nil, nil, nil, nil},
		{"stale needs hard confirmation", []string{"stale"}, nil, []string{"stale"}, nil, []string{fault.CodeContextStateStale}},
		{"overdue partial counts as stale before the sweep", []string{"overdue_partial"}, nil, []string{"overdue_partial"}, nil, []string{fault.CodeContextStateStale}},
		{"expired quarantine blocks", []string{"old_quarantine"}, nil, nil, []string{"old_quarantine"}, []string{ttl.CodeManualReviewRequired}},
		{"a recorded review unblocks", []string{"old_quarantine"}, reviewed, nil, nil, nil},
		{"several, in name order, duplicates once", []string{"stale", "old_quarantine", "overdue_partial", "stale"}, nil,
			[]string{"overdue_partial", "stale"}, []string{"old_quarantine"},
			[]string{ttl.CodeManualReviewRequired, fault.CodeContextStateStale, fault.CodeContextStateStale}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := ttl.CheckIntent(state, tc.datasets, now, tc.reviewed, ttl.Default())
			require.NoError(t, err)
			require.Equal(t, tc.hard, c.HardConfirmation)
			require.Equal(t, tc.hard, c.PublishBlocked)
			require.Equal(t, tc.blocked, c.Blocked)
			var codes []string
			for _, f := range c.Faults {
				codes = append(codes, f.Code)
				require.True(t, f.DetectedBeforeExecution)
				require.Equal(t, fault.StageIntentNormalizer, f.Stage)
			}
			require.Equal(t, tc.codes, codes)
		})
	}
	_, err := ttl.CheckIntent(state, nil, time.Time{}, nil, ttl.Default())
	require.ErrorIs(t, err, ttl.ErrInvalidState)
}

func TestEscalationKey(t *testing.T) {
	t.Parallel()
	a := ttl.Escalation{Dataset: "q", Since: projected}
	b := ttl.Escalation{Dataset: "q", Since: projected.In(time.FixedZone("BRT", -3*3600))}
	require.Equal(t, a.Key(), b.Key(), "the same instant in another zone is the same episode")
	require.NotEqual(t, a.Key(), ttl.Escalation{Dataset: "q", Since: projected.Add(time.Nanosecond)}.Key())
	require.Equal(t, "ttl:escalate_to_manual_review:q@2026-03-22T14:30:00Z", a.Key())
}

// apply commits changed entries over e, as a copy-on-write snapshot would.
func apply(e registry.EnvironmentState, changed []registry.DatasetState) registry.EnvironmentState {
	out := registry.EnvironmentState{VersionID: e.VersionID + "+"}
	byName := map[string]registry.DatasetState{}
	for _, c := range changed {
		byName[c.Name] = c
	}
	for _, d := range e.Datasets {
		if c, ok := byName[d.Name]; ok {
			d = c
		}
		out.Datasets = append(out.Datasets, d)
	}
	return out
}
