package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"

	"github.com/contextualflux/cfa/internal/app"
	"github.com/contextualflux/cfa/internal/service"
	"github.com/contextualflux/cfa/workflows"
)

// The baseline workflows run on bench's own in-process worker.
const (
	benchTaskQueue           = "cfa-bench"
	benchEmptyWorkflow       = "BenchEmptyWorkflow"
	benchOneActivityWorkflow = "BenchOneActivityWorkflow"
	benchNoopActivity        = "BenchNoopActivity"
)

// BenchEmptyWorkflow does nothing: the floor of any workflow.
func BenchEmptyWorkflow(workflow.Context) error { return nil }

// BenchOneActivityWorkflow runs one regular no-op activity.
func BenchOneActivityWorkflow(ctx workflow.Context) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 10 * time.Second})
	return workflow.ExecuteActivity(ctx, benchNoopActivity).Get(ctx, nil)
}

func benchNoop(context.Context) error { return nil }

// registerBaselines registers the baseline workflows and their activity
// (bench's in-process worker, throughput's baseline worker processes).
func registerBaselines(w worker.Worker) {
	w.RegisterWorkflowWithOptions(BenchEmptyWorkflow, workflow.RegisterOptions{Name: benchEmptyWorkflow})
	w.RegisterWorkflowWithOptions(BenchOneActivityWorkflow, workflow.RegisterOptions{Name: benchOneActivityWorkflow})
	w.RegisterActivityWithOptions(benchNoop, activity.RegisterOptions{Name: benchNoopActivity})
}

// row is one measured series.
type row struct {
	Name         string  `json:"name"`
	N            int     `json:"n"`
	P50ms        float64 `json:"p50_ms"`
	P99ms        float64 `json:"p99_ms"`
	HistoryBytes int     `json:"history_bytes"` // median over the counted runs
	Events       int     `json:"events"`        // median over the counted runs
	RatioP50     float64 `json:"ratio_p50"`     // p50 / the empty workflow's p50
}

// runFunc runs one workflow to completion and returns its execution.
type runFunc func(ctx context.Context) (workflowID, runID string, err error)

func (c *cli) benchCmd() *cobra.Command {
	var n, perLevel int
	var text string
	var timeout time.Duration
	var withAPI bool
	var clients []int
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure latency (p50, p99) and history size: auto intent vs empty and one-activity workflows",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if n < 1 {
				return fmt.Errorf("--n must be at least 1, got %d", n)
			}
			if timeout <= 0 {
				return fmt.Errorf("--timeout must be positive, got %s", timeout)
			}
			for _, k := range clients {
				if k < 1 {
					return fmt.Errorf("--clients must be positive, got %d", k)
				}
			}
			if !withAPI {
				clients = nil
			}
			return c.bench(cmd.Context(), n, text, timeout, withAPI, clients, perLevel)
		},
	}
	cmd.Flags().IntVar(&n, "n", 50, "counted runs per series (after one warm-up run)")
	cmd.Flags().StringVar(&text, "text", "aggregate daily sales by uf from vendas_diarias", "auto-mode intent to measure")
	cmd.Flags().DurationVar(&timeout, "timeout", time.Minute, "limit for one run")
	cmd.Flags().BoolVar(&withAPI, "api", true, "also measure the intent through the API (cfa serve, in this process) beside the Temporal client, and its throughput")
	cmd.Flags().IntSliceVar(&clients, "clients", []int{2, 4, 8}, "concurrent API clients of the throughput series")
	cmd.Flags().IntVar(&perLevel, "throughput-n", 24, "decisions per throughput level")
	return cmd
}

// startBaselineWorker dials Temporal and serves the baseline workflows on
// benchTaskQueue; stop stops the worker and closes the client. SDK logs go
// to stderr, warnings and up, so stdout stays clean for -o json.
func (c *cli) startBaselineWorker() (client.Client, func(), error) {
	logger, err := app.NewLoggerAt(zap.WarnLevel)
	if err != nil {
		return nil, nil, fmt.Errorf("build logger: %w", err)
	}
	tc, err := app.Dial(c.cfg, logger)
	if err != nil {
		_ = logger.Sync()
		return nil, nil, err
	}
	w := worker.New(tc, benchTaskQueue, worker.Options{})
	registerBaselines(w)
	if err := w.Start(); err != nil {
		tc.Close()
		_ = logger.Sync()
		return nil, nil, fmt.Errorf("start the baseline worker on task queue %s: %w; check that Temporal answers at %s", benchTaskQueue, err, c.cfg.TemporalAddress)
	}
	return tc, func() { w.Stop(); tc.Close(); _ = logger.Sync() }, nil
}

