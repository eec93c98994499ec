package flow_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/contextualflux/cfa/activities"
	"github.com/contextualflux/cfa/extension"
	"github.com/contextualflux/cfa/internal/app"
	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/audit/events"
	"github.com/contextualflux/cfa/internal/codegen"
	"github.com/contextualflux/cfa/internal/confirmation"
	"github.com/contextualflux/cfa/internal/dataplane"
	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/fault"
	"github.com/contextualflux/cfa/internal/lifecycle"
	"github.com/contextualflux/cfa/internal/planner"
	"github.com/contextualflux/cfa/internal/precost"
	"github.com/contextualflux/cfa/internal/signature"
	"github.com/contextualflux/cfa/workflows"
)

// The extension points of whitepaper section 9, each plugged into the real
// workflow and activities: whatever a plug-in answers, the core keeps its
// guarantees (every dataset from the catalog, PII never dropped, the
// whitepaper's escalation triggers, the cost threshold policy, Postgres as
// the code that runs and is analysed, the promotion gate).

// extActivities builds the activities with the shipped catalog and bundle
// and the extension points ext.
func extActivities(t *testing.T, ext extension.Points) *activities.Activities {
	t.Helper()
	cat, err := app.LoadCatalog("")
	require.NoError(t, err)
	bundle, err := app.LoadBundle(context.Background(), "")
	require.NoError(t, err)
	require.NoError(t, store.RecordContextVersions(context.Background(), bundle, cat))
	return activities.New(store, cat, bundle, zap.NewNop(), ext)
}

// eventDetails returns the details of the intent's only event of type
// eventType, with its outcome.
func eventDetails(t *testing.T, intentID, eventType string) (details []byte, outcome string) {
	t.Helper()
	rs, err := store.AuditByIntent(context.Background(), intentID)
	require.NoError(t, err)
	var found []audit.Receipt
	for _, r := range rs {
		if r.Context["event_type"] == eventType {
			found = append(found, r)
		}
	}
	require.Len(t, found, 1, "one %s event for intent %s", eventType, intentID)
	return []byte(found[0].Context["details"]), found[0].Context["outcome"]
}

// detailKeys decodes details into a map, to see which keys were recorded.
func detailKeys(t *testing.T, details []byte) map[string]json.RawMessage {
	t.Helper()
	var m map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(details, &m))
	return m
}

// --- intent_normalizer.custom_domain_resolver ---

const dailyRevenueReport = "daily revenue report"

// reportResolver claims the texts containing claims and drafts an
// aggregate over dataset; it records what it was asked.
type reportResolver struct {
	name, claims, dataset string

	mu    sync.Mutex
	asked []string
}

func (r *reportResolver) Name() string { return r.name }

func (r *reportResolver) Resolve(_ context.Context, text string, cat *extension.Catalog, _ extension.EnvironmentState) (*extension.Resolution, error) {
	r.mu.Lock()
	r.asked = append(r.asked, text)
	r.mu.Unlock()
	if cat == nil {
		return nil, errors.New("no catalog given")
	}
	if r.claims == "" || !strings.Contains(strings.ToLower(text), r.claims) {
		return nil, nil
	}
	return &extension.Resolution{
		Signature: extension.Signature{
			Domain:     "fiscal",
			Intent:     "daily_revenue_report",
			Operations: []string{signature.OpAggregate},
			Datasets:   []extension.SignatureDataset{{Name: r.dataset, Role: signature.RoleSource}},
		},
		Confidence: 0.97,
	}, nil
}

func (r *reportResolver) questions() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.asked)
}

