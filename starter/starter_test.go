package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/worker"
	"go.uber.org/zap"

	"github.com/contextualflux/cfa/activities"
	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/extension"
	"github.com/contextualflux/cfa/internal/app"
	"github.com/contextualflux/cfa/internal/dataplane"
	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/registry"
	"github.com/contextualflux/cfa/internal/service"
	"github.com/contextualflux/cfa/tests/testenv"
	"github.com/contextualflux/cfa/workflows"
)

// reconcileToSilver escalates (a silver write with PII) and runs three
// consistency units on the demo data.
const reconcileToSilver = "reconcile nfe with clientes and persist to silver"

func TestReadSignature(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, input, wantErr string
	}{
		{"whitepaper example by catalog name", "domain: fiscal_data_processing\nintent: reconciliation_and_persist\ntarget_layer: bronze_to_silver\noperations: [join]\ndatasets:\n  - {name: nfe, role: source}\n  - {name: clientes, role: source}\n", ""},
		{"json is yaml", `{"domain":"fiscal","intent":"x","operations":["aggregate"],"datasets":[{"name":"vendas_diarias","role":"source"}]}`, ""},
		{"unknown field is refused", "domain: fiscal\nintnt: typo\n", "field intnt not found"},
		{"malformed yaml", "domain: [unclosed\n", "not a valid State Signature"},
		{"empty", "", "is empty"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sig, err := readSignature("-", strings.NewReader(tc.input))
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.NotEmpty(t, sig.Datasets)
		})
	}
}

func TestReadSignatureFromMissingFile(t *testing.T) {
	t.Parallel()
	_, err := readSignature(filepath.Join(t.TempDir(), "nope.yaml"), nil)
	require.ErrorContains(t, err, "read signature")
}

// run executes the CLI in-process with the given args and environment.
func run(t *testing.T, env map[string]string, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	c := &cli{out: &out}
	for k, v := range env {
		t.Setenv(k, v)
	}
	c.cfg = app.FromEnv()
	root := c.root()
	root.SetArgs(args)
	root.SetOut(&out)
	err := root.Execute()
	c.close()
	return out.String(), err
}

func TestPolicyCheckShippedAndBroken(t *testing.T) {
	out, err := run(t, nil, "policy", "check", "--output", "json")
	require.NoError(t, err)
	var b map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &b))
	require.Contains(t, b["Version"], "v1.0.0+")

	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "bundle.yaml"), []byte("name: x\nversion: v1\nmax_replan_attempts: 3\npolicies: [r.yaml]\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "r.yaml"), []byte("policy_type: privacy_wall\nrules:\n  - name: bad\n    condition: no_such_var == 1\n    action: block\n    severity: high\n    fault_code: X\n"), 0o644))
	_, err = run(t, nil, "policy", "check", dir)
	require.ErrorContains(t, err, `rule "bad"`)
	require.ErrorContains(t, err, "undeclared reference to 'no_such_var'")
}

func TestCatalogShow(t *testing.T) {
	out, err := run(t, nil, "catalog", "show")
	require.NoError(t, err)
	require.Contains(t, out, "catalog_snapshot_version catalog_")
	require.Contains(t, out, "silver_documentos")
}

// The product CLI holds only what an operator uses: the demo and the
// benchmark are cfa-demo's (cmd/cfa-demo).
func TestNoDemoOrBenchCommand(t *testing.T) {
	var names []string
	for _, cmd := range (&cli{}).root().Commands() {
		names = append(names, cmd.Name())
	}
	require.Contains(t, names, "submit")
	require.NotContains(t, names, "demo")
	require.NotContains(t, names, "bench")
	out, err := run(t, nil, "--help")
	require.NoError(t, err)
	require.NotRegexp(t, `(?i)demo|bench`, out)
	_, err = run(t, nil, "demo")
	require.ErrorContains(t, err, `unknown command "demo"`)
	out, err = run(t, nil, "dataplane", "--help")
	require.NoError(t, err)
	require.NotContains(t, out, "seed", "sample data is cfa-demo's")
	out, err = run(t, nil, "registry", "set", "--help")
	require.NoError(t, err)
	require.Contains(t, out, "--by", "a hand change to the registry says who")
	_, err = run(t, nil, "registry", "set", "silver_documentos", "--state", "committed")
	require.ErrorContains(t, err, "--by and --reason are required")
}

