package flow_test

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/activities"
	"github.com/contextualflux/cfa/extension"
	"github.com/contextualflux/cfa/internal/app"
	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/dataplane"
	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/intent"
	"github.com/contextualflux/cfa/internal/partialexecution"
	"github.com/contextualflux/cfa/internal/policy"
	"github.com/contextualflux/cfa/internal/replay"
	"github.com/contextualflux/cfa/internal/service"
	"github.com/contextualflux/cfa/workflows"
)

// recordedActivities are activities whose policy bundle and catalog are
// recorded in Postgres, as a worker records them when it starts (ADR
// 0122): a replay loads them by version, never from the files.
func recordedActivities(t *testing.T, bundle *policy.Bundle) *activities.Activities {
	t.Helper()
	acts := newActivities(t, bundle)
	require.NoError(t, store.RecordContextVersions(context.Background(), acts.Bundle, acts.Catalog))
	return acts
}

func replayIntent(t *testing.T, id string, execute bool) replay.Result {
	t.Helper()
	res, err := (&service.Service{Store: store}).Replay(context.Background(), id, execute)
	require.NoError(t, err)
	return res
}

// requireIdentical fails with the replay's first difference, or its
// refusal, and requires that the decision was compared.
func requireIdentical(t *testing.T, res replay.Result) {
	t.Helper()
	if d := res.FirstDifference; d != nil {
		t.Fatalf("replay of %s differs at %s (cycle %d) %s:\n  recorded %s\n  replayed %s", res.IntentID, d.Stage, d.Cycle, d.Field, d.Recorded, d.Replayed)
	}
	require.Empty(t, res.Refused)
	require.True(t, res.Identical)
	require.Equal(t, intent.StageDecision, res.Through, "the decision is compared")
}

func stagesOf(res replay.Result) []string {
	var out []string
	for _, s := range res.Stages {
		if len(out) == 0 || out[len(out)-1] != s.Stage {
			out = append(out, s.Stage)
		}
	}
	return out
}

