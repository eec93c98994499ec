package lineage_test

import (
	"encoding/json"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/audit/events"
	"github.com/contextualflux/cfa/internal/catalog"
	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/fault"
	"github.com/contextualflux/cfa/internal/lineage"
	"github.com/contextualflux/cfa/internal/lineage/lineagetest"
	"github.com/contextualflux/cfa/internal/planner"
	"github.com/contextualflux/cfa/internal/planner/plannertest"
	"github.com/contextualflux/cfa/internal/revalidation"
	"github.com/contextualflux/cfa/internal/signature"
	"github.com/contextualflux/cfa/internal/staticcheck"
)

var opts = lineage.Options{Namespace: "cfa-test", DatasetNamespace: "postgres://db.example:5432", Database: "cfa"}

// trail seals an intent's events as the stages do, one chain position
// each, a second apart.
type trail struct {
	t        *testing.T
	intentID string
	at       time.Time
	prev     []byte
	receipts []audit.Receipt
	traceID  string
}

func newTrail(t *testing.T, intentID string) *trail {
	return &trail{t: t, intentID: intentID, at: time.Date(2026, 3, 22, 10, 0, 0, 0, time.UTC), prev: audit.GenesisPrevHash()}
}

func (tr *trail) add(stage, outcome string, p events.Payload) audit.Receipt {
	tr.t.Helper()
	seq := int64(len(tr.receipts) + 1)
	e := audit.Event{
		IntentID: tr.intentID, Seq: seq, CorrelationID: "corr-1", PolicyBundleVersion: "v1.0.0",
		Stage: stage, EventType: p.EventType(), Outcome: outcome,
		Actor: audit.Principal{ID: "cfa-worker", Type: audit.PrincipalSystem}, Action: audit.ActionInvoke,
		Targets: []string{"intent:" + tr.intentID}, Timestamp: tr.at.Add(time.Duration(seq) * time.Second),
		TraceID: tr.traceID,
	}
	if _, empty := p.(events.IntentCompleted); !empty {
		b, err := audit.EncodeDetails(p)
		require.NoError(tr.t, err)
		e.Details = b
	}
	r, err := audit.Seal(e, seq, tr.prev)
	require.NoError(tr.t, err)
	tr.prev, tr.receipts = r.Integrity, append(tr.receipts, r)
	return r
}

// fixture is the whitepaper reconciliation: its signature, the plan the
// planner builds for it, and the catalog.
type fixture struct {
	cat  *catalog.Catalog
	sig  signature.Signature
	hash string
	plan planner.ExecutionPlan
}

func reconciliation(t *testing.T) fixture {
	t.Helper()
	cat := plannertest.Catalog()
	sig := plannertest.Reconciliation(cat)
	h, err := sig.Hash()
	require.NoError(t, err)
	p, err := planner.Plan(sig, cat, planner.Options{AsOf: plannertest.AsOf})
	require.NoError(t, err)
	return fixture{cat: cat, sig: sig, hash: h, plan: p}
}

// governed records steps 1 to 10 of an intent that passes them.
func (tr *trail) governed(f fixture) {
	tr.add("intent_received", "received", events.IntentReceived{})
	tr.add("state_signature", "signed", events.SignatureGenerated{IntentSignatureHash: f.hash, Signature: f.sig})
	tr.add("policy_engine", "approved", events.PolicyApprove{IntentSignatureHash: f.hash})
	tr.add("execution_planner", "planned", events.ExecutionPlanGenerated{PlanHash: f.plan.Hash, IntentSignatureHash: f.hash, Target: f.plan.Target})
	tr.add("static_validation", "passed", events.CodeAnalysis{CodeHash: "code123", Passed: true, Violations: []staticcheck.Violation{}})
}

// executed records steps 11 to 16.
func (tr *trail) executed() {
	tr.add("concurrency_control", "acquired", events.ScopeAcquired{Scopes: []string{"silver_documentos"}})
	tr.add("pre_execution_revalidation", string(revalidation.Proceed), events.Revalidation{Result: revalidation.Result{Outcome: revalidation.Proceed}})
	tr.add("execution", "passed", events.UnitExecuted{Unit: "2026-03-01", Attempts: 1})
	tr.add("state_projection", "projected", events.EnvironmentProjected{VersionID: "reg_0002"})
}