func TestDomainResolverResolvesTheIntentAndIsAudited(t *testing.T) {
	declines := &reportResolver{name: "declines_everything"}
	sales := &reportResolver{name: "revenue_reports", claims: dailyRevenueReport, dataset: "vendas_diarias"}
	id := uniqueID(t)
	res := run(t, newEnv(t, extActivities(t, extension.Points{DomainResolvers: []extension.DomainResolver{declines, sales}}), id),
		workflows.IntentInput{Text: "Please: Daily Revenue Report"})

	require.Equal(t, decision.Approved, res.DecisionState, res.Reason)
	require.Equal(t, []string{"Please: Daily Revenue Report"}, declines.questions(), "each resolver in order sees the text")
	require.Equal(t, []string{"Please: Daily Revenue Report"}, sales.questions())

	// The draft is completed from the catalog like a structured signature.
	require.NotNil(t, res.Resolution)
	require.True(t, res.Resolution.Resolved)
	require.InDelta(t, 0.97, res.Resolution.ConfidenceScore, 1e-12)
	require.Equal(t, confirmation.ModeAuto, res.Resolution.ConfirmationMode, "read-only, confident, no PII")
	require.NotNil(t, res.Signature)
	require.Equal(t, []string{"vendas_diarias"}, res.Signature.DatasetNames())
	ds := res.Signature.Datasets[0]
	require.Equal(t, "bronze", ds.Layer, "filled by the catalog")
	require.Equal(t, "12GB", ds.Size)
	require.NotEmpty(t, res.Signature.ExecutionContext.CatalogSnapshotVersion, "signed like any other intent")
	require.NotEmpty(t, res.Signature.ExecutionContext.PolicyBundleVersion)

	details, outcome := eventDetails(t, id, audit.EventSemanticResolution)
	require.Equal(t, "resolved", outcome)
	keys := detailKeys(t, details)
	require.Contains(t, keys, "resolver")
	require.Contains(t, keys, "raw_signature")
	var rec events.SemanticResolution
	require.NoError(t, json.Unmarshal(details, &rec))
	require.Equal(t, "revenue_reports", rec.Resolver, "the resolver that answered, not the one that declined")
	require.NotNil(t, rec.Raw)
	require.Equal(t, "daily_revenue_report", rec.Raw.Intent)
	require.Equal(t, []string{"vendas_diarias"}, rec.Raw.DatasetNames())
	require.Empty(t, rec.Raw.Datasets[0].Layer, "the raw draft, as the resolver returned it, before completion")
	require.Subset(t, eventTypes(t, id), []string{audit.EventSignatureGenerated, audit.EventPolicyApprove, audit.EventPreCostEstimated})
}

func TestDomainResolverReturningNilLeavesTheShippedNormalizer(t *testing.T) {
	declines := &reportResolver{name: "declines_everything"}
	shippedID := uniqueID(t)
	shipped := run(t, newEnv(t, newActivities(t, nil), shippedID), workflows.IntentInput{Text: autoAggregate})

	id := uniqueID(t)
	res := run(t, newEnv(t, extActivities(t, extension.Points{DomainResolvers: []extension.DomainResolver{declines}}), id),
		workflows.IntentInput{Text: autoAggregate})

	require.Equal(t, []string{autoAggregate}, declines.questions())
	require.Equal(t, decision.Approved, res.DecisionState, res.Reason)
	require.Equal(t, shipped.SignatureHash, res.SignatureHash, "the same signature as without the resolver")
	require.Equal(t, shipped.Resolution.ConfirmationMode, res.Resolution.ConfirmationMode)
	require.Equal(t, shipped.Resolution.ConfidenceScore, res.Resolution.ConfidenceScore)

	details, _ := eventDetails(t, id, audit.EventSemanticResolution)
	keys := detailKeys(t, details)
	require.NotContains(t, keys, "resolver", "no custom resolver resolved it")
	require.NotContains(t, keys, "raw_signature")
}

