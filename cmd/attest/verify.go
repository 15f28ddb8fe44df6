package main

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/trustfactory/attest/binding"
	"github.com/trustfactory/attest/collateral"
	"github.com/trustfactory/attest/ear"
	"github.com/trustfactory/attest/ear/token"
	"github.com/trustfactory/attest/gpu/ocsp"
	"github.com/trustfactory/attest/internal/buildid"
	"github.com/trustfactory/attest/internal/pemchain"
	"github.com/trustfactory/attest/kbs"
	"github.com/trustfactory/attest/policy"
	"github.com/trustfactory/attest/setup"
	"github.com/trustfactory/attest/snp"
	"github.com/trustfactory/attest/tpm"
	"github.com/trustfactory/attest/verify"
)

// Exit codes of attest verify, in line with the other commands (exitOK,
// exitFail, exitUsage) plus one for a warning result.
const (
	exitAffirming       = exitOK    // 0: every submodule and the overall result affirming
	exitContraindicated = exitFail  // 1: contraindicated, or no trust claim at all (none)
	exitError           = exitUsage // 2: usage, input or configuration error: no result
	exitWarning         = 3         // 3: the result is warning
)

const verifyUsage = `usage: attest verify [flags] [FILE ...]

Verifies attestation evidence (Intel TDX quotes, AMD SEV-SNP reports, NVIDIA
GPU and NVSwitch reports, and TPM 2.0 quotes when --tpm-ak names their AK
trust; raw or in Trustee's JSON shapes, detected from the bytes), appraises it
against reference values and prints one block per submodule with every check,
then the overall status. FILE "-" reads stdin. Without any argument it
appraises the embedded sample evidence.

A KBS attest request body (/kbs/v0/attest, with --kbs-tee naming the TEE of
/kbs/v0/auth) is appraised as the composite it describes, each piece bound to
the request's own runtime data as Trustee binds it.

Binding (one of them is required, or the evidence is refused):
  --runtime-data FILE|JSON  KBS runtime data {nonce, tee-pubkey[, additional-evidence]}:
                            CPU report data = H(JCS(doc)) ‖ 0…, GPU nonce = H(JCS(doc without
                            additional-evidence))[0:32]
  --report-data HEX         the CPU evidence's expected report data (zero-padded)
  --nonce HEX               the GPU evidence's expected 32-byte SPDM nonce
A TPM quote's extraData is bound like report data: --report-data, or D[0:32] of
--runtime-data.

Exit codes: 0 affirming, 1 contraindicated or none, 2 usage, input or configuration
error, 3 warning.

Flags:
`

// verifyOptions are the flags of attest verify.
type verifyOptions struct {
	files           []string
	runtimeArg      string // --runtime-data: a file name or inline JSON
	runtimeDoc      []byte // the runtime-data document it names
	reportData      []byte
	nonce           []byte
	hash            crypto.Hash
	referenceValues string
	now             time.Time
	collateralDir   string
	online          bool
	keyFile         string
	tokenFile       string
	jsonOut         bool
	profile         string
	checksInToken   bool
	verboseToken    bool
	noBindingUnsafe bool
	bundleRoots     bool
	ocspMissing     bool
	snpProduct      snp.Product
	kbsTEE          string
	tpmAK           string
}

type hexFlag struct{ b *[]byte }

func (h hexFlag) String() string { return "" }
func (h hexFlag) Set(s string) error {
	b, err := hex.DecodeString(strings.TrimPrefix(s, "0x"))
	if err != nil {
		return fmt.Errorf("not hex: %w", err)
	}
	if len(b) == 0 {
		return errors.New("empty")
	}
	*h.b = b
	return nil
}