// TestReplayGivesTheRecordedDecision (issue 13 item 4): intents that end
// in each decision_state, replayed from their record, give the same
// signature, plan, code and decision byte for byte (I8); an executed one
// re-derives its decision from its units' recorded runtime reports.
func TestReplayGivesTheRecordedDecision(t *testing.T) {
	other, err := policy.Load(os.DirFS("../../internal/policy/testdata/nonconverging"))
	require.NoError(t, err)
	cases := []struct {
		name    string
		state   decision.State
		broken  bool
		before  int // earlier runs of the same intent, in its skill's window
		asOf    string
		bundle  func(t *testing.T) *policy.Bundle
		in      workflows.IntentInput
		approve []time.Duration
		// inject runs during the broken partition's retry backoff.
		inject func(acts *activities.Activities)
		// stages the replay must have compared.
		stages []string
	}{
		{name: "approved execution", state: decision.Approved, in: workflows.IntentInput{Text: reconcileToSilver}, approve: []time.Duration{time.Minute},
			stages: []string{intent.StageSignature, intent.StagePolicyEngine, intent.StagePreCost, intent.StagePlanner, intent.StageCodeGen,
				intent.StageStatic, intent.StagePartial, intent.StageDecision}},
		{name: "partially committed", state: decision.PartiallyCommitted, broken: true, in: workflows.IntentInput{Text: reconcileToSilver},
			approve: []time.Duration{time.Minute}, stages: []string{intent.StagePartial, intent.StageDecision}},
		{name: "rolled back", state: decision.RolledBack, broken: true,
			in:      workflows.IntentInput{Text: reconcileToSilver, PartialFailureMode: string(partialexecution.FullRollback)},
			approve: []time.Duration{time.Minute}, stages: []string{intent.StagePartial, intent.StageDecision}},
		{name: "quarantined by a bundle changed mid-execution", state: decision.Quarantined, broken: true,
			in: workflows.IntentInput{Text: reconcileToSilver}, approve: []time.Duration{time.Minute},
			inject: func(acts *activities.Activities) { acts.Bundle = other }, stages: []string{intent.StagePartial, intent.StageDecision}},
		{name: "approved with warnings", state: decision.ApprovedWithWarnings, bundle: advisoryBundle,
			in: workflows.IntentInput{Text: reconcileToSilver}, approve: []time.Duration{time.Minute}},
		{name: "blocked: unresolved", state: decision.Blocked, in: workflows.IntentInput{Text: "make the numbers look better"},
			stages: []string{intent.StageNormalizer, intent.StageDecision}},
		{name: "blocked: rejected by a human", state: decision.Blocked, in: workflows.IntentInput{Text: reconcileToSilver},
			stages: []string{intent.StageNormalizer, intent.StageConfirmation, intent.StageDecision}},
		{name: "blocked: the escalation timed out", state: decision.Blocked, in: workflows.IntentInput{Text: goldWrite, EscalationTimeoutSeconds: 5}},
		{name: "replanned for cost under a 10 DBU ceiling, dry run", state: decision.Approved, approve: []time.Duration{time.Minute, 3 * time.Minute},
			in: workflows.IntentInput{Text: reconcileToSilver, CostCeilingDBU: 10, DryRun: true}},
		{name: "replanned: proposed", state: decision.Replanned, in: workflows.IntentInput{Text: reconcileToSilver, ReplanMode: policy.ReplanPropose},
			approve: []time.Duration{time.Minute}},
		{name: "gold write escalated twice, dry run", state: decision.Approved, in: workflows.IntentInput{Text: goldWrite, DryRun: true},
			approve: []time.Duration{time.Minute, 3 * time.Minute}},
		{name: "read only, auto", state: decision.Approved, in: workflows.IntentInput{Text: autoAggregate}},
		{name: "nothing in the window to run", state: decision.Approved, asOf: "2027-06-01", in: workflows.IntentInput{Text: reconcileToSilver},
			approve: []time.Duration{time.Minute}, stages: []string{intent.StageStatic, intent.StageDecision}},
		{name: "promotion candidate", state: decision.PromotionCandidate, before: 2, in: workflows.IntentInput{Text: reconcileToSilver},
			approve: []time.Duration{time.Minute}, stages: []string{intent.StagePartial, intent.StageDecision}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			seedDemo(t, c.broken)
			var bundle *policy.Bundle
			if c.bundle != nil {
				bundle = c.bundle(t)
			}
			acts := recordedActivities(t, bundle)
			for range c.before {
				env := newEnv(t, acts, uniqueID(t))
				approveAt(env, time.Minute)
				require.Equal(t, decision.Approved, run(t, env, workflows.IntentInput{Text: c.in.Text, AsOf: dataplane.DemoAsOf}).DecisionState)
			}
			id := uniqueID(t)
			env := newEnv(t, acts, id)
			approveAt(env, c.approve...)
			if c.name == "blocked: rejected by a human" {
				env.RegisterDelayedCallback(func() {
					env.SignalWorkflow(workflows.SignalReject, workflows.ConfirmationSignal{By: "joao", Reason: "wrong target"})
				}, time.Minute)
			}
			if c.inject != nil {
				env.RegisterDelayedCallback(func() { c.inject(acts) }, time.Minute+5*time.Second)
			}
			in := c.in
			in.AsOf, in.UnitRetryBaseSeconds = dataplane.DemoAsOf, 10
			if c.asOf != "" {
				in.AsOf = c.asOf
			}
			res := run(t, env, in)
			if c.state == decision.PromotionCandidate && res.DecisionState == decision.Approved {
				// The package's database is shared: a skill another test
				// promoted is served, and its runs are not labelled (ADR
				// 0129). The replay must give that decision all the same.
				c.state = decision.Approved
			}
			require.Equal(t, c.state, res.DecisionState, res.Reason)

			got := replayIntent(t, id, false)
			requireIdentical(t, got)
			require.Subset(t, stagesOf(got), c.stages)
			last := got.Stages[len(got.Stages)-1]
			require.Equal(t, string(res.DecisionState)+" by "+res.DecidedBy, last.Replayed)

			// The Promotion Engine's I8 signal is the same check.
			v, err := replay.Check(context.Background(), store, id)
			require.NoError(t, err)
			require.True(t, v.Reproducible, v.Reason)
		})
	}
}

