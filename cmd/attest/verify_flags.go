package main

import (
	"crypto"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/url"

	"strings"
	"time"

	"github.com/trustfactory/attest/binding"
	"github.com/trustfactory/attest/collateral"
	"github.com/trustfactory/attest/setup"
	"github.com/trustfactory/attest/snp"
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

Verifies attestation evidence (Intel TDX and SGX quotes, AMD SEV-SNP reports,
Azure SEV-SNP and TDX confidential-VM evidence, NVIDIA GPU and NVSwitch
reports, AWS Nitro Enclaves documents, and TPM 2.0 quotes when --tpm-ak names
their AK trust; raw or in Trustee's JSON shapes, detected from the bytes),
appraises it against reference values and prints one block per submodule with
every check, then the overall status. FILE "-" reads stdin.

Without any argument it appraises the embedded samples (cmd/attest/samples) at
their pinned times and exits 0 when each reaches the status it is expected to:
the real GPU sample is a warning by design (no OCSP answer for its device
chain was recorded, so it runs with missing answers allowed).

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

Evidence may be binary, JSON or hex text (dcap-qvl's .hex quotes, NVIDIA's
.txt reports); a raw GPU or switch report given with its PEM chain file
(REPORT CHAIN) is one component. --ppcie checks that the GPU and switch
evidence forms one protected-PCIe system.

Flags ending in -unsafe turn a check off: the result records them and is
never affirming.
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
	timeout         time.Duration
	expand          bool
	ppcie           bool
	switches        setup.Unsafe
	gpuPadding      bool
	pcsURL          string
	pccsURL         string
	kdsURL          string
	rimURL          string
	ocspURL         string
}

// defaultTimeout bounds a verification with --online: vendor services that
// stop answering must not hang the command.
const defaultTimeout = 60 * time.Second

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
	withHelp(fset, verifyUsage)
	var now, hash, product string
	fset.StringVar(&o.runtimeArg, "runtime-data", "", "KBS runtime data: a file or inline JSON")
	fset.Var(hexFlag{&o.reportData}, "report-data", "expected CPU report data (hex)")
	fset.Var(hexFlag{&o.nonce}, "nonce", "expected GPU nonce (hex, 32 bytes)")
	fset.StringVar(&hash, "hash", "sha384", "runtime-data hash: sha384 or sha512")
	fset.StringVar(&o.referenceValues, "reference-values", "", "reference values (JSON or YAML, see package policy)")
	fset.StringVar(&now, "now", "", "verification time: RFC 3339 (2026-03-01T12:00:00Z) or a date (2026-03-01, midnight UTC); default: now. The token is issued at it (check it with token verify --now)")
	fset.DurationVar(&o.timeout, "timeout", defaultTimeout, "give up after this long (online fetches included), e.g. 30s, 2m")
	fset.BoolVar(&o.expand, "expand", false, "print every GPU and switch block, even identical ones")
	fset.BoolVar(&o.ppcie, "ppcie", false, "check that the GPU and switch evidence forms one protected-PCIe system (8 GPUs, 4 switches)")
	fset.BoolVar(&o.switches.TDXWithoutCollateral, "tdx-without-collateral-unsafe", false, "verify TDX quotes without collateral: signature and PCK chain only, no TCB status, no revocation (never affirming)")
	fset.BoolVar(&o.switches.SNPWithoutRevocation, "snp-without-revocation-unsafe", false, "do not check the AMD ASK/ASVK CRL (never affirming)")
	fset.BoolVar(&o.switches.GPUWithoutRIMs, "gpu-without-rims-unsafe", false, "do not compare GPU and switch measurements with RIMs (never affirming)")
	fset.BoolVar(&o.switches.GPUWithoutRevocation, "gpu-without-revocation-unsafe", false, "skip OCSP for GPU and switch certificates (never affirming)")
	fset.BoolVar(&o.gpuPadding, "gpu-allow-trailing-zero-padding", false, "tolerate up to 16 zero bytes after a GPU or switch report's signature, as some capture paths append")
	fset.StringVar(&o.pcsURL, "pcs-url", "", "with --online: base URL of an Intel PCS mirror for TDX collateral")
	fset.StringVar(&o.pccsURL, "pccs-url", "", "with --online: base URL of a PCCS for TDX collateral (the root CA CRL from it too)")
	fset.StringVar(&o.kdsURL, "kds-url", "", "with --online: AMD KDS mirror base URL")
	fset.StringVar(&o.rimURL, "rim-url", "", "with --online: NVIDIA RIM service mirror base URL")
	fset.StringVar(&o.ocspURL, "ocsp-url", "", "with --online: OCSP responder URL for every GPU certificate")
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
		t, err := parseNow(now)
		if err != nil {
			return nil, err
		}
		o.now = t
	}
	if o.timeout <= 0 {
		return nil, fmt.Errorf("--timeout %v: expected a positive duration such as 30s or 2m", o.timeout)
	}
	if err := o.contradictions(); err != nil {
		return nil, err
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

// reportData places the runtime-data digest d as evidence of format f
// carries it: where package binding knows the format, else where its
// verifier in reg says (verify.ReportDataPlacer: NRAS results, Nitro
// documents and formats registered later).
func reportData(reg *verify.Registry, f verify.Format, d []byte) ([]byte, error) {
	rd, err := binding.ReportData(f, d)
	if err == nil || !errors.Is(err, verify.ErrUnsupported) || reg == nil {
		return rd, err
	}
	v, ok := reg.Lookup(f)
	if !ok {
		return nil, err
	}
	return binding.ReportDataFor(v, d)
}

// parseNow reads --now: RFC 3339, or a date meaning its midnight UTC.
func parseNow(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("--now %q: expected a date (2026-03-01, midnight UTC) or an RFC 3339 time (2026-03-01T12:00:00Z)", s)
}

// contradictions refuses flags that ask for two incompatible things, naming
// both, before anything is read.
func (o *verifyOptions) contradictions() error {
	mirrors := o.pcsURL != "" || o.pccsURL != "" || o.kdsURL != "" || o.rimURL != "" || o.ocspURL != ""
	switch {
	case mirrors && !o.online:
		return errors.New("--pcs-url, --pccs-url, --kds-url, --rim-url and --ocsp-url need --online")
	case o.pcsURL != "" && o.pccsURL != "":
		return errors.New("--pcs-url and --pccs-url both name the TDX collateral service: give one")
	case o.switches.TDXWithoutCollateral && o.online:
		return errors.New("--tdx-without-collateral-unsafe and --online contradict each other: give one")
	case o.switches.GPUWithoutRIMs && o.online:
		return errors.New("--gpu-without-rims-unsafe and --online contradict each other: give one")
	case o.switches.GPUWithoutRevocation && o.online:
		return errors.New("--gpu-without-revocation-unsafe and --online contradict each other: give one")
	case o.switches.GPUWithoutRevocation && o.ocspMissing:
		return errors.New("--gpu-without-revocation-unsafe skips the OCSP answers --ocsp-allow-missing-unsafe tolerates missing: give one")
	case o.reportData != nil && o.runtimeArg != "":
		// Either binds the CPU evidence; one would be silently ignored.
		return errors.New("--report-data and --runtime-data both bind the CPU evidence: give one")
	case o.nonce != nil && o.runtimeArg != "":
		return errors.New("--nonce and --runtime-data both bind the GPU and switch evidence: give one")
	}
	for _, m := range []struct{ flag, v string }{{"pcs-url", o.pcsURL}, {"pccs-url", o.pccsURL}, {"kds-url", o.kdsURL}, {"rim-url", o.rimURL}, {"ocsp-url", o.ocspURL}} {
		if m.v == "" {
			continue
		}
		// Checked here so that the message names the flag; the sources
		// check their base URLs again.
		if u, err := url.Parse(m.v); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return fmt.Errorf("--%s %q: expected an http(s) URL with a host", m.flag, m.v)
		}
	}
	return nil
}