func TestDomainResolverNamingADatasetNotInTheCatalogIsUnresolved(t *testing.T) {
	ghost := &reportResolver{name: "revenue_reports", claims: dailyRevenueReport, dataset: "receita_diaria"}
	id := uniqueID(t)
	res := run(t, newEnv(t, extActivities(t, extension.Points{DomainResolvers: []extension.DomainResolver{ghost}}), id),
		workflows.IntentInput{Text: dailyRevenueReport})

	require.Equal(t, decision.Blocked, res.DecisionState)
	require.Equal(t, string(decision.AuthorityIntentNormalizer), res.DecidedBy)
	require.Len(t, res.Faults, 1)
	require.Equal(t, fault.CodeIntentUnresolved, res.Faults[0].Code)
	require.Contains(t, res.Reason, "receita_diaria")
	require.Contains(t, res.Reason, "not in the catalog")
	require.Nil(t, res.Signature, "nothing is signed")
	require.Empty(t, res.PolicyAttempts)

	details, outcome := eventDetails(t, id, audit.EventSemanticResolution)
	require.Equal(t, "unresolved", outcome)
	var rec events.SemanticResolution
	require.NoError(t, json.Unmarshal(details, &rec))
	require.Equal(t, "revenue_reports", rec.Resolver, "the refused draft is still attributed")
	require.NotNil(t, rec.Raw)
	require.Equal(t, []string{"receita_diaria"}, rec.Raw.DatasetNames())
	require.NotContains(t, eventTypes(t, id), audit.EventSignatureGenerated)
}

// --- intent_normalizer.catalog_enrichment_hook ---

// piiHook sets the PII columns of one dataset in a copy of the signature
// it is given (nil pii removes them all).
type piiHook struct {
	dataset string
	pii     []string
}

func (h piiHook) Enrich(_ context.Context, sig extension.Signature, _ *extension.Catalog) (extension.Signature, error) {
	out := sig
	out.Datasets = slices.Clone(sig.Datasets)
	for i := range out.Datasets {
		if out.Datasets[i].Name == h.dataset {
			out.Datasets[i].PII = slices.Clone(h.pii)
		}
	}
	return out, nil
}

// inPlaceHook removes every PII column by editing the signature it was
// given: a careless but legal way to write a hook.
type inPlaceHook struct{}

func (inPlaceHook) Enrich(_ context.Context, sig extension.Signature, _ *extension.Catalog) (extension.Signature, error) {
	for i := range sig.Datasets {
		sig.Datasets[i].PII = nil
	}
	return sig, nil
}

func TestCatalogEnrichmentAddingPIIEscalates(t *testing.T) {
	id := uniqueID(t)
	acts := extActivities(t, extension.Points{CatalogEnrichment: piiHook{dataset: "vendas_diarias", pii: []string{"cpf_comprador"}}})
	env := newEnv(t, acts, id)
	start := env.Now()
	res := run(t, env, workflows.IntentInput{Text: autoAggregate, EscalationTimeoutSeconds: 5})

	require.NotNil(t, res.Resolution)
	require.Equal(t, confirmation.ModeHardRequired, res.Resolution.ConfirmationMode, "the shipped reading is auto; the PII column escalates it")
	require.Contains(t, res.Resolution.ConfirmationTriggers, confirmation.TriggerPIIDetected)
	require.Equal(t, []string{"cpf_comprador"}, res.Resolution.Signature.Datasets[0].PII)

	// It then waits for a human, who does not answer.
	require.Equal(t, decision.Blocked, res.DecisionState)
	require.Equal(t, confirmation.ReasonTimeout, res.Reason)
	require.Equal(t, string(decision.AuthorityConfirmation), res.DecidedBy)
	require.Equal(t, fault.CodeHumanEscalationTimeout, res.Faults[0].Code)
	require.Equal(t, workflows.ConfirmationTimeout, res.Confirmation.Outcome)
	require.Equal(t, confirmation.ModeHardRequired, res.Confirmation.Mode)
	require.GreaterOrEqual(t, env.Now().Sub(start), 5*time.Second)
	require.Less(t, env.Now().Sub(start), time.Minute, "the per-run 5 s timeout, not the default 300 s")
	require.Empty(t, res.PolicyAttempts, "nothing is governed before the confirmation")

	details, _ := eventDetails(t, id, audit.EventSemanticResolution)
	var rec events.SemanticResolution
	require.NoError(t, json.Unmarshal(details, &rec))
	require.Equal(t, confirmation.ModeHardRequired, rec.ConfirmationMode, "the audit records the mode chosen after enrichment")
	require.Contains(t, eventTypes(t, id), audit.EventHumanEscalationTimeout)
}