// TestReplayUsesTheRecordedBundleAfterTheFilesChanged: an intent governed
// by a bundle loaded from a directory replays identically after the files
// in that directory changed, because the replay loads the bundle recorded
// under the signature's policy_bundle_version, not the files.
func TestReplayUsesTheRecordedBundleAfterTheFilesChanged(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	require.NoError(t, os.CopyFS(dir, os.DirFS("../../policies")))
	bundle, err := app.LoadBundle(ctx, dir)
	require.NoError(t, err)
	acts := recordedActivities(t, bundle)
	id := uniqueID(t)
	env := newEnv(t, acts, id)
	approveAt(env, time.Minute)
	res := run(t, env, workflows.IntentInput{Text: reconcileToSilver, AsOf: dataplane.DemoAsOf, DryRun: true})
	require.Equal(t, decision.Approved, res.DecisionState, res.Reason)
	require.Equal(t, bundle.Version, res.Signature.ExecutionContext.PolicyBundleVersion)

	// The rule that required anonymization is made less severe: the same
	// text would now be governed under another version.
	privacy := filepath.Join(dir, "privacy_wall.yaml")
	b, err := os.ReadFile(privacy)
	require.NoError(t, err)
	edited := strings.Replace(string(b), "severity: critical\n    fault_code: GOVERNANCE_RAW_PII_IN_SILVER", "severity: high\n    fault_code: GOVERNANCE_RAW_PII_IN_SILVER", 1)
	require.NotEqual(t, string(b), edited, "the shipped privacy_wall.yaml changed; update this test")
	require.NoError(t, os.WriteFile(privacy, []byte(edited), 0o644))
	changed, err := app.LoadBundle(ctx, dir)
	require.NoError(t, err)
	require.NotEqual(t, bundle.Version, changed.Version, "the files changed the bundle's content")

	got := replayIntent(t, id, false)
	requireIdentical(t, got)
	require.Equal(t, bundle.Version, got.Inputs.PolicyBundleVersion)

	// Given the bundle on disk instead, the replay would not be the record's.
	rec, err := store.ReplayRecord(ctx, id)
	require.NoError(t, err)
	rec.Bundles[bundle.Version] = changed
	got, err = replay.Replay(ctx, rec)
	require.NoError(t, err)
	require.NotNil(t, got.FirstDifference)
	require.Equal(t, replay.Difference{Stage: intent.StageRegistry, Field: "policy_bundle_version", Recorded: bundle.Version, Replayed: changed.Version}, *got.FirstDifference)
}

// TestReplayOfATamperedRecordNamesTheFirstDifference: a record changed
// after the fact replays to the first stage it changes, with both values.
func TestReplayOfATamperedRecordNamesTheFirstDifference(t *testing.T) {
	ctx := context.Background()
	seedDemo(t, false)
	acts := recordedActivities(t, nil)
	id := uniqueID(t)
	env := newEnv(t, acts, id)
	approveAt(env, time.Minute)
	res := run(t, env, workflows.IntentInput{Text: reconcileToSilver, AsOf: dataplane.DemoAsOf, DryRun: true})
	require.Equal(t, decision.Approved, res.DecisionState, res.Reason)
	rec, err := store.ReplayRecord(ctx, id)
	require.NoError(t, err)
	good, err := replay.Replay(ctx, rec)
	require.NoError(t, err)
	requireIdentical(t, good)
	catVersion := res.Signature.ExecutionContext.CatalogSnapshotVersion

	cases := []struct {
		name   string
		tamper func(t *testing.T, rec *replay.Record)
		stage  string
		field  string
		// recorded and replayed are substrings of the difference's values.
		recorded, replayed string
	}{
		// The resolution's record holds no signature: the question put to
		// the approver is the first record of the catalog's PII.
		{name: "a different catalog under the recorded version", stage: intent.StageConfirmation, field: "signature.datasets", recorded: "cpf", replayed: "(absent)",
			tamper: func(t *testing.T, rec *replay.Record) {
				cat := *rec.Catalogs[catVersion]
				cat.Datasets = append(cat.Datasets[:0:0], cat.Datasets...)
				for i, d := range cat.Datasets {
					if d.Name == "clientes" {
						d.PII = nil
						cat.Datasets[i] = d
					}
				}
				rec.Catalogs[catVersion] = &cat
			}},
		{name: "a catalog of another version", stage: intent.StageRegistry, field: "catalog_snapshot_version",
			recorded: catVersion, replayed: "catalog_other",
			tamper: func(t *testing.T, rec *replay.Record) {
				cat := *rec.Catalogs[catVersion]
				cat.SnapshotVersion = "catalog_other"
				rec.Catalogs[catVersion] = &cat
			}},
		{name: "another user intent", stage: intent.StageNormalizer,
			tamper: func(t *testing.T, rec *replay.Record) {
				editDetails(t, rec, audit.EventIntentReceived, func(m map[string]any) { m["text"] = autoAggregate })
			}},
		{name: "another as_of", stage: intent.StagePlanner, field: "plan.",
			tamper: func(t *testing.T, rec *replay.Record) {
				editDetails(t, rec, audit.EventIntentReceived, func(m map[string]any) { m["as_of"] = "2026-02-03" })
			}},
		{name: "a recorded plan edited", stage: intent.StagePlanner, field: "plan.target_layer", recorded: "gold", replayed: "silver",
			tamper: func(t *testing.T, rec *replay.Record) {
				for h, p := range rec.Plans {
					p.Plan = []byte(strings.Replace(string(p.Plan), `"target_layer":"silver"`, `"target_layer":"gold"`, 1))
					rec.Plans[h] = p
				}
			}},
		{name: "a human answer removed", stage: intent.StageConfirmation, field: "next_event",
			tamper: func(t *testing.T, rec *replay.Record) {
				rec.Trail = dropEvent(rec.Trail, audit.EventHumanApproved)
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec, err := store.ReplayRecord(ctx, id)
			require.NoError(t, err)
			c.tamper(t, &rec)
			got, err := replay.Replay(ctx, rec)
			require.NoError(t, err)
			require.False(t, got.Identical)
			d := got.FirstDifference
			require.NotNil(t, d, "refused: %s", got.Refused)
			require.Equal(t, c.stage, d.Stage, "%+v", *d)
			if c.field != "" {
				require.Contains(t, d.Field, c.field, "%+v", *d)
			}
			require.Contains(t, d.Recorded, c.recorded, "%+v", *d)
			require.Contains(t, d.Replayed, c.replayed, "%+v", *d)
			require.NotEqual(t, d.Recorded, d.Replayed)
			require.False(t, replay.VerdictOf(got).Reproducible)
		})
	}
}

