package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"

	"github.com/contextualflux/cfa/internal/service"
	"github.com/contextualflux/cfa/workflows"
)

// latency summarises one series of end-to-end runs.
type latency struct {
	Name string        `json:"name"`
	N    int           `json:"n"`
	P50  time.Duration `json:"p50_ns"`
	P99  time.Duration `json:"p99_ns"`
}

func (c *cli) benchCmd() *cobra.Command {
	var n int
	var text string
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure end-to-end decision latency (p50, p99) beside a bare one-activity workflow",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			svc, err := c.service(ctx, false)
			if err != nil {
				return err
			}
			bare, err := measure(n, func() error {
				run, err := svc.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: workflows.TaskQueue}, workflows.BareWorkflowName)
				if err != nil {
					return err
				}
				return run.Get(ctx, nil)
			})
			if err != nil {
				return fmt.Errorf("bench bare workflow: %w", err)
			}
			bare.Name = "bare workflow (1 regular no-op activity)"
			intent, err := measure(n, func() error { return runIntent(ctx, svc, text) })
			if err != nil {
				return fmt.Errorf("bench intent workflow: %w", err)
			}
			intent.Name = "intent workflow, auto-mode decision"
			out := map[string]any{"bare": bare, "intent": intent, "ratio_p50": float64(intent.P50) / float64(bare.P50)}
			return c.emit(out, func(w io.Writer) {
				for _, l := range []latency{bare, intent} {
					fmt.Fprintf(w, "%-44s n=%d  p50 %8.1f ms  p99 %8.1f ms\n", l.Name, l.N, ms(l.P50), ms(l.P99))
				}
				fmt.Fprintf(w, "intent/bare p50 ratio: %.2fx\n", float64(intent.P50)/float64(bare.P50))
			})
		},
	}
	cmd.Flags().IntVar(&n, "n", 50, "runs per series")
	cmd.Flags().StringVar(&text, "text", "aggregate daily sales by store from vendas_diarias", "auto-mode intent to measure")
	return cmd
}

func runIntent(ctx context.Context, svc *service.Service, text string) error {
	id, err := svc.Submit(ctx, service.SubmitRequest{Text: text, SubmittedBy: "bench"})
	if err != nil {
		return err
	}
	var res workflows.IntentResult
	if err := svc.Temporal.GetWorkflow(ctx, id, "").Get(ctx, &res); err != nil {
		return err
	}
	if res.Confirmation != nil && res.Confirmation.Outcome != workflows.ConfirmationNotRequired {
		return fmt.Errorf("bench intent %q is not auto-mode (%s); pick one that needs no confirmation", text, res.Confirmation.Mode)
	}
	return nil
}

func measure(n int, f func() error) (latency, error) {
	if n < 1 {
		return latency{}, fmt.Errorf("--n must be at least 1")
	}
	if err := f(); err != nil { // warm-up, not counted
		return latency{}, err
	}
	ds := make([]time.Duration, 0, n)
	for range n {
		start := time.Now()
		if err := f(); err != nil {
			return latency{}, err
		}
		ds = append(ds, time.Since(start))
	}
	slices.Sort(ds)
	return latency{N: n, P50: ds[(n-1)/2], P99: ds[min(n-1, (n*99+99)/100-1)]}, nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
