package partialexecution_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/contextualflux/cfa/internal/fault"
	pe "github.com/contextualflux/cfa/internal/partialexecution"
	"github.com/contextualflux/cfa/internal/planner"
	"github.com/contextualflux/cfa/internal/projection"
	"github.com/contextualflux/cfa/internal/registry"
	rv "github.com/contextualflux/cfa/internal/runtimevalidation"
)

// The whitepaper's 5.8 blocks, verbatim.
const (
	whitepaperState = `
partial_execution_state:
  overall_state: partially_committed
  consistency_unit:
    type: partition # partition | dataset | dag_branch | time_window
    key: processing_date
  successful_units:
    - dataset: nfe
      partitions: ["2026-01-01", "2026-01-02"]
    - dataset: clientes_anon
      partitions: ["2026-01-01", "2026-01-02"]
  failed_units:
    - dataset: nfe
      partitions: ["2026-01-03"]
      error_code: RUNTIME_SHUFFLE_LIMIT_EXCEEDED
      fault_family: runtime_behavioral
  consistency_policy:
    mode: selective_quarantine
    rollback_required: false
    publish_allowed: false
`
	whitepaperPolicy = `
partial_failure_policy:
  mode: selective_quarantine
  allowed_partial_commit: true
  publish_on_partial_success: false
  rollback_scope: failed_consistency_unit_only
  promotion_eligible: false
`
	whitepaperRetry = `
retry_policy:
  enabled: true
  max_attempts: 3
  retry_scope: failed_consistency_units_only # nunca re-executa unidades bem-sucedidas
  backoff:
    strategy: exponential
    base_seconds: 30
  on_max_exceeded:
    action: quarantine_failed_units
    state: quarantined
`
)

// at is the whitepaper's execution_history timestamp; genesis the empty
// registry's version.
var (
	at      = time.Date(2026, 3, 22, 14, 30, 0, 0, time.UTC)
	genesis = "00000000-0000-0000-0000-000000000000"
)

var (
	byDate    = pe.ConsistencyUnit{Type: pe.UnitPartition, Key: "processing_date"}
	days      = []string{"2026-01-01", "2026-01-02", "2026-01-03"}
	shuffleF  = fault.Fault{Code: rv.CodeShuffleLimitExceeded, Family: fault.RuntimeBehavioralFaults}
	nullF     = fault.Fault{Code: rv.CodeNullRatioExceeded, Family: fault.RuntimeBehavioralFaults}
	driftF    = fault.Fault{Code: rv.CodeSchemaDrift, Family: fault.RuntimeBehavioralFaults}
	selective = mustPolicy(pe.SelectiveQuarantine)
)

func mustPolicy(m pe.Mode) pe.Policy {
	p, err := pe.DefaultPolicy(m)
	if err != nil {
		panic(err)
	}
	return p
}

func u(dataset, key string) pe.Unit { return pe.Unit{Dataset: dataset, Key: key} }

// fiscalResults is the 5.8 run: nfe and clientes_anon over three days, nfe
// 2026-01-03 failing on shuffle after the three attempts of retry_policy.
func fiscalResults() []pe.UnitResult {
	var out []pe.UnitResult
	for _, d := range []string{"nfe", "clientes_anon"} {
		for _, k := range days[:2] {
			out = append(out, pe.Succeeded(u(d, k), 1))
		}
	}
	out = append(out, pe.Succeeded(u("clientes_anon", "2026-01-03"), 1), pe.Failed(u("nfe", "2026-01-03"), 3, shuffleF))
	return out
}

