package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/internal/app"
)

// run executes cfa-demo in-process with the given args and environment.
func run(t *testing.T, env map[string]string, args ...string) (string, error) {
	t.Helper()
	for k, v := range env {
		t.Setenv(k, v)
	}
	var out bytes.Buffer
	c := &cli{cfg: app.FromEnv(), out: &out}
	root := c.root()
	root.SetArgs(args)
	root.SetOut(&out)
	err := root.Execute()
	c.close()
	return out.String(), err
}

func TestCommands(t *testing.T) {
	var names []string
	for _, cmd := range (&cli{}).root().Commands() {
		names = append(names, cmd.Name())
	}
	require.Subset(t, names, []string{"run", "reset-database", "seed", "bench", "throughput", "worker"})
}

func TestCheckDemoDatabase(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{
		DefaultDemoDatabaseURL,
		"postgres://postgres@127.0.0.1:5432/other_demo?sslmode=disable",
		"postgres://postgres@127.0.0.1:5432/cfa_test",
	} {
		require.NoError(t, checkDemoDatabase(ok), ok)
	}
	for _, refused := range []string{
		app.DefaultDatabaseURL, // the operator's database
		"postgres://postgres@127.0.0.1:5432/postgres",
		"postgres://postgres@127.0.0.1:5432/cfa_demo_backup",
	} {
		err := checkDemoDatabase(refused)
		require.ErrorContains(t, err, "runs only on a database of its own", refused)
		require.ErrorContains(t, err, "CFA_DEMO_DATABASE_URL")
	}
	require.ErrorContains(t, checkDemoDatabase("postgres://%zz"), "parse DATABASE_URL")
}

// Neither command connects anywhere before it has refused an operator's
// database (port 1 answers nothing).
func TestOperatorDatabaseIsRefusedBeforeConnecting(t *testing.T) {
	cfa := fakeCFA(t)
	env := map[string]string{
		"DATABASE_URL":     "postgres://postgres@127.0.0.1:1/cfa?sslmode=disable&connect_timeout=2",
		"TEMPORAL_ADDRESS": "127.0.0.1:1",
		"CFA_BIN":          cfa,
	}
	for _, args := range [][]string{{"reset-database"}, {"run"}} {
		_, err := run(t, env, args...)
		require.ErrorContains(t, err, `names database "cfa"`, args)
		require.NotContains(t, err.Error(), "cannot reach", args)
	}
}

func TestRunPrintsTextOnly(t *testing.T) {
	_, err := run(t, map[string]string{"CFA_BIN": fakeCFA(t)}, "run", "--output", "json")
	require.ErrorContains(t, err, "run prints its scenarios as text")
}

func TestCFABinary(t *testing.T) {
	cfa := fakeCFA(t)
	t.Setenv("CFA_BIN", cfa)
	got, err := cfaBinary()
	require.NoError(t, err)
	require.Equal(t, cfa, got)

	t.Setenv("CFA_BIN", filepath.Join(t.TempDir(), "nope"))
	_, err = cfaBinary()
	require.ErrorContains(t, err, "CFA_BIN")
	require.ErrorContains(t, err, "not found")

	notExec := filepath.Join(t.TempDir(), "cfa")
	require.NoError(t, os.WriteFile(notExec, []byte("x"), 0o644))
	t.Setenv("CFA_BIN", notExec)
	_, err = cfaBinary()
	require.ErrorContains(t, err, "not an executable file")

	// Without CFA_BIN: the cfa next to this binary, which the test binary
	// does not have.
	t.Setenv("CFA_BIN", "")
	self, err := os.Executable()
	require.NoError(t, err)
	if _, err := os.Stat(filepath.Join(filepath.Dir(self), "cfa")); err == nil {
		t.Skip("a cfa lies next to the test binary")
	}
	_, err = cfaBinary()
	require.ErrorContains(t, err, filepath.Join(filepath.Dir(self), "cfa")+" not found")
	require.ErrorContains(t, err, "make build")
}

