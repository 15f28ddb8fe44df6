package main

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/trustfactory/attest/binding"
	"github.com/trustfactory/attest/collateral"
	"github.com/trustfactory/attest/ear"
	"github.com/trustfactory/attest/ear/token"
	"github.com/trustfactory/attest/gpu/ocsp"
	"github.com/trustfactory/attest/internal/pemchain"
	"github.com/trustfactory/attest/kbs"
	"github.com/trustfactory/attest/policy"
	"github.com/trustfactory/attest/setup"
	"github.com/trustfactory/attest/tpm"
	"github.com/trustfactory/attest/verify"
)

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
	var files []namedEvidence
	var total int
	for _, f := range o.files {
		b, err := readEvidence(f, stdin)
		if err != nil {
			fmt.Fprintln(stderr, "attest verify:", err)
			return exitError
		}
		// Each file is bounded; so is their sum, or a long argument list
		// (one large file named a hundred times) reads gigabytes.
		if total += len(b); total > maxEvidenceInput {
			fmt.Fprintf(stderr, "attest verify: the evidence files hold more than %d bytes together (at %s)\n", maxEvidenceInput, f)
			return exitError
		}
		files = append(files, namedEvidence{name: f, data: b})
	}
	evidence, err := prepareInputs(files)
	if err != nil {
		fmt.Fprintln(stderr, "attest verify:", err)
		return exitError
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
		if err := bundleContradictions(root.FS(), o); err != nil {
			fmt.Fprintln(stderr, "attest verify:", err)
			return exitError
		}
		if src, err = loadBundle(root.FS(), o.bundleRoots); err != nil {
			fmt.Fprintln(stderr, "attest verify: --collateral-dir:", err)
			return exitError
		}
	}
	// --timeout bounds everything, online fetches included: a vendor
	// service that stops answering must not hang the command.
	tctx, cancel := context.WithTimeoutCause(ctx, o.timeout, fmt.Errorf("--timeout %v passed", o.timeout))
	defer cancel()
	out, err := appraise(tctx, o, evidence, src)
	if tctx.Err() != nil && ctx.Err() == nil {
		fmt.Fprintf(stderr, "attest verify: no result within --timeout %v: a collateral fetch did not finish (raise --timeout, or verify offline with --collateral-dir)\n", o.timeout)
		return exitError
	}
	if err != nil {
		fmt.Fprintln(stderr, "attest verify:", err)
		return exitError
	}
	if err := configurationError(o, out); err != nil {
		fmt.Fprintln(stderr, "attest verify:", err)
		return exitError
	}
	if o.bundleRoots {
		markUnsafe(out, "TrustBundleRootsUnsafe")
	}
	if o.ocspMissing {
		markUnsafe(out, string(ocsp.UnsafeMissingAnswers))
	}
	if o.ppcie {
		if err := checkPPCIe(out); err != nil {
			fmt.Fprintln(stderr, "attest verify:", err)
			return exitError
		}
	}
	var tok []byte
	if o.keyFile != "" {
		jwk, err := readFlagFile("key", o.keyFile, maxKeyFile)
		if err != nil {
			fmt.Fprintln(stderr, "attest verify:", err)
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
		printHuman(stdout, out, o.expand)
		if tok != nil && o.tokenFile != "" {
			fmt.Fprintf(stdout, "token: %d bytes written to %s\n", len(tok), o.tokenFile)
		} else if tok != nil {
			fmt.Fprintf(stdout, "token:\n%s\n", tok)
		}
	}
	return exitCode(out.Status())
}

// bundlePart names the directories of a bundle that serve evidence of
// format f.
func bundlePart(f verify.Format) string {
	switch f {
	case verify.FormatTDX, verify.FormatAzureTDX:
		return "tdx/"
	case verify.FormatSGX:
		return "tdx/sgx/ (and the shared CRLs under tdx/)"
	case verify.FormatSNP, verify.FormatAzureSNP:
		return "snp/"
	case verify.FormatGPU, verify.FormatNVSwitch:
		return "gpu/rims/ or gpu/ocsp/"
	}
	return "own"
}

