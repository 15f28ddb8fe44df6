package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"

	"github.com/trustfactory/attest/internal/buildid"
)

// runVersion prints the build identity: module version, commit and Go
// version, the same identity tokens carry in their verifier id.
func runVersion(_ context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("attest version", flag.ContinueOnError)
	fl.SetOutput(stderr)
	asJSON := fl.Bool("json", false, "print the build identity as JSON")
	withHelp(fl, "usage: attest version [--json]\n")
	if err := fl.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return exitOK
		}
		return exitUsage
	}
	if fl.NArg() > 0 {
		fmt.Fprintf(stderr, "attest version: unexpected argument %q\n", fl.Arg(0))
		return exitUsage
	}
	info := buildid.Read()
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(map[string]string{"module": buildid.ModulePath, "version": info.Version, "commit": info.Commit, "go": info.GoVersion})
		return exitOK
	}
	fmt.Fprintln(stdout, info.String())
	return exitOK
}
