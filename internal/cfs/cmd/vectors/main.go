// Command vectors writes testdata/cfs/vectors.json, the CFS canonical
// encoding test vectors (internal/cfs/vectors). Run it from the repository
// root: go run ./internal/cfs/cmd/vectors
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/contextualflux/cfa/internal/cfs/vectors"
)

func main() {
	out := flag.String("out", vectors.Path, "file to write")
	flag.Parse()
	b, err := vectors.Build()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := os.WriteFile(*out, b, 0o644); err != nil {
		fmt.Fprintf(os.Stderr, "vectors: write %s: %v\n", *out, err)
		os.Exit(1)
	}
}
