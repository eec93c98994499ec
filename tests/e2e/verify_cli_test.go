package e2e_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/internal/dataplane"
	"github.com/contextualflux/cfa/internal/service"
	"github.com/contextualflux/cfa/tests/testenv"
)

// TestAuditVerifyTellsInFlightFromAbandonedAndFindsATruncatedTail runs
// `cfa audit verify` as an operator does (issue 10, findings 1 and 8): an
// intent waiting for its approval is in flight; one whose workflow was
// terminated before its end is abandoned, named, and fails the check; the
// receipts deleted from the end of the chain (triggers disabled, as an
// attacker with the table's ownership could) are found against the head.
func TestAuditVerifyTellsInFlightFromAbandonedAndFindsATruncatedTail(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	srv := testenv.StartDevServer(ctx, t)
	c := srv.Client()
	d, cat := testenv.DataPlaneDB(ctx, t, "e2e_verify_cli", &dataplane.Options{})
	store := db.New(d.Pool)
	startWorker(t, c, devActivities(t, c, store, cat, nil))
	svc := &service.Service{Temporal: c, Store: store}

	cfa := filepath.Join(t.TempDir(), "cfa")
	out, err := exec.CommandContext(ctx, "go", "build", "-o", cfa, "../../starter").CombinedOutput()
	require.NoError(t, err, "build cfa: %s", out)
	verify := func() (verifyJSON, int) {
		cmd := exec.CommandContext(ctx, cfa, "audit", "verify", "-o", "json")
		cmd.Env = append(os.Environ(), "DATABASE_URL="+d.URL, "TEMPORAL_ADDRESS="+srv.FrontendHostPort())
		out, err := cmd.Output()
		code := 0
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			code = exit.ExitCode()
		} else {
			require.NoError(t, err)
		}
		var rep verifyJSON
		require.NoError(t, json.Unmarshal(out, &rep), "cfa audit verify -o json printed %s", out)
		return rep, code
	}
	pending := func(id string) {
		testenv.WaitFor(t, time.Minute, id+" pending", func() bool {
			p, err := svc.Pending(ctx, id)
			return err == nil && p != nil
		})
	}

	for _, id := range []string{"verify-waiting", "verify-terminated"} {
		_, err := svc.Submit(ctx, service.SubmitRequest{IntentID: id, Text: reconcileToSilver, AsOf: dataplane.DemoAsOf, UnitRetryBaseSeconds: 1})
		require.NoError(t, err)
		pending(id)
	}
	rep, code := verify()
	require.Zero(t, code, "intents waiting for an answer are in flight: %+v", rep)
	require.True(t, rep.Verified)
	require.ElementsMatch(t, []string{"verify-waiting", "verify-terminated"}, rep.InFlight)

	require.NoError(t, c.TerminateWorkflow(ctx, "verify-terminated", "", "test: the workflow ends without its decision"))
	rep, code = verify()
	require.Equal(t, 2, code)
	require.False(t, rep.Verified)
	require.Equal(t, []string{"verify-waiting"}, rep.InFlight)
	require.Len(t, rep.Abandoned, 1)
	require.Contains(t, rep.Abandoned[0], "verify-terminated")
	require.Contains(t, rep.Reason, "abandoned")

	// The tail of the chain deleted behind the triggers' back.
	_, err = d.Pool.Exec(ctx, `ALTER TABLE audit_events DISABLE TRIGGER USER;
		DELETE FROM audit_events WHERE position > (SELECT max(position) - 2 FROM audit_events);
		ALTER TABLE audit_events ENABLE TRIGGER USER`)
	require.NoError(t, err)
	rep, code = verify()
	require.Equal(t, 2, code)
	require.False(t, rep.Verified)
	require.Contains(t, rep.Reason, "head records position")
}

type verifyJSON struct {
	Verified  bool     `json:"verified"`
	Receipts  int      `json:"receipts"`
	InFlight  []string `json:"in_flight"`
	Abandoned []string `json:"abandoned"`
	Reason    string   `json:"reason"`
}