func (tr *trail) decided(state decision.State, faults ...string) {
	tr.add("decision_engine", string(state), events.Decision{DecisionState: state, DecidedBy: "decision_engine", Reason: "because", Faults: faults, IntentSignatureHash: "ignored"})
	tr.add("audit_trail", string(state), events.IntentCompleted{})
}

func eventTypes(ems []lineage.Emission) []lineage.EventType {
	var out []lineage.EventType
	for _, e := range ems {
		out = append(out, e.Event.EventType)
	}
	return out
}

func TestEventsByOutcome(t *testing.T) {
	t.Parallel()
	f := reconciliation(t)
	cases := []struct {
		name  string
		trail func(*trail)
		want  []lineage.EventType
		// wantFrom: the receipt (seq) each event reports.
		wantFrom []int64
	}{
		{"approved: START then COMPLETE", func(tr *trail) { tr.governed(f); tr.executed(); tr.decided(decision.Approved) },
			[]lineage.EventType{lineage.Start, lineage.Complete}, []int64{7, 10}},
		{"approved with warnings completes", func(tr *trail) { tr.governed(f); tr.executed(); tr.decided(decision.ApprovedWithWarnings) },
			[]lineage.EventType{lineage.Start, lineage.Complete}, []int64{7, 10}},
		{"a promotion candidate completes", func(tr *trail) { tr.governed(f); tr.executed(); tr.decided(decision.PromotionCandidate) },
			[]lineage.EventType{lineage.Start, lineage.Complete}, []int64{7, 10}},
		{"blocked after execution fails", func(tr *trail) {
			tr.governed(f)
			tr.executed()
			tr.decided(decision.Blocked, fault.CodeStageInterrupted)
		}, []lineage.EventType{lineage.Start, lineage.Fail}, []int64{7, 10}},
		{"rolled back fails", func(tr *trail) { tr.governed(f); tr.executed(); tr.decided(decision.RolledBack) },
			[]lineage.EventType{lineage.Start, lineage.Fail}, []int64{7, 10}},
		{"quarantined fails", func(tr *trail) { tr.governed(f); tr.executed(); tr.decided(decision.Quarantined) },
			[]lineage.EventType{lineage.Start, lineage.Fail}, []int64{7, 10}},
		{"partially committed fails", func(tr *trail) { tr.governed(f); tr.executed(); tr.decided(decision.PartiallyCommitted) },
			[]lineage.EventType{lineage.Start, lineage.Fail}, []int64{7, 10}},
		{"cancelled during execution aborts", func(tr *trail) {
			tr.governed(f)
			tr.executed()
			tr.decided(decision.Blocked, fault.CodeIntentCancelled)
		}, []lineage.EventType{lineage.Start, lineage.Abort}, []int64{7, 10}},
		{"running: START only", func(tr *trail) { tr.governed(f); tr.executed() },
			[]lineage.EventType{lineage.Start}, []int64{7}},
		{"blocked by the Policy Engine: nothing", func(tr *trail) {
			tr.add("intent_received", "received", events.IntentReceived{})
			tr.add("state_signature", "signed", events.SignatureGenerated{IntentSignatureHash: f.hash, Signature: f.sig})
			tr.add("policy_engine", "blocked", events.PolicyBlock{IntentSignatureHash: f.hash})
			tr.decided(decision.Blocked)
		}, nil, nil},
		{"a dry run: nothing", func(tr *trail) { tr.governed(f); tr.decided(decision.Approved) }, nil, nil},
		{"cancelled while waiting for the scope: nothing", func(tr *trail) {
			tr.governed(f)
			tr.add("concurrency_control", "queued", events.ScopeQueued{Scopes: []string{"silver_documentos"}})
			tr.decided(decision.Blocked, fault.CodeIntentCancelled)
		}, nil, nil},
		{"stale at revalidation, past the replan limit: nothing", func(tr *trail) {
			tr.governed(f)
			tr.add("pre_execution_revalidation", string(revalidation.Replan), events.Revalidation{Result: revalidation.Result{Outcome: revalidation.Replan}})
			tr.decided(decision.Blocked)
		}, nil, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			tr := newTrail(t, "intent-"+uuid.NewString())
			c.trail(tr)
			ems, err := lineage.Build(opts, tr.receipts, f.cat, &f.plan)
			require.NoError(t, err)
			require.Equal(t, c.want, eventTypes(ems))
			for i, e := range ems {
				require.Equal(t, tr.intentID+"/"+strconv.FormatInt(c.wantFrom[i], 10), e.ReceiptID)
				require.Equal(t, e.ReceiptID, e.Event.Run.Facets.Governance.ReceiptID)
			}
		})
	}
}