func TestCatalogEnrichmentCannotRemovePII(t *testing.T) {
	// A week of nfe: no cost trigger (docs/adr/0134), PII alone escalates.
	const readNFE = "aggregate nfe last 7 days"
	shipped := run(t, newEnv(t, newActivities(t, nil), uniqueID(t)), workflows.IntentInput{Text: readNFE, EscalationTimeoutSeconds: 5})
	require.Equal(t, confirmation.ModeHardRequired, shipped.Resolution.ConfirmationMode, "fixture: nfe declares cpf")

	id := uniqueID(t)
	res := run(t, newEnv(t, extActivities(t, extension.Points{CatalogEnrichment: piiHook{dataset: "nfe"}}), id),
		workflows.IntentInput{Text: readNFE, EscalationTimeoutSeconds: 5})
	require.Equal(t, []string{"cpf"}, res.Resolution.Signature.Datasets[0].PII, "the catalog's PII stays")
	require.Equal(t, confirmation.ModeHardRequired, res.Resolution.ConfirmationMode)
	require.Contains(t, res.Resolution.ConfirmationTriggers, confirmation.TriggerPIIDetected)
	require.Equal(t, decision.Blocked, res.DecisionState)
	require.Equal(t, confirmation.ReasonTimeout, res.Reason)
}

func TestCatalogEnrichmentEditingItsArgumentCannotRemovePII(t *testing.T) {
	// A week of nfe: no cost trigger (docs/adr/0134), PII alone escalates.
	const readNFE = "aggregate nfe last 7 days"
	id := uniqueID(t)
	res := run(t, newEnv(t, extActivities(t, extension.Points{CatalogEnrichment: inPlaceHook{}}), id),
		workflows.IntentInput{Text: readNFE, EscalationTimeoutSeconds: 5})
	require.Equal(t, []string{"cpf"}, res.Resolution.Signature.Datasets[0].PII, "the catalog's PII stays")
	require.Equal(t, confirmation.ModeHardRequired, res.Resolution.ConfirmationMode)
	require.Contains(t, res.Resolution.ConfirmationTriggers, confirmation.TriggerPIIDetected)
	require.Equal(t, decision.Blocked, res.DecisionState, "nobody confirmed the read of PII")
}

// --- intent_normalizer.confidence_scorer_override ---

type fixedScorer struct {
	score float64

	mu   sync.Mutex
	seen []extension.SemanticResolution
}

func (s *fixedScorer) Score(_ context.Context, res extension.SemanticResolution) (float64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seen = append(s.seen, res)
	return s.score, nil
}

func TestConfidenceScorerLowScoreEscalates(t *testing.T) {
	tests := []struct {
		name    string
		score   float64
		want    float64
		trigger confirmation.Trigger
	}{
		{"a low score", 0.1, 0.1, confirmation.TriggerLowConfidence},
		{"NaN counts as zero", math.NaN(), 0, confirmation.TriggerLowConfidence},
		{"negative counts as zero", -2, 0, confirmation.TriggerLowConfidence},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			scorer := &fixedScorer{score: tc.score}
			id := uniqueID(t)
			res := run(t, newEnv(t, extActivities(t, extension.Points{ConfidenceScorer: scorer}), id),
				workflows.IntentInput{Text: autoAggregate, EscalationTimeoutSeconds: 5})

			require.Len(t, scorer.seen, 1)
			require.Equal(t, confirmation.ModeAuto, scorer.seen[0].ConfirmationMode, "the scorer sees the shipped resolution")
			require.Equal(t, []string{"vendas_diarias"}, scorer.seen[0].Signature.DatasetNames())

			require.Equal(t, tc.want, res.Resolution.ConfidenceScore)
			require.Equal(t, confirmation.ModeHardRequired, res.Resolution.ConfirmationMode)
			require.Equal(t, []confirmation.Trigger{tc.trigger}, res.Resolution.ConfirmationTriggers)
			require.Equal(t, decision.Blocked, res.DecisionState)
			require.Equal(t, confirmation.ReasonTimeout, res.Reason)
			require.Equal(t, confirmation.ModeHardRequired, res.Confirmation.Mode)
		})
	}
}

