package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/trustfactory/attest/ear/token"
)

func runKeys(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return subcommand(ctx, "keys", map[string]runFunc{"generate": runKeysGenerate}, args, stdin, stdout, stderr)
}

// runKeysGenerate writes a new private signing JWK (mode 0600) and its public JWKS.
func runKeysGenerate(_ context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("attest keys generate", flag.ContinueOnError)
	fl.SetOutput(stderr)
	withHelp(fl, "")
	alg := fl.String("alg", string(token.ES256), "signature algorithm: ES256, ES384, EdDSA, PS256 or PS384")
	kid := fl.String("kid", "", "key id (default: the key's RFC 7638 thumbprint)")
	out := fl.String("out", "", "private key file to create (JWK, mode 0600)")
	jwks := fl.String("jwks", "", "public JWKS file to write")
	force := fl.Bool("force", false, "overwrite existing files")
	if err := fl.Parse(args); err != nil {
		return parseExit(err)
	}
	if *out == "" || *jwks == "" || fl.NArg() > 0 {
		fmt.Fprintln(stderr, "attest keys generate: --out and --jwks are required and no arguments are accepted")
		fl.Usage()
		return exitUsage
	}
	a, err := token.ParseAlgorithm(*alg)
	if err != nil {
		fmt.Fprintf(stderr, "attest keys generate: %v\n", err)
		return exitUsage
	}
	priv, pub, err := token.GenerateKey(a, *kid)
	if err != nil {
		fmt.Fprintf(stderr, "attest keys generate: %v\n", err)
		return exitFail
	}
	if err := writeFile(*out, priv, 0o600, *force); err != nil {
		fmt.Fprintf(stderr, "attest keys generate: %v\n", err)
		return exitUsage
	}
	if err := writeFile(*jwks, pub, 0o644, *force); err != nil {
		fmt.Fprintf(stderr, "attest keys generate: %v\n", err)
		return exitUsage
	}
	ks, err := token.ParseJWKS(pub)
	if err != nil {
		fmt.Fprintf(stderr, "attest keys generate: %v\n", err)
		return exitFail
	}
	k := ks.Keys()[0]
	fmt.Fprintf(stdout, "generated %s key %q\n  private key: %s (keep secret)\n  public JWKS: %s\n", k.Algorithm, k.ID, *out, *jwks)
	return exitOK
}

// writeFile creates path with mode perm, refusing to replace an existing file
// unless force; the mode is applied even when the file existed.
func writeFile(path string, data []byte, perm fs.FileMode, force bool) error {
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if force {
		flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	f, err := os.OpenFile(path, flags, perm)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%s exists (use --force to overwrite)", path)
	}
	if err != nil {
		return err
	}
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(append(data, '\n')); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
