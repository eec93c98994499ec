package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.uber.org/zap"

	"github.com/contextualflux/cfa/extension"
	"github.com/contextualflux/cfa/internal/app"
	"github.com/contextualflux/cfa/internal/decision"
	"github.com/contextualflux/cfa/internal/service"
	"github.com/contextualflux/cfa/worker"
	"github.com/contextualflux/cfa/workflows"
)

// throughputOptions are the flags of cfa-demo throughput.
type throughputOptions struct {
	workers     []int
	n           int
	concurrency int
	text        string
	dryRun      bool
	timeout     time.Duration
	cpuProfile  string
	database    string // the demo's database: its backends are counted as Postgres
}

// throughputRow is one series at one worker count: n runs drained by
// concurrency closed-loop submitters, each starting its next run when the
// last one ended.
type throughputRow struct {
	Workers     int     `json:"workers"`
	Series      string  `json:"series"`
	N           int     `json:"n"`
	Concurrency int     `json:"concurrency"`
	Seconds     float64 `json:"seconds"`
	PerSecond   float64 `json:"per_second"` // completed runs per wall second
	P50ms       float64 `json:"p50_ms"`     // start to result
	P95ms       float64 `json:"p95_ms"`
	MaxMs       float64 `json:"max_ms"`
	// CPU is what the series used of the host's cores, by process: the
	// dev server, Postgres, the workers and the submitters share them.
	// Nil where /proc is not readable.
	CPU *cpuUse `json:"cpu,omitempty"`
}

// cpuUse is CPU in cores (1.0 is one core busy for the whole series).
type cpuUse struct {
	Cores      int     `json:"host_cores"`
	Host       float64 `json:"host"`       // every process, from /proc/stat
	Temporal   float64 `json:"temporal"`   // processes named temporal: the dev server
	Postgres   float64 `json:"postgres"`   // the Postgres backends connected to the demo's database
	Workers    float64 `json:"workers"`    // the worker processes this command started
	Submitters float64 `json:"submitters"` // this process
	// MsPerRun is the CPU time of the four groups above per counted run:
	// what one run costs the host, whatever else shares it.
	MsPerRun float64 `json:"cpu_ms_per_run"`
}

// Other is the host's busy CPU no group accounts for: other processes on
// the host (Postgres's own background processes and other databases'
// backends among them), and processes that exited during the series.
func (u cpuUse) Other() float64 {
	return max(0, u.Host-u.Temporal-u.Postgres-u.Workers-u.Submitters)
}