func TestRunCFAShowsTheCommandAndItsOutput(t *testing.T) {
	var out bytes.Buffer
	c := &cli{out: &out}
	require.NoError(t, c.runCFA(t.Context(), fakeCFA(t), "approve", "intent-1", "--by", "gold-owner", "--reason", "looks right"))
	require.Equal(t, "  $ cfa approve intent-1 --by gold-owner --reason \"looks right\"\n"+
		"    args: approve intent-1 --by gold-owner --reason looks right\n", out.String())

	out.Reset()
	err := c.runCFA(t.Context(), fakeCFA(t), "fail")
	require.ErrorContains(t, err, "cfa fail: exit status 3")
	require.Contains(t, out.String(), "    args: fail\n")
}

func TestTamperEditsOneOutcome(t *testing.T) {
	t.Parallel()
	export := []byte(strings.Join([]string{`{"outcome":"received"}`, `{"outcome":"approved"}`, `{"outcome":"blocked"}`}, "\n") + "\n")
	got, line, err := tamper(export)
	require.NoError(t, err)
	require.Equal(t, 2, line)
	require.Equal(t, `{"outcome":"received"}`+"\n"+`{"outcome":"tampered"}`+"\n"+`{"outcome":"blocked"}`+"\n", string(got))
	_, _, err = tamper([]byte(`{"outcome":"received"}` + "\n"))
	require.ErrorContains(t, err, "no line with an outcome")
}

// fakeCFA writes a stand-in for the cfa CLI that prints its arguments and
// fails when the first one is "fail".
func fakeCFA(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "cfa")
	script := "#!/bin/sh\necho \"args: $*\"\n[ \"$1\" = fail ] && exit 3\nexit 0\n"
	require.NoError(t, os.WriteFile(p, []byte(script), 0o755))
	return p
}

func TestReplicaDatabaseURL(t *testing.T) {
	t.Parallel()
	got, err := replicaDatabaseURL("postgres://cfa_worker@127.0.0.1:5432/cfa_demo?sslmode=disable")
	require.NoError(t, err)
	require.Equal(t, "postgres://cfa_worker@127.0.0.1:5432/cfa_replica_demo?sslmode=disable", got)
	require.NoError(t, checkDemoDatabase(got))
	got, err = replicaDatabaseURL("postgresql://u:p@db:6543/x_test")
	require.NoError(t, err)
	require.Equal(t, "postgresql://u:p@db:6543/x_replica_test", got)
	_, err = replicaDatabaseURL(app.DefaultDatabaseURL)
	require.ErrorContains(t, err, "runs only on a database of its own")
	_, err = replicaDatabaseURL("host=127.0.0.1 dbname=cfa_demo")
	require.ErrorContains(t, err, "postgres:// URL")
}

func TestRunCFAShortCutsLongOutput(t *testing.T) {
	p := filepath.Join(t.TempDir(), "cfa")
	require.NoError(t, os.WriteFile(p, []byte("#!/bin/sh\nprintf 'one\\n\\ntwo\\nthree\\nfour\\n'\n"), 0o755))
	var out bytes.Buffer
	c := &cli{out: &out}
	require.NoError(t, c.runCFAShort(t.Context(), p, 2, "audit", "prove", "r/1"))
	require.Equal(t, "  $ cfa audit prove r/1\n    one\n\n    ... (3 more lines)\n", out.String())

	out.Reset() // one line more than the limit is printed, not cut
	require.NoError(t, c.runCFAShort(t.Context(), p, 4, "x"))
	require.Equal(t, "  $ cfa x\n    one\n\n    two\n    three\n    four\n", out.String())
}

func TestBothExist(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a, b := filepath.Join(dir, "k.key"), filepath.Join(dir, "k.pub")
	have, err := bothExist(a, b)
	require.NoError(t, err)
	require.False(t, have)
	require.NoError(t, os.WriteFile(a, []byte("x"), 0o600))
	_, err = bothExist(a, b)
	require.ErrorContains(t, err, "only one of the checkpoint key pair exists")
	require.NoError(t, os.WriteFile(b, []byte("x"), 0o644))
	have, err = bothExist(a, b)
	require.NoError(t, err)
	require.True(t, have)
}
