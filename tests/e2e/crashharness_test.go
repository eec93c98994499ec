package e2e_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/db/dbtest"
	"github.com/contextualflux/cfa/internal/audit"
	"github.com/contextualflux/cfa/internal/dataplane"
	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/service"
	"github.com/contextualflux/cfa/tests/testenv"
	"github.com/contextualflux/cfa/workflows"
)

// The crash harness (issue 10): an intent is stopped at a stage boundary
// by a lock the harness holds in Postgres, the worker is killed there
// (SIGKILL; once SIGTERM; once the Temporal server is restarted instead),
// a new worker starts, the lock goes, and the intent must end as an
// undisturbed one does: decided and complete in the audit trail, its
// workflow completed, the same rows in the target, nothing staged or
// quarantined, no scope held, the registry committed.
//
// CFA_CRASH_KILLS sets the number of rounds (default 8: each boundary once,
// SIGTERM and a Temporal restart); `make test-crash` runs 32.

// crashPoint is a stage boundary the harness stops an intent at.
type crashPoint struct {
	name string
	// gate is the SQL a harness transaction runs to hold the intent at the
	// point ($1 is the intent id when the statement takes one).
	gate string
	// late: the gate is taken once the escalation is pending (it needs the
	// intent's row, or must not stop the stages before it).
	late bool
	// approveFirst: the approval is sent before the point is reached.
	approveFirst bool
	// waiting is the pg_stat_activity query prefix of the statement that
	// waits on the gate ("" for any waiter); event, an audit event the
	// intent must have recorded first.
	waiting, event string
}

var crashPoints = []crashPoint{
	{name: "after_receive", gate: "LOCK TABLE registry_snapshots IN ACCESS EXCLUSIVE MODE", event: audit.EventIntentReceived},
	{name: "waiting_for_approval", event: audit.EventConfirmationRequested},
	{name: "recording_approval", gate: "SELECT 1 FROM audit_chain_head FOR UPDATE", late: true, approveFirst: true},
	{name: "during_unit", gate: "LOCK TABLE staging.silver_documentos IN ACCESS EXCLUSIVE MODE", late: true, approveFirst: true,
		waiting: `DELETE FROM "staging"."silver_documentos"`},
	{name: "during_projection", gate: "LOCK TABLE silver.silver_documentos IN ACCESS EXCLUSIVE MODE", late: true, approveFirst: true,
		waiting: "MERGE INTO", event: audit.EventPartialExecution},
	{name: "after_projection", gate: "SELECT 1 FROM intents WHERE intent_id = $1 FOR NO KEY UPDATE", late: true, approveFirst: true,
		event: audit.EventEnvironmentUpdate},
}

type killMode string

const (
	killSIGKILL         killMode = "SIGKILL"
	killSIGTERM         killMode = "SIGTERM"
	killTemporalRestart killMode = "temporal restart"
)

// crashRow is one round of the table in the closing note.
type crashRow struct {
	point     string
	mode      killMode
	intent    string
	status    string
	decision  decision.State
	recovered time.Duration
	rows      int
	staged    int
	locks     int
}

