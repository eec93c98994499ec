package testenv

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"github.com/contextualflux/cfa/internal/dataplane"
	"github.com/contextualflux/cfa/workflows"
)

// TemporalCLI is the pinned Temporal CLI: TEMPORAL_CLI, or bin/temporal at
// the module root (make test installs it).
func TemporalCLI(t testing.TB) string {
	t.Helper()
	p := os.Getenv("TEMPORAL_CLI")
	if p == "" {
		dir, err := os.Getwd()
		require.NoError(t, err)
		for p = filepath.Join(dir, "bin", "temporal"); ; p = filepath.Join(dir, "bin", "temporal") {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil || filepath.Dir(dir) == dir {
				break
			}
			dir = filepath.Dir(dir)
		}
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("Temporal CLI not found at %s: run `make test` (it installs bin/temporal) or set TEMPORAL_CLI", p)
	}
	return p
}

// StartDevServer starts the real Temporal dev server, with the intents'
// search attributes, stopped at cleanup (after the workers, which register
// theirs later). Skipped with -short.
func StartDevServer(ctx context.Context, t testing.TB) *testsuite.DevServer {
	t.Helper()
	if testing.Short() {
		t.Skip("needs the Temporal dev server: skipped with -short")
	}
	srv, err := testsuite.StartDevServer(ctx, testsuite.DevServerOptions{
		ExistingPath: TemporalCLI(t), LogLevel: "error",
		ExtraArgs: append(workflows.DevServerArgs(), "--sqlite-pragma", "journal_mode=WAL", "--sqlite-pragma", "synchronous=OFF"),
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Stop() })
	return srv
}

// WaitFor polls cond until it holds or d passes.
func WaitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// InstallStagingFault installs a trigger on the superuser's pool, narrowed
// to one unit: the rows unit unitKey of intentID writes into
// staging.silver_documentos run body first, in the unit's own session,
// under its sandbox role (SECURITY DEFINER). Installed before the submit,
// the unit's first attempt hits it while the other units stage their
// output normally. Cleanup removes it.
func InstallStagingFault(ctx context.Context, t *testing.T, pool *pgxpool.Pool, intentID, unitKey, body string) {
	t.Helper()
	const fn = "staging.cfa_test_fault"
	lit := func(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
	_, err := pool.Exec(ctx, `CREATE OR REPLACE FUNCTION `+fn+`() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fault$
BEGIN
	IF current_setting('`+dataplane.SettingIntentID+`', true) = TG_ARGV[0]
		AND current_setting('`+dataplane.SettingUnitKey+`', true) = TG_ARGV[1] THEN
		`+body+`;
	END IF;
	RETURN NEW;
END
$fault$`)
	require.NoError(t, err)
	t.Cleanup(func() {
		_, err := pool.Exec(context.Background(), `DROP TRIGGER IF EXISTS cfa_test_fault ON staging.silver_documentos;
DROP FUNCTION IF EXISTS `+fn+`()`)
		require.NoError(t, err)
	})
	_, err = pool.Exec(ctx, `GRANT EXECUTE ON FUNCTION `+fn+`() TO PUBLIC;
DROP TRIGGER IF EXISTS cfa_test_fault ON staging.silver_documentos;
CREATE TRIGGER cfa_test_fault BEFORE INSERT OR UPDATE ON staging.silver_documentos
	FOR EACH ROW EXECUTE FUNCTION `+fn+`(`+lit(intentID)+`, `+lit(unitKey)+`)`)
	require.NoError(t, err)
}