// expectations derives each component's expectations from the binding flags.
func expectations(o *verifyOptions, reg *verify.Registry, f verify.Format) (verify.Expectations, error) {
	exp := verify.Expectations{Now: o.now, AllowMissingReportDataUnsafe: o.noBindingUnsafe}
	device := isDevice(f)
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
		if exp.ReportData, err = reportData(reg, f, d); err != nil {
			return exp, err
		}
	}
	return exp, nil
}

func runtimeDataDoc(v string) ([]byte, error) {
	if strings.HasPrefix(strings.TrimSpace(v), "{") {
		return []byte(v), nil
	}
	b, err := readFlagFile("runtime-data", v, maxRuntimeData)
	if err != nil {
		return nil, err
	}
	return b, nil
}

// applySwitches puts the verifier switches, mirrors and --timeout of the
// flags into cfg.
func applySwitches(cfg *setup.Config, o *verifyOptions) {
	cfg.Unsafe = o.switches
	cfg.GPUAllowTrailingZeroPadding = o.gpuPadding
	cfg.NoCollateralHint = o.noCollateralHint()
	if cfg.Online != nil {
		// Each attempt and each back-off fits in --timeout, so that a fetch
		// the command gave up on (the collateral cache finishes it for
		// other callers) does not linger much beyond it either.
		backoff := min(collateral.DefaultMaxBackoff, o.timeout/4)
		cfg.Online.Fetcher = &collateral.HTTPFetcher{UserAgent: "attest-verify", Timeout: o.timeout,
			MinBackoff: min(collateral.DefaultMinBackoff, backoff), MaxBackoff: backoff}
		cfg.Online.TDXBaseURL, cfg.Online.KDSBaseURL = o.pcsURL, o.kdsURL
		if o.pccsURL != "" {
			cfg.Online.TDXBaseURL, cfg.Online.PCCS = o.pccsURL, true
		}
		cfg.Online.RIMBaseURL, cfg.Online.OCSPResponderURL = o.rimURL, o.ocspURL
	}
}