func TestWhitepaperExample(t *testing.T) {
	t.Parallel()
	// In 5.8, clientes_anon 2026-01-03 is in neither list; the units of the
	// example are the five it names.
	results := slices.DeleteFunc(fiscalResults(), func(r pe.UnitResult) bool { return r.Unit == u("clientes_anon", "2026-01-03") })
	o, err := pe.Apply(selective, pe.Run{ConsistencyUnit: byDate, Results: results})
	require.NoError(t, err)

	require.Equal(t, pe.PartialExecutionState{
		OverallState:    pe.OverallPartiallyCommitted,
		ConsistencyUnit: pe.ConsistencyUnit{Type: pe.UnitPartition, Key: "processing_date"},
		SuccessfulUnits: []pe.UnitGroup{
			{Dataset: "clientes_anon", Partitions: []string{"2026-01-01", "2026-01-02"}},
			{Dataset: "nfe", Partitions: []string{"2026-01-01", "2026-01-02"}},
		},
		FailedUnits: []pe.FailedUnitGroup{
			{Dataset: "nfe", Partitions: []string{"2026-01-03"}, ErrorCode: "RUNTIME_SHUFFLE_LIMIT_EXCEEDED", FaultFamily: fault.RuntimeBehavioralFaults},
		},
		ConsistencyPolicy: pe.ConsistencyPolicy{Mode: pe.SelectiveQuarantine, RollbackRequired: false, PublishAllowed: false},
	}, o.State)

	// Structure: the same keys at every level as the whitepaper's YAML.
	var want map[string]any
	require.NoError(t, yaml.Unmarshal([]byte(whitepaperState), &want))
	b, err := json.Marshal(map[string]any{"partial_execution_state": o.State})
	require.NoError(t, err)
	var got map[string]any
	require.NoError(t, json.Unmarshal(b, &got))
	require.Equal(t, shape(want), shape(got))

	// Values: the same, except the sort order of datasets (ours is by name)
	// and fault_family, which we spell as the 5.13 family name.
	wantState := want["partial_execution_state"].(map[string]any)
	wantState["failed_units"].([]any)[0].(map[string]any)["fault_family"] = string(fault.RuntimeBehavioralFaults)
	sortByDataset(wantState["successful_units"].([]any))
	require.Equal(t, normalise(t, wantState), normalise(t, got["partial_execution_state"]))

	require.Equal(t, []pe.UnitAction{
		{UnitResult: pe.Succeeded(u("clientes_anon", "2026-01-01"), 1), Action: pe.ActionCommit, Reason: "succeeded: move staging into the target"},
		{UnitResult: pe.Succeeded(u("clientes_anon", "2026-01-02"), 1), Action: pe.ActionCommit, Reason: "succeeded: move staging into the target"},
		{UnitResult: pe.Succeeded(u("nfe", "2026-01-01"), 1), Action: pe.ActionCommit, Reason: "succeeded: move staging into the target"},
		{UnitResult: pe.Succeeded(u("nfe", "2026-01-02"), 1), Action: pe.ActionCommit, Reason: "succeeded: move staging into the target"},
		{UnitResult: pe.Failed(u("nfe", "2026-01-03"), 3, shuffleF), Action: pe.ActionQuarantine,
			Reason: "failed with RUNTIME_SHUFFLE_LIMIT_EXCEEDED after 3 attempts: move staging into quarantine for investigation (selective_quarantine)"},
	}, o.Actions)

	// The registry of 5.9, through State Projection: nfe (the whitepaper's
	// silver_documentos) is partially committed and not published;
	// clientes_anon is committed.
	p, err := projection.Project(projection.Input{
		Previous: registry.EnvironmentState{VersionID: genesis},
		Outcomes: o.Projections(),
		Execution: registry.ExecutionRecord{IntentID: "fiscal_reconciliation_001", Outcome: string(o.State.OverallState),
			ConsistencyUnit: string(o.State.ConsistencyUnit.Type), PolicyBundleVersion: "v4.2"},
		Now: at,
	})
	require.NoError(t, err)
	require.Equal(t, []registry.DatasetState{
		{Name: "clientes_anon", State: registry.StateCommitted, PublishAllowed: true, LastSuccessfulPartition: "2026-01-02", UpdatedAt: at},
		{Name: "nfe", State: registry.StatePartiallyCommitted, PublishAllowed: false, LastSuccessfulPartition: "2026-01-02",
			PendingPartitions: []string{"2026-01-03"}, QuarantinedUnits: []string{"2026-01-03"}, UpdatedAt: at},
	}, p.Datasets)
	require.Empty(t, p.Withheld)
	require.Equal(t, pe.CommittedNotPublished, o.PublishStatus)
	require.False(t, o.PromotionEligible, "the audit example: promotion not_eligible, reason partial_execution")
}

func TestWhitepaperPolicies(t *testing.T) {
	t.Parallel()
	var doc struct {
		Policy pe.Policy      `yaml:"partial_failure_policy"`
		Retry  pe.RetryPolicy `yaml:"retry_policy"`
	}
	require.NoError(t, yaml.Unmarshal([]byte(whitepaperPolicy+whitepaperRetry), &doc))
	require.Equal(t, selective, doc.Policy)
	require.NoError(t, doc.Policy.Validate())

	def := pe.DefaultRetryPolicy()
	require.NoError(t, doc.Retry.Validate())
	def.NonRetryableFamilies, def.NonRetryableCodes = nil, nil // not in the whitepaper (docs/adr/0082)
	require.Equal(t, def, doc.Retry)
}

func TestUnitTypesAreThePlanners(t *testing.T) {
	t.Parallel()
	require.Len(t, pe.UnitTypes, len(planner.ConsistencyUnits))
	for i, c := range planner.ConsistencyUnits {
		require.Equal(t, pe.UnitType(c), pe.UnitTypes[i])
	}
}

// shape replaces every leaf by its kind and every list by its first
// element's shape, so two documents compare by structure only.
func shape(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			out[k] = shape(e)
		}
		return out
	case []any:
		if len(x) == 0 {
			return []any{}
		}
		return []any{shape(x[0])}
	case bool:
		return "bool"
	default:
		return "scalar"
	}
}

func sortByDataset(list []any) {
	sort.SliceStable(list, func(i, j int) bool {
		return fmt.Sprint(list[i].(map[string]any)["dataset"]) < fmt.Sprint(list[j].(map[string]any)["dataset"])
	})
}

// normalise round-trips through JSON so YAML and JSON values compare.
func normalise(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	var out any
	require.NoError(t, json.Unmarshal(b, &out))
	return out
}
