// Command cfa-demo runs demonstrations and measurements of the
// governed-execution system against a running Temporal server.
// Every command takes --output json and exits non-zero on failure.
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

	"github.com/contextualflux/cfa/internal/app"
)

// cli carries global flags.
type cli struct {
	cfg    app.Config
	output string
	out    io.Writer
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	c := &cli{cfg: app.FromEnv(), out: os.Stdout}
	if err := c.root().ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "cfa-demo:", err)
		os.Exit(1)
	}
}

func (c *cli) root() *cobra.Command {
	root := &cobra.Command{
		Use:           "cfa-demo",
		Short:         "Demonstrations and measurements of CFA v2 on Temporal",
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
	root.AddCommand(c.benchCmd())
	return root
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