func parseVerifyFlags(args []string, stderr io.Writer) (*verifyOptions, error) {
	o := &verifyOptions{hash: crypto.SHA384}
	fset := flag.NewFlagSet("verify", flag.ContinueOnError)
	fset.SetOutput(stderr)
	fset.Usage = func() {
		fmt.Fprint(stderr, verifyUsage)
		fset.PrintDefaults()
	}
	var now, hash, product string
	fset.StringVar(&o.runtimeArg, "runtime-data", "", "KBS runtime data: a file or inline JSON")
	fset.Var(hexFlag{&o.reportData}, "report-data", "expected CPU report data (hex)")
	fset.Var(hexFlag{&o.nonce}, "nonce", "expected GPU nonce (hex, 32 bytes)")
	fset.StringVar(&hash, "hash", "sha384", "runtime-data hash: sha384 or sha512")
	fset.StringVar(&o.referenceValues, "reference-values", "", "reference values (JSON or YAML, see package policy)")
	fset.StringVar(&now, "now", "", "verification time (RFC 3339; default: now)")
	fset.StringVar(&o.collateralDir, "collateral-dir", "", "offline collateral bundle: tdx/ (Intel PCS layout), snp/ (Trustee KDS store layout), gpu/rims/, gpu/ocsp/")
	fset.BoolVar(&o.online, "online", false, "fetch collateral, RIMs and OCSP answers from the vendor services")
	fset.StringVar(&o.keyFile, "key", "", "private JWK to sign the result with")
	fset.StringVar(&o.tokenFile, "token", "", "write the signed EAR (JWT) to this file (needs --key)")
	fset.BoolVar(&o.jsonOut, "json", false, "print the appraisal as JSON")
	fset.StringVar(&o.profile, "profile", "ietf", "EAR profile of the token: ietf (draft-03) or trustee")
	fset.BoolVar(&o.checksInToken, "checks-in-token", false, "put the explained checks into the token")
	fset.BoolVar(&o.verboseToken, "verbose-token", false, "put the verified claims into the token (annotated evidence)")
	fset.BoolVar(&o.noBindingUnsafe, "no-binding-unsafe", false, "accept evidence without checking its report data or nonce (replayable; never affirming)")
	fset.StringVar(&o.kbsTEE, "kbs-tee", "tdx", "TEE named at /kbs/v0/auth, for a KBS attest request body as input")
	fset.StringVar(&product, "snp-product", "", "AMD product (Milan, Genoa, Turin) of SNP reports that do not name theirs (version 2)")
	fset.StringVar(&o.tpmAK, "tpm-ak", "", "PEM file of TPM AK trust: PUBLIC KEY blocks are pinned AKs, CERTIFICATE blocks AK certificate roots")
	fset.BoolVar(&o.ocspMissing, "ocsp-allow-missing-unsafe", false, "accept GPU certificates whose OCSP answer is missing (revocation unknown; never affirming)")
	fset.BoolVar(&o.bundleRoots, "trust-bundle-roots-unsafe", false, "trust the roots in the collateral bundle (tdx/roots.pem, gpu/roots.pem, gpu/rim-roots.pem) instead of the pinned vendor roots (never affirming)")
	if err := fset.Parse(args); err != nil {
		return nil, err
	}
	o.files = fset.Args()
	switch hash {
	case "sha384":
	case "sha512":
		o.hash = crypto.SHA512
	default:
		return nil, fmt.Errorf("--hash %q: expected sha384 or sha512", hash)
	}
	if now != "" {
		t, err := time.Parse(time.RFC3339, now)
		if err != nil {
			return nil, fmt.Errorf("--now: %w", err)
		}
		o.now = t
	}
	if product != "" {
		p, err := snp.ParseProduct(product)
		if err != nil {
			return nil, fmt.Errorf("--snp-product: %w", err)
		}
		o.snpProduct = p
	}
	if o.bundleRoots && o.collateralDir == "" {
		return nil, errors.New("--trust-bundle-roots-unsafe needs --collateral-dir")
	}
	if o.tokenFile != "" && o.keyFile == "" {
		return nil, errors.New("--token needs --key")
	}
	if o.profile != "ietf" && o.profile != "trustee" {
		return nil, fmt.Errorf("--profile %q: expected ietf or trustee", o.profile)
	}
	if o.nonce != nil && len(o.nonce) != 32 {
		return nil, fmt.Errorf("--nonce: %d bytes, expected 32", len(o.nonce))
	}
	if o.runtimeArg != "" {
		// Read once: every component's expectations derive from it.
		doc, err := runtimeDataDoc(o.runtimeArg)
		if err != nil {
			return nil, err
		}
		o.runtimeDoc = doc
	}
	return o, nil
}