func TestConfidenceScorerCannotLiftAnEscalation(t *testing.T) {
	scorer := &fixedScorer{score: 1}
	res := run(t, newEnv(t, extActivities(t, extension.Points{ConfidenceScorer: scorer}), uniqueID(t)),
		workflows.IntentInput{Text: goldWrite, EscalationTimeoutSeconds: 5})
	require.Equal(t, 1.0, res.Resolution.ConfidenceScore)
	require.Equal(t, confirmation.ModeHumanEscalation, res.Resolution.ConfirmationMode, "a gold write still escalates")
	require.Contains(t, res.Resolution.ConfirmationTriggers, confirmation.TriggerGoldWrite)
	require.Equal(t, decision.Blocked, res.DecisionState)
}

// --- execution_planner.pre_cost_estimator_backend ---

// flatCost answers the same estimate for every signature, with no shape:
// a backend that cannot say what a filter would save.
type flatCost struct{ dbu float64 }

func (flatCost) Name() string { return "warehouse_flat" }

func (f flatCost) Estimate(_ context.Context, in extension.CostInput) (extension.CostEstimate, error) {
	return extension.CostEstimate{EstimatedDBU: f.dbu, CostRiskScore: 1, Confidence: 0.9, Basis: precost.BasisModel, CostCeilingDBU: in.CostCeilingDBU}, nil
}

// pessimisticCost is the shipped model times factor: a warehouse that
// knows this workload costs more than the catalog sizes say.
type pessimisticCost struct {
	factor float64

	mu    sync.Mutex
	calls int
}

func (*pessimisticCost) Name() string { return "warehouse_pessimistic" }

func (p *pessimisticCost) Estimate(_ context.Context, in extension.CostInput) (extension.CostEstimate, error) {
	p.mu.Lock()
	p.calls++
	p.mu.Unlock()
	e, err := precost.EstimateCost(in)
	if err != nil {
		return e, err
	}
	e.EstimatedDBU *= p.factor
	if e.CostCeilingDBU > 0 {
		e.CostRiskScore = math.Min(1, e.EstimatedDBU/e.CostCeilingDBU)
	}
	return e, nil
}

func TestCostEstimatorAboveTheCeilingBlocks(t *testing.T) {
	clearCostHistory(t)
	id := uniqueID(t)
	res := run(t, newEnv(t, extActivities(t, extension.Points{CostEstimator: flatCost{dbu: 120}}), id),
		workflows.IntentInput{Text: autoAggregate, CostCeilingDBU: 50})

	require.Equal(t, decision.Blocked, res.DecisionState)
	require.Equal(t, string(decision.AuthorityPreCostEstimator), res.DecidedBy)
	require.Equal(t, fault.CodePreCostCeilingExceeded, res.Faults[0].Code)
	require.Equal(t, precost.ActionBlock, res.PreCost.Verdict.Action)
	require.Equal(t, 120.0, res.PreCost.Estimate.EstimatedDBU)
	require.Equal(t, 50.0, res.PreCost.Verdict.CostCeilingDBU)
	require.Empty(t, res.PlanHash, "nothing is planned after a block")

	details, outcome := eventDetails(t, id, audit.EventPreCostEstimated)
	require.Equal(t, string(precost.ActionBlock), outcome)
	var rec events.PreCostEstimated
	require.NoError(t, json.Unmarshal(details, &rec))
	require.Equal(t, "warehouse_flat", rec.Backend)
	require.Equal(t, 120.0, rec.EstimatedDBU)
	require.Equal(t, 50.0, rec.CostCeilingDBU)
}