func TestApprovedRunCarriesDatasetsLineageAndDecision(t *testing.T) {
	t.Parallel()
	f := reconciliation(t)
	id := "intent-" + uuid.Must(uuid.NewV7()).String()
	tr := newTrail(t, id)
	tr.governed(f)
	tr.executed()
	tr.decided(decision.Approved)
	ems, err := lineage.Build(opts, tr.receipts, f.cat, &f.plan)
	require.NoError(t, err)
	require.Len(t, ems, 2)
	start, done := ems[0].Event, ems[1].Event

	require.Equal(t, id[len("intent-"):], start.Run.RunID, "the intent's UUIDv7 is the run id")
	require.Equal(t, start.Run.RunID, done.Run.RunID)
	require.Equal(t, "2026-03-22T10:00:07Z", start.EventTime, "the revalidation's time")
	require.Equal(t, "2026-03-22T10:00:10Z", done.EventTime, "the decision's time")
	require.Equal(t, lineage.Job{Namespace: "cfa-test", Name: "fiscal_data_processing.reconciliation_and_persist.silver_documentos",
		Facets: lineage.JobFacets{JobType: &lineage.JobTypeFacet{BaseFacet: lineage.BaseFacet{Producer: lineage.DefaultProducer, SchemaURL: lineage.JobTypeFacetURL},
			ProcessingType: "BATCH", Integration: "CFA", JobType: "INTENT"}}}, start.Job)
	require.Equal(t, lineage.RunEventSchemaURL, start.SchemaURL)

	for _, e := range []lineage.RunEvent{start, done} {
		require.Len(t, e.Inputs, 2)
		require.Equal(t, "postgres://db.example:5432", e.Inputs[0].Namespace)
		require.Equal(t, "cfa.bronze.nfe", e.Inputs[0].Name)
		require.Equal(t, "cfa.bronze.clientes", e.Inputs[1].Name)
		nfe, _ := f.cat.Get("nfe")
		require.Len(t, e.Inputs[0].Facets.Schema.Fields, len(nfe.Columns), "the dataset's whole schema, from the catalog")
		require.Nil(t, e.Inputs[0].Facets.ColumnLineage)
		require.Len(t, e.Outputs, 1)
		out := e.Outputs[0]
		require.Equal(t, "cfa.silver.silver_documentos", out.Name)
		require.NotNil(t, out.Facets.Schema)
		cl := out.Facets.ColumnLineage
		require.NotNil(t, cl)
		require.Equal(t, []lineage.InputField{{Namespace: "postgres://db.example:5432", Name: "cfa.bronze.clientes", Field: "cpf",
			Transformations: []lineage.Transformation{{Type: "DIRECT", Subtype: "TRANSFORMATION", Description: "sha256", Masking: true}}}},
			cl.Fields["cpf_hash"].InputFields, "the hashed PII column is masked")
		require.Equal(t, []lineage.InputField{{Namespace: "postgres://db.example:5432", Name: "cfa.bronze.nfe", Field: "nfe_id",
			Transformations: []lineage.Transformation{{Type: "DIRECT", Subtype: "IDENTITY"}}}}, cl.Fields["nfe_id"].InputFields)
		require.NotContains(t, cl.Fields, "email", "a dropped column is not written")
		require.Contains(t, cl.Dataset, lineage.InputField{Namespace: "postgres://db.example:5432", Name: "cfa.bronze.nfe", Field: "processing_date",
			Transformations: []lineage.Transformation{{Type: "INDIRECT", Subtype: "FILTER"}}})
		require.Contains(t, cl.Dataset, lineage.InputField{Namespace: "postgres://db.example:5432", Name: "cfa.bronze.clientes", Field: "cliente_id",
			Transformations: []lineage.Transformation{{Type: "INDIRECT", Subtype: "JOIN"}}})
	}

	g := start.Run.Facets.Governance
	require.Equal(t, id, g.IntentID)
	require.Equal(t, "corr-1", g.CorrelationID)
	require.Equal(t, f.hash, g.IntentSignatureHash)
	require.Equal(t, f.plan.Hash, g.PlanHash)
	require.Equal(t, "code123", g.CodeHash)
	require.Equal(t, "v1.0.0", g.PolicyBundleVersion)
	require.Equal(t, "reg_0001", g.RegistryVersionID)
	require.Empty(t, g.DecisionState, "START precedes the decision")
	require.Equal(t, []string{id + "/2", id + "/3", id + "/4", id + "/5", id + "/6", id + "/7"}, g.ReceiptIDs,
		"from the signature through the revalidation")
	require.Nil(t, start.Run.Facets.ErrorMessage)

	g = done.Run.Facets.Governance
	require.Equal(t, "approved", g.DecisionState)
	require.Equal(t, "decision_engine", g.DecidedBy)
	require.Equal(t, "reg_0002", g.ProjectedVersionID)
	require.Equal(t, id+"/10", g.ReceiptID)
	require.Equal(t, id+"/11", g.ReceiptIDs[len(g.ReceiptIDs)-1], "INTENT_COMPLETED, sealed with the decision")
	require.Nil(t, done.Run.Facets.ErrorMessage)
}