func TestBadOutputFlag(t *testing.T) {
	_, err := run(t, nil, "catalog", "show", "--output", "yaml")
	require.ErrorContains(t, err, "--output must be text or json")
}

func TestUnreachableTemporalSaysWhatToDo(t *testing.T) {
	_, err := run(t, map[string]string{"TEMPORAL_ADDRESS": "127.0.0.1:1"}, "status", "x")
	require.ErrorContains(t, err, "cannot reach Temporal at 127.0.0.1:1")
	require.ErrorContains(t, err, "TEMPORAL_ADDRESS")
}

func TestUnreachablePostgresSaysWhatToDo(t *testing.T) {
	_, err := run(t, map[string]string{"DATABASE_URL": "postgres://postgres@127.0.0.1:1/cfa?sslmode=disable&connect_timeout=2"}, "list")
	require.Error(t, err)
	require.ErrorContains(t, err, "DATABASE_URL")
}

func TestSubmitNeedsTextOrFile(t *testing.T) {
	// Bad input is refused before any connection is tried.
	_, err := run(t, map[string]string{"TEMPORAL_ADDRESS": "127.0.0.1:1"}, "submit")
	require.ErrorContains(t, err, "give the intent as text or a signature file")
	_, err = run(t, map[string]string{"TEMPORAL_ADDRESS": "127.0.0.1:1"}, "submit", "x", "--escalation-timeout", "-5s")
	require.ErrorContains(t, err, "--escalation-timeout must be positive")
}

func TestSubmitRefusesBadPlanningInputBeforeConnecting(t *testing.T) {
	dir := t.TempDir()
	cyclic := filepath.Join(dir, "cyclic.yaml")
	require.NoError(t, os.WriteFile(cyclic, []byte(`intent_graph:
  root_intent: loop
  sub_intents:
    - {id: a, intent: aggregate vendas_diarias by day}
    - {id: b, intent: aggregate vendas_diarias by uf}
  dependencies: ["a -> b", "b -> a"]
  shared_context: {consistency_unit: dataset, key: vendas_diarias}
`), 0o644))
	badPlan := filepath.Join(dir, "plan.json")
	require.NoError(t, os.WriteFile(badPlan, []byte(`{"hash": "x", "stepz": []}`), 0o644))
	env := map[string]string{"TEMPORAL_ADDRESS": "127.0.0.1:1"}
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"cyclic graph", []string{"submit", "--graph", cyclic}, "a -> b -> a"},
		{"graph with text", []string{"submit", "x", "--graph", cyclic}, "--graph takes the whole composite intent"},
		{"missing graph", []string{"submit", "--graph", filepath.Join(dir, "none.yaml")}, "read intent graph"},
		{"plan with an unknown field", []string{"submit", "x", "--plan", badPlan}, "not an execution plan"},
		{"negative ceiling", []string{"submit", "x", "--cost-ceiling", "-1"}, "--cost-ceiling must be a positive number"},
		{"sub-second retry base", []string{"submit", "x", "--unit-retry-base", "500ms"}, "--unit-retry-base must be at least 1s"},
		{"sub-second escalation timeout", []string{"submit", "x", "--escalation-timeout", "500ms"}, "--escalation-timeout must be at least 1s"},
		{"unknown replan mode", []string{"submit", "x", "--replan-mode", "manual"}, "--replan-mode must be one of [auto propose]"},
		{"next cycle with its own options", []string{"submit", "--from-proposal", "intent-1", "--cost-ceiling", "5"}, "drop [--cost-ceiling]"},
		{"next cycle with text", []string{"submit", "x", "--from-proposal", "intent-1"}, "drop [x]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := run(t, env, c.args...)
			require.ErrorContains(t, err, c.want)
			require.NotContains(t, err.Error(), "cannot reach Temporal", "refused before any connection")
		})
	}
}

