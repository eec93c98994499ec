// Command custom-worker is an example of a deployment's own worker binary:
// the shipped worker (worker.Run) with two plug-ins of examples/extensions,
//
//   - denylist: refuses intents on the datasets of CFA_DENYLIST
//     (comma-separated catalog names; reason CFA_DENYLIST_REASON);
//   - jsonlaudit: mirrors every sealed audit receipt as one JSON line to
//     CFA_AUDIT_JSONL (default cfa-audit.jsonl, appended to).
//
// Everything else (TEMPORAL_ADDRESS, DATABASE_URL, CFA_CATALOG_DIR, ...) is
// read by worker.Run as for cmd/cfa-worker.
//
//	go build ./examples/extensions/cmd/custom-worker
//	CFA_DENYLIST=vendas_diarias ./custom-worker
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/contextualflux/cfa/examples/extensions/denylist"
	"github.com/contextualflux/cfa/examples/extensions/jsonlaudit"
	"github.com/contextualflux/cfa/extension"
	"github.com/contextualflux/cfa/worker"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "custom worker:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	reason := envOr("CFA_DENYLIST_REASON", "under embargo in the legacy compliance system")
	deny := denylist.New(strings.Split(os.Getenv("CFA_DENYLIST"), ","), reason)

	path := envOr("CFA_AUDIT_JSONL", "cfa-audit.jsonl")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("open the audit mirror %s: %w", path, err)
	}
	defer func() { _ = f.Close() }()

	return worker.Run(ctx, extension.Points{
		ComplianceValidators: []extension.ComplianceValidator{deny},
		// The mirror wraps the shipped audit store (Postgres), whichever
		// store worker.Run opens: the chain stays in Postgres.
		WrapAudit: func(next extension.AuditStorage) extension.AuditStorage {
			mirror := jsonlaudit.New(next, f)
			mirror.OnError = func(err error) { fmt.Fprintln(os.Stderr, "custom worker:", err) }
			return mirror
		},
	})
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
