package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/trustfactory/attest/ear"
	"github.com/trustfactory/attest/ear/token"
	"github.com/trustfactory/attest/kbs"
	"github.com/trustfactory/attest/verify"
)

func runToken(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return subcommand(ctx, "token", map[string]runFunc{"verify": runTokenVerify, "inspect": runTokenInspect}, args, stdin, stdout, stderr)
}

// readInput reads the token from a file or "-" (stdin), reading at most
// limit+1 bytes so an oversized token is still reported as too large by the
// verifier, and trims surrounding whitespace of text tokens.
func readInput(name string, stdin io.Reader, limit int) ([]byte, error) {
	var r io.Reader = stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, int64(limit)+1))
	if err != nil {
		return nil, err
	}
	if token.DetectFormat(bytes.TrimSpace(b)) == token.FormatJWT {
		b = bytes.TrimSpace(b)
	}
	return b, nil
}

func inputName(fl *flag.FlagSet) (string, error) {
	switch fl.NArg() {
	case 0:
		return "-", nil
	case 1:
		return fl.Arg(0), nil
	}
	return "", fmt.Errorf("expected one token file or -, got %d arguments", fl.NArg())
}

// runTokenVerify verifies a token against trusted keys and prints its claims.
func runTokenVerify(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("attest token verify", flag.ContinueOnError)
	fl.SetOutput(stderr)
	withHelp(fl, "")
	jwksFile := fl.String("jwks", "", "trusted JWKS file")
	keyFile := fl.String("key", "", "trusted public key file (JWK or PEM)")
	keyAlg := fl.String("alg", "", "algorithm of a PEM RSA --key (PS256 or PS384)")
	nonceHex := fl.String("nonce", "", "expected eat_nonce, hex")
	nowStr := fl.String("now", "", "verification time: RFC 3339 (2026-03-01T12:00:00Z) or a date (2026-03-01, midnight UTC); default: now")
	skew := fl.Duration("skew", 0, "tolerated clock skew")
	issuer := fl.String("issuer", "", "expected issuer (iss)")
	audience := fl.String("audience", "", "expected audience (aud)")
	asJSON := fl.Bool("json", false, "machine-readable output")
	noExp := fl.Bool("allow-missing-expiry-unsafe", false, "accept tokens without exp (legacy Veraison tokens); never for production")
	if err := fl.Parse(args); err != nil {
		return parseExit(err)
	}
	fail := func(code int, format string, a ...any) int {
		msg := fmt.Sprintf(format, a...)
		fmt.Fprintf(stderr, "attest token verify: %s\n", msg)
		if *asJSON {
			writeJSON(stdout, map[string]any{"verified": false, "error": msg})
		}
		return code
	}
	name, err := inputName(fl)
	if err != nil {
		return fail(exitUsage, "%v", err)
	}
	if *jwksFile == "" && *keyFile == "" {
		return fail(exitUsage, "no trusted key: give --jwks FILE or --key FILE")
	}
	var keys []*token.Key
	if *jwksFile != "" {
		b, err := readFlagFile("jwks", *jwksFile, maxJWKSFile)
		if err != nil {
			return fail(exitUsage, "%v", err)
		}
		set, err := token.ParseJWKS(b)
		if err != nil {
			return fail(exitUsage, "--jwks %s: %v", *jwksFile, err)
		}
		keys = append(keys, set.Keys()...)
	}
	if *keyFile != "" {
		k, err := loadKey(*keyFile, *keyAlg)
		if err != nil {
			return fail(exitUsage, "--key %s: %v", *keyFile, err)
		}
		keys = append(keys, k)
	}
	set, err := token.NewKeySet(keys...)
	if err != nil {
		return fail(exitUsage, "%v", err)
	}
	exp := token.Expectations{Skew: *skew, Issuer: *issuer, Audience: *audience}
	if *nowStr != "" {
		if exp.Now, err = parseNow(*nowStr); err != nil {
			return fail(exitUsage, "%v", err)
		}
	}
	if *nonceHex != "" {
		if exp.Nonce, err = hex.DecodeString(*nonceHex); err != nil || len(exp.Nonce) == 0 {
			return fail(exitUsage, "--nonce: expected hex, got %q", *nonceHex)
		}
	}
	var vopts []token.VerifierOption
	if *noExp {
		fmt.Fprintln(stderr, "attest token verify: WARNING: --allow-missing-expiry-unsafe: tokens without exp never expire")
		vopts = append(vopts, token.WithMissingExpiryUnsafe())
	}
	v, err := token.NewVerifier(set, vopts...)
	if err != nil {
		return fail(exitUsage, "%v", err)
	}
	tok, err := readInput(name, stdin, token.DefaultMaxSize)
	if err != nil {
		return fail(exitUsage, "%v", err)
	}
	r, err := v.Verify(ctx, tok, exp)
	if err != nil {
		if errors.Is(err, verify.ErrConfig) {
			return fail(exitUsage, "%v", err)
		}
		return fail(exitFail, "token NOT verified: %v", err)
	}
	status := r.OverallStatus()
	if *asJSON {
		claims, err := r.MarshalJSON()
		if err != nil {
			return fail(exitUsage, "claims: %v", err)
		}
		writeJSON(stdout, map[string]any{"verified": true, "format": token.DetectFormat(tok).String(),
			"status": status.String(), "affirming": status == ear.StatusAffirming, "claims": json.RawMessage(claims)})
	} else {
		fmt.Fprintf(stdout, "token verified: signature by a trusted key, claims valid (%s)\n\n", token.DetectFormat(tok))
		printResult(stdout, r)
	}
	if status != ear.StatusAffirming {
		fmt.Fprintf(stderr, "attest token verify: token verified, but the overall status is %s, not affirming\n", status)
		return exitFail
	}
	return exitOK
}

