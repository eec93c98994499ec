package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/app"
)

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
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := run(t, env, c.args...)
			require.ErrorContains(t, err, c.want)
			require.NotContains(t, err.Error(), "cannot reach", "refused before any connection")
		})
	}
}
