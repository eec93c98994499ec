package extensions_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strconv"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"
	"go.uber.org/zap"

	"github.com/contextualflux/cfa/activities"
	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/db/dbtest"
	"github.com/contextualflux/cfa/examples/extensions/denylist"
	"github.com/contextualflux/cfa/examples/extensions/jsonlaudit"
	"github.com/contextualflux/cfa/extension"
	"github.com/contextualflux/cfa/internal/app"
	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/audit/events"
	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/fault"
	"github.com/contextualflux/cfa/internal/policy"
	"github.com/contextualflux/cfa/workflows"
)

// The tests run the plug-ins inside the real intent workflow and
// activities against this package's own Postgres database; only Temporal's
// clock and dispatch are simulated. No test needs the data plane: the
// intents are read-only or refused, so nothing executes.
var store *db.Store

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		fmt.Println("examples/extensions: -short: skipping the flow tests (they need Postgres)")
		os.Exit(0)
	}
	os.Exit(dbtest.Main(m, "extensions", func(d *dbtest.Database) { store = db.New(d.Pool) }))
}

// autoAggregate is read-only on vendas_diarias: auto mode, approved by the
// shipped bundle, costed and never executed.
const autoAggregate = "aggregate vendas_diarias by day"

const embargo = "under fiscal embargo in the legacy compliance system"

// runIntent runs text through IntentWorkflow with the real activities and
// the extension points ext, and returns the result.
func runIntent(t *testing.T, ext extension.Points, text string) workflows.IntentResult {
	t.Helper()
	cat, err := app.LoadCatalog("")
	require.NoError(t, err)
	bundle, err := app.LoadBundle(context.Background(), "")
	require.NoError(t, err)
	acts := activities.New(store, cat, bundle, zap.NewNop(), ext)

	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	app.Register(env, acts)
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: "test-extensions-" + uuid.NewString()[:8]})
	env.ExecuteWorkflow(workflows.IntentWorkflowName, workflows.IntentInput{Text: text, DryRun: true}) // reads run on a data plane this database has not got
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	var res workflows.IntentResult
	require.NoError(t, env.GetWorkflowResult(&res))
	require.NotEmpty(t, res.IntentID)
	return res
}

// trail reads the intent's audit trail back from Postgres.
func trail(t *testing.T, intentID string) []audit.Receipt {
	t.Helper()
	rs, err := store.AuditByIntent(context.Background(), intentID)
	require.NoError(t, err)
	require.NotEmpty(t, rs)
	require.NoError(t, audit.CompletePerIntent(rs))
	return rs
}

func eventTypes(rs []audit.Receipt) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Context["event_type"]
	}
	return out
}

func TestDenylistValidatorInTheFlow(t *testing.T) {
	for _, tc := range []struct {
		name       string
		validators []extension.ComplianceValidator
		blocked    bool
	}{
		{name: "without plug-in", blocked: false},
		{name: "deny list without the dataset", validators: []extension.ComplianceValidator{denylist.New([]string{"nfe", "clientes"}, embargo)}, blocked: false},
		{name: "deny list with the dataset", validators: []extension.ComplianceValidator{denylist.New([]string{"nfe", " Vendas_Diarias "}, embargo)}, blocked: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := runIntent(t, extension.Points{ComplianceValidators: tc.validators}, autoAggregate)
			types := eventTypes(trail(t, res.IntentID))
			if !tc.blocked {
				require.Equal(t, decision.Approved, res.DecisionState, res.Reason)
				require.Contains(t, types, audit.EventPolicyApprove)
				require.NotContains(t, types, audit.EventPolicyBlock)
				require.Empty(t, res.Faults)
				return
			}

			require.Equal(t, decision.Blocked, res.DecisionState)
			require.Equal(t, string(decision.AuthorityPolicyEngine), res.DecidedBy)
			require.Len(t, res.Faults, 1, "one fault per denied dataset of the intent")
			f := res.Faults[0]
			require.Equal(t, denylist.Code, f.Code)
			require.Equal(t, policy.ExternalRulePrefix+denylist.Name, f.Rule, "the core names the validator in the rule")
			require.Equal(t, fault.SemanticFaults, f.Family, "filled by the core")
			require.Equal(t, fault.StagePolicyEngine, f.Stage, "filled by the core")
			require.Equal(t, string(policy.Block), f.MandatoryAction, "filled by the core")
			require.Equal(t, fault.SeverityHigh, f.Severity)
			require.True(t, f.DetectedBeforeExecution)
			require.Contains(t, f.Message, "vendas_diarias")
			require.Contains(t, f.Message, embargo)
			require.Len(t, f.Remediation, 1)

			require.NotEmpty(t, res.PolicyAttempts)
			last := res.PolicyAttempts[len(res.PolicyAttempts)-1]
			require.Equal(t, "block", last.Outcome)
			require.Contains(t, last.Rules, f.Rule)

			require.Contains(t, types, audit.EventPolicyBlock)
			require.NotContains(t, types, audit.EventPolicyApprove)
			require.NotContains(t, types, audit.EventPreCostEstimated, "a refused intent goes no further")
			for _, r := range trail(t, res.IntentID) {
				if r.Context["event_type"] != audit.EventPolicyBlock {
					continue
				}
				var ev events.PolicyEvaluation
				require.NoError(t, json.Unmarshal([]byte(r.Context["details"]), &ev))
				require.Contains(t, ev.Faults, denylist.Code)
				require.Contains(t, ev.Rules, f.Rule)
			}
		})
	}
}

func TestJSONLAuditMirrorsTheTrail(t *testing.T) {
	for _, tc := range []struct {
		name       string
		validators []extension.ComplianceValidator
		want       decision.State
	}{
		{name: "approved", want: decision.Approved},
		{name: "blocked by the deny list", validators: []extension.ComplianceValidator{denylist.New([]string{"vendas_diarias"}, embargo)}, want: decision.Blocked},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			res := runIntent(t, extension.Points{
				ComplianceValidators: tc.validators,
				Audit:                jsonlaudit.New(store, &out),
			}, autoAggregate)
			require.Equal(t, tc.want, res.DecisionState, res.Reason)

			stored := trail(t, res.IntentID)
			require.Equal(t, int64(len(stored)), res.AuditEvents)
			mirrored, err := audit.ReadJSONL(&out)
			require.NoError(t, err, "every line decodes to a receipt")
			require.Len(t, mirrored, len(stored), "every audit event of the intent is mirrored, once")
			for i, m := range mirrored {
				s := stored[i]
				require.Equal(t, s.ReceiptID, m.ReceiptID, "line %d", i+1)
				require.Equal(t, strconv.Itoa(i+1), m.Context["seq"], "seq order")
				require.Equal(t, s.Position, m.Position)
				require.Equal(t, s.Integrity, m.Integrity, "receipt %s: the integrity in Postgres", s.ReceiptID)
				require.Equal(t, s.PrevHash, m.PrevHash)
				require.Equal(t, s.Context, m.Context)
			}
			require.NoError(t, audit.Verify(mirrored), "the mirror verifies as a chain segment")
			require.NoError(t, audit.CompletePerIntent(mirrored))
		})
	}
}