// runVerify is the attest verify command.
func runVerify(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		return runSamples(ctx, stdout, stderr)
	}
	o, err := parseVerifyFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitAffirming
	}
	if err != nil {
		fmt.Fprintln(stderr, "attest verify:", err)
		return exitError
	}
	if len(o.files) == 0 {
		o.files = []string{"-"}
	}
	var evidence []namedEvidence
	for _, f := range o.files {
		b, err := readEvidence(f, stdin)
		if err != nil {
			fmt.Fprintln(stderr, "attest verify:", err)
			return exitError
		}
		evidence = append(evidence, namedEvidence{name: f, data: b})
	}
	var src collateralSources
	if o.collateralDir != "" {
		// Through an os.Root: no symbolic link in the bundle leads outside it.
		root, err := os.OpenRoot(o.collateralDir)
		if err != nil {
			fmt.Fprintln(stderr, "attest verify: --collateral-dir:", err)
			return exitError
		}
		defer root.Close()
		if src, err = loadBundle(root.FS(), o.bundleRoots); err != nil {
			fmt.Fprintln(stderr, "attest verify: --collateral-dir:", err)
			return exitError
		}
	}
	out, err := appraise(ctx, o, evidence, src)
	if err != nil {
		fmt.Fprintln(stderr, "attest verify:", err)
		return exitError
	}
	if o.bundleRoots {
		markUnsafe(out, "TrustBundleRootsUnsafe")
	}
	if o.ocspMissing {
		markUnsafe(out, string(ocsp.UnsafeMissingAnswers))
	}
	var tok []byte
	if o.keyFile != "" {
		jwk, err := os.ReadFile(o.keyFile)
		if err != nil {
			fmt.Fprintln(stderr, "attest verify: --key:", err)
			return exitError
		}
		if tok, err = sign(jwk, out); err != nil {
			fmt.Fprintln(stderr, "attest verify: signing:", err)
			return exitError
		}
		if o.tokenFile != "" {
			if err := os.WriteFile(o.tokenFile, append(tok, '\n'), 0o644); err != nil {
				fmt.Fprintln(stderr, "attest verify: --token:", err)
				return exitError
			}
		}
	}
	if o.jsonOut {
		if err := printJSON(stdout, out, tok); err != nil {
			fmt.Fprintln(stderr, "attest verify:", err)
			return exitError
		}
	} else {
		printHuman(stdout, out)
		if tok != nil && o.tokenFile != "" {
			fmt.Fprintf(stdout, "token: %d bytes written to %s\n", len(tok), o.tokenFile)
		} else if tok != nil {
			fmt.Fprintf(stdout, "token:\n%s\n", tok)
		}
	}
	return exitCode(out.Status())
}

// markUnsafe records an unsafe switch of the command in the result and caps
// every submodule at warning.
func markUnsafe(out *verify.Outcome, name string) {
	r := out.Result
	if r.Extensions == nil {
		r.Extensions = map[string]any{}
	}
	u, _ := r.Extensions[ear.ExtUnsafe.Name].([]string)
	if !slices.Contains(u, name) {
		r.Extensions[ear.ExtUnsafe.Name] = append(u, name)
	}
	for _, a := range r.Submods {
		if a.Extensions == nil {
			a.Extensions = map[string]any{}
		}
		au, _ := a.Extensions[ear.ExtUnsafe.Name].([]string)
		if !slices.Contains(au, name) { // the verifier may have reported it already
			a.Extensions[ear.ExtUnsafe.Name] = append(au, name)
		}
		a.Status = ear.LeastTrusted(a.Status, ear.StatusWarning)
	}
	r.UpdateStatus()
}

func exitCode(s ear.Status) int {
	switch s {
	case ear.StatusAffirming:
		return exitAffirming
	case ear.StatusWarning:
		return exitWarning
	}
	return exitContraindicated
}

const maxEvidenceInput = 64 << 20