// editDetails rewrites the details of the trail's first event of type.
func editDetails(t *testing.T, rec *replay.Record, eventType string, edit func(map[string]any)) {
	t.Helper()
	for i, r := range rec.Trail {
		if r.EventType() != eventType {
			continue
		}
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(r.Context[audit.CtxDetails]), &m))
		edit(m)
		b, err := json.Marshal(m)
		require.NoError(t, err)
		ctx := map[string]string{}
		for k, v := range r.Context {
			ctx[k] = v
		}
		ctx[audit.CtxDetails] = string(b)
		rec.Trail[i].Context = ctx
		return
	}
	t.Fatalf("no %s event in the trail", eventType)
}

func dropEvent(trail []audit.Receipt, eventType string) []audit.Receipt {
	var out []audit.Receipt
	for _, r := range trail {
		if r.EventType() != eventType {
			out = append(out, r)
		}
	}
	return out
}

// TestReplayExecuteComparesTheUnitsOutput: --execute runs each unit again,
// rolled back, and its output's fingerprint matches the one recorded; once
// a source partition changed, that unit is not compared (its source cannot
// be read as of then), and the others still are.
func TestReplayExecuteComparesTheUnitsOutput(t *testing.T) {
	ctx := context.Background()
	seedDemo(t, true)
	id := uniqueID(t)
	env := newEnv(t, recordedActivities(t, nil), id)
	approveAt(env, time.Minute)
	res := run(t, env, workflows.IntentInput{Text: reconcileToSilver, AsOf: dataplane.DemoAsOf, UnitRetryBaseSeconds: 1})
	require.Equal(t, decision.PartiallyCommitted, res.DecisionState, res.Reason)
	units, err := store.UnitFingerprints(ctx, id)
	require.NoError(t, err)
	require.Len(t, units, 3, "one fingerprint per unit, its last attempt")

	var staged int
	got := replayIntent(t, id, true)
	requireIdentical(t, got)
	ex := got.Execution
	require.NotNil(t, ex)
	require.True(t, ex.Identical, "%+v", ex)
	require.Len(t, ex.Units, 3)
	for _, u := range ex.Units {
		require.Equal(t, replay.UnitIdentical, u.Outcome, u.Reason)
		require.Positive(t, u.Recorded.Rows)
	}
	require.NoError(t, testDB.Pool.QueryRow(ctx, `SELECT count(*) FROM staging.silver_documentos WHERE cfa_intent_id LIKE 'replay:%'`).Scan(&staged))
	require.Zero(t, staged, "the re-execution leaves nothing behind")

	// The broken partition is fixed upstream: its unit is not compared,
	// the two others still are.
	seedDemo(t, false)
	got = replayIntent(t, id, true)
	ex = got.Execution
	require.False(t, ex.Identical)
	require.Nil(t, ex.FirstDifference, "a changed source is not a difference")
	require.Contains(t, ex.Refused, "1 of 3 units")
	for _, u := range ex.Units {
		want := replay.UnitIdentical
		if u.Key == "2026-01-03" {
			want = replay.UnitSourceChanged
			require.Contains(t, u.Reason, "nfe partition 2026-01-03 changed since the execution")
		}
		require.Equal(t, want, u.Outcome, u.Key)
	}
}

