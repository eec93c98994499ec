// Command cfa-demo runs demonstrations and measurements of the
// governed-execution system against a running Temporal server and worker.
// It is not part of the product: the operator's CLI is cfa (starter/).
//
//	cfa-demo reset-database   drop and recreate the demo's own database (named *_demo), its roles set up, migrated
//	cfa-demo run              the governed scenarios end to end (make demo)
//	cfa-demo bench            end-to-end latency and history size (make bench-e2e)
//	cfa-demo throughput       intents per second with 1 and 2 workers (make bench-throughput)
//
// reset-database, bench and throughput take --output json; run prints its narrative as
// text. Every command exits non-zero on failure.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/internal/app"
	"github.com/contextualflux/cfa/internal/service"
)

// cli carries global flags and lazily opened connections.
type cli struct {
	cfg    app.Config
	output string
	out    io.Writer
	svc    *service.Service
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	c := &cli{cfg: app.FromEnv(), out: os.Stdout}
	err := c.root().ExecuteContext(ctx)
	c.close()
	if err != nil {
		fmt.Fprintln(os.Stderr, "cfa-demo:", err)
		os.Exit(1)
	}
}

func (c *cli) root() *cobra.Command {
	root := &cobra.Command{
		Use:           "cfa-demo",
		Short:         "Demonstrations and measurements of CFA v2 on Temporal (not the product CLI: that is cfa)",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if c.output != "text" && c.output != "json" {
				return fmt.Errorf("--output must be text or json, got %q", c.output)
			}
			return nil
		},
	}
	root.PersistentFlags().StringVarP(&c.output, "output", "o", "text", "output format: text or json")
	root.AddCommand(c.resetDatabaseCmd(), c.seedCmd(), c.runCmd(), c.benchCmd(), c.throughputCmd(), c.workerCmd())
	return root
}

// service dials Temporal and opens the demo's database on first use. The
// database must be the demo's own (see checkDemoDatabase).
func (c *cli) service(ctx context.Context) (*service.Service, error) {
	if c.svc != nil {
		return c.svc, nil
	}
	if err := checkDemoDatabase(c.cfg.DatabaseURL); err != nil {
		return nil, err
	}
	s, err := db.Open(ctx, c.cfg.DatabaseURL, c.cfg.SandboxLogin())
	if err != nil {
		return nil, err
	}
	if err := s.CheckSchema(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("the demo's database (DATABASE_URL): %w; `cfa-demo reset-database` creates it", err)
	}
	tc, err := app.Dial(c.cfg, nil)
	if err != nil {
		s.Close()
		return nil, err
	}
	c.svc = &service.Service{Temporal: tc, Store: s}
	return c.svc, nil
}

func (c *cli) close() {
	if c.svc == nil {
		return
	}
	if c.svc.Temporal != nil {
		c.svc.Temporal.Close()
	}
	if c.svc.Store != nil {
		c.svc.Store.Close()
	}
}

// emit prints v as indented JSON in json mode, or calls text otherwise.
func (c *cli) emit(v any, text func(w io.Writer) error) error {
	if c.output == "json" {
		enc := json.NewEncoder(c.out)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	return text(c.out)
}
