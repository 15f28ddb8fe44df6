package main

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const testdata = "../../testdata" // the repository's copies; provenance in testdata/gpu/README.md

// realTDX is the embedded real TDX sample's flags: its bundle, reference
// values, report data and pinned time.
func realTDX(t *testing.T) (quote string, args []string) {
	t.Helper()
	dir := "samples/real-tdx"
	var m sampleManifest
	b, err := os.ReadFile(filepath.Join(dir, "sample.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &m))
	return filepath.Join(dir, "tdx-quote.dat"), []string{"--now", m.Now, "--collateral-dir", filepath.Join(dir, "collateral"),
		"--reference-values", filepath.Join(dir, "reference-values.yaml"), "--report-data", m.ReportData}
}

func writeTestFile(t *testing.T, dir, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, b, 0o644))
	return p
}

// Every command's --help exits 0 and ends with the one exit-code table
// (collateral's subcommands end with their own; serve and version lacked
// it).
func TestHelpExitCodes(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"verify", "--help"}, {"keys", "generate", "--help"}, {"token", "verify", "--help"}, {"token", "inspect", "--help"},
		{"serve", "--help"}, {"version", "--help"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			var out, errb strings.Builder
			code := run(t.Context(), args, nil, &out, &errb)
			assert.Equal(t, exitOK, code)
			assert.Contains(t, out.String()+errb.String(), exitCodeTable)
		})
	}
	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	assert.Contains(t, string(readme), exitCodeTable, "README's CLI section carries the same table")
}