func TestFailedRunSaysWhy(t *testing.T) {
	t.Parallel()
	f := reconciliation(t)
	tr := newTrail(t, "a-client-chosen-id")
	tr.governed(f)
	tr.executed()
	tr.decided(decision.RolledBack, "PROJECTION_FAILED")
	ems, err := lineage.Build(opts, tr.receipts, f.cat, &f.plan)
	require.NoError(t, err)
	require.Len(t, ems, 2)
	e := ems[1].Event
	require.Equal(t, lineage.Fail, e.EventType)
	require.Equal(t, "rolled_back: because (faults: PROJECTION_FAILED)", e.Run.Facets.ErrorMessage.Message)
	require.Equal(t, []string{"PROJECTION_FAILED"}, e.Run.Facets.Governance.Faults)
	require.Equal(t, lineage.RunID("a-client-chosen-id"), e.Run.RunID)
	require.Equal(t, uuid.Version(5), uuid.MustParse(e.Run.RunID).Version(), "derived from the intent id")
}

func TestRunID(t *testing.T) {
	t.Parallel()
	v7 := uuid.Must(uuid.NewV7())
	require.Equal(t, v7.String(), lineage.RunID("intent-"+v7.String()))
	sub := lineage.RunID("intent-" + v7.String() + ".publish")
	require.NotEqual(t, v7.String(), sub, "a sub-intent is a run of its own")
	require.Equal(t, sub, lineage.RunID("intent-"+v7.String()+".publish"), "deterministic")
	require.NotEqual(t, lineage.RunID("a"), lineage.RunID("b"))
	require.Equal(t, uuid.Version(5), uuid.MustParse(lineage.RunID("intent-not-a-uuid")).Version())
}

func TestStaleReplanRunsTheLatestSignature(t *testing.T) {
	t.Parallel()
	f := reconciliation(t)
	tr := newTrail(t, "intent-stale")
	tr.governed(f)
	tr.add("concurrency_control", "acquired", events.ScopeAcquired{})
	tr.add("pre_execution_revalidation", string(revalidation.Replan), events.Revalidation{Result: revalidation.Result{Outcome: revalidation.Replan}})
	again := f
	again.sig.ExecutionContext.RegistryVersionID = "reg_0009"
	again.sig.Replan++
	h, err := again.sig.Hash()
	require.NoError(t, err)
	again.hash = h
	tr.add("state_signature", "replanned", events.SignatureGenerated{IntentSignatureHash: h, Signature: again.sig, Reason: "stale_environment_state"})
	tr.add("execution_planner", "planned", events.ExecutionPlanGenerated{PlanHash: f.plan.Hash, IntentSignatureHash: h, Target: f.plan.Target})
	tr.add("pre_execution_revalidation", string(revalidation.Proceed), events.Revalidation{Result: revalidation.Result{Outcome: revalidation.Proceed}})
	ems, err := lineage.Build(opts, tr.receipts, f.cat, &f.plan)
	require.NoError(t, err)
	require.Len(t, ems, 1)
	g := ems[0].Event.Run.Facets.Governance
	require.Equal(t, h, g.IntentSignatureHash)
	require.Equal(t, "reg_0009", g.RegistryVersionID)
	require.Empty(t, g.CodeHash, "the new cycle's code was not analysed in this trail")
	require.Equal(t, []string{"intent-stale/8", "intent-stale/9", "intent-stale/10"}, g.ReceiptIDs)
}