func TestCostEstimatorAboveTheCeilingReplansWithAFilter(t *testing.T) {
	clearCostHistory(t)
	backend := &pessimisticCost{factor: 3}
	id := uniqueID(t)
	env := newEnv(t, extActivities(t, extension.Points{CostEstimator: backend}), id)
	// The PII join's hard confirmation, then the spend near the ceiling.
	approveAt(env, time.Minute, 3*time.Minute)
	res := run(t, env, workflows.IntentInput{Text: reconcileToSilver, CostCeilingDBU: 50, DryRun: true})

	require.Equal(t, decision.Approved, res.DecisionState, res.Reason)
	require.Contains(t, eventTypes(t, id), audit.EventPreCostReplan, "above the ceiling: replan with a filter")
	require.GreaterOrEqual(t, backend.calls, 2, "the replanned signature is estimated again by the same backend")
	require.NotNil(t, res.Signature.Constraints.TemporalFilter)
	require.Less(t, res.Signature.Constraints.TemporalFilter.LastDays, 30, "narrowed from the policy's 30 days")
	require.LessOrEqual(t, res.PreCost.Estimate.EstimatedDBU, 50.0)
	require.Greater(t, res.Replans, res.PolicyAttempts[0].Replan, "the cost replan counts toward the limit")
}

func TestCostEstimatorNameIsRecorded(t *testing.T) {
	clearCostHistory(t)
	custom := uniqueID(t)
	run(t, newEnv(t, extActivities(t, extension.Points{CostEstimator: &pessimisticCost{factor: 1}}), custom),
		workflows.IntentInput{Text: autoAggregate})
	details, _ := eventDetails(t, custom, audit.EventPreCostEstimated)
	var rec events.PreCostEstimated
	require.NoError(t, json.Unmarshal(details, &rec))
	require.Equal(t, "warehouse_pessimistic", rec.Backend)

	shipped := uniqueID(t)
	run(t, newEnv(t, newActivities(t, nil), shipped), workflows.IntentInput{Text: autoAggregate})
	details, _ = eventDetails(t, shipped, audit.EventPreCostEstimated)
	require.NotContains(t, detailKeys(t, details), "backend", "the shipped model is not named")
}

// --- execution_planner.custom_template_library ---

// sparkBackend renders a small, deterministic artifact per plan.
type sparkBackend struct{}

func (sparkBackend) Name() string { return "spark_sql" }

func (sparkBackend) Generate(p planner.ExecutionPlan, _ *extension.Catalog) (extension.Artifact, error) {
	f := codegen.File{Path: "spark/" + p.Target + ".sql", Content: sparkContent(p)}
	return extension.Artifact{Backend: "spark_sql", PlanHash: p.Hash, Files: []codegen.File{f}, Hash: sha256Hex(f.Content)}, nil
}

func (sparkBackend) ForbiddenOperations() []string { return []string{"DROP", "TRUNCATE"} }