// isKBSRequest reports whether b looks like the body of a KBS attest
// request: then it is appraised as the composite it describes, bound to its
// own runtime data (whose nonce only a live KBS session can vouch for).
func isKBSRequest(b []byte) bool {
	t := bytes.TrimSpace(b)
	if len(t) == 0 || t[0] != '{' {
		return false
	}
	var probe map[string]json.RawMessage
	if json.Unmarshal(t, &probe) != nil {
		return false
	}
	_, ev := probe["tee-evidence"]
	_, rd := probe["runtime-data"]
	return ev && rd
}

func readEvidence(name string, stdin io.Reader) ([]byte, error) {
	var r io.Reader
	if name == "-" {
		if stdin == nil {
			return nil, errors.New("no standard input")
		}
		r = stdin
	} else {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, maxEvidenceInput+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(b) > maxEvidenceInput {
		return nil, fmt.Errorf("%s: more than %d bytes", name, maxEvidenceInput)
	}
	return b, nil
}

type namedEvidence struct {
	name string
	data []byte
}

// collateralSources are what an offline bundle (or the embedded samples)
// provide: the bundle itself, and the roots of a bundle that may replace the
// pinned ones. Nil fields: not provided.
type collateralSources struct {
	bundle fs.FS
	roots  setup.Roots // only from the embedded test samples or --trust-bundle-roots-unsafe
}

// registry builds the verifiers for the configured collateral with package
// setup: the bundle's parts, the vendor services for the rest with
// --online (one fetcher and one store), the TPM verifier with --tpm-ak.
func registry(o *verifyOptions, src collateralSources) (*verify.Registry, error) {
	cfg := setup.Config{
		Bundle:                 src.bundle,
		Roots:                  src.roots,
		SNPProduct:             o.snpProduct,
		OCSPAllowMissingUnsafe: o.ocspMissing,
		NoCollateralHint:       "give --collateral-dir or --online",
	}
	if o.online {
		cfg.Online = &setup.Online{Fetcher: &collateral.HTTPFetcher{UserAgent: "attest-verify"}}
	}
	if o.tpmAK != "" {
		trust, err := tpmTrust(o.tpmAK)
		if err != nil {
			return nil, err
		}
		cfg.TPM = trust
	}
	return setup.NewRegistry(cfg)
}

// tpmTrust reads the --tpm-ak PEM file: a TPM quote proves nothing without
// a trusted attestation key, so there is no default.
func tpmTrust(file string) (setup.TPMTrust, error) {
	var none setup.TPMTrust
	b, err := os.ReadFile(file)
	if err != nil {
		return none, verify.Wrap(verify.ErrConfig, fmt.Errorf("--tpm-ak: %w", err))
	}
	blks, err := pemchain.Blocks(b, 64)
	if err != nil {
		return none, verify.Errorf(verify.ErrConfig, "--tpm-ak %s: %v", file, err)
	}
	var keys []crypto.PublicKey
	var roots []*x509.Certificate
	for _, blk := range blks {
		switch blk.Type {
		case "PUBLIC KEY":
			k, err := x509.ParsePKIXPublicKey(blk.Bytes)
			if err != nil {
				return none, verify.Errorf(verify.ErrConfig, "--tpm-ak %s: public key %d: %w", file, len(keys), err)
			}
			keys = append(keys, k)
		case "CERTIFICATE":
			c, err := x509.ParseCertificate(blk.Bytes)
			if err != nil {
				return none, verify.Errorf(verify.ErrConfig, "--tpm-ak %s: certificate %d: %w", file, len(roots), err)
			}
			roots = append(roots, c)
		default:
			return none, verify.Errorf(verify.ErrConfig, "--tpm-ak %s: PEM block %q, expected PUBLIC KEY or CERTIFICATE", file, blk.Type)
		}
	}
	if len(keys) == 0 && len(roots) == 0 {
		return none, verify.Errorf(verify.ErrConfig, "--tpm-ak %s: no PUBLIC KEY or CERTIFICATE block", file)
	}
	return setup.TPMTrust{AKs: keys, AKRoots: roots}, nil
}

// expectations derives each component's expectations from the binding flags.
func expectations(o *verifyOptions, f verify.Format) (verify.Expectations, error) {
	exp := verify.Expectations{Now: o.now, AllowMissingReportDataUnsafe: o.noBindingUnsafe}
	device := f == verify.FormatGPU || f == verify.FormatNVSwitch
	switch {
	case device && o.nonce != nil:
		exp.ReportData = o.nonce
	case !device && o.reportData != nil:
		exp.ReportData = o.reportData
	case len(o.runtimeDoc) > 0:
		doc := o.runtimeDoc
		if device {
			var m map[string]json.RawMessage
			if err := json.Unmarshal(doc, &m); err != nil {
				return exp, verify.Errorf(verify.ErrConfig, "--runtime-data: expected a JSON object: %w", err)
			}
			delete(m, "additional-evidence")
			var err error
			if doc, err = json.Marshal(m); err != nil {
				return exp, err
			}
		}
		d, err := binding.Digest(doc, o.hash)
		if err != nil {
			return exp, fmt.Errorf("--runtime-data: %w", err)
		}
		if exp.ReportData, err = binding.ReportData(f, d); err != nil {
			return exp, err
		}
	}
	return exp, nil
}

func runtimeDataDoc(v string) ([]byte, error) {
	if strings.HasPrefix(strings.TrimSpace(v), "{") {
		return []byte(v), nil
	}
	b, err := os.ReadFile(v)
	if err != nil {
		return nil, verify.Errorf(verify.ErrConfig, "--runtime-data: %w", err)
	}
	return b, nil
}

// appraise verifies and appraises the evidence.
func appraise(ctx context.Context, o *verifyOptions, evidence []namedEvidence, src collateralSources) (*verify.Outcome, error) {
	reg, err := registry(o, src)
	if err != nil {
		return nil, err
	}
	var rv *policy.ReferenceValues
	if o.referenceValues != "" {
		if rv, err = policy.LoadReferenceValues(o.referenceValues); err != nil {
			return nil, err
		}
	}
	return appraiseWith(ctx, o, reg, rv, evidence)
}

func appraiseWith(ctx context.Context, o *verifyOptions, reg *verify.Registry, rv *policy.ReferenceValues, evidence []namedEvidence) (*verify.Outcome, error) {
	p, err := policy.New(rv)
	if err != nil {
		return nil, err
	}
	profile := ear.ProfileIETF03
	if o.profile == "trustee" {
		profile = ear.ProfileTrustee
	}
	a, err := verify.NewAppraiser(reg, p, verify.WithProfile(profile), verify.WithChecks(o.checksInToken),
		verify.WithAnnotatedEvidence(o.verboseToken),
		verify.WithVerifierID(ear.VerifierID{Developer: "https://github.com/trustfactory/attest", Build: buildid.Read().String()}))
	if err != nil {
		return nil, err
	}
	if len(evidence) == 1 && isKBSRequest(evidence[0].data) {
		// The request binds to its own runtime data: an expected value
		// given beside it would never be compared, so it is refused.
		if len(o.runtimeDoc) > 0 || o.reportData != nil || o.nonce != nil {
			return nil, verify.Errorf(verify.ErrConfig, "a KBS request body carries its own runtime data: --runtime-data, --report-data and --nonce do not apply to it")
		}
		req, err := kbs.ParseRequest(evidence[0].data)
		if err != nil {
			return nil, err
		}
		primary, err := kbs.Format(o.kbsTEE)
		if err != nil {
			return nil, fmt.Errorf("--kbs-tee: %w", err)
		}
		now := o.now
		if now.IsZero() {
			now = time.Now()
		}
		comps, err := kbs.Components(req, primary, o.hash, now)
		if err != nil {
			return nil, err
		}
		for i := range comps {
			comps[i].Expect.AllowMissingReportDataUnsafe = o.noBindingUnsafe
		}
		session, err := verify.NewSession(req.RuntimeData.Nonce, req.RuntimeData.TEEPubKey)
		if err != nil {
			return nil, err
		}
		return a.AppraiseSession(ctx, session, comps)
	}
	comps := make([]verify.Component, 0, len(evidence))
	for _, e := range evidence {
		f, derr := reg.Detect(e.data)
		if derr != nil && o.tpmAK == "" && tpm.DetectEncoding(e.data) {
			return nil, verify.Errorf(verify.ErrConfig, "%s: TPM evidence needs --tpm-ak: a quote proves nothing without a trusted attestation key", e.name)
		}
		c := verify.Component{Evidence: e.data, Expect: verify.Expectations{Now: o.now}}
		if derr == nil {
			c.Format = f
			if c.Expect, err = expectations(o, f); err != nil {
				return nil, err
			}
		}
		comps = append(comps, c)
	}
	if o.now.IsZero() {
		now := time.Now()
		for i := range comps {
			comps[i].Expect.Now = now
		}
	}
	// KBS runtime data names the session: the token then carries its nonce
	// and TEE key. Other runtime-data documents bind evidence but name none.
	var rd binding.RuntimeData
	if len(o.runtimeDoc) > 0 && json.Unmarshal(o.runtimeDoc, &rd) == nil && rd.Nonce != "" {
		if session, err := rd.Session(); err == nil {
			return a.AppraiseSession(ctx, session, comps)
		}
	}
	return a.AppraiseOutcome(ctx, comps)
}

func sign(privateJWK []byte, out *verify.Outcome) ([]byte, error) {
	s, err := token.NewSignerFromJWK(privateJWK)
	if err != nil {
		return nil, err
	}
	var opts []token.SignOption
	if na, ok := out.NotAfter(); ok {
		opts = append(opts, token.CapExpiry(na)) // never outlive the evidence's collateral
	}
	return s.SignJWT(out.Result, opts...)
}

// printHuman writes one block per submodule, each check with ✓ or ✗ and its
// reason, then the overall status.
func printHuman(w io.Writer, out *verify.Outcome) {
	for _, s := range out.Submods {
		format := string(s.Format)
		if format == "" {
			format = "unknown format"
		}
		fmt.Fprintf(w, "%s (%s): %s\n", safeText(s.Name), safeText(format), s.Appraisal.Status)
		if s.Err != nil {
			fmt.Fprintf(w, "  ✗ verification failed: %s\n", safeText(s.Err.Error()))
		}
		if s.Policy != nil {
			for _, c := range s.Policy.Checks {
				mark := "✓"
				if !c.OK {
					mark = "✗"
				}
				line := fmt.Sprintf("  %s %-34s %s", mark, safeText(c.ID), safeText(c.Title))
				var detail []string
				if c.Reason != "" {
					detail = append(detail, safeText(c.Reason))
				}
				if !c.OK && (c.Expected != "" || c.Actual != "") {
					detail = append(detail, fmt.Sprintf("expected %s, got %s", safeText(short(c.Expected)), orAbsent(safeText(short(c.Actual)))))
				}
				if c.Value != ear.NoClaim {
					detail = append(detail, fmt.Sprintf("%s=%d", c.Category, c.Value))
				}
				if len(detail) > 0 {
					line += ": " + strings.Join(detail, "; ")
				}
				fmt.Fprintln(w, line)
			}
		}
		if u, ok := s.Appraisal.Extensions[ear.ExtUnsafe.Name].([]string); ok && len(u) > 0 {
			fmt.Fprintf(w, "  ! unsafe switches in effect: %s (never affirming)\n", strings.Join(u, ", "))
		}
		fmt.Fprintf(w, "  trust vector: %s\n", vectorText(s.Appraisal.TrustVector))
	}
	fmt.Fprintf(w, "overall: %s\n", out.Status())
}

// safeText escapes control and other non-graphic characters: claim values
// come from evidence or from a token not yet verified, and control sequences
// must not reach the terminal (they could erase a warning or forge a
// "verified" line).
func safeText(s string) string {
	if utf8.ValidString(s) && strings.IndexFunc(s, func(r rune) bool { return !unicode.IsGraphic(r) }) < 0 {
		return s
	}
	q := strconv.QuoteToGraphic(s)
	return q[1 : len(q)-1]
}

func orAbsent(s string) string {
	if s == "" {
		return "nothing"
	}
	return s
}

func short(s string) string {
	if len(s) > 100 {
		return s[:97] + "…"
	}
	return s
}

func vectorText(v ear.TrustVector) string {
	var parts []string
	for _, c := range ear.Categories {
		if v[c] != ear.NoClaim {
			parts = append(parts, fmt.Sprintf("%s=%d", c, v[c]))
		}
	}
	if parts == nil {
		return "no claims"
	}
	return strings.Join(parts, " ")
}

type jsonCheck struct {
	ID       string `json:"id"`
	Title    string `json:"title"`
	OK       bool   `json:"ok"`
	Claim    string `json:"claim,omitempty"`
	Expected string `json:"expected,omitempty"`
	Actual   string `json:"actual,omitempty"`
	Reason   string `json:"reason,omitempty"`
	Category string `json:"category"`
	Value    int    `json:"value"`
}

type jsonSubmod struct {
	Name        string         `json:"name"`
	Format      string         `json:"format,omitempty"`
	Status      string         `json:"status"`
	TrustVector map[string]int `json:"trust_vector"`
	Error       string         `json:"error,omitempty"`
	PolicyID    string         `json:"policy_id,omitempty"`
	Checks      []jsonCheck    `json:"checks,omitempty"`
}

type jsonOutcome struct {
	Status  string       `json:"status"`
	Submods []jsonSubmod `json:"submods"`
	Token   string       `json:"token,omitempty"`
}

func outcomeJSON(out *verify.Outcome, tok []byte) jsonOutcome {
	j := jsonOutcome{Status: out.Status().String(), Token: string(tok)}
	for _, s := range out.Submods {
		js := jsonSubmod{Name: s.Name, Format: string(s.Format), Status: s.Appraisal.Status.String(), TrustVector: map[string]int{}}
		for _, c := range ear.Categories {
			js.TrustVector[c.String()] = int(s.Appraisal.TrustVector[c])
		}
		if s.Err != nil {
			js.Error = s.Err.Error()
		}
		if s.Policy != nil {
			js.PolicyID = s.Policy.PolicyID
			for _, c := range s.Policy.Checks {
				js.Checks = append(js.Checks, jsonCheck{ID: c.ID, Title: c.Title, OK: c.OK, Claim: c.Claim, Expected: c.Expected,
					Actual: c.Actual, Reason: c.Reason, Category: c.Category.String(), Value: int(c.Value)})
			}
		}
		j.Submods = append(j.Submods, js)
	}
	return j
}

func printJSON(w io.Writer, out *verify.Outcome, tok []byte) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(outcomeJSON(out, tok))
}

