// Command attest verifies attestation evidence and EAR attestation-result
// tokens, makes offline collateral bundles, manages token signing keys and
// serves Trustee's attestation-service API.
//
//	attest verify [flags] [FILE ...]    (no FILE: the embedded samples)
//	attest collateral fetch EVIDENCE... --out DIR
//	attest collateral inspect DIR [EVIDENCE...]
//	attest collateral import --from dcap-qvl|trustee-kds|nvidia-rims SRC --out DIR
//	attest keys generate [--alg ES256] [--kid K] --out key.jwk --jwks jwks.json
//	attest token verify [--jwks FILE] [--key FILE] [--nonce HEX] [--now RFC3339] [--json] [FILE|-]
//	attest token inspect [--json] [FILE|-]
//	attest serve [--listen HOST:PORT] [--online] [--store memory|redis://…] ...
//	attest version [--json]
//
// attest <command> --help lists a command's flags. Exit codes: 0 success
// (for verify: the result is affirming), 1 verification failed or the result
// is contraindicated or none, 2 usage, input or configuration error, 3
// (verify only) the result is a warning. The collateral commands print their
// own table (1: an item does not verify, is missing or expired, or a fetch
// failed).
package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"os/signal"
	"slices"
	"strings"
)

// Exit codes.
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

// runFunc is the signature of every command, so commands run in-process in tests.
type runFunc func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int

type command struct {
	name    string
	summary string
	run     runFunc
}

// commands is the table main dispatches from.
var commands = []command{
	{"collateral", "make and check offline collateral bundles (collateral fetch, inspect, import)", runCollateral},
	{"keys", "manage EAR token signing keys (keys generate)", runKeys},
	{"token", "verify or inspect an EAR token (token verify, token inspect)", runToken},
	{"serve", "serve the Trustee-compatible attestation service (serve --listen HOST:PORT)", runServe},
	{"verify", "verify attestation evidence and issue an EAR", runVerify},
	{"version", "print the module version, commit and Go version", runVersion},
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run dispatches args[0] to its command.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	for _, c := range commands {
		if c.name == args[0] {
			return c.run(ctx, args[1:], stdin, stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "attest: unknown command %q\n\n", args[0])
	usage(stderr)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: attest <command> [arguments]")
	fmt.Fprintln(w, "\ncommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, "\n"+exitCodeTable)
}

// subcommand dispatches to one of subs, printing usage on a miss.
func subcommand(ctx context.Context, name string, subs map[string]runFunc, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || subs[args[0]] == nil {
		names := slices.Sorted(maps.Keys(subs))
		if len(args) > 0 && args[0] != "-h" && args[0] != "--help" {
			fmt.Fprintf(stderr, "attest %s: unknown subcommand %q\n", name, args[0])
		}
		fmt.Fprintf(stderr, "usage: attest %s {%s} [flags]\n", name, strings.Join(names, "|"))
		return exitUsage
	}
	return subs[args[0]](ctx, args[1:], stdin, stdout, stderr)
}