// TestSubmitRefusesOptionsOutOfBounds: every numeric and date option has a
// range (internal/bounds), and the error says it, before any connection.
func TestSubmitRefusesOptionsOutOfBounds(t *testing.T) {
	dir := t.TempDir()
	graph := filepath.Join(dir, "graph.yaml")
	require.NoError(t, os.WriteFile(graph, []byte(`intent_graph:
  root_intent: one
  sub_intents:
    - {id: a, intent: aggregate vendas_diarias by day}
  shared_context: {consistency_unit: dataset, key: vendas_diarias}
`), 0o644))
	env := map[string]string{"TEMPORAL_ADDRESS": "127.0.0.1:1", "DATABASE_URL": "postgres://postgres@127.0.0.1:1/cfa?sslmode=disable&connect_timeout=1"}
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"retry base of a day", []string{"submit", "x", "--unit-retry-base", "24h"}, "--unit-retry-base must be at most 1h, got 24h: use a value between 1s and 1h"},
		{"retry base of 2,540,400 h", []string{"submit", "x", "--unit-retry-base", "2540400h"}, "--unit-retry-base must be at most 1h, got 2540400h"},
		{"negative retry base says its value", []string{"submit", "x", "--unit-retry-base", "-30s"}, "--unit-retry-base must be positive, got -30s"},
		{"escalation timeout of a month", []string{"submit", "x", "--escalation-timeout", "720h"}, "--escalation-timeout must be at most 168h, got 720h: use a value between 1s and 168h"},
		{"negative escalation timeout says its value", []string{"submit", "x", "--escalation-timeout", "-5s"}, "got -5s"},
		{"huge ceiling", []string{"submit", "x", "--cost-ceiling", "1e9"}, "--cost-ceiling must be at most 10000 DBU, got 1e+09"},
		{"as-of in year 9999", []string{"submit", "x", "--as-of", "9999-12-31"}, `--as-of must be a calendar date YYYY-MM-DD, got "9999-12-31": use a value between 1900-01-01 and 2100-12-31`},
		{"composite escalation timeout", []string{"submit", "--graph", graph, "--escalation-timeout", "720h"}, "--escalation-timeout must be at most 168h"},
		{"list limit", []string{"list", "--limit", "-1"}, "--limit must be between 1 and 1000, got -1"},
		{"row limit over 10000", []string{"submit", "x", "--row-limit", "20000"}, "--row-limit must be between 1 and 10000, got 20000"},
		{"negative row limit", []string{"submit", "x", "--row-limit", "-5"}, "--row-limit must be between 1 and 10000, got -5"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := run(t, env, c.args...)
			require.ErrorContains(t, err, c.want)
			require.NotContains(t, err.Error(), "cannot reach", "refused before any connection")
		})
	}
}

// TestDecisionExitCodes: every decision_state of the closed enum has an
// exit status, one per family, 0 exactly for the states that let what
// depends on the intent go on; none collides with another status.
func TestDecisionExitCodes(t *testing.T) {
	cases := []struct {
		state decision.State
		code  int
	}{
		{decision.Approved, 0},
		{decision.ApprovedWithWarnings, 0},
		{decision.PromotionCandidate, 0},
		{decision.Blocked, 10},
		{decision.PartiallyCommitted, 11},
		{decision.Quarantined, 12},
		{decision.RolledBack, 13},
		{decision.Replanned, 14},
	}
	require.Len(t, cases, len(decision.States), "every decision_state has a case")
	others := map[int]string{1: "failure", 2: "audit verify", 15: "running", 16: "no decision", 17: "no worker"}
	seen := map[int]decision.State{}
	for _, tc := range cases {
		t.Run(string(tc.state), func(t *testing.T) {
			require.Equal(t, tc.code, decisionExit(tc.state))
			require.Equal(t, decision.Succeeded(tc.state), tc.code == 0)
			if tc.code == 0 {
				return
			}
			require.NotContains(t, others, tc.code)
			require.NotContains(t, seen, tc.code, "each family its own status")
			seen[tc.code] = tc.state
		})
	}
	require.Equal(t, exitNoDecision, decisionExit("no_such_state"))
	require.Equal(t, exitRunning, 15)
	require.Equal(t, exitNoDecision, 16)
	require.Equal(t, exitNoWorker, 17)
}