func (c *cli) bench(ctx context.Context, n int, text string, timeout time.Duration, withAPI bool, clients []int, perLevel int) error {
	tc, stop, err := c.startBaselineWorker()
	if err != nil {
		return err
	}
	defer stop()

	baseline := func(name string) runFunc {
		return func(ctx context.Context) (string, string, error) {
			run, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: benchTaskQueue}, name)
			if err != nil {
				return "", "", err
			}
			return run.GetID(), run.GetRunID(), run.Get(ctx, nil)
		}
	}
	svc := &service.Service{Temporal: tc}
	if ok, err := svc.WorkerPolling(ctx); err != nil {
		return fmt.Errorf("%w; check that Temporal answers at %s", err, c.cfg.TemporalAddress)
	} else if !ok {
		return fmt.Errorf("no cfa-worker polls task queue %s; run bench under scripts/with-worker.sh", workflows.TaskQueue)
	}
	outer := ctx
	intent := func(ctx context.Context) (string, string, error) {
		id, err := svc.Submit(ctx, service.SubmitRequest{Text: text, SubmittedBy: "bench"})
		if err != nil {
			return "", "", err
		}
		run := tc.GetWorkflow(ctx, id, "")
		var res workflows.IntentResult
		if err := run.Get(ctx, &res); err != nil {
			if timedOut(ctx, err) {
				return id, "", explainStuck(outer, svc, id, text, err)
			}
			return id, "", err
		}
		if res.Confirmation == nil || res.Confirmation.Outcome != workflows.ConfirmationNotRequired {
			return id, "", fmt.Errorf("intent %q is not auto-mode (confirmation %s, decision %s); pick one with --text that needs no confirmation", text, describeConfirmation(res.Confirmation), res.DecisionState)
		}
		return id, run.GetRunID(), nil
	}

	series := []struct {
		name string
		run  runFunc
	}{
		{"empty workflow", baseline(benchEmptyWorkflow)},
		{"one-activity workflow", baseline(benchOneActivityWorkflow)},
		{"auto intent", intent},
	}
	rows := make([]row, 0, len(series))
	for _, s := range series {
		r, err := measure(ctx, tc, n, timeout, s.run)
		if err != nil {
			return fmt.Errorf("bench %s: %w", s.name, err)
		}
		r.Name = s.name
		rows = append(rows, r)
	}
	for i := range rows {
		rows[i].RatioP50 = rows[i].P50ms / rows[0].P50ms
	}
	var apiRes *apiBench
	if withAPI {
		full, err := c.service(ctx)
		if err != nil {
			return err
		}
		r, err := c.benchAPI(ctx, tc, full.Store, n, text, timeout, clients, perLevel)
		if err != nil {
			return fmt.Errorf("bench the API: %w", err)
		}
		apiRes = &r
	}
	return c.emit(map[string]any{"text": text, "series": rows, "api": apiRes}, func(w io.Writer) error {
		defer printAPIBench(w, apiRes)
		width := len("series")
		for _, r := range rows {
			width = max(width, len(r.Name))
		}
		const cols = "%-*s  %4s  %8s  %8s  %13s  %6s  %9s\n"
		if _, err := fmt.Fprintf(w, cols, width, "series", "n", "p50 ms", "p99 ms", "history bytes", "events", "p50 ratio"); err != nil {
			return err
		}
		for _, r := range rows {
			_, err := fmt.Fprintf(w, cols, width, r.Name, fmt.Sprint(r.N), fmt.Sprintf("%.1f", r.P50ms), fmt.Sprintf("%.1f", r.P99ms),
				fmt.Sprint(r.HistoryBytes), fmt.Sprint(r.Events), fmt.Sprintf("%.2fx", r.RatioP50))
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// measure runs f once to warm up, then n times in a row, timing client start
// to result; each history is fetched after its timed section.
func measure(ctx context.Context, tc client.Client, n int, timeout time.Duration, f runFunc) (row, error) {
	once := func() (string, string, time.Duration, error) {
		rctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		start := time.Now()
		id, runID, err := f(rctx)
		d := time.Since(start)
		if err != nil {
			if id != "" {
				err = fmt.Errorf("workflow %s: %w", id, err)
			}
			return "", "", 0, err
		}
		return id, runID, d, nil
	}
	if _, _, _, err := once(); err != nil { // warm-up, not counted
		return row{}, fmt.Errorf("warm-up: %w", err)
	}
	ds := make([]time.Duration, 0, n)
	sizes := make([]int, 0, n)
	events := make([]int, 0, n)
	for range n {
		id, runID, d, err := once()
		if err != nil {
			return row{}, err
		}
		size, count, err := historySize(ctx, tc, id, runID)
		if err != nil {
			return row{}, err
		}
		ds = append(ds, d)
		sizes = append(sizes, size)
		events = append(events, count)
	}
	return row{
		N: n, P50ms: ms(percentile(ds, 50)), P99ms: ms(percentile(ds, 99)),
		HistoryBytes: median(sizes), Events: median(events),
	}, nil
}

// historySize returns the encoded size in bytes and the event count of a
// workflow execution's full history.
func historySize(ctx context.Context, tc client.Client, id, runID string) (int, int, error) {
	it := tc.GetWorkflowHistory(ctx, id, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var events []*historypb.HistoryEvent
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return 0, 0, fmt.Errorf("fetch history of %s: %w; check that Temporal at the same address still answers", id, err)
		}
		events = append(events, ev)
	}
	return proto.Size(&historypb.History{Events: events}), len(events), nil
}

// timedOut tells a run that hit its --timeout (locally or on the server).
func timedOut(ctx context.Context, err error) bool {
	var de *serviceerror.DeadlineExceeded
	return ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) || errors.As(err, &de)
}

// explainStuck says why an intent did not finish in time; one that waits
// for a human is cancelled (the workflow records it as blocked).
func explainStuck(ctx context.Context, svc *service.Service, id, text string, err error) error {
	qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	p, perr := svc.Pending(qctx, id)
	if perr != nil || p == nil {
		return fmt.Errorf("%w: no result within --timeout; check the worker log (.data/worker.log) or raise --timeout", err)
	}
	if cerr := svc.Temporal.CancelWorkflow(qctx, id, ""); cerr != nil {
		return fmt.Errorf("intent %q waits for %s confirmation and could not be cancelled (%v); pick one with --text that needs no confirmation", text, p.Mode, cerr)
	}
	// Let the worker record the cancellation before the caller stops it.
	wctx, wcancel := context.WithTimeout(ctx, 15*time.Second)
	defer wcancel()
	_ = svc.Temporal.GetWorkflow(wctx, id, "").Get(wctx, nil)
	return fmt.Errorf("intent %q waits for %s confirmation (cancelled); pick one with --text that needs no confirmation", text, p.Mode)
}

func describeConfirmation(r *workflows.ConfirmationRecord) string {
	if r == nil {
		return "none: the intent stopped before confirmation"
	}
	return fmt.Sprintf("%s, outcome %s", r.Mode, r.Outcome)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func printAPIBench(w io.Writer, r *apiBench) {
	if r == nil {
		return
	}
	fmt.Fprintf(w, "\nsubmit to decision, in alternation (n %d): Temporal client p50 %.1f ms p99 %.1f ms; API (gRPC, SubmitIntent + WatchIntent) p50 %.1f ms p99 %.1f ms; the API adds %.1f ms at p50 (median of the paired differences %.1f ms)\n",
		r.N, r.DirectP50ms, r.DirectP99ms, r.APIP50ms, r.APIP99ms, r.AddedP50ms, r.PairedMedianms)
	for _, l := range r.Throughput {
		fmt.Fprintf(w, "throughput, %d clients: %d decisions in %.1f s = %.1f decisions/s (latency p50 %.1f ms)\n", l.Clients, l.Decisions, l.Seconds, l.PerSecond, l.LatencyP50ms)
	}
}
