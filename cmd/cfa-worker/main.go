// Command cfa-worker runs the CFA intent workflows and their activities
// with the shipped extension points. It loads the catalog and the policy
// bundle first and refuses to start when either does not load, naming the
// file, the rule and the position. SIGTERM or SIGINT stops polling and lets
// in-flight tasks finish. It logs JSON lines to stderr, timed in ISO-8601
// UTC (app.LoggerConfig), the error it stops on included.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/contextualflux/cfa/extension"
	"github.com/contextualflux/cfa/internal/app"
	"github.com/contextualflux/cfa/worker"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := worker.Run(ctx, extension.Points{}); err != nil {
		fatal(err)
	}
}

// fatal logs the error the worker stops on as the line before it, in the
// same format, and exits 1. The error names what to fix; the stack of
// main would add nothing.
func fatal(err error) {
	logger, lerr := app.NewLoggerAt(zapcore.InfoLevel)
	if lerr != nil {
		fmt.Fprintln(os.Stderr, "cfa worker:", err)
		os.Exit(1)
	}
	logger.WithOptions(zap.AddStacktrace(zapcore.FatalLevel)).Error("cfa worker stopped", zap.Error(err))
	_ = logger.Sync()
	os.Exit(1)
}
