// Command cfa is the CLI of the governed-execution system: it submits
// intents, answers escalations, and reads the registry and the audit trail.
// Every command takes --output json and exits non-zero on failure; submit
// --wait and status exit with a status per decision family (errors.go).
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
	"go.uber.org/zap"

	"github.com/contextualflux/cfa/db"
	"github.com/contextualflux/cfa/internal/app"
	"github.com/contextualflux/cfa/internal/service"
)

// cli carries global flags and lazily opened connections.
type cli struct {
	cfg    app.Config
	output string
	out    io.Writer
	errOut io.Writer
	svc    *service.Service
	store  *db.Store
	// receipt is what the running command told the receipt hook
	// (receipts.go).
	receipt receiptNote
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	c := &cli{cfg: app.FromEnv(), out: os.Stdout, errOut: os.Stderr}
	code := c.execute(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}

// execute runs one command line and returns the process's exit status,
// having printed any error as the output format asks (errors.go).
func (c *cli) execute(ctx context.Context, args []string) int {
	root := c.root()
	root.SetArgs(args)
	root.SetOut(c.out)
	root.SetErr(c.stderr())
	cmd, err := root.ExecuteContextC(ctx)
	c.close()
	return c.report(err, cmd, args)
}

// exitError ends the process with a code after the command printed its own
// result (for example `audit verify` on a broken chain).
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

func (c *cli) root() *cobra.Command {
	root := &cobra.Command{
		Use:           "cfa",
		Short:         "Governed execution for data pipelines (CFA v2 on Temporal and Postgres)",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if c.output != "text" && c.output != "json" {
				return usage(fmt.Errorf("--output must be text or json, got %q", c.output))
			}
			return nil
		},
	}
	root.PersistentFlags().StringVarP(&c.output, "output", "o", "text", "output format: text or json")
	root.AddCommand(c.submitCmd(), c.confirmCmd("approve"), c.confirmCmd("reject"), c.statusCmd(), c.listCmd(),
		c.auditCmd(), c.policyCmd(), c.catalogCmd(), c.registryCmd(), c.migrateCmd(), c.rolesCmd(), c.planCmd(), c.codeCmd(), c.dataplaneCmd(), c.serveCmd(), c.tokenCmd(), c.skillCmd(), c.scheduleCmd())
	root.AddCommand(c.replayCmd())
	root.AddCommand(c.planeCmd())
	root.AddCommand(c.gateCmd(), c.proposeCmd(), c.reviewCmd(), c.applyCmd(), c.cfsPolicyCmd(), c.viewCmd())
	root.SetFlagErrorFunc(flagError)
	markUsage(root)
	c.withReceipts(root)
	return root
}

// service dials Temporal (and Postgres when withStore) on first use.
func (c *cli) service(ctx context.Context, withStore bool) (*service.Service, error) {
	if c.svc == nil {
		// The SDK's default logger writes to stdout, where only the
		// command's output may go: its warnings go to stderr as JSON lines
		// (nothing at all with -o json).
		logger := zap.NewNop()
		if !c.json() {
			if l, err := app.NewLoggerAt(zap.WarnLevel); err == nil {
				logger = l
			}
		}
		tc, err := app.Dial(c.cfg, logger)
		if err != nil {
			return nil, &failure{code: codeTemporalUnreachable, exit: exitFailure, err: err}
		}
		c.svc = &service.Service{Temporal: tc}
	}
	if withStore && c.svc.Store == nil {
		s, err := c.openStore(ctx)
		if err != nil {
			return nil, err
		}
		c.svc.Store = s
	}
	return c.svc, nil
}

func (c *cli) openStore(ctx context.Context) (*db.Store, error) {
	if c.store != nil {
		return c.store, nil
	}
	s, err := db.Open(ctx, c.cfg.DatabaseURL, c.cfg.SandboxLogin())
	if err != nil {
		return nil, &failure{code: codePostgresUnreachable, exit: exitFailure, err: err}
	}
	if err := s.CheckSchema(ctx); err != nil {
		s.Close()
		return nil, err
	}
	c.store = s
	return s, nil
}

func (c *cli) close() {
	if c.svc != nil && c.svc.Temporal != nil {
		c.svc.Temporal.Close()
	}
	if c.store != nil {
		c.store.Close()
	}
}

func (c *cli) json() bool { return c.output == "json" }

// stderr is where warnings and text-mode errors go.
func (c *cli) stderr() io.Writer {
	if c.errOut == nil {
		return os.Stderr
	}
	return c.errOut
}

// emit prints v as indented JSON in json mode, or calls text otherwise.
func (c *cli) emit(v any, text func(w io.Writer)) error {
	if c.json() {
		enc := json.NewEncoder(c.out)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	text(c.out)
	return nil
}