func sparkContent(p planner.ExecutionPlan) string {
	return "-- plan " + p.Hash + "\nMERGE INTO " + p.Target + " USING staged ON true\n"
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// impostorPostgres claims the Postgres backend's name and emits a DROP.
type impostorPostgres struct {
	mu    sync.Mutex
	calls int
}

func (*impostorPostgres) Name() string { return codegen.Postgres{}.Name() }

func (i *impostorPostgres) Generate(p planner.ExecutionPlan, _ *extension.Catalog) (extension.Artifact, error) {
	i.mu.Lock()
	i.calls++
	i.mu.Unlock()
	content := "DROP TABLE silver.silver_documentos;"
	return extension.Artifact{Backend: "postgres", PlanHash: p.Hash, Files: []codegen.File{{Path: "x.sql", Content: content}}, Hash: sha256Hex(content)}, nil
}

func (*impostorPostgres) ForbiddenOperations() []string { return nil }

// refusingBackend refuses every plan.
type refusingBackend struct{}

func (refusingBackend) Name() string { return "legacy_cobol" }
func (refusingBackend) Generate(planner.ExecutionPlan, *extension.Catalog) (extension.Artifact, error) {
	return extension.Artifact{}, errors.New("merge is not supported by the legacy generator")
}
func (refusingBackend) ForbiddenOperations() []string { return nil }

type templates []extension.Backend

func (t templates) Backends() []extension.Backend { return t }

func TestTemplatesArtifactIsRecordedAndPostgresIsValidated(t *testing.T) {
	clearCostHistory(t)
	impostor := &impostorPostgres{}
	id := uniqueID(t)
	env := newEnv(t, extActivities(t, extension.Points{Templates: templates{impostor, sparkBackend{}}}), id)
	approveAt(env, time.Minute)
	res := run(t, env, workflows.IntentInput{Text: reconcileToSilver, DryRun: true})

	require.Equal(t, decision.Approved, res.DecisionState, res.Reason)
	require.True(t, res.DryRun)
	require.Equal(t, &workflows.StaticSummary{Passed: true}, res.Static)
	require.Zero(t, impostor.calls, "a template named postgres never replaces the core's Postgres backend")

	rec, err := store.GetPlan(context.Background(), id)
	require.NoError(t, err)
	var p planner.ExecutionPlan
	require.NoError(t, json.Unmarshal(rec.Plan, &p))
	require.Equal(t, res.PlanHash, p.Hash)
	cat, err := app.LoadCatalog("")
	require.NoError(t, err)
	pg, err := codegen.Postgres{}.Generate(p, cat)
	require.NoError(t, err)

	details, outcome := eventDetails(t, id, audit.EventCodeGenerated)
	require.Equal(t, "generated", outcome)
	var gen events.CodeGenerated
	require.NoError(t, json.Unmarshal(details, &gen))
	require.Equal(t, res.PlanHash, gen.PlanHash)
	require.Len(t, gen.Artifacts, 2, "Postgres always, and the template's backend: %v", gen.Artifacts)
	require.Equal(t, events.Artifact{Hash: sha256Hex(sparkContent(p)), Files: []string{"spark/silver_documentos.sql"}}, gen.Artifacts["spark_sql"])
	require.Equal(t, pg.Hash, gen.Artifacts["postgres"].Hash, "the core's Postgres artifact, not the impostor's")

	// The code analysed and recorded is Postgres'.
	require.Equal(t, pg.Hash, res.CodeHash)
	require.Equal(t, pg.Hash, rec.CodeHash)
	analysis, outcome := eventDetails(t, id, audit.EventCodeAnalysis)
	require.Equal(t, "passed", outcome)
	var ca events.CodeAnalysis
	require.NoError(t, json.Unmarshal(analysis, &ca))
	require.Equal(t, pg.Hash, ca.CodeHash)
	require.True(t, ca.Passed)
}

func TestTemplatesBackendThatRefusesBlocks(t *testing.T) {
	clearCostHistory(t)
	id := uniqueID(t)
	env := newEnv(t, extActivities(t, extension.Points{Templates: templates{sparkBackend{}, refusingBackend{}}}), id)
	approveAt(env, time.Minute)
	res := run(t, env, workflows.IntentInput{Text: reconcileToSilver, DryRun: true})

	require.Equal(t, decision.Blocked, res.DecisionState)
	require.Equal(t, string(decision.AuthorityStaticValidation), res.DecidedBy)
	require.Equal(t, fault.CodeCodeGenerationRefused, res.Faults[0].Code)
	require.Equal(t, "legacy_cobol", res.Faults[0].Rule)
	require.Contains(t, res.Faults[0].Message, "not supported by the legacy generator")
	_, outcome := eventDetails(t, id, audit.EventCodeGenerated)
	require.Equal(t, "refused", outcome)
	require.NotContains(t, eventTypes(t, id), audit.EventCodeAnalysis, "nothing is analysed or run after a refusal")
}

// --- promotion_engine.domain_window_provider and custom_promotion_signal ---

type windows map[string]string

func (w windows) Window(_ context.Context, domain string) (string, error) { return w[domain], nil }

// businessSignal answers a value for every execution and vetoes when veto.
type businessSignal struct {
	veto bool

	mu   sync.Mutex
	seen []extension.Execution
}

func (*businessSignal) Name() string { return "business_value" }

func (s *businessSignal) Signal(_ context.Context, ex extension.Execution) (float64, bool, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seen = append(s.seen, ex)
	if s.veto {
		return 0.2, true, "nobody reads this report", nil
	}
	return 0.8, false, "", nil
}

// TestPromotionWindowAndSignalOnExecutedIntents runs the reconciliation
// three times on the seeded data plane (three clean runs meet the gate,
// TestPromotionEvaluation) with a 14-day fiscal window: the first two are
// recorded with a neutral signal, the third, which the gate finds
// eligible, is vetoed and stays approved.
func TestPromotionWindowAndSignalOnExecutedIntents(t *testing.T) {
	seedDemo(t, false)
	win := windows{"fiscal": "last_14_days"}
	runOnce := func(sig *businessSignal) (string, workflows.IntentResult) {
		id := uniqueID(t)
		env := newEnv(t, extActivities(t, extension.Points{Windows: win, PromotionSignals: []extension.PromotionSignal{sig}}), id)
		approveAt(env, time.Minute)
		return id, run(t, env, workflows.IntentInput{Text: reconcileToSilver, AsOf: dataplane.DemoAsOf, UnitRetryBaseSeconds: 1})
	}

	for i := 1; i <= 2; i++ {
		neutral := &businessSignal{}
		_, res := runOnce(neutral)
		require.Equal(t, decision.Approved, res.DecisionState, res.Reason)
		require.NotNil(t, res.Promotion)
		require.Equal(t, "last_14_days", res.Promotion.Window, "the provider's window, not fiscal's last_3_days")
		require.Equal(t, 14*24*time.Hour, res.Promotion.WindowEnd.Sub(res.Promotion.WindowStart))
		require.Equal(t, i, res.Promotion.Executions)
		require.Equal(t, []lifecycle.Signal{{Name: "business_value", Value: 0.8}}, res.Promotion.Signals)
		require.Len(t, neutral.seen, 1)
		require.Equal(t, "fiscal", neutral.seen[0].Domain)
		require.Equal(t, res.Promotion.PromotionUnit, neutral.seen[0].PromotionUnit)
	}

	veto := &businessSignal{veto: true}
	id, res := runOnce(veto)
	ev := res.Promotion
	require.NotNil(t, ev)
	require.Equal(t, "last_14_days", ev.Window)
	// The gate holds: without the veto this run would be a promotion_candidate.
	require.Equal(t, 3, ev.SuccessfulExecutions)
	require.GreaterOrEqual(t, ev.IFo, lifecycle.DefaultPolicy().Thresholds.IFo)
	require.GreaterOrEqual(t, ev.IFs, lifecycle.DefaultPolicy().Thresholds.IFs)
	require.Equal(t, 1.0, ev.IFg)
	// The veto keeps it approved.
	require.False(t, ev.Eligible)
	require.Equal(t, lifecycle.OutcomeNotEligible, ev.Outcome)
	require.Equal(t, "custom_promotion_signal_veto: business_value: nobody reads this report", ev.Reason)
	require.Equal(t, []lifecycle.Signal{{Name: "business_value", Value: 0.2, Veto: true, Reason: "nobody reads this report"}}, ev.Signals)
	require.Equal(t, decision.Approved, res.DecisionState, res.Reason)
	require.Equal(t, string(decision.Approved), decisionEventState(t, id))

	details, outcome := eventDetails(t, id, audit.EventPromotionEvaluation)
	require.Equal(t, lifecycle.OutcomeNotEligible, outcome)
	var recorded events.PromotionEvaluation
	require.NoError(t, json.Unmarshal(details, &recorded))
	require.Equal(t, ev.Signals, recorded.Signals, "the signal is recorded with the evaluation")
	require.Equal(t, "last_14_days", recorded.Window)
	stored, err := store.SkillEvaluation(context.Background(), id)
	require.NoError(t, err)
	require.NotNil(t, stored)
	require.Equal(t, ev.Signals, stored.Signals)
	require.False(t, stored.Eligible)
}