// TestExitCodesAreDocumented: submit --help and status --help list every
// status, and so does the README's Exit codes section.
func TestExitCodesAreDocumented(t *testing.T) {
	submit, err := run(t, nil, "submit", "--help")
	require.NoError(t, err)
	status, err := run(t, nil, "status", "--help")
	require.NoError(t, err)
	readme, err := os.ReadFile("../README.md")
	require.NoError(t, err)
	section := string(readme)
	i := strings.Index(section, "### Exit codes")
	require.GreaterOrEqual(t, i, 0, "README has an Exit codes section")
	section = section[i:]
	if j := strings.Index(section[1:], "\n#"); j >= 0 {
		section = section[:j+1]
	}
	for _, e := range exitCodes {
		line := fmt.Sprintf("  %-3d %s", e.code, e.meaning)
		require.Contains(t, status, line)
		if e.statusOnly {
			require.NotContains(t, submit, line)
		} else {
			require.Contains(t, submit, line)
		}
		require.Contains(t, section, fmt.Sprintf("| `%d` |", e.code))
	}
	for _, s := range decision.States {
		require.Contains(t, section, "`"+string(s)+"`")
	}
	for _, code := range []string{codeUsage, codeInvalidInput, codeNotFound, codeNotWaiting, codeNoWorker, codeTemporalUnreachable,
		codePostgresUnreachable, codeSchemaNotCurrent, codeNoDecision, codeInterrupted, codeFailed} {
		require.Contains(t, section, "`"+code+"`")
	}
}

var (
	buildOnce sync.Once
	binary    string
	buildErr  error
)

// cfaBinary builds bin/cfa once per test run: the process's own stdout,
// stderr and exit status are what a script sees (the Temporal SDK's
// default logger, for one, writes to the process's stdout).
func cfaBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "cfa-starter-test")
		if err != nil {
			buildErr = err
			return
		}
		binary = filepath.Join(dir, "cfa")
		out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("build cfa: %w: %s", err, out)
		}
	})
	require.NoError(t, buildErr)
	return binary
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binary != "" {
		_ = os.RemoveAll(filepath.Dir(binary))
	}
	os.Exit(code)
}

// result is one run of the cfa process.
type result struct {
	stdout, stderr string
	code           int
	took           time.Duration
}

// cfa runs the built CLI with env added to the test's environment.
func cfa(t *testing.T, ctx context.Context, env map[string]string, args ...string) result {
	t.Helper()
	r, err := runBinary(ctx, cfaBinary(t), env, args...)
	require.NoError(t, err)
	return r
}

// runBinary runs the CLI at path; only a failure to run it is an error.
func runBinary(ctx context.Context, path string, env map[string]string, args ...string) (result, error) {
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = os.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	began := time.Now()
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String(), took: time.Since(began)}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		r.code, err = exit.ExitCode(), nil
	}
	return r, err
}

// jsonError is the error object of -o json.
type jsonError struct {
	Code     string `json:"code"`
	Message  string `json:"message"`
	Fix      string `json:"fix"`
	IntentID string `json:"intent_id"`
}

// requireJSONError checks that stdout is one error object and nothing
// else, and that stderr is empty.
func requireJSONError(t *testing.T, r result, code string, exit int) jsonError {
	t.Helper()
	require.Empty(t, r.stderr, "nothing on stderr with -o json")
	require.Equal(t, exit, r.code, "stdout: %s", r.stdout)
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	var obj map[string]json.RawMessage
	require.NoError(t, dec.Decode(&obj), "stdout is a JSON object: %s", r.stdout)
	_, err := dec.Token()
	require.ErrorIs(t, err, io.EOF, "one object and nothing after it: %s", r.stdout)
	require.Len(t, obj, 1, "only the error key: %s", r.stdout)
	var e jsonError
	require.NoError(t, json.Unmarshal(obj["error"], &e), r.stdout)
	require.Equal(t, code, e.Code, e.Message)
	require.NotEmpty(t, e.Message)
	require.NotEmpty(t, e.Fix)
	return e
}