// Each exit code, from real evidence and from inputs that are no evidence.
func TestVerifyExitCodes(t *testing.T) {
	quote, args := realTDX(t)
	dir := t.TempDir()
	random := make([]byte, 512)
	for i := range random {
		random[i] = byte(i*131 + 7)
	}
	tests := []struct {
		name    string
		args    []string
		code    int
		message string // in stdout or stderr
	}{
		{"affirming", append(slices.Clone(args), quote), exitAffirming, "overall: affirming"},
		{"warning (unsafe switches)", []string{"--now", "2025-10-24", "--nonce", "931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb",
			"--gpu-without-rims-unsafe", "--gpu-without-revocation-unsafe", filepath.Join(testdata, "gpu/v1/hopperAttestationReport.txt"),
			filepath.Join(testdata, "gpu/v1/hopperCertChain.txt")}, exitWarning, "overall: warning"},
		{"contraindicated (TCB not evaluated)", append(slices.Clone(args[:2]), "--report-data", args[7], "--reference-values", args[5], "--tdx-without-collateral-unsafe", quote), exitContraindicated, "tdx.WithoutCollateralUnsafe"},
		{"contraindicated (wrong report data)", append(slices.Clone(args[:6]), "--report-data", strings.Repeat("ab", 64), quote), exitContraindicated, "(freshness)"},
		{"empty", append(slices.Clone(args), writeTestFile(t, dir, "empty", nil)), exitError, "empty"},
		{"PNG", append(slices.Clone(args), writeTestFile(t, dir, "x.png", []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"))), exitError, "a PNG image, not evidence"},
		{"random bytes", append(slices.Clone(args), writeTestFile(t, dir, "random", random)), exitError, "not evidence of a format attest verifies"},
		{"hex of random bytes", append(slices.Clone(args), writeTestFile(t, dir, "random.hex", []byte(hex.EncodeToString(random)))), exitError, "not evidence of a format attest verifies"},
		{"missing binding", append(slices.Clone(args[:6]), quote), exitError, "give --report-data HEX or --runtime-data"},
		{"no collateral configured", []string{"--now", args[1], "--report-data", args[7], quote}, exitError, "give --collateral-dir or --online"},
		{"bad --now", []string{"--now", "March 1st", quote}, exitError, "--now \"March 1st\": expected a date (2026-03-01"},
		{"unknown flag", []string{"--frobnicate", quote}, exitError, "frobnicate"},
		{"contradiction", append(slices.Clone(args), "--tdx-without-collateral-unsafe", quote), exitError, "--tdx-without-collateral-unsafe contradicts --collateral-dir"},
		{"contradiction online", []string{"--online", "--tdx-without-collateral-unsafe", quote}, exitError, "--tdx-without-collateral-unsafe and --online contradict"},
		{"mirror without --online", []string{"--pcs-url", "https://pccs.example", quote}, exitError, "need --online"},
		{"SNP without collateral", []string{"--now", "2025-06-01", "--snp-product", "milan", "--no-binding-unsafe", "../../testdata/snp/gsg-attestation.bin"}, exitError, "no collateral is configured (give --collateral-dir or --online)"},
		{"two TDX services", []string{"--online", "--pcs-url", "https://a.example", "--pccs-url", "https://b.example", quote}, exitError, "--pcs-url and --pccs-url"},
		{"mirror not a URL", []string{"--online", "--pccs-url", "ftp://x", quote}, exitError, `--pccs-url "ftp://x": expected an http(s) URL`},
		// Two bindings for one piece of evidence: one was silently ignored.
		{"report data and runtime data", []string{"--report-data", args[7], "--runtime-data", "{}", quote}, exitError, "--report-data and --runtime-data both bind"},
		{"nonce and runtime data", []string{"--nonce", strings.Repeat("ab", 32), "--runtime-data", "{}", quote}, exitError, "--nonce and --runtime-data both bind"},
		{"unpaired chain", append(slices.Clone(args), filepath.Join(testdata, "gpu/v1/hopperCertChain.txt")), exitError, "0 GPU or switch reports and 1 PEM certificate chains"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := verifyCmd(t, nil, tt.args...)
			assert.Equal(t, tt.code, code, "%s\n%s", out, errs)
			assert.Contains(t, out+errs, tt.message)
			assert.NotContains(t, out, "device0 (unknown format)")
			for _, ident := range []string{"Expectations.", "WithKDS", "WithProduct", "WithCollateral", "setup.Config"} {
				assert.NotContains(t, out+errs, ident, "messages name flags, not Go identifiers")
			}
		})
	}
}

// --now takes a date (midnight UTC) as well as RFC 3339.
func TestVerifyNowDate(t *testing.T) {
	quote, args := realTDX(t)
	args[1] = "2025-07-01"
	code, out, errs := verifyCmd(t, nil, append(args, quote)...)
	require.Equal(t, exitAffirming, code, "%s\n%s", out, errs)
	o, err := parseVerifyFlags([]string{"--now", "2026-03-01"}, &strings.Builder{})
	require.NoError(t, err)
	assert.Equal(t, "2026-03-01T00:00:00Z", o.now.Format("2006-01-02T15:04:05Z07:00"))
}

// Hex text (dcap-qvl's .hex, with line breaks) is decoded, then detected.
func TestVerifyHexInput(t *testing.T) {
	quote, args := realTDX(t)
	b, err := os.ReadFile(quote)
	require.NoError(t, err)
	h := hex.EncodeToString(b)
	var wrapped strings.Builder
	for i := 0; i < len(h); i += 64 {
		wrapped.WriteString(h[i:min(i+64, len(h))] + "\n")
	}
	f := writeTestFile(t, t.TempDir(), "quote.hex", []byte(wrapped.String()))
	code, out, errs := verifyCmd(t, nil, append(args, f)...)
	require.Equal(t, exitAffirming, code, "%s\n%s", out, errs)
	assert.Contains(t, out, "cpu0 (tdx): affirming")
}

// The cryptographic checks are lines; a check not made is not a ✓.
func TestVerifyHumanChecks(t *testing.T) {
	quote, args := realTDX(t)
	code, out, _ := verifyCmd(t, nil, append(args, quote)...)
	require.Equal(t, exitAffirming, code)
	for _, want := range []string{"✓ tdx.quote_signature", "✓ tdx.qe_report", "✓ tdx.pck_chain", "FMSPC b0c06f000000",
		"✓ tdx.collateral", "✓ tdx.crls", "– tdx.rtmr_3", "not pinned"} {
		assert.Contains(t, out, want)
	}
	assert.NotContains(t, out, "✓ tdx.rtmr_3")
	code, out, _ = verifyCmd(t, nil, append(slices.Clone(args[:2]), "--report-data", args[7], "--tdx-without-collateral-unsafe", quote)...)
	require.Equal(t, exitContraindicated, code, "the TCB was not evaluated")
	assert.Contains(t, out, "– tdx.collateral")
	assert.Contains(t, out, "– tdx.crls")
	assert.NotContains(t, out, "✓ tdx.crls")
}

// A raw NVIDIA report as hex text and its PEM chain, two files, are one
// component; the GPU switches turn RIMs and OCSP off, each recorded.
func TestVerifyGPUReportAndChain(t *testing.T) {
	d := filepath.Join(testdata, "gpu/v1")
	report, chain := filepath.Join(d, "hopperAttestationReport.txt"), filepath.Join(d, "hopperCertChain.txt")
	base := []string{"--now", "2025-10-24", "--nonce", "931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb"}
	code, out, errs := verifyCmd(t, nil, append(slices.Clone(base), "--gpu-without-rims-unsafe", "--gpu-without-revocation-unsafe", report, chain)...)
	require.Equal(t, exitWarning, code, "%s\n%s", out, errs)
	assert.Contains(t, out, "gpu0 (nvidia-gpu): warning")
	assert.Contains(t, out, "gpu.WithoutRIMsUnsafe")
	assert.Contains(t, out, "gpu.WithoutRevocationUnsafe")
	// Without the chain the report is an input error saying what is missing.
	code, _, errs = verifyCmd(t, nil, append(slices.Clone(base), report)...)
	assert.Equal(t, exitError, code)
	assert.Contains(t, errs, "give the chain's PEM file after it")
	// Without the switches, nothing provides RIMs: the flags are named.
	code, _, errs = verifyCmd(t, nil, append(slices.Clone(base), report, chain)...)
	assert.Equal(t, exitError, code)
	assert.Contains(t, errs, "give --collateral-dir or --online")
	// The padding switch is accepted and changes nothing for a report without padding.
	code, _, _ = verifyCmd(t, nil, append(slices.Clone(base), "--gpu-without-rims-unsafe", "--gpu-without-revocation-unsafe", "--gpu-allow-trailing-zero-padding", report, chain)...)
	assert.Equal(t, exitWarning, code)
	// Padded with zeros, the report verifies only with the padding switch.
	raw, err := os.ReadFile(report)
	require.NoError(t, err)
	bin, ok := decodeHexText(raw)
	require.True(t, ok)
	padded := writeTestFile(t, t.TempDir(), "padded.bin", append(bin, make([]byte, 8)...))
	code, out, _ = verifyCmd(t, nil, append(slices.Clone(base), "--gpu-without-rims-unsafe", "--gpu-without-revocation-unsafe", padded, chain)...)
	assert.Equal(t, exitContraindicated, code, out)
	code, out, _ = verifyCmd(t, nil, append(slices.Clone(base), "--gpu-without-rims-unsafe", "--gpu-without-revocation-unsafe", "--gpu-allow-trailing-zero-padding", padded, chain)...)
	assert.Equal(t, exitWarning, code, out)
}

// --snp-without-revocation-unsafe reaches the SEV-SNP verifier: an
// extended report verified without the CRL is a warning naming it.
func TestVerifySNPWithoutRevocation(t *testing.T) {
	o, err := parseVerifyFlags([]string{"--snp-without-revocation-unsafe", "--ocsp-allow-missing-unsafe"}, &strings.Builder{})
	require.NoError(t, err)
	assert.True(t, o.switches.SNPWithoutRevocation)
	assert.True(t, o.ocspMissing)
	_, err = parseVerifyFlags([]string{"--gpu-without-revocation-unsafe", "--ocsp-allow-missing-unsafe"}, &strings.Builder{})
	assert.ErrorContains(t, err, "give one")
	_, err = registry(o, collateralSources{})
	require.NoError(t, err)
}

// --timeout bounds an online fetch from a service that never answers: the
// command returns with a message naming the flag.
func TestVerifyTimeout(t *testing.T) {
	quote, args := realTDX(t)
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select { // never answers: waits for the client to give up
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(func() { close(release); srv.Close() })
	code, out, errs := verifyCmd(t, nil, "--now", args[1], "--report-data", args[7], "--online", "--pccs-url", srv.URL, "--timeout", "300ms", quote)
	assert.Equal(t, exitError, code, out)
	assert.Contains(t, errs, "no result within --timeout 300ms")
}

// The PPCIe set of 8 GPUs and 4 switches, each report and chain a file:
// the topology holds; with one GPU swapped for another system's, it fails.
func TestVerifyPPCIe(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(testdata, "gpu/ppcie/test_ppcie_data.json"))
	require.NoError(t, err)
	var p struct {
		GPUs []struct {
			Report struct {
				B64 string `json:"py/b64"`
			} `json:"AttestationReport"`
			Chains struct {
				Certs []struct {
					PEM string `json:"pem"`
				} `json:"GpuAttestationCertificateChain"`
			} `json:"CertificateChains"`
		} `json:"gpus"`
		Switches []struct {
			Report struct {
				B64 string `json:"py/b64"`
			} `json:"attestation_report"`
			Certs []struct {
				PEM string `json:"pem"`
			} `json:"attestation_cert_chain"`
		} `json:"nvswitches"`
	}
	require.NoError(t, json.Unmarshal(b, &p))
	dir := t.TempDir()
	dec := func(s string) []byte {
		b, err := base64.StdEncoding.DecodeString(s)
		require.NoError(t, err)
		return b
	}
	var files []string
	add := func(name, report string, pems []string) {
		var chain []byte
		for _, c := range pems {
			chain = append(chain, dec(c)...)
		}
		files = append(files, writeTestFile(t, dir, name+".bin", dec(report)), writeTestFile(t, dir, name+".pem", chain))
	}
	for i, g := range p.GPUs {
		var pems []string
		for _, c := range g.Chains.Certs {
			pems = append(pems, c.PEM)
		}
		add(fmt.Sprintf("gpu%d", i), g.Report.B64, pems)
	}
	for i, s := range p.Switches {
		var pems []string
		for _, c := range s.Certs {
			pems = append(pems, c.PEM)
		}
		add(fmt.Sprintf("switch%d", i), s.Report.B64, pems)
	}
	require.Len(t, files, 24)
	base := []string{"--now", "2025-10-24", "--gpu-without-rims-unsafe", "--gpu-without-revocation-unsafe", "--ppcie"}
	code, out, errs := verifyCmd(t, nil, append(append(slices.Clone(base), "--nonce", strings.Repeat("1234567890", 6)+"1234"), files...)...)
	// The switches fail the default policy without RIMs (their FWID rule),
	// so the result is contraindicated; the topology itself holds.
	require.Equal(t, exitContraindicated, code, "%s\n%s", out, errs)
	assert.Contains(t, out, "✓ ppcie.topology")
	assert.Contains(t, out, "8 GPUs and 4 switches")
	assert.NotContains(t, out, "✗ ppcie.topology")

	// GPU 0 swapped for an H100 of another system (its own report and
	// chain, verified without a binding): the topology no longer holds.
	d := filepath.Join(testdata, "gpu/v1")
	swapped := append([]string{filepath.Join(d, "hopperAttestationReport.txt"), filepath.Join(d, "hopperCertChain.txt")}, files[2:]...)
	code, out, errs = verifyCmd(t, nil, append(append(slices.Clone(base), "--no-binding-unsafe"), swapped...)...)
	require.Equal(t, exitContraindicated, code, "%s\n%s", out, errs)
	assert.Contains(t, out, "✗ ppcie.topology")
	assert.Contains(t, out, "PPCIe topology")
	// Fewer devices than a PPCIe system has fail it too.
	code, out, _ = verifyCmd(t, nil, append(append(slices.Clone(base), "--nonce", strings.Repeat("1234567890", 6)+"1234"), files[2:]...)...)
	assert.Equal(t, exitContraindicated, code)
	assert.Contains(t, out, "expected 8 GPUs and 4 switches, got 7 and 4")
}

// Repeated wrapping is shown once: a repeated part, a repeated URL.
func TestDedupeErrorMessage(t *testing.T) {
	u := "http://ocsp.example/MIG+MIG7" + strings.Repeat("QUJD", 40) + "=="
	tests := []struct{ in, want string }{
		{"a: b: c", "a: b: c"},
		{"tdx: collateral unavailable or mismatched: x: collateral unavailable or mismatched", "tdx: collateral unavailable or mismatched: x"},
		{"GET " + u + ": giving up after 4 attempts: Get \"" + u + "\": dial tcp: refused",
			"GET " + u + ": giving up after 4 attempts: Get \"(same URL)\": dial tcp: refused"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, dedupe(tt.in))
	}
}

// A GPU's online RIM and OCSP fetches from a service that never answers are
// bounded by --timeout too.
func TestVerifyTimeoutGPU(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(func() { close(release); srv.Close() })
	d := filepath.Join(testdata, "gpu/v1")
	code, out, errs := verifyCmd(t, nil, "--now", "2025-10-24", "--nonce", "931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb",
		"--online", "--rim-url", srv.URL, "--ocsp-url", srv.URL, "--timeout", "300ms",
		filepath.Join(d, "hopperAttestationReport.txt"), filepath.Join(d, "hopperCertChain.txt"))
	assert.Equal(t, exitError, code, out)
	assert.Contains(t, errs, "no result within --timeout 300ms")
}

// Identical GPU blocks are printed once naming every device; --expand
// prints each.
func TestVerifyFoldedGPUBlocks(t *testing.T) {
	dir := sampleDir(t)
	p := func(n string) string { return filepath.Join(dir, n) }
	args := []string{"--now", "2025-06-15T00:00:00Z", "--collateral-dir", p("collateral"), "--trust-bundle-roots-unsafe",
		"--reference-values", p("reference-values.yaml"), "--runtime-data", p("runtime-data.json"), p("gpu-evidence.json")}
	code, out, errs := verifyCmd(t, nil, args...)
	require.Equal(t, exitWarning, code, errs)
	assert.Contains(t, out, "gpu0, gpu1, gpu2, gpu3, gpu4, gpu5, gpu6, gpu7 (nvidia-gpu): warning\n  (8 devices with identical results, shown once; --expand shows each)")
	assert.Equal(t, 1, strings.Count(out, "✓ gpu.fwid"))
	code, out, _ = verifyCmd(t, nil, append([]string{"--expand"}, args...)...)
	require.Equal(t, exitWarning, code)
	assert.Equal(t, 8, strings.Count(out, "✓ gpu.fwid"))
	for i := range 8 {
		assert.Contains(t, out, fmt.Sprintf("gpu%d (nvidia-gpu): warning\n", i))
	}
	assert.NotContains(t, out, "identical results")
}

// --ocsp-allow-missing-unsafe: the real H100 sample's bundle has the RIM
// chains' OCSP answers but not the device chain's; without the flag the
// report is refused, with it the result is a warning naming the switch.
func TestVerifyOCSPAllowMissing(t *testing.T) {
	d := "samples/real-gpu"
	args := []string{"--now", "2025-10-24T12:00:00Z", "--nonce", "931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb",
		"--collateral-dir", filepath.Join(d, "collateral"), "--reference-values", filepath.Join(d, "reference-values.yaml")}
	ev := filepath.Join(d, "gpu-evidence.json")
	code, out, errs := verifyCmd(t, nil, append(slices.Clone(args), ev)...)
	assert.NotEqual(t, exitAffirming, code)
	assert.NotEqual(t, exitWarning, code, "%s\n%s", out, errs)
	assert.Contains(t, out+errs, "OCSP")
	code, out, errs = verifyCmd(t, nil, append(slices.Clone(args), "--ocsp-allow-missing-unsafe", ev)...)
	require.Equal(t, exitWarning, code, "%s\n%s", out, errs)
	assert.Contains(t, out, "✗ gpu.ocsp")
	assert.Contains(t, out, "ocsp.WithMissingAnswersUnsafe")
	assert.Contains(t, out, "✓ gpu.measurements")
}