func TestWithoutThePlanTheSignatureNamesTheDatasets(t *testing.T) {
	t.Parallel()
	f := reconciliation(t)
	tr := newTrail(t, "intent-noplan")
	tr.governed(f)
	tr.executed()
	other := f.plan
	other.Hash = "another plan"
	for _, plan := range []*planner.ExecutionPlan{nil, &other} {
		ems, err := lineage.Build(opts, tr.receipts, f.cat, plan)
		require.NoError(t, err)
		require.Len(t, ems, 1)
		e := ems[0].Event
		var names []string
		for _, d := range e.Inputs {
			names = append(names, d.Name)
		}
		require.ElementsMatch(t, []string{"cfa.bronze.nfe", "cfa.bronze.clientes"}, names)
		require.Equal(t, "cfa.silver.silver_documentos", e.Outputs[0].Name)
		require.Nil(t, e.Outputs[0].Facets.ColumnLineage, "no plan, no column lineage: none is made up")
		require.NotNil(t, e.Outputs[0].Facets.Schema)
	}
}

func TestPublishOnlyReadsTheTableAndWritesThePublishedView(t *testing.T) {
	t.Parallel()
	cat := plannertest.Catalog()
	sig := plannertest.PublishOnly(cat)
	h, err := sig.Hash()
	require.NoError(t, err)
	tr := newTrail(t, "intent-publish")
	tr.add("state_signature", "signed", events.SignatureGenerated{IntentSignatureHash: h, Signature: sig})
	tr.add("execution_planner", "planned", events.ExecutionPlanGenerated{PlanHash: "p", IntentSignatureHash: h, Target: "gold_faturamento_uf"})
	tr.add("state_projection", "published", events.EnvironmentPublished{Partitions: []string{"2026-03-01"}})
	tr.decided(decision.Approved)
	ems, err := lineage.Build(lineage.Options{}, tr.receipts, cat, nil)
	require.NoError(t, err)
	require.Equal(t, []lineage.EventType{lineage.Start, lineage.Complete}, eventTypes(ems))
	e := ems[0].Event
	require.Equal(t, lineage.DefaultNamespace, e.Job.Namespace)
	require.Equal(t, "gold.gold_faturamento_uf", e.Inputs[0].Name)
	require.Equal(t, lineage.DefaultDatasetNamespace, e.Inputs[0].Namespace)
	require.Equal(t, "gold_published.gold_faturamento_uf", e.Outputs[0].Name)
	require.Equal(t, "IDENTITY", e.Outputs[0].Facets.ColumnLineage.Fields["uf"].InputFields[0].Transformations[0].Subtype)
}

// TestSameReceiptsSameBytes: the events are a function of the receipts,
// whatever their order.
func TestSameReceiptsSameBytes(t *testing.T) {
	t.Parallel()
	f := reconciliation(t)
	tr := newTrail(t, "intent-determinism")
	tr.governed(f)
	tr.executed()
	tr.decided(decision.Approved)
	encode := func(rs []audit.Receipt) [][]byte {
		ems, err := lineage.Build(opts, rs, f.cat, &f.plan)
		require.NoError(t, err)
		var out [][]byte
		for _, e := range ems {
			b, err := lineage.Marshal(e.Event)
			require.NoError(t, err)
			out = append(out, b)
		}
		return out
	}
	want := encode(tr.receipts)
	require.Len(t, want, 2)
	for range 5 {
		shuffled := slices.Clone(tr.receipts)
		rand.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		require.Equal(t, want, encode(shuffled))
	}
	require.Equal(t, want, encode(append(slices.Clone(tr.receipts), tr.receipts[3])), "a receipt read twice is one receipt")
	var v map[string]any
	require.NoError(t, json.Unmarshal(want[0], &v))
}