// TestJSONErrorsAreOneObjectOnStdout: with -o json, an error is one object
// {"error": {code, message, fix}} on stdout, stderr stays empty, and the
// exit status is 1; in text mode the error is `cfa: message` on stderr.
func TestJSONErrorsAreOneObjectOnStdout(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	noTemporal := map[string]string{"TEMPORAL_ADDRESS": "127.0.0.1:1"}
	cases := []struct {
		name string
		env  map[string]string
		args []string
		code string
		want string // in the message
	}{
		{"too many arguments", noTemporal, []string{"submit", "a", "b", "-o", "json"}, codeUsage, "accepts at most 1 arg(s)"},
		{"unknown command", nil, []string{"-o", "json", "nope"}, codeUsage, `unknown command "nope"`},
		{"unknown flag", nil, []string{"list", "--nope", "-o", "json"}, codeUsage, "unknown flag: --nope"},
		{"a --by without --reason", nil, []string{"registry", "set", "silver_documentos", "--state", "committed", "-o", "json"}, codeUsage, "--by and --reason are required"},
		{"bad flag value", noTemporal, []string{"submit", "x", "--cost-ceiling", "abc", "-o", "json"}, codeInvalidInput, `invalid argument "abc" for "--cost-ceiling"`},
		{"bad flag value before -o json", noTemporal, []string{"submit", "x", "--unit-retry-base", "soon", "--output=json"}, codeInvalidInput, `invalid argument "soon"`},
		{"value out of bounds", noTemporal, []string{"submit", "x", "--escalation-timeout", "720h", "-ojson"}, codeInvalidInput, "--escalation-timeout must be at most 168h"},
		{"unknown mode", noTemporal, []string{"submit", "x", "--partial-failure-mode", "nope", "-o", "json"}, codeInvalidInput, "--partial-failure-mode must be one of"},
		{"temporal unreachable", noTemporal, []string{"status", "intent-x", "-o", "json"}, codeTemporalUnreachable, "cannot reach Temporal at 127.0.0.1:1"},
		{"postgres unreachable", map[string]string{"DATABASE_URL": "postgres://postgres@127.0.0.1:1/cfa?sslmode=disable&connect_timeout=2"},
			[]string{"list", "-o", "json"}, codePostgresUnreachable, "DATABASE_URL"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := requireJSONError(t, cfa(t, ctx, tc.env, tc.args...), tc.code, exitFailure)
			require.Contains(t, e.Message, tc.want)
		})
	}

	t.Run("text mode is unchanged", func(t *testing.T) {
		r := cfa(t, ctx, noTemporal, "submit", "a", "b")
		require.Equal(t, exitFailure, r.code)
		require.Empty(t, r.stdout)
		require.Equal(t, "cfa: accepts at most 1 arg(s), received 2\n", r.stderr, "no usage dump, no cobra Error: line")
	})
}

// TestNoWorkerIsSaidAtOnce: with no worker polling cfa-intents, submit
// --wait still starts the intent and ends at once with no_worker; status
// and approve of the running intent say the same instead of an RPC error
// after the query's timeout; an unknown intent is not_found.
func TestNoWorkerIsSaidAtOnce(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv := testenv.StartDevServer(ctx, t)
	c := srv.Client()
	env := map[string]string{"TEMPORAL_ADDRESS": srv.FrontendHostPort()}
	const id = "no-worker-1"
	const quick = 5 * time.Second // the query's own timeout is 10 s or more

	r := cfa(t, ctx, env, "submit", "aggregate vendas_diarias by day", "--id", id, "--by", "cli-test", "--wait", "-o", "json")
	e := requireJSONError(t, r, codeNoWorker, exitNoWorker)
	require.Less(t, r.took, quick)
	require.Contains(t, e.Message, "no worker polls task queue cfa-intents: start cfa-worker")
	require.Equal(t, id, e.IntentID)
	desc, err := c.DescribeWorkflowExecution(ctx, id, "")
	require.NoError(t, err, "the intent was submitted")
	require.Equal(t, enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, desc.GetWorkflowExecutionInfo().GetStatus())

	cases := []struct {
		name string
		args []string
		code string
		exit int
	}{
		{"status", []string{"status", id}, codeNoWorker, exitNoWorker},
		{"approve", []string{"approve", id, "--by", "maria", "--reason", "ok"}, codeNoWorker, exitNoWorker},
		{"submit --wait", []string{"submit", "aggregate vendas_diarias by day", "--by", "cli-test", "--wait"}, codeNoWorker, exitNoWorker},
		{"unknown intent", []string{"status", "no-such-intent"}, codeNotFound, exitFailure},
	}
	for _, tc := range cases {
		t.Run(tc.name+" json", func(t *testing.T) {
			r := cfa(t, ctx, env, append(tc.args, "-o", "json")...)
			requireJSONError(t, r, tc.code, tc.exit)
			require.Less(t, r.took, quick)
		})
		t.Run(tc.name+" text", func(t *testing.T) {
			r := cfa(t, ctx, env, tc.args...)
			require.Equal(t, tc.exit, r.code, r.stderr)
			require.Less(t, r.took, quick)
			require.Empty(t, r.stdout)
			require.True(t, strings.HasPrefix(r.stderr, "cfa: "), r.stderr)
			if tc.code == codeNoWorker {
				require.Contains(t, r.stderr, "no worker polls task queue cfa-intents: start cfa-worker")
				require.NotContains(t, r.stderr, "rpc error")
			}
		})
	}

	t.Run("submit without --wait warns", func(t *testing.T) {
		r := cfa(t, ctx, env, "submit", "aggregate vendas_diarias by day", "--by", "cli-test", "-o", "json")
		require.Zero(t, r.code, r.stderr)
		require.Empty(t, r.stderr)
		var out map[string]string
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &out))
		require.NotEmpty(t, out["intent_id"])
		require.Contains(t, out["warning"], "no worker polls task queue cfa-intents")
	})
}

