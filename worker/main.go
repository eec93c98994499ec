// Command worker runs the CFA intent workflows and their activities. It
// loads the catalog and the policy bundle first and refuses to start when
// either does not load, naming the file, the rule and the position.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"go.uber.org/zap"

	"github.com/contextualflux/cfa/internal/app"
	"github.com/contextualflux/cfa/workflows"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "cfa worker:", err)
		os.Exit(1)
	}
}

func run() error {
	cfg := app.FromEnv()
	logger, err := app.NewLogger()
	if err != nil {
		return fmt.Errorf("start logger: %w", err)
	}
	defer func() { _ = logger.Sync() }()

	// SIGTERM or SIGINT stops polling and lets in-flight tasks finish.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	w, cleanup, err := app.NewWorker(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer cleanup()
	logger.Info("worker started", zap.String("task_queue", workflows.TaskQueue), zap.String("temporal", cfg.TemporalAddress))
	interrupt := make(chan any, 1)
	go func() { <-ctx.Done(); interrupt <- struct{}{} }()
	if err := w.Run(interrupt); err != nil {
		return fmt.Errorf("worker stopped: %w", err)
	}
	logger.Info("worker stopped gracefully")
	return nil
}