// configurationError returns the error of a submodule that failed because
// of the configuration (an ErrConfig, or collateral nothing configured
// provides): that is the user's to fix (exit 2), not a verdict on the
// evidence.
func configurationError(o *verifyOptions, out *verify.Outcome) error {
	hint := o.noCollateralHint()
	for _, s := range out.Submods {
		switch {
		case s.Err == nil:
		case verify.KindOf(s.Err) == verify.ErrConfig:
			return fmt.Errorf("%s (%s): %s", s.Name, s.Format, dedupe(s.Err.Error()))
		case !errors.Is(s.Err, verify.ErrCollateral):
		case strings.Contains(s.Err.Error(), hint):
			return fmt.Errorf("%s (%s): %s", s.Name, s.Format, dedupe(s.Err.Error()))
		case strings.Contains(s.Err.Error(), "no collateral source"):
			msg := dedupe(s.Err.Error())
			if o.collateralDir != "" {
				msg += fmt.Sprintf("; the bundle --collateral-dir %s has no %s part", o.collateralDir, bundlePart(s.Format))
			}
			return fmt.Errorf("%s (%s): %s", s.Name, s.Format, msg)
		case o.collateralDir != "" && errors.Is(s.Err, collateral.ErrNotFound) && !o.online:
			return fmt.Errorf("%s (%s): %s: the bundle --collateral-dir %s lacks it (the file named, under its %s part); add it, or give --online",
				s.Name, s.Format, dedupe(s.Err.Error()), o.collateralDir, bundlePart(s.Format))
		}
	}
	return nil
}

// markUnsafe records an unsafe switch of the command in the result and caps
// every submodule at warning.
func markUnsafe(out *verify.Outcome, name string) {
	r := out.Result
	if r.Extensions == nil {
		r.Extensions = map[string]any{}
	}
	u, _ := r.Extensions[ear.ExtUnsafe().Name].([]string)
	if !slices.Contains(u, name) {
		r.Extensions[ear.ExtUnsafe().Name] = append(u, name)
	}
	for _, a := range r.Submods {
		if a.Extensions == nil {
			a.Extensions = map[string]any{}
		}
		au, _ := a.Extensions[ear.ExtUnsafe().Name].([]string)
		if !slices.Contains(au, name) { // the verifier may have reported it already
			a.Extensions[ear.ExtUnsafe().Name] = append(au, name)
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
	applySwitches(&cfg, o)
	return setup.NewRegistry(cfg)
}

// tpmTrust reads the --tpm-ak PEM file: a TPM quote proves nothing without
// a trusted attestation key, so there is no default.
func tpmTrust(file string) (setup.TPMTrust, error) {
	var none setup.TPMTrust
	b, err := readFlagFile("tpm-ak", file, maxPEMFile)
	if err != nil {
		return none, err
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

// appraise verifies and appraises the evidence.
func appraise(ctx context.Context, o *verifyOptions, evidence []namedEvidence, src collateralSources) (*verify.Outcome, error) {
	reg, err := registry(o, src)
	if err != nil {
		return nil, err
	}
	var rv *policy.ReferenceValues
	if o.referenceValues != "" {
		// Read here through a bound: policy.LoadReferenceValues trusts the
		// size the file system reports, which a device does not.
		b, err := readFlagFile("reference-values", o.referenceValues, policy.MaxDocumentSize)
		if err != nil {
			return nil, err
		}
		if rv, err = policy.ParseReferenceValues(b); err != nil {
			return nil, fmt.Errorf("--reference-values %s: %w", o.referenceValues, err)
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
		verify.WithAnnotatedEvidence(o.verboseToken)) // the default verifier id names this build
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
		if derr != nil {
			return nil, undetected(e, derr)
		}
		c := verify.Component{Evidence: e.data, Format: f}
		if c.Expect, err = expectations(o, reg, f); err != nil {
			return nil, err
		}
		if len(c.Expect.ReportData) == 0 && !c.Expect.AllowMissingReportDataUnsafe {
			return nil, verify.Errorf(verify.ErrConfig, "%s (%s): nothing to bind it to: give %s (or --no-binding-unsafe: replayable, never affirming)", e.name, f, bindingFlags(f))
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