// refuseMerges is an external_compliance_validator that refuses every
// signature that merges.
type refuseMerges struct{}

func (refuseMerges) Name() string { return "legacy_mainframe" }

func (refuseMerges) Validate(_ context.Context, sig extension.Signature, _ extension.EnvironmentState) ([]extension.Fault, error) {
	if sig.Constraints.MergeKey == "" {
		return nil, nil
	}
	return []extension.Fault{{Code: "LEGACY_MERGE_REFUSED", Message: "the mainframe owns merges into silver", Rule: "no_merge"}}, nil
}

// TestReplayTakesTheExtensionPointsAnswersFromTheRecord: intents resolved,
// enriched, scored, validated, costed and generated by plug-ins replay
// identically without them: their answers are in the audit trail and the
// planning record (whitepaper 9), and the replay never calls a plug-in.
func TestReplayTakesTheExtensionPointsAnswersFromTheRecord(t *testing.T) {
	cases := []struct {
		name    string
		ext     extension.Points
		in      workflows.IntentInput
		approve []time.Duration
		state   decision.State
		answer  string
	}{
		{name: "custom_domain_resolver", in: workflows.IntentInput{Text: dailyRevenueReport}, state: decision.Approved, answer: "custom_domain_resolver revenue_reports",
			ext: extension.Points{DomainResolvers: []extension.DomainResolver{&reportResolver{name: "revenue_reports", claims: dailyRevenueReport, dataset: "vendas_diarias"}}}},
		{name: "catalog_enrichment_hook", in: workflows.IntentInput{Text: autoAggregate, EscalationTimeoutSeconds: 5}, state: decision.Blocked,
			answer: "catalog_enrichment_hook", ext: extension.Points{CatalogEnrichment: piiHook{dataset: "vendas_diarias", pii: []string{"cpf_comprador"}}}},
		{name: "confidence_scorer_override answering NaN", in: workflows.IntentInput{Text: autoAggregate, EscalationTimeoutSeconds: 5}, state: decision.Blocked,
			answer: "confidence_scorer_override", ext: extension.Points{ConfidenceScorer: &fixedScorer{score: math.NaN()}}},
		{name: "external_compliance_validator", in: workflows.IntentInput{Text: reconcileToSilver, DryRun: true}, approve: []time.Duration{time.Minute},
			state: decision.Blocked, answer: "external_compliance_validator", ext: extension.Points{ComplianceValidators: []extension.ComplianceValidator{refuseMerges{}}}},
		{name: "pre_cost_estimator_backend with no shape", in: workflows.IntentInput{Text: autoAggregate, CostCeilingDBU: 50}, state: decision.Blocked,
			answer: "warehouse_flat", ext: extension.Points{CostEstimator: flatCost{dbu: 120}}},
		{name: "pre_cost_estimator_backend replanning", in: workflows.IntentInput{Text: reconcileToSilver, CostCeilingDBU: 50, DryRun: true},
			approve: []time.Duration{time.Minute, 3 * time.Minute}, state: decision.Approved, answer: "warehouse_pessimistic",
			ext: extension.Points{CostEstimator: &pessimisticCost{factor: 3}}},
		{name: "custom_template_library", in: workflows.IntentInput{Text: reconcileToSilver, DryRun: true}, approve: []time.Duration{time.Minute},
			state: decision.Approved, answer: "custom_template_library backend spark_sql", ext: extension.Points{Templates: templates{sparkBackend{}}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clearCostHistory(t)
			acts := extActivities(t, c.ext)
			require.NoError(t, store.RecordContextVersions(context.Background(), acts.Bundle, acts.Catalog))
			id := uniqueID(t)
			env := newEnv(t, acts, id)
			approveAt(env, c.approve...)
			in := c.in
			in.AsOf = dataplane.DemoAsOf
			res := run(t, env, in)
			require.Equal(t, c.state, res.DecisionState, res.Reason)

			got := replayIntent(t, id, false)
			requireIdentical(t, got)
			var answers []string
			for _, a := range got.Answers {
				answers = append(answers, a.Answer)
			}
			require.Contains(t, strings.Join(answers, "\n"), c.answer)
		})
	}
}

// The Promotion Engine's store is enough to call replay.Check with.
var _ replay.Loader = activities.Storage(nil)