// loadBundle takes an offline collateral bundle (its layout is package
// setup's: tdx/, snp/, gpu/rims/, gpu/ocsp/). withRoots also reads
// tdx/roots.pem, gpu/roots.pem and gpu/rim-roots.pem; only the embedded
// test samples and --trust-bundle-roots-unsafe use it: a user's bundle
// never replaces the pinned vendor roots otherwise.
func loadBundle(fsys fs.FS, withRoots bool) (collateralSources, error) {
	s := collateralSources{bundle: fsys}
	if withRoots {
		var err error
		if s.roots, err = setup.ReadTestRoots(fsys); err != nil {
			return s, err
		}
	}
	return s, nil
}

// The embedded samples: each directory under samples/ holds a sample.json
// manifest, its evidence, and what it needs to verify offline.
//
//go:embed samples
var samplesFS embed.FS

type sampleManifest struct {
	Title           string   `json:"title"`
	Source          string   `json:"source"`
	Now             string   `json:"now"`
	Evidence        []string `json:"evidence"`
	RuntimeData     string   `json:"runtime_data,omitempty"`
	ReportData      string   `json:"report_data,omitempty"`
	Nonce           string   `json:"nonce,omitempty"`
	ReferenceValues string   `json:"reference_values,omitempty"`
	Collateral      string   `json:"collateral,omitempty"`
	TestRoots       bool     `json:"test_roots,omitempty"`
	OCSPMissing     bool     `json:"ocsp_allow_missing,omitempty"`
	Expect          string   `json:"expect"`
	Sign            bool     `json:"sign,omitempty"`
}