func loadKey(path, alg string) (*token.Key, error) {
	b, err := readFlagFile("key", path, maxKeyFile)
	if err != nil {
		return nil, err
	}
	if bytes.Contains(b, []byte("-----BEGIN")) {
		var a token.Algorithm
		if alg != "" {
			if a, err = token.ParseAlgorithm(alg); err != nil {
				return nil, err
			}
		}
		return token.ParsePublicKeyPEM(b, "", a)
	}
	return token.ParseJWK(b)
}

// runTokenInspect decodes a token WITHOUT verifying it.
func runTokenInspect(_ context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("attest token inspect", flag.ContinueOnError)
	fl.SetOutput(stderr)
	withHelp(fl, "")
	asJSON := fl.Bool("json", false, "machine-readable output")
	if err := fl.Parse(args); err != nil {
		return parseExit(err)
	}
	name, err := inputName(fl)
	if err != nil {
		fmt.Fprintf(stderr, "attest token inspect: %v\n", err)
		return exitUsage
	}
	tok, err := readInput(name, stdin, token.DefaultMaxSize)
	if err != nil {
		fmt.Fprintf(stderr, "attest token inspect: %v\n", err)
		return exitUsage
	}
	const warning = "WARNING: UNVERIFIED TOKEN: the signature was NOT checked; nothing below is trustworthy. Use 'attest token verify'."
	fmt.Fprintln(stderr, warning)
	in, err := token.Inspect(tok)
	if err != nil {
		fmt.Fprintf(stderr, "attest token inspect: %v\n", err)
		return exitUsage
	}
	if *asJSON {
		out := map[string]any{"verified": false, "warning": warning, "format": in.Format.String(), "header": in.Header}
		if in.Claims != nil {
			if claims, err := in.Claims.MarshalJSON(); err == nil {
				out["claims"] = json.RawMessage(claims)
			}
		}
		if in.ClaimsError != nil {
			out["claims_error"] = in.ClaimsError.Error()
		}
		writeJSON(stdout, out)
		return exitOK
	}
	fmt.Fprintf(stdout, "!!! %s\n\nformat      %s\n", warning, in.Format)
	hdr, _ := json.Marshal(in.Header)
	fmt.Fprintf(stdout, "header      %s\n", hdr)
	if in.ClaimsError != nil {
		fmt.Fprintf(stdout, "claims      NOT valid EAR: %s\n", safeText(in.ClaimsError.Error()))
	}
	if in.Claims != nil {
		fmt.Fprintln(stdout)
		printResult(stdout, in.Claims)
	}
	return exitOK
}

