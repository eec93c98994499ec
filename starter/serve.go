package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/contextualflux/cfa/internal/app"
)

func (c *cli) serveCmd() *cobra.Command {
	listen := os.Getenv("CFA_API_LISTEN")
	if listen == "" {
		listen = app.DefaultAPIListen
	}
	cmd := &cobra.Command{
		Use:   "serve [--listen ADDR]",
		Short: "Serve the CFA API (gRPC, gRPC-Web and JSON over HTTP) until SIGTERM",
		Long: `Serve the service API (proto/cfa/v1/intent_service.proto) with Connect on one
address: gRPC and gRPC-Web for generated clients, and JSON over HTTP for curl:

  curl -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    -d '{"text": "..."}' http://127.0.0.1:8480/cfa.v1.IntentService/SubmitIntent

Every call needs a token (` + "`cfa token create`" + `) or a JWT of the issuer that
CFA_JWT_ISSUER and CFA_JWT_PUBLIC_KEY_FILE configure. gRPC health and reflection,
GET /healthz and GET /metrics (Prometheus) need none. It uses the same
DATABASE_URL, TEMPORAL_ADDRESS, catalog and policy bundle as the worker; traces
follow the standard OTEL_* variables (off unless set). SIGTERM or SIGINT stops
accepting calls and lets those in flight finish (up to 30 s).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			logger, err := app.NewLogger()
			if err != nil {
				return err
			}
			defer func() { _ = logger.Sync() }()
			srv, err := app.StartAPI(cmd.Context(), c.cfg, listen, logger)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.stderr(), "cfa API on http://%s (gRPC, gRPC-Web, JSON; /healthz, /metrics)\n", srv.Addr)
			select {
			case err = <-srv.Wait():
			case <-cmd.Context().Done():
			}
			ctx, cancel := context.WithTimeout(context.WithoutCancel(cmd.Context()), 30*time.Second)
			defer cancel()
			if serr := srv.Shutdown(ctx); err == nil {
				err = serr
			}
			return err
		},
	}
	cmd.Flags().StringVar(&listen, "listen", listen, "address to serve on (env CFA_API_LISTEN); in a container use 0.0.0.0:8480")
	return cmd
}