func TestCrashHarness(t *testing.T) {
	if testing.Short() {
		t.Skip("crash harness: builds the worker and runs the Temporal dev server")
	}
	rounds := 8
	if v := os.Getenv("CFA_CRASH_KILLS"); v != "" {
		n, err := strconv.Atoi(v)
		require.NoError(t, err, "CFA_CRASH_KILLS must be a number of rounds")
		rounds = n
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(rounds)*time.Minute+5*time.Minute)
	defer cancel()
	h := newHarness(ctx, t)

	// An undisturbed run first: what every crashed run must leave.
	want := h.run(ctx, -1, crashPoint{name: "undisturbed"}, "")
	require.Equal(t, decision.Approved, want.decision)
	wantRows, wantSum := h.fingerprint(ctx)
	require.Positive(t, wantRows)

	table := []crashRow{want}
	for i := range rounds {
		mode := killSIGKILL
		switch i {
		case len(crashPoints):
			mode = killSIGTERM
		case len(crashPoints) + 1:
			mode = killTemporalRestart
		}
		row := h.run(ctx, i, crashPoints[i%len(crashPoints)], mode)
		table = append(table, row)
		rows, sum := h.fingerprint(ctx)
		require.Equal(t, workflows.IntentStatusCompleted, row.status, "round %d (%s, %s): the workflow completed", i, row.point, row.mode)
		require.Zero(t, decision.Strictness(row.decision), "round %d (%s, %s): approved (or labelled promotion_candidate), got %s", i, row.point, row.mode, row.decision)
		require.Equal(t, wantRows, rows, "round %d (%s, %s): no duplicate and no lost row", i, row.point, row.mode)
		require.Equal(t, wantSum, sum, "round %d (%s, %s): the rows an undisturbed run leaves", i, row.point, row.mode)
		require.Zero(t, row.staged, "round %d (%s, %s): nothing left in staging", i, row.point, row.mode)
		require.Zero(t, row.locks, "round %d (%s, %s): no scope held", i, row.point, row.mode)
	}

	// The whole chain verifies and every intent has its end.
	rs, err := h.store.WholeAuditChain(ctx)
	require.NoError(t, err)
	require.NoError(t, audit.Verify(rs))
	require.NoError(t, audit.CompletePerIntent(rs))
	latest, err := h.store.LatestSnapshot(ctx)
	require.NoError(t, err)
	sd, ok := latest.Dataset("silver_documentos")
	require.True(t, ok)
	require.Equal(t, "committed", sd.State, "the registry says what the data is")
	var quarantined int
	require.NoError(t, h.db.Pool.QueryRow(ctx, `SELECT count(*) FROM quarantine.silver_documentos`).Scan(&quarantined))
	require.Zero(t, quarantined)

	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ROUND\tBOUNDARY\tKILL\tWORKFLOW\tDECISION\tRECOVERED\tROWS\tSTAGED\tSCOPES HELD")
	for i, r := range table {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%.1fs\t%d\t%d\t%d\n", i, r.point, r.mode, r.status, r.decision, r.recovered.Seconds(), r.rows, r.staged, r.locks)
	}
	_ = tw.Flush()
	t.Logf("crash harness: %d kills, every intent decided and complete\n%s", rounds, b.String())
	if out := os.Getenv("CFA_CRASH_TABLE"); out != "" {
		require.NoError(t, os.WriteFile(out, []byte(b.String()), 0o644))
	}
}

// harness is a Temporal dev server it can restart, a worker process it
// can kill, and a data-plane database.
type harness struct {
	t        *testing.T
	bin      string
	logs     string
	db       *dbtest.Database
	store    *db.Store
	temporal *temporalProcess
	c        client.Client
	svc      *service.Service
	worker   *exec.Cmd
	workers  int
}

func newHarness(ctx context.Context, t *testing.T) *harness {
	h := &harness{t: t, bin: filepath.Join(t.TempDir(), "cfa-worker"), logs: os.Getenv("CRASH_TEST_LOGS")}
	if h.logs == "" {
		h.logs = t.TempDir()
	}
	out, err := exec.CommandContext(ctx, "go", "build", "-o", h.bin, "../../cmd/cfa-worker").CombinedOutput()
	require.NoError(t, err, "build the worker: %s", out)
	h.db, _ = testenv.DataPlaneDB(ctx, t, "crash_harness", &dataplane.Options{})
	h.store = db.New(h.db.Pool)
	h.temporal = startTemporalProcess(ctx, t, h.logs)
	h.c, err = client.Dial(client.Options{HostPort: h.temporal.hostPort})
	require.NoError(t, err)
	t.Cleanup(h.c.Close)
	h.svc = &service.Service{Temporal: h.c, Store: h.store}
	h.startWorker()
	return h
}

func (h *harness) startWorker() {
	h.workers++
	cmd := exec.Command(h.bin)
	cmd.Env = append(os.Environ(), "DATABASE_URL="+h.db.URL, "TEMPORAL_ADDRESS="+h.temporal.hostPort, "CFA_TTL_SWEEP_EVERY=24h", "CFA_METRICS_LISTEN=127.0.0.1:0")
	f, err := os.Create(filepath.Join(h.logs, fmt.Sprintf("worker-%02d.log", h.workers)))
	require.NoError(h.t, err)
	cmd.Stdout, cmd.Stderr = f, f
	require.NoError(h.t, cmd.Start())
	h.t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
		_ = f.Close()
	})
	h.worker = cmd
}