func writeJSON(w io.Writer, v any) {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return fmt.Sprintf("%s (%d)", t.UTC().Format(time.RFC3339), t.Unix())
}

// categoryAbbrev are the column headers of the trust vector table.
var categoryAbbrev = [...]string{"INST", "CONF", "EXEC", "FS", "HW", "RT-OPQ", "ST-OPQ", "SRC"}

// printResult prints the claims and a table of submods with their statuses
// and trust vectors.
func printResult(w io.Writer, r *ear.Result) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "profile\t%s (%s names)\n", safeText(r.Profile), r.Generation())
	fmt.Fprintf(tw, "issued at\t%s\n", fmtTime(r.IssuedAt))
	fmt.Fprintf(tw, "expires\t%s\n", fmtTime(r.ExpiresAt))
	if !r.NotBefore.IsZero() {
		fmt.Fprintf(tw, "not before\t%s\n", fmtTime(r.NotBefore))
	}
	if r.Issuer != "" {
		fmt.Fprintf(tw, "issuer\t%s\n", safeText(r.Issuer))
	}
	if len(r.Audience) > 0 {
		fmt.Fprintf(tw, "audience\t%s\n", safeText(strings.Join(r.Audience, ", ")))
	}
	if r.ID != "" {
		fmt.Fprintf(tw, "token id\t%s\n", safeText(r.ID))
	}
	fmt.Fprintf(tw, "verifier\t%s, %s\n", safeText(r.VerifierID.Developer), safeText(r.VerifierID.Build))
	if r.Nonce != nil {
		fmt.Fprintf(tw, "nonce\t%x\n", r.Nonce)
	}
	if r.RawEvidence != nil {
		fmt.Fprintf(tw, "raw evidence\t%d bytes\n", len(r.RawEvidence))
	}
	fmt.Fprintf(tw, "status\t%s\n", strings.ToUpper(r.OverallStatus().String()))
	if u, ok := r.Extensions[ear.ExtUnsafe().Name]; ok {
		fmt.Fprintf(tw, "UNSAFE\t%s (not for production)\n", safeText(fmt.Sprint(u)))
	}
	tw.Flush()
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "SUBMOD\tSTATUS\t%s\tPOLICY\n", strings.Join(categoryAbbrev[:], "\t"))
	for _, name := range r.SubmodNames() {
		a := r.Submods[name]
		if a == nil {
			continue
		}
		cells := make([]string, len(a.TrustVector))
		for i, c := range a.TrustVector {
			cells[i] = fmt.Sprint(int(c))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", safeText(name), a.Status, strings.Join(cells, "\t"), safeText(strings.Join(a.PolicyIDs, ",")))
	}
	tw.Flush()
	fmt.Fprintln(w, "\nINST instance-identity, CONF configuration, EXEC executables, FS file-system, HW hardware,")
	fmt.Fprintln(w, "RT-OPQ runtime-opaque, ST-OPQ storage-opaque, SRC sourced-data (AR4SI: 2-31 affirming, 32-95 warning, 96+ contraindicated)")
	for _, name := range r.SubmodNames() {
		a := r.Submods[name]
		if a == nil {
			continue
		}
		// A Trustee-profile token carries these in the annotated evidence.
		reason, unsafe := kbs.AppraisalNotes(a)
		if reason != "" {
			fmt.Fprintf(w, "%s: %s\n", safeText(name), safeText(reason))
		}
		if unsafe != nil {
			fmt.Fprintf(w, "%s: UNSAFE %s (not for production)\n", safeText(name), safeText(fmt.Sprint(unsafe)))
		}
	}
}