// brokenPartition is the partition seeded above max_null_ratio: its unit
// fails runtime validation on every attempt.
const brokenPartition = "2026-01-03"

// TestSubmitWaitExitsWithItsDecision runs `cfa submit --wait` to each
// decision family on the dev server with a worker and Postgres, as the
// end-to-end tests reach them (approved_with_warnings and
// promotion_candidate, which need another bundle or earlier runs, exit 0
// like approved: TestDecisionExitCodes), and `cfa status` of the decided
// intent with the same status; then a running intent (15) and one whose
// workflow was terminated (16).
func TestSubmitWaitExitsWithItsDecision(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	srv := testenv.StartDevServer(ctx, t)
	c := srv.Client()
	d, cat := testenv.DataPlaneDB(ctx, t, "starter_exit_codes", nil)
	store := db.New(d.Worker)
	bundle, err := app.LoadBundle(ctx, "")
	require.NoError(t, err)
	acts := activities.New(store, cat, bundle, zap.NewNop(), extension.Points{})
	acts.Temporal = c
	w := worker.New(c, workflows.TaskQueue, worker.Options{})
	app.Register(w, acts)
	require.NoError(t, w.Start())
	t.Cleanup(w.Stop)
	svc := &service.Service{Temporal: c, Store: store}
	// status records its receipt (MUST-005): it needs the chain.
	env := map[string]string{"TEMPORAL_ADDRESS": srv.FrontendHostPort(), "DATABASE_URL": d.WorkerURL}

	// fresh starts each case over: the demo data (with the broken
	// partition when asked), no skill history (a third success would be a
	// promotion candidate), silver_documentos committed.
	fresh := func(t *testing.T, broken bool) {
		t.Helper()
		require.NoError(t, dataplane.Reset(ctx, d.Pool, cat))
		opts := dataplane.Options{}
		if broken {
			opts.BreakPartition = brokenPartition
		}
		require.NoError(t, dataplane.Seed(ctx, d.Pool, cat, opts))
		_, err := d.Pool.Exec(ctx, `TRUNCATE skill_executions`)
		require.NoError(t, err)
		_, _, err = store.OverrideDatasetStates(ctx, []registry.DatasetState{
			{Name: "silver_documentos", State: registry.StateCommitted, PublishAllowed: true},
		}, db.Operator{By: "test", Reason: "starter exit codes: start over"})
		require.NoError(t, err)
	}
	// approve answers each escalation of id as a declared approver (not the
	// submitter) until stopped.
	approve := func(id string) (stop func()) {
		actx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			var answered time.Time
			for actx.Err() == nil {
				p, err := svc.Pending(actx, id)
				if err == nil && p != nil && !p.Deadline.Equal(answered) &&
					svc.Confirm(actx, id, workflows.SignalApprove, "maria", "cli exit codes") == nil {
					answered = p.Deadline
				}
				time.Sleep(100 * time.Millisecond)
			}
		}()
		return func() { cancel(); <-done }
	}

	cases := []struct {
		state  decision.State
		code   int
		text   string
		args   []string
		broken bool
		setup  func(t *testing.T, id string)
	}{
		{state: decision.Approved, code: 0, text: "aggregate vendas_diarias by day"},
		{state: decision.Blocked, code: 10, text: "make the numbers look better"},
		{state: decision.PartiallyCommitted, code: 11, text: reconcileToSilver, broken: true},
		{state: decision.Quarantined, code: 12, text: reconcileToSilver, broken: true,
			setup: func(t *testing.T, id string) {
				// What Postgres raises when the disk is full: a Panic
				// Rollback trigger (storage_quota_exceeded).
				testenv.InstallStagingFault(ctx, t, d.Pool, id, brokenPartition,
					`RAISE EXCEPTION 'could not extend file: No space left on device' USING ERRCODE = 'disk_full'`)
			}},
		{state: decision.RolledBack, code: 13, text: reconcileToSilver, broken: true, args: []string{"--partial-failure-mode", "full_rollback"}},
		{state: decision.Replanned, code: 14, text: reconcileToSilver, args: []string{"--replan-mode", "propose"}},
	}
	for _, tc := range cases {
		t.Run(string(tc.state), func(t *testing.T) {
			fresh(t, tc.broken)
			id := "exit-" + string(tc.state)
			if tc.setup != nil {
				tc.setup(t, id)
			}
			stop := approve(id)
			args := append([]string{"submit", tc.text, "--id", id, "--by", "cli-test", "--as-of", dataplane.DemoAsOf,
				"--unit-retry-base", "1s", "--wait", "-o", "json"}, tc.args...)
			r := cfa(t, ctx, env, args...)
			stop()
			require.Empty(t, r.stderr)
			var res workflows.IntentResult
			require.NoError(t, json.Unmarshal([]byte(r.stdout), &res), "the result object: %s", r.stdout)
			require.Equal(t, tc.state, res.DecisionState, res.Reason)
			require.Equal(t, tc.code, r.code, "submit --wait exits with the decision's status")

			r = cfa(t, ctx, env, "status", id, "-o", "json")
			require.Equal(t, tc.code, r.code, "status exits with the decision's status: %s", r.stderr)
			var st workflows.Status
			require.NoError(t, json.Unmarshal([]byte(r.stdout), &st), r.stdout)
			require.NotNil(t, st.Result)
			require.Equal(t, tc.state, st.Result.DecisionState)
		})
	}

	t.Run("running, then terminated", func(t *testing.T) {
		fresh(t, false)
		const id = "exit-running"
		// submit --wait is followed while the intent waits for an approval
		// nobody gives; its workflow is then terminated.
		type waited struct {
			r   result
			err error
		}
		waiting := make(chan waited, 1)
		bin := cfaBinary(t)
		go func() {
			r, err := runBinary(ctx, bin, env, "submit", reconcileToSilver, "--id", id, "--by", "cli-test", "--as-of", dataplane.DemoAsOf, "--wait", "-o", "json")
			waiting <- waited{r, err}
		}()
		testenv.WaitFor(t, time.Minute, "the pending escalation", func() bool {
			p, err := svc.Pending(ctx, id)
			return err == nil && p != nil
		})
		r := cfa(t, ctx, env, "status", id)
		require.Equal(t, exitRunning, r.code, r.stderr)
		require.Contains(t, r.stdout, "pending human_escalation confirmation") // a full scan of nfe: the cost triggers (docs/adr/0134)
		r = cfa(t, ctx, env, "status", id, "-o", "json")
		require.Equal(t, exitRunning, r.code, r.stderr)
		require.Empty(t, r.stderr)

		require.NoError(t, c.TerminateWorkflow(ctx, id, "", "test: ended without a decision"))
		wr := <-waiting
		require.NoError(t, wr.err)
		e := requireJSONError(t, wr.r, codeNoDecision, exitNoDecision)
		require.Equal(t, id, e.IntentID)
		r = cfa(t, ctx, env, "status", id)
		require.Equal(t, exitNoDecision, r.code, r.stderr)
		require.Contains(t, r.stdout, "ended terminated without a decision")
	})
}
