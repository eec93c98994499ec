// Command cfa-worker runs the CFA intent workflows and their activities
// with the shipped extension points. It loads the catalog and the policy
// bundle first and refuses to start when either does not load, naming the
// file, the rule and the position. SIGTERM or SIGINT stops polling and lets
// in-flight tasks finish.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/contextualflux/cfa/extension"
	"github.com/contextualflux/cfa/worker"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := worker.Run(ctx, extension.Points{}); err != nil {
		fmt.Fprintln(os.Stderr, "cfa worker:", err)
		os.Exit(1)
	}
}
