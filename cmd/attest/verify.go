package main

import (
	"context"
	"fmt"
	"io"
)

// runVerify is a placeholder until evidence verification lands in the CLI.
func runVerify(_ context.Context, _ []string, _ io.Reader, _, stderr io.Writer) int {
	fmt.Fprintln(stderr, "attest verify: not available in this build")
	return exitUsage
}