// noCollateralHint ends the error of evidence whose collateral nothing
// configured provides, naming the flags that would.
func (o *verifyOptions) noCollateralHint() string {
	if o.collateralDir != "" {
		return fmt.Sprintf("the bundle --collateral-dir %s lacks that part (tdx/, snp/, gpu/rims/, gpu/ocsp/): add it, or give --online", o.collateralDir)
	}
	return "give --collateral-dir or --online"
}

// bundleContradictions refuses an unsafe switch that turns off a check
// whose collateral the bundle holds: the user would believe it ran.
func bundleContradictions(fsys fs.FS, o *verifyOptions) error {
	for _, c := range []struct {
		on   bool
		dir  string
		flag string
	}{
		{o.switches.TDXWithoutCollateral, "tdx", "--tdx-without-collateral-unsafe"},
		{o.switches.GPUWithoutRIMs, "gpu/rims", "--gpu-without-rims-unsafe"},
		{o.switches.GPUWithoutRevocation, "gpu/ocsp", "--gpu-without-revocation-unsafe"},
	} {
		if !c.on {
			continue
		}
		if fi, err := fs.Stat(fsys, c.dir); err == nil && fi.IsDir() {
			return fmt.Errorf("%s contradicts --collateral-dir %s, which has %s/: give one", c.flag, o.collateralDir, c.dir)
		}
	}
	return nil
}

// isDevice reports whether evidence of format f is bound by the GPU nonce.
func isDevice(f verify.Format) bool {
	switch f {
	case verify.FormatGPU, verify.FormatNVSwitch, verify.FormatNRASGPU, verify.FormatNRASSwitch:
		return true
	}
	return false
}

// bindingFlags names the flags that bind evidence of format f.
func bindingFlags(f verify.Format) string {
	if isDevice(f) {
		return "--nonce HEX or --runtime-data"
	}
	return "--report-data HEX or --runtime-data"
}