// kill stops the worker as mode says (a Temporal restart leaves it up).
func (h *harness) kill(mode killMode) {
	switch mode {
	case killSIGKILL:
		require.NoError(h.t, h.worker.Process.Signal(syscall.SIGKILL))
		_ = h.worker.Wait()
	case killSIGTERM:
		require.NoError(h.t, h.worker.Process.Signal(syscall.SIGTERM))
		done := make(chan struct{})
		go func() { _ = h.worker.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			// A graceful stop waits for the stage blocked on the gate;
			// past its grace period the worker is killed all the same.
			_ = h.worker.Process.Signal(syscall.SIGKILL)
			<-done
		}
	case killTemporalRestart:
		h.temporal.restart(h.t)
		return
	}
	h.startWorker()
}

// run submits the intent, stops it at p, kills there (no kill when mode is
// empty), lets it go on and reads what it left.
func (h *harness) run(ctx context.Context, round int, p crashPoint, mode killMode) crashRow {
	t := h.t
	id := fmt.Sprintf("crash-%02d-%s", round+1, p.name)
	row := crashRow{point: p.name, mode: mode, intent: id}
	var gate pgx.Tx
	hold := func() {
		if p.gate == "" {
			return
		}
		tx, err := h.db.Pool.Begin(ctx)
		require.NoError(t, err)
		args := []any{}
		if strings.Contains(p.gate, "$1") {
			args = append(args, id)
		}
		_, err = tx.Exec(ctx, p.gate, args...)
		require.NoError(t, err, "gate of %s", p.name)
		gate = tx
	}
	release := func() {
		if gate != nil {
			require.NoError(t, gate.Rollback(ctx))
			gate = nil
		}
	}
	defer release()
	approve := func() {
		testenv.WaitFor(t, 2*time.Minute, id+": the pending escalation", func() bool {
			pending, err := h.svc.Pending(ctx, id)
			return err == nil && pending != nil
		})
		require.NoError(t, h.svc.Confirm(ctx, id, workflows.SignalApprove, "maria", "checked"))
	}

	if !p.late {
		hold()
	}
	_, err := h.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: id, TaskQueue: workflows.TaskQueue,
		// A killed worker's workflow task is handed to the next one after
		// this timeout: short, so 30 kills fit in minutes.
		WorkflowTaskTimeout: 3 * time.Second,
	}, workflows.IntentWorkflowName, workflows.IntentInput{
		Text: reconcileToSilver, CorrelationID: id, SubmittedBy: "crash-harness", AsOf: dataplane.DemoAsOf, UnitRetryBaseSeconds: 1,
	})
	require.NoError(t, err)
	if p.late {
		testenv.WaitFor(t, time.Minute, id+": the escalation recorded", func() bool { return h.recorded(ctx, id, audit.EventConfirmationRequested) })
		hold()
	}
	if p.approveFirst {
		approve()
	}
	if mode != "" {
		deadline := time.Now().Add(2 * time.Minute)
		for !((p.event == "" || h.recorded(ctx, id, p.event)) && (p.gate == "" || h.waiting(ctx, p.waiting))) {
			if time.Now().After(deadline) {
				t.Fatalf("%s never reached %s; statements waiting on a lock: %v", id, p.name, h.waiters(ctx))
			}
			time.Sleep(50 * time.Millisecond)
		}
		h.kill(mode)
	}
	killed := time.Now()
	release()
	if !p.approveFirst {
		approve()
	}
	var res workflows.IntentResult
	err = h.c.GetWorkflow(ctx, id, "").Get(ctx, &res)
	row.recovered = time.Since(killed)
	row.status = h.status(ctx, id)
	if err != nil {
		t.Logf("%s: %v", id, err)
	}
	row.decision = res.DecisionState
	require.NoError(t, h.db.Pool.QueryRow(ctx, `SELECT count(*) FROM silver.silver_documentos`).Scan(&row.rows))
	require.NoError(t, h.db.Pool.QueryRow(ctx, `SELECT count(*) FROM staging.silver_documentos`).Scan(&row.staged))
	locks, err := h.store.ActiveLocks(ctx)
	require.NoError(t, err)
	row.locks = len(locks)

	// One decision, then the end, recorded last.
	rs, err := h.store.AuditByIntent(ctx, id)
	require.NoError(t, err)
	decisions := 0
	for _, r := range rs {
		if r.EventType() == audit.EventDecision {
			decisions++
		}
	}
	require.Equal(t, 1, decisions, "%s: one DECISION", id)
	require.Equal(t, audit.EventIntentCompleted, rs[len(rs)-1].EventType(), "%s: INTENT_COMPLETED last", id)
	return row
}