func (c *cli) throughputCmd() *cobra.Command {
	var o throughputOptions
	cmd := &cobra.Command{
		Use:   "throughput",
		Short: "Measure intents per second with 1 and 2 cfa-worker processes and concurrent submitters, beside empty and one-activity workflows",
		Long: `Measure throughput on the running Temporal server (make bench-throughput).
For each worker count it starts that many worker processes, drives --n runs
from --concurrency closed-loop submitters and reports completed runs per wall
second with the p50 and p95 of start-to-result latency, for three series: the
empty workflow and the one-activity workflow (on cfa-demo's own baseline
workers, task queue cfa-bench) and the auto intent (on cfa-worker processes
started from this binary's directory, task queue cfa-intents). No other
worker may poll those task queues. With --cpuprofile the auto intent runs once
more on the largest worker count, on workers that write a CPU profile each
(cfa-demo worker: the same worker.Run as cfa-worker).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.n < 1 || o.concurrency < 1 {
				return fmt.Errorf("--n and --concurrency must be at least 1, got %d and %d", o.n, o.concurrency)
			}
			if o.timeout <= 0 {
				return fmt.Errorf("--timeout must be positive, got %s", o.timeout)
			}
			if len(o.workers) == 0 {
				return errors.New("--workers needs at least one worker count")
			}
			for _, k := range o.workers {
				if k < 1 || k > 16 {
					return fmt.Errorf("--workers takes counts from 1 to 16, got %d", k)
				}
			}
			if u, err := url.Parse(c.cfg.DatabaseURL); err == nil {
				o.database = strings.TrimPrefix(u.Path, "/")
			}
			return c.throughput(cmd.Context(), o)
		},
	}
	cmd.Flags().IntSliceVar(&o.workers, "workers", []int{1, 2}, "worker process counts to measure, each in turn")
	cmd.Flags().IntVar(&o.n, "n", 320, "counted runs per series (after one warm-up run per submitter)")
	cmd.Flags().IntVar(&o.concurrency, "concurrency", 16, "concurrent submitters, each running one workflow after another")
	cmd.Flags().StringVar(&o.text, "text", "aggregate daily sales by uf from vendas_diarias", "auto-mode intent to measure (the demo's scenario a')")
	cmd.Flags().BoolVar(&o.dryRun, "dry-run", true, "submit the intent as a dry run, as the demo does: it stops after static validation, decided approved")
	cmd.Flags().DurationVar(&o.timeout, "timeout", time.Minute, "limit for one run")
	cmd.Flags().StringVar(&o.cpuProfile, "cpuprofile", "", "also run the auto intent on the largest worker count with profiling workers, writing PREFIX-<i>.pprof")
	return cmd
}

func (c *cli) throughput(ctx context.Context, o throughputOptions) error {
	logger, err := app.NewLoggerAt(zap.WarnLevel)
	if err != nil {
		return fmt.Errorf("build logger: %w", err)
	}
	defer func() { _ = logger.Sync() }()
	tc, err := app.Dial(c.cfg, logger)
	if err != nil {
		return err
	}
	defer tc.Close()
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find cfa-demo's own path: %w", err)
	}
	workerBin := filepath.Join(filepath.Dir(self), "cfa-worker")
	if _, err := os.Stat(workerBin); err != nil {
		return fmt.Errorf("cfa-worker beside cfa-demo: %w; run `make build`", err)
	}
	ours := map[int]bool{} // every worker this command started, stopped or not
	for _, q := range []string{workflows.TaskQueue, benchTaskQueue} {
		if err := noOtherPoller(ctx, tc, q, ours); err != nil {
			return err
		}
	}

	svc := &service.Service{Temporal: tc}
	baseline := func(name string) func(context.Context) error {
		return func(ctx context.Context) error {
			run, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: benchTaskQueue}, name)
			if err != nil {
				return err
			}
			return run.Get(ctx, nil)
		}
	}
	outer := ctx
	intent := func(ctx context.Context) error {
		id, err := svc.Submit(ctx, service.SubmitRequest{Text: o.text, SubmittedBy: "bench", DryRun: o.dryRun})
		if err != nil {
			return err
		}
		var res workflows.IntentResult
		if err := tc.GetWorkflow(ctx, id, "").Get(ctx, &res); err != nil {
			if timedOut(ctx, err) {
				return explainStuck(outer, svc, id, o.text, err)
			}
			return fmt.Errorf("intent %s: %w", id, err)
		}
		if err := autoOnly(o.text, res.Confirmation, string(res.DecisionState)); err != nil {
			return err
		}
		if res.DecisionState != decision.Approved {
			return fmt.Errorf("intent %s (%q) was decided %s (%s), not approved; pick one with --text that ends approved", id, o.text, res.DecisionState, res.Reason)
		}
		return nil
	}
	auto := "auto intent"
	if o.dryRun {
		auto += " (dry run)"
	}
	type series struct {
		name string
		run  func(context.Context) error
	}
	groups := []struct {
		queue  string
		args   []string // the worker process: path and arguments
		log    string
		series []series
	}{
		{benchTaskQueue, []string{self, "worker", "--baselines"}, "throughput-baseline", []series{
			{"empty workflow", baseline(benchEmptyWorkflow)},
			{"one-activity workflow", baseline(benchOneActivityWorkflow)},
		}},
		{workflows.TaskQueue, []string{workerBin}, "throughput-worker", []series{{auto, intent}}},
	}

	var rows []throughputRow
	measureSeries := func(k int, name string, run func(context.Context) error) error {
		fmt.Fprintf(os.Stderr, "throughput: %d worker(s), %s: %d runs from %d submitters\n", k, name, o.n, o.concurrency)
		r, err := closedLoop(ctx, o, ours, run)
		if err != nil {
			return fmt.Errorf("%s with %d worker(s): %w", name, k, err)
		}
		r.Workers, r.Series = k, name
		rows = append(rows, r)
		return nil
	}
	for _, k := range o.workers {
		for _, g := range groups {
			stop, err := startWorkers(ctx, tc, g.queue, k, g.args, fmt.Sprintf("%s-%d", g.log, k), ours)
			if err != nil {
				stop()
				return err
			}
			for _, s := range g.series {
				if err := measureSeries(k, s.name, s.run); err != nil {
					stop()
					return err
				}
			}
			stop()
		}
	}
	var profiles []string
	if o.cpuProfile != "" {
		k := slices.Max(o.workers)
		args := make([][]string, k)
		for i := range k {
			p := fmt.Sprintf("%s-%d.pprof", o.cpuProfile, i+1)
			profiles = append(profiles, p)
			args[i] = []string{self, "worker", "--cpuprofile", p}
		}
		stop, err := startWorkerProcesses(ctx, tc, workflows.TaskQueue, args, fmt.Sprintf("throughput-profiled-%d", k), ours)
		if err != nil {
			stop()
			return err
		}
		err = measureSeries(k, auto+", profiled workers", intent)
		stop() // the profiles are written as the workers stop
		if err != nil {
			return err
		}
	}

	return c.emit(map[string]any{"text": o.text, "dry_run": o.dryRun, "rows": rows, "cpu_profiles": profiles}, func(w io.Writer) error {
		width := len("series")
		for _, r := range rows {
			width = max(width, len(r.Series))
		}
		const cols = "%7s  %-*s  %5s  %10s  %6s  %7s  %7s  %7s  %5s  %8s  %8s  %7s  %10s  %5s  %11s\n"
		if _, err := fmt.Fprintf(w, cols, "workers", width, "series", "n", "submitters", "per s", "p50 ms", "p95 ms", "max ms",
			"host", "temporal", "postgres", "workers", "submitters", "other", "cpu ms/run"); err != nil {
			return err
		}
		cores := 0
		for _, r := range rows {
			cpu := []string{"n/a", "", "", "", "", "", ""}
			if u := r.CPU; u != nil {
				cores = u.Cores
				f := func(x float64) string { return fmt.Sprintf("%.2f", x) }
				cpu = []string{f(u.Host), f(u.Temporal), f(u.Postgres), f(u.Workers), f(u.Submitters), f(u.Other()), fmt.Sprintf("%.1f", u.MsPerRun)}
			}
			_, err := fmt.Fprintf(w, cols, fmt.Sprint(r.Workers), width, r.Series, fmt.Sprint(r.N), fmt.Sprint(r.Concurrency),
				fmt.Sprintf("%.1f", r.PerSecond), fmt.Sprintf("%.1f", r.P50ms), fmt.Sprintf("%.1f", r.P95ms), fmt.Sprintf("%.0f", r.MaxMs),
				cpu[0], cpu[1], cpu[2], cpu[3], cpu[4], cpu[5], cpu[6])
			if err != nil {
				return err
			}
		}
		fmt.Fprintf(w, "\nintent: %q (dry run %t). per s: completed runs per wall second; p50, p95, max: start to result.\n", o.text, o.dryRun)
		fmt.Fprintf(w, "CPU in cores of the host's %d used during the series: the dev server (temporal), the database's Postgres backends, the workers, this process (submitters),\n"+
			"everything else (other); cpu ms/run: the first four's CPU time per run.\n", cores)
		if len(profiles) > 0 {
			fmt.Fprintf(w, "worker CPU profiles: %s (go tool pprof -top -cum bin/cfa-demo %s)\n", strings.Join(profiles, ", "), strings.Join(profiles, " "))
		}
		return nil
	})
}

// closedLoop runs o.concurrency submitters, each running f once to warm up
// and then taking counted runs until o.n have started; the wall time is the
// counted runs' (from the first counted start to the last result).
func closedLoop(ctx context.Context, o throughputOptions, ours map[int]bool, f func(context.Context) error) (throughputRow, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu       sync.Mutex
		firstErr error
		lat      = make([]time.Duration, 0, o.n)
	)
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if firstErr == nil {
			firstErr = err
			cancel()
		}
	}
	once := func() (time.Duration, error) {
		rctx, rcancel := context.WithTimeout(ctx, o.timeout)
		defer rcancel()
		start := time.Now()
		err := f(rctx)
		return time.Since(start), err
	}
	var wg sync.WaitGroup
	for range o.concurrency { // warm-up: one run per submitter, at once
		wg.Go(func() {
			if _, err := once(); err != nil {
				fail(fmt.Errorf("warm-up: %w", err))
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return throughputRow{}, firstErr
	}
	cpu0, cpuOK := snapCPU(ours, o.database)
	var next atomic.Int64
	start := time.Now()
	for range o.concurrency {
		wg.Go(func() {
			for ctx.Err() == nil && next.Add(1) <= int64(o.n) {
				d, err := once()
				if err != nil {
					fail(err)
					return
				}
				mu.Lock()
				lat = append(lat, d)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	wall := time.Since(start)
	if firstErr != nil {
		return throughputRow{}, firstErr
	}
	r := throughputRow{N: o.n, Concurrency: o.concurrency, Seconds: wall.Seconds(), PerSecond: float64(o.n) / wall.Seconds(),
		P50ms: ms(percentile(lat, 50)), P95ms: ms(percentile(lat, 95)), MaxMs: ms(percentile(lat, 100))}
	if cpu1, ok := snapCPU(ours, o.database); ok && cpuOK {
		if r.CPU = cpu1.since(cpu0); r.CPU != nil {
			u := r.CPU
			r.CPU.MsPerRun = (u.Temporal + u.Postgres + u.Workers + u.Submitters) * wall.Seconds() * 1000 / float64(o.n)
		}
	}
	return r, nil
}

// startWorkers starts k worker processes running args, each logging to
// .data/<log>-<i>.log; see startWorkerProcesses.
func startWorkers(ctx context.Context, tc client.Client, queue string, k int, args []string, log string, ours map[int]bool) (func(), error) {
	all := make([][]string, k)
	for i := range all {
		all[i] = args
	}
	return startWorkerProcesses(ctx, tc, queue, all, log, ours)
}

// startWorkerProcesses starts one process per args and waits until each
// polls queue (its identity starts with its pid, the SDK's default). The
// function returned stops them with SIGTERM (in-flight tasks finish) and
// waits; it is safe to call after a failed start.
func startWorkerProcesses(ctx context.Context, tc client.Client, queue string, args [][]string, log string, ours map[int]bool) (func(), error) {
	if err := os.MkdirAll(".data", 0o755); err != nil {
		return func() {}, err
	}
	var cmds []*exec.Cmd
	var done []chan struct{} // closed when that worker has exited
	var logs []*os.File
	exited := make(chan string, len(args))
	stop := func() {
		for _, cmd := range cmds {
			_ = cmd.Process.Signal(syscall.SIGTERM)
		}
		for i, cmd := range cmds {
			select {
			case <-done[i]:
			case <-time.After(30 * time.Second):
				_ = cmd.Process.Kill()
				<-done[i]
			}
		}
		for _, f := range logs {
			_ = f.Close()
		}
		cmds, done, logs = nil, nil, nil
	}
	for i, a := range args {
		path := filepath.Join(".data", fmt.Sprintf("%s-%d.log", log, i+1))
		f, err := os.Create(path)
		if err != nil {
			return stop, err
		}
		logs = append(logs, f)
		cmd := exec.Command(a[0], a[1:]...)
		// A free /metrics port each: two workers cannot share 9464.
		cmd.Env = append(os.Environ(), "CFA_METRICS_LISTEN=127.0.0.1:0")
		cmd.Stdout, cmd.Stderr = f, f
		if err := cmd.Start(); err != nil {
			return stop, fmt.Errorf("start worker %s: %w", a[0], err)
		}
		ours[cmd.Process.Pid] = true
		d := make(chan struct{})
		cmds, done = append(cmds, cmd), append(done, d)
		go func() {
			_ = cmd.Wait()
			close(d)
			exited <- path
		}()
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		polling, err := pollingPIDs(ctx, tc, queue)
		if err != nil {
			return stop, err
		}
		missing := 0
		for _, cmd := range cmds {
			if !polling[cmd.Process.Pid] {
				missing++
			}
		}
		if missing == 0 {
			return stop, nil
		}
		select {
		case path := <-exited:
			return stop, fmt.Errorf("a worker exited before it polled %s:\n%s", queue, tail(path, 20))
		case <-ctx.Done():
			return stop, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return stop, fmt.Errorf("%d of %d workers did not poll %s within a minute; see .data/%s-*.log", missing, len(cmds), queue, log)
		}
	}
}

// pollingPIDs are the pids of the workers that polled queue's workflow tasks
// in the last minute and a bit (a live worker's long poll lasts a minute),
// -1 for a worker whose identity is not the SDK's default pid@host@.
func pollingPIDs(ctx context.Context, tc client.Client, queue string) (map[int]bool, error) {
	resp, err := tc.DescribeTaskQueue(ctx, queue, enumspb.TASK_QUEUE_TYPE_WORKFLOW)
	if err != nil {
		return nil, fmt.Errorf("describe task queue %s: %w", queue, err)
	}
	hostname, _ := os.Hostname()
	out := map[int]bool{}
	for _, p := range resp.GetPollers() {
		if t := p.GetLastAccessTime(); t != nil && time.Since(t.AsTime()) > 65*time.Second {
			continue
		}
		pid, rest, _ := strings.Cut(p.GetIdentity(), "@")
		n, err := strconv.Atoi(pid)
		if err != nil {
			n = -1 // an identity not of the SDK's default form: a foreign worker
		}
		// The server lists a stopped worker for a minute: one of this host
		// whose process is gone is not polling.
		if host, _, _ := strings.Cut(rest, "@"); n > 0 && host == hostname && errors.Is(syscall.Kill(n, 0), syscall.ESRCH) {
			continue
		}
		out[n] = true
	}
	return out, nil
}

// noOtherPoller refuses to measure while a worker this command did not
// start polls queue: the worker counts would be wrong.
func noOtherPoller(ctx context.Context, tc client.Client, queue string, ours map[int]bool) error {
	polling, err := pollingPIDs(ctx, tc, queue)
	if err != nil {
		return err
	}
	for pid := range polling {
		if !ours[pid] {
			return fmt.Errorf("another worker (pid %d) polled task queue %s in the last minute; stop it (or wait a minute after it stopped): throughput counts its own workers", pid, queue)
		}
	}
	return nil
}

func tail(path string, n int) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// cpuSnap is CPU time so far, in clock ticks: the host's (the first line
// of /proc/stat) and each process's (utime + stime of /proc/<pid>/stat).
type cpuSnap struct {
	busy, total uint64
	cores       int
	procs       map[int]procCPU
	self        int
	ours        map[int]bool
}

type procCPU struct {
	comm  string
	ticks uint64
	// ofDatabase: a Postgres backend connected to the database measured.
	ofDatabase bool
}

// backendOf is the database of a Postgres client backend by its process
// title, "postgres: [cluster: ]user database host ...", or "" for any other
// process (the background processes: walwriter, autovacuum launcher, ...).
func backendOf(title string) string {
	f := strings.Fields(strings.ReplaceAll(title, "\x00", " "))
	if len(f) < 3 || f[0] != "postgres:" {
		return ""
	}
	f = f[1:]
	if strings.HasSuffix(f[0], ":") { // cluster_name
		f = f[1:]
	}
	// A client backend names its client's host: 127.0.0.1(54274), [local].
	if len(f) < 3 || !(strings.HasSuffix(f[2], ")") || f[2] == "[local]") {
		return ""
	}
	return f[1]
}

func snapCPU(ours map[int]bool, database string) (cpuSnap, bool) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return cpuSnap{}, false
	}
	snap := cpuSnap{procs: map[int]procCPU{}, self: os.Getpid(), ours: maps.Clone(ours)}
	for i, line := range strings.Split(string(b), "\n") {
		fields := strings.Fields(line)
		switch {
		case i == 0:
			if len(fields) < 6 || fields[0] != "cpu" {
				return cpuSnap{}, false
			}
			// user nice system idle iowait irq softirq steal; guest time
			// is already in user and nice.
			for j, v := range fields[1:min(len(fields), 9)] {
				n, err := strconv.ParseUint(v, 10, 64)
				if err != nil {
					return cpuSnap{}, false
				}
				snap.total += n
				if j != 3 && j != 4 { // idle, iowait
					snap.busy += n
				}
			}
		case len(fields) > 0 && strings.HasPrefix(fields[0], "cpu"):
			snap.cores++
		}
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return cpuSnap{}, false
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue // exited meanwhile
		}
		// pid (comm) state ppid ...: comm may hold spaces and parentheses.
		lp, rp := strings.IndexByte(string(b), '('), strings.LastIndexByte(string(b), ')')
		if lp < 0 || rp < lp {
			continue
		}
		rest := strings.Fields(string(b[rp+1:]))
		if len(rest) < 13 {
			continue
		}
		utime, err1 := strconv.ParseUint(rest[11], 10, 64)
		stime, err2 := strconv.ParseUint(rest[12], 10, 64)
		if err1 != nil || err2 != nil {
			continue
		}
		p := procCPU{comm: string(b[lp+1 : rp]), ticks: utime + stime}
		if p.comm == "postgres" && database != "" {
			title, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
			p.ofDatabase = backendOf(string(title)) == database
		}
		snap.procs[pid] = p
	}
	return snap, true
}

// since is the CPU used from before to s, in cores. A process started
// in between counts whole; one that exited in between is lost (Other).
func (s cpuSnap) since(before cpuSnap) *cpuUse {
	if s.total <= before.total || s.cores == 0 {
		return nil
	}
	perCore := float64(s.total-before.total) / float64(s.cores) // ticks of one core over the series
	u := &cpuUse{Cores: s.cores, Host: float64(s.busy-before.busy) / perCore}
	for pid, p := range s.procs {
		d := p.ticks
		if b, ok := before.procs[pid]; ok && b.comm == p.comm && b.ticks <= p.ticks {
			d -= b.ticks
		}
		cores := float64(d) / perCore
		switch {
		case pid == s.self:
			u.Submitters += cores
		case s.ours[pid]:
			u.Workers += cores
		case p.comm == "temporal":
			u.Temporal += cores
		case p.ofDatabase:
			u.Postgres += cores
		}
	}
	return u
}

// workerCmd runs a worker for throughput: the baseline workflows on
// cfa-bench, or CFA's worker exactly as cmd/cfa-worker runs it, optionally
// writing a CPU profile of its whole life. Not for operators: cfa-worker
// is the product's worker.
func (c *cli) workerCmd() *cobra.Command {
	var baselines bool
	var cpuProfile string
	cmd := &cobra.Command{
		Use:    "worker",
		Short:  "Run a worker for throughput: the baseline workflows (--baselines) or CFA's worker, optionally CPU-profiled",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cpuProfile != "" {
				f, err := os.Create(cpuProfile)
				if err != nil {
					return fmt.Errorf("create the CPU profile: %w", err)
				}
				if err := pprof.StartCPUProfile(f); err != nil {
					return fmt.Errorf("start the CPU profile: %w", err)
				}
				defer func() {
					pprof.StopCPUProfile()
					_ = f.Close()
				}()
			}
			if !baselines {
				return worker.Run(cmd.Context(), extension.Points{})
			}
			return c.runBaselineWorker(cmd.Context())
		},
	}
	cmd.Flags().BoolVar(&baselines, "baselines", false, "run the empty and one-activity workflows on task queue "+benchTaskQueue)
	cmd.Flags().StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile to this file when the worker stops")
	return cmd
}

// runBaselineWorker serves the baseline workflows until ctx is done.
func (c *cli) runBaselineWorker(ctx context.Context) error {
	_, stop, err := c.startBaselineWorker()
	if err != nil {
		return err
	}
	defer stop()
	<-ctx.Done()
	return nil
}