// runSamples appraises every embedded sample and prints its result; the
// composite sample's result is also signed with a fresh key. It exits 0 when
// every sample reached the status its manifest expects.
func runSamples(ctx context.Context, stdout, stderr io.Writer) int {
	ents, err := fs.ReadDir(samplesFS, "samples")
	if err != nil {
		fmt.Fprintln(stderr, "attest verify: samples:", err)
		return exitError
	}
	names := make([]string, 0, len(ents))
	for _, e := range ents {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	code := exitAffirming
	for _, n := range names {
		sub, _ := fs.Sub(samplesFS, path.Join("samples", n))
		if c := runSample(ctx, sub, n, stdout, stderr); c != exitAffirming {
			code = c
		}
	}
	return code
}

func runSample(ctx context.Context, fsys fs.FS, name string, stdout, stderr io.Writer) int {
	fail := func(err error) int {
		fmt.Fprintf(stderr, "attest verify: sample %s: %v\n", name, err)
		return exitError
	}
	mb, err := fs.ReadFile(fsys, "sample.json")
	if err != nil {
		return fail(err)
	}
	var m sampleManifest
	if err := json.Unmarshal(mb, &m); err != nil {
		return fail(err)
	}
	now, err := time.Parse(time.RFC3339, m.Now)
	if err != nil {
		return fail(err)
	}
	o := &verifyOptions{hash: crypto.SHA384, now: now, profile: "ietf", ocspMissing: m.OCSPMissing}
	if m.RuntimeData != "" {
		b, err := fs.ReadFile(fsys, m.RuntimeData)
		if err != nil {
			return fail(err)
		}
		o.runtimeDoc = b
	}
	if m.ReportData != "" {
		if o.reportData, err = hex.DecodeString(m.ReportData); err != nil {
			return fail(err)
		}
	}
	if m.Nonce != "" {
		if o.nonce, err = hex.DecodeString(m.Nonce); err != nil {
			return fail(err)
		}
	}
	var evidence []namedEvidence
	for _, f := range m.Evidence {
		b, err := fs.ReadFile(fsys, f)
		if err != nil {
			return fail(err)
		}
		evidence = append(evidence, namedEvidence{name: f, data: b})
	}
	var src collateralSources
	if m.Collateral != "" {
		sub, err := fs.Sub(fsys, m.Collateral)
		if err != nil {
			return fail(err)
		}
		if src, err = loadBundle(sub, m.TestRoots); err != nil {
			return fail(err)
		}
	}
	var rv *policy.ReferenceValues
	if m.ReferenceValues != "" {
		b, err := fs.ReadFile(fsys, m.ReferenceValues)
		if err != nil {
			return fail(err)
		}
		if rv, err = policy.ParseReferenceValues(b); err != nil {
			return fail(err)
		}
	}
	reg, err := registry(o, src)
	if err != nil {
		return fail(err)
	}
	out, err := appraiseWith(ctx, o, reg, rv, evidence)
	if err != nil {
		return fail(err)
	}
	if o.ocspMissing {
		markUnsafe(out, string(ocsp.UnsafeMissingAnswers))
	}
	fmt.Fprintf(stdout, "== sample %s: %s\n", name, m.Title)
	if m.Source != "" {
		fmt.Fprintf(stdout, "   %s\n", m.Source)
	}
	fmt.Fprintf(stdout, "   verified at %s\n\n", now.Format(time.RFC3339))
	printHuman(stdout, out)
	if m.Sign {
		priv, jwks, err := token.GenerateKey(token.ES256, "attest-sample")
		if err != nil {
			return fail(err)
		}
		tok, err := sign(priv, out)
		if err != nil {
			return fail(err)
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, jwks); err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "\nsigned EAR (ES256; the key was generated for this run, JWKS %s):\n%s\n", compact.Bytes(), tok)
	}
	fmt.Fprintln(stdout)
	if out.Status().String() != m.Expect {
		fmt.Fprintf(stderr, "attest verify: sample %s: status %s, expected %s\n", name, out.Status(), m.Expect)
		return exitCode(out.Status())
	}
	return exitAffirming
}