// recorded reports whether the intent's trail holds an event of type typ.
func (h *harness) recorded(ctx context.Context, id, typ string) bool {
	var n int
	err := h.db.Pool.QueryRow(ctx, `SELECT count(*) FROM audit_events WHERE intent_id = $1 AND event_type = $2`, id, typ).Scan(&n)
	return err == nil && n > 0
}

// waiting reports whether a statement starting with prefix ("" for any)
// waits on a lock in the harness's database.
func (h *harness) waiting(ctx context.Context, prefix string) bool {
	var n int
	err := h.db.Pool.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid() AND wait_event_type = 'Lock' AND ltrim(query) LIKE $1 || '%'`, prefix).Scan(&n)
	return err == nil && n > 0
}

// waiters are the statements waiting on a lock, for a failure message.
func (h *harness) waiters(ctx context.Context) []string {
	rows, err := h.db.Pool.Query(ctx, `SELECT left(ltrim(query), 120) FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'`)
	if err != nil {
		return []string{err.Error()}
	}
	qs, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return []string{err.Error()}
	}
	return qs
}

func (h *harness) status(ctx context.Context, id string) string {
	desc, err := h.c.DescribeWorkflowExecution(ctx, id, "")
	require.NoError(h.t, err)
	if desc.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED {
		return workflows.IntentStatusCompleted
	}
	return strings.ToLower(strings.TrimPrefix(desc.GetWorkflowExecutionInfo().GetStatus().String(), "WORKFLOW_EXECUTION_STATUS_"))
}

func (h *harness) fingerprint(ctx context.Context) (n int, sum string) {
	require.NoError(h.t, h.db.Pool.QueryRow(ctx, `SELECT count(*), coalesce(md5(string_agg(t::text, '|' ORDER BY nfe_id, processing_date)), '')
		FROM silver.silver_documentos t`).Scan(&n, &sum))
	return n, sum
}

// temporalProcess is a dev server on a file database, so it can be
// restarted with its workflows.
type temporalProcess struct {
	args     []string
	hostPort string
	log      *os.File
	cmd      *exec.Cmd
}

func startTemporalProcess(ctx context.Context, t *testing.T, logs string) *temporalProcess {
	t.Helper()
	ports := freePorts(t, 3)
	p := &temporalProcess{hostPort: "127.0.0.1:" + strconv.Itoa(ports[0])}
	p.args = []string{"server", "start-dev", "--headless", "--ip", "127.0.0.1", "--port", strconv.Itoa(ports[0]),
		"--http-port", strconv.Itoa(ports[1]), "--metrics-port", strconv.Itoa(ports[2]),
		"--db-filename", filepath.Join(t.TempDir(), "temporal.db"), "--log-level", "error",
		"--sqlite-pragma", "journal_mode=WAL", "--sqlite-pragma", "synchronous=OFF"}
	p.args = append(p.args, workflows.DevServerArgs()...)
	var err error
	p.log, err = os.Create(filepath.Join(logs, "temporal.log"))
	require.NoError(t, err)
	p.start(t)
	t.Cleanup(func() {
		p.stop()
		_ = p.log.Close()
	})
	return p
}

func (p *temporalProcess) start(t *testing.T) {
	p.cmd = exec.Command(testenv.TemporalCLI(t), p.args...)
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	require.NoError(t, p.cmd.Start())
	testenv.WaitFor(t, time.Minute, "the Temporal dev server", func() bool {
		c, err := client.Dial(client.Options{HostPort: p.hostPort})
		if err != nil {
			return false
		}
		defer c.Close()
		_, err = c.CheckHealth(context.Background(), &client.CheckHealthRequest{})
		return err == nil
	})
}

func (p *temporalProcess) stop() {
	if p.cmd == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	_ = p.cmd.Wait()
	p.cmd = nil
}

func (p *temporalProcess) restart(t *testing.T) {
	p.stop()
	p.start(t)
}

func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var out []int
	var ls []net.Listener
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		ls = append(ls, l)
		out = append(out, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		_ = l.Close()
	}
	return out
}