// TestEventsMatchTheSchema validates every kind of event the builder makes
// against CFA's OpenLineage schema (and CFA_OPENLINEAGE_SCHEMA's).
func TestEventsMatchTheSchema(t *testing.T) {
	t.Parallel()
	v, err := lineagetest.NewValidator()
	require.NoError(t, err)
	f := reconciliation(t)
	cat := f.cat
	for _, state := range []decision.State{decision.Approved, decision.PartiallyCommitted, decision.Blocked} {
		tr := newTrail(t, "intent-"+uuid.NewString())
		tr.governed(f)
		tr.executed()
		faults := []string{}
		if state == decision.Blocked {
			faults = []string{fault.CodeIntentCancelled}
		}
		tr.decided(state, faults...)
		for _, plan := range []*planner.ExecutionPlan{&f.plan, nil} {
			ems, err := lineage.Build(opts, tr.receipts, cat, plan)
			require.NoError(t, err)
			require.Len(t, ems, 2)
			for _, e := range ems {
				b, err := lineage.Marshal(e.Event)
				require.NoError(t, err)
				require.NoError(t, v.Validate(b), "%s", b)
			}
		}
	}
}

// TestSchemaRefusesWhatTheSpecRefuses: the schema is not a rubber stamp.
func TestSchemaRefusesWhatTheSpecRefuses(t *testing.T) {
	t.Parallel()
	v, err := lineagetest.NewValidator()
	require.NoError(t, err)
	f := reconciliation(t)
	tr := newTrail(t, "intent-"+uuid.NewString())
	tr.governed(f)
	tr.executed()
	ems, err := lineage.Build(opts, tr.receipts, f.cat, &f.plan)
	require.NoError(t, err)
	good, err := lineage.Marshal(ems[0].Event)
	require.NoError(t, err)
	require.NoError(t, v.Validate(good))
	for name, mutate := range map[string]func(map[string]any){
		"no eventTime":         func(m map[string]any) { delete(m, "eventTime") },
		"no schemaURL":         func(m map[string]any) { delete(m, "schemaURL") },
		"an unknown eventType": func(m map[string]any) { m["eventType"] = "DONE" },
		"a runId not a UUID":   func(m map[string]any) { m["run"].(map[string]any)["runId"] = "intent-1" },
		"eventTime not a date": func(m map[string]any) { m["eventTime"] = "yesterday" },
		"no job name":          func(m map[string]any) { delete(m["job"].(map[string]any), "name") },
		"a facet without _producer": func(m map[string]any) {
			delete(m["run"].(map[string]any)["facets"].(map[string]any)["cfa_governance"].(map[string]any), "_producer")
		},
		"a dataset without namespace": func(m map[string]any) { delete(m["inputs"].([]any)[0].(map[string]any), "namespace") },
		"a column lineage input without field": func(m map[string]any) {
			fields := m["outputs"].([]any)[0].(map[string]any)["facets"].(map[string]any)["columnLineage"].(map[string]any)["fields"].(map[string]any)
			delete(fields["nfe_id"].(map[string]any)["inputFields"].([]any)[0].(map[string]any), "field")
		},
		"a decision outside the enum": func(m map[string]any) {
			m["run"].(map[string]any)["facets"].(map[string]any)["cfa_governance"].(map[string]any)["decision_state"] = "fine"
		},
	} {
		var m map[string]any
		require.NoError(t, json.Unmarshal(good, &m))
		mutate(m)
		b, err := json.Marshal(m)
		require.NoError(t, err)
		require.Error(t, v.Validate(b), name)
	}
}

// TestTraceIDLinksTheRunToItsTrace: an intent submitted with tracing on
// names its trace in cfa_governance.
func TestTraceIDLinksTheRunToItsTrace(t *testing.T) {
	t.Parallel()
	v, err := lineagetest.NewValidator()
	require.NoError(t, err)
	f := reconciliation(t)
	tr := newTrail(t, "intent-traced")
	tr.traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	tr.governed(f)
	tr.executed()
	tr.decided(decision.Approved)
	ems, err := lineage.Build(opts, tr.receipts, f.cat, &f.plan)
	require.NoError(t, err)
	require.Len(t, ems, 2)
	for _, e := range ems {
		require.Equal(t, tr.traceID, e.Event.Run.Facets.Governance.TraceID)
		b, err := lineage.Marshal(e.Event)
		require.NoError(t, err)
		require.NoError(t, v.Validate(b))
	}
}
