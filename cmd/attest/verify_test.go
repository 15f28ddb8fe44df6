package main

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trustfactory/attest/binding"
	"github.com/trustfactory/attest/ear"
	"github.com/trustfactory/attest/ear/token"
	"github.com/trustfactory/attest/tpm"
	"github.com/trustfactory/attest/tpm/tpmtest"
	"github.com/trustfactory/attest/verify"
)

func verifyCmd(t *testing.T, stdin []byte, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := runVerify(context.Background(), args, bytes.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

// The README's command: no arguments appraises the embedded samples.
func TestVerifySamples(t *testing.T) {
	code, out, errs := verifyCmd(t, nil)
	if code != exitAffirming {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	for _, want := range []string{"== sample composite", "cpu0 (tdx): affirming", "gpu7 (nvidia-gpu): affirming",
		"✓ tdx.mr_td", "✓ gpu.measurements", "overall: affirming", "signed EAR (ES256", "\neyJ",
		"== sample real-tdx", "== sample real-gpu", "✗ gpu.ocsp", "unsafe switches in effect: ocsp.WithMissingAnswersUnsafe", "overall: warning"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	// The printed token verifies with the printed JWKS.
	i := strings.Index(out, "JWKS ")
	j := strings.Index(out[i:], "):\n")
	jwks := out[i+5 : i+j]
	tok := strings.TrimSpace(strings.SplitN(out[i+j+3:], "\n", 2)[0])
	ks, err := token.ParseJWKS([]byte(jwks))
	if err != nil {
		t.Fatal(err)
	}
	v, _ := token.NewVerifier(ks)
	res, err := v.Verify(context.Background(), []byte(tok), token.Expectations{Now: mustTime(t, "2025-06-15T00:01:00Z")})
	if err != nil {
		t.Fatal(err)
	}
	if res.OverallStatus() != ear.StatusAffirming || len(res.Submods) != 9 {
		t.Fatalf("%s %d", res.OverallStatus(), len(res.Submods))
	}
}

// sampleDir copies the embedded composite sample to disk.
func sampleDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	sub, _ := fs.Sub(samplesFS, "samples/composite")
	err := fs.WalkDir(sub, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dir, p), 0o755)
		}
		b, err := fs.ReadFile(sub, p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, p), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestVerifyFiles(t *testing.T) {
	dir := sampleDir(t)
	p := func(n string) string { return filepath.Join(dir, n) }
	base := []string{"--now", "2025-06-15T00:00:00Z", "--collateral-dir", p("collateral"),
		"--reference-values", p("reference-values.yaml"), "--runtime-data", p("runtime-data.json")}
	files := []string{p("tdx-evidence.json"), p("gpu-evidence.json")}

	// A user bundle never replaces the pinned roots: the test evidence fails its chains.
	code, out, _ := verifyCmd(t, nil, append(base, files...)...)
	if code != exitContraindicated || !strings.Contains(out, "untrusted certificate chain") {
		t.Fatalf("exit %d\n%s", code, out)
	}
	// Trusting the bundle's roots is unsafe: every check passes, the result is a warning.
	code, out, _ = verifyCmd(t, nil, append(append(base, "--trust-bundle-roots-unsafe"), files...)...)
	if code != exitWarning || strings.Contains(out, "✗") || !strings.Contains(out, "overall: warning") {
		t.Fatalf("exit %d\n%s", code, out)
	}
	// Another session's runtime data: freshness fails everywhere.
	code, out, _ = verifyCmd(t, nil, append(append(base, "--expand", "--trust-bundle-roots-unsafe", "--runtime-data",
		`{"nonce":"other","tee-pubkey":{"kty":"EC"},"additional-evidence":""}`), files...)...)
	if code != exitContraindicated || strings.Count(out, "freshness check failed") != 9 {
		t.Fatalf("exit %d\n%s", code, out)
	}
	// No binding at all: refused before verification, naming the flags (exit 2).
	code, _, errs := verifyCmd(t, nil, "--now", "2025-06-15T00:00:00Z", "--collateral-dir", p("collateral"), "--trust-bundle-roots-unsafe", p("tdx-evidence.json"))
	if code != exitError || !strings.Contains(errs, "give --report-data HEX or --runtime-data") {
		t.Fatalf("exit %d\n%s", code, errs)
	}
	// Evidence on stdin, JSON output, a signed token written to a file.
	priv, jwks, err := token.GenerateKey(token.ES256, "k1")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p("key.jwk"), priv, 0o600); err != nil {
		t.Fatal(err)
	}
	tdxEv, _ := os.ReadFile(p("tdx-evidence.json"))
	code, out, errs = verifyCmd(t, tdxEv, append(append(base, "--trust-bundle-roots-unsafe", "--json", "--key", p("key.jwk"), "--token", p("ear.jwt")), "-")...)
	if code != exitWarning {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	var j jsonOutcome
	if err := json.Unmarshal([]byte(out), &j); err != nil {
		t.Fatal(err)
	}
	if j.Status != "warning" || len(j.Submods) != 1 || j.Submods[0].Name != "cpu0" || len(j.Submods[0].Checks) == 0 || j.Token == "" {
		t.Fatalf("%+v", j)
	}
	tok, err := os.ReadFile(p("ear.jwt"))
	if err != nil {
		t.Fatal(err)
	}
	ks, _ := token.ParseJWKS(jwks)
	v, _ := token.NewVerifier(ks)
	res, err := v.Verify(context.Background(), bytes.TrimSpace(tok), token.Expectations{Now: mustTime(t, "2025-06-15T00:01:00Z")})
	if err != nil {
		t.Fatal(err)
	}
	if u, _ := res.Extensions[ear.ExtUnsafe().Name].([]any); len(u) == 0 {
		t.Fatalf("unsafe switch not in the token: %v", res.Extensions)
	}
	// Without collateral, the verifier explains what is missing.
	rootsOnly := filepath.Join(t.TempDir(), "b")
	_ = os.MkdirAll(filepath.Join(rootsOnly, "tdx"), 0o755)
	roots, _ := os.ReadFile(p("collateral/tdx/roots.pem"))
	_ = os.WriteFile(filepath.Join(rootsOnly, "tdx", "roots.pem"), roots, 0o644)
	code, _, errs = verifyCmd(t, nil, append(append(base[:2:2], "--collateral-dir", rootsOnly, "--trust-bundle-roots-unsafe", "--runtime-data", p("runtime-data.json")), p("tdx-evidence.json"))...)
	if code != exitError || !strings.Contains(errs, "(file tcb_info/00906ED50000.json)") || !strings.Contains(errs, "--collateral-dir "+rootsOnly+" lacks it") || !strings.Contains(errs, "tdx/ part") {
		t.Fatalf("exit %d\n%s", code, errs)
	}
	_ = os.MkdirAll(filepath.Join(rootsOnly, "gpu"), 0o755)
	roots, _ = os.ReadFile(p("collateral/gpu/roots.pem"))
	_ = os.WriteFile(filepath.Join(rootsOnly, "gpu", "roots.pem"), roots, 0o644)
	// A bundle without the part the evidence needs is the configuration
	// to fix (exit 2), named by directory and flag.
	code, _, errs = verifyCmd(t, nil, append(append(base[:2:2], "--collateral-dir", rootsOnly, "--trust-bundle-roots-unsafe", "--runtime-data", p("runtime-data.json")), p("gpu-evidence.json"))...)
	if code != exitError || !strings.Contains(errs, "--collateral-dir "+rootsOnly+" lacks that part") || !strings.Contains(errs, "--online") {
		t.Fatalf("exit %d\n%s", code, errs)
	}
	// Unrecognised input is an input error, not a verdict.
	code, _, errs = verifyCmd(t, []byte("hello"), "--report-data", "00", "-")
	if code != exitError || !strings.Contains(errs, "-: not evidence of a format attest verifies") {
		t.Fatalf("exit %d\n%s", code, errs)
	}
}

func TestVerifyUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"--now", "yesterday", "x"},
		{"--token", "t.jwt", "x"},
		{"--nonce", "abcd", "x"},
		{"--report-data", "zz", "x"},
		{"--hash", "md5", "x"},
		{"--profile", "other", "x"},
		{"--snp-product", "rome", "x"},
		{"--trust-bundle-roots-unsafe", "x"},
		{"--bogus"},
		{"/nonexistent/evidence"},
		{"--reference-values", "/nonexistent.yaml", "--report-data", "00", "-"},
	} {
		code, _, errs := verifyCmd(t, nil, args...)
		if code != exitError || errs == "" {
			t.Errorf("%v: exit %d, stderr %q", args, code, errs)
		}
	}
	if code, _, _ := verifyCmd(t, nil, "-h"); code != exitAffirming {
		t.Errorf("-h: exit %d", code)
	}
}

// Claim values come from evidence: they cannot forge output lines.
func TestPrintHumanEscapes(t *testing.T) {
	a := &ear.Appraisal{Status: ear.StatusContraindicated, TrustVector: ear.TrustVector{ear.UntrustworthyInstance}}
	out := &verify.Outcome{
		Result: &ear.Result{Submods: map[string]*ear.Appraisal{"gpu0": a}},
		Submods: []*verify.SubmodOutcome{{Name: "gpu0", Format: verify.FormatGPU, Appraisal: a,
			Err: errors.New("bad\n  ✓ gpu.measurements fake\noverall: affirming"),
			Policy: &verify.PolicyResult{Checks: []verify.Check{{ID: "gpu.driver_version", Title: "driver version",
				Actual: "550\r\n  ✓ forged", Expected: "550.90.07", Reason: "x\x1b[2K"}}}}},
	}
	var b bytes.Buffer
	printHuman(&b, out, true)
	if strings.Count(b.String(), "\n") != 5 || strings.Contains(b.String(), "\x1b") || !strings.Contains(b.String(), `\n  ✓ gpu.measurements fake`) {
		t.Fatalf("output not escaped:\n%s", b.String())
	}
}

// A real Milan report with its VCEK from an snp/ bundle (Trustee's KDS store
// layout): the VCEK is found offline; without AMD's CRL in the bundle the
// revocation check cannot pass, so the report is refused, and says why.
func TestVerifySNPBundle(t *testing.T) {
	report, err := os.ReadFile("../../testdata/snp/gsg-attestation.bin")
	if err != nil {
		t.Skip(err)
	}
	vcek, err := os.ReadFile("../../testdata/snp/gsg-vcek.der")
	if err != nil {
		t.Skip(err)
	}
	dir := t.TempDir()
	hwid := hex.EncodeToString(report[0x1A0 : 0x1A0+64])
	if err := os.MkdirAll(filepath.Join(dir, "snp", "vcek", hwid), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "snp", "vcek", hwid, "vcek.der"), vcek, 0o644); err != nil {
		t.Fatal(err)
	}
	ev := filepath.Join(dir, "report.bin")
	_ = os.WriteFile(ev, report, 0o644)
	rd := hex.EncodeToString(report[0x50 : 0x50+64])
	code, out, errs := verifyCmd(t, nil, "--now", "2025-06-01T00:00:00Z", "--collateral-dir", dir, "--snp-product", "milan", "--report-data", rd, ev)
	if code != exitError || !strings.Contains(errs, "crl/Milan_vcek.crl") || !strings.Contains(errs, "under its snp/ part") || strings.Contains(out, "affirming") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	// --snp-without-revocation-unsafe waives the CRL, says so and never affirms.
	code, out, errs = verifyCmd(t, nil, "--now", "2025-06-01T00:00:00Z", "--collateral-dir", dir, "--snp-product", "milan", "--report-data", rd, "--snp-without-revocation-unsafe", ev)
	if code == exitAffirming || code == exitError || !strings.Contains(out, "– snp.crl") || !strings.Contains(out, "snp.WithoutRevocationUnsafe") || !strings.Contains(out, "✓ snp.report_signature") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
}

// The real Azure SEV-SNP sample is detected as az-snp-vtpm and verified with
// the SEV-SNP verifier's roots and revocation: offline, without a CRL in the
// bundle, the configuration lacks the CRL: exit 2 naming the flags. With
// --snp-without-revocation-unsafe it verifies, never affirming.
func TestVerifyAzureSNP(t *testing.T) {
	ev := "../../testdata/azure/trustee-evidence-v1.json"
	dir := t.TempDir()
	code, out, errs := verifyCmd(t, nil, "--now", "2025-06-01T00:00:00Z", "--collateral-dir", dir, "--report-data", hex.EncodeToString([]byte("challenge")), ev)
	if code != exitError || !strings.Contains(errs, "cpu0 (az-snp-vtpm)") || !strings.Contains(errs, "Milan CRL") ||
		!strings.Contains(errs, "--snp-without-revocation-unsafe") || !strings.Contains(errs, "--collateral-dir "+dir+" has no snp/ part") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	code, out, errs = verifyCmd(t, nil, "--now", "2025-06-01T00:00:00Z", "--collateral-dir", dir, "--report-data", hex.EncodeToString([]byte("challenge")), "--snp-without-revocation-unsafe", ev)
	if code == exitAffirming || code == exitError || !strings.Contains(out, "cpu0 (az-snp-vtpm)") || !strings.Contains(out, "snp.WithoutRevocationUnsafe") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
}

// A KBS attest request body is appraised as the composite it describes.
func TestVerifyKBSRequest(t *testing.T) {
	dir := sampleDir(t)
	p := func(n string) string { return filepath.Join(dir, n) }
	tdxEv, _ := os.ReadFile(p("tdx-evidence.json"))
	rdDoc, _ := os.ReadFile(p("runtime-data.json"))
	var rd struct {
		Nonce     string          `json:"nonce"`
		TEEPubKey json.RawMessage `json:"tee-pubkey"`
	}
	if err := json.Unmarshal(rdDoc, &rd); err != nil {
		t.Fatal(err)
	}
	body := func(nonce string) []byte {
		b, _ := json.Marshal(map[string]any{
			"runtime-data": map[string]any{"nonce": nonce, "tee-pubkey": rd.TEEPubKey},
			"tee-evidence": map[string]any{"primary_evidence": json.RawMessage(tdxEv), "additional_evidence": ""},
		})
		return b
	}
	args := []string{"--now", "2025-06-15T00:00:00Z", "--collateral-dir", p("collateral"), "--trust-bundle-roots-unsafe",
		"--reference-values", p("reference-values.yaml"), "--kbs-tee", "tdx", "-"}
	code, out, errs := verifyCmd(t, body(rd.Nonce), args...)
	if code != exitWarning || !strings.Contains(out, "cpu0 (tdx): warning") || strings.Contains(out, "✗") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	code, out, _ = verifyCmd(t, body("another-session"), args...)
	if code != exitContraindicated || !strings.Contains(out, "freshness check failed") {
		t.Fatalf("exit %d\n%s", code, out)
	}
	code, _, errs = verifyCmd(t, body(rd.Nonce), append(append([]string{}, args[:len(args)-1]...), "--kbs-tee", "sample", "-")...)
	if code != exitError || !strings.Contains(errs, "kbs-tee") {
		t.Fatalf("exit %d %s", code, errs)
	}
	// An expected value beside the body would go uncompared: refused.
	for _, extra := range [][]string{{"--nonce", strings.Repeat("ab", 32)}, {"--report-data", "01"}, {"--runtime-data", string(rdDoc)}} {
		code, _, errs = verifyCmd(t, body(rd.Nonce), append(append(append([]string{}, args[:len(args)-1]...), extra...), "-")...)
		if code != exitError || !strings.Contains(errs, "do not apply") {
			t.Errorf("%s: exit %d %s", extra[0], code, errs)
		}
	}
}

// TPM quotes verify once --tpm-ak names their AK trust, bound to the runtime
// data like any CPU evidence; without it they are refused.
func TestVerifyTPM(t *testing.T) {
	dir := t.TempDir()
	p := func(n string) string { return filepath.Join(dir, n) }
	ak, err := tpmtest.NewRSAAK(2048)
	if err != nil {
		t.Fatal(err)
	}
	rdoc := `{"nonce":"dHBtLWNsaQ==","tee-pubkey":{"kty":"EC","crv":"P-256","x":"eA","y":"eQ"}}`
	d, err := binding.Digest([]byte(rdoc), crypto.SHA384)
	if err != nil {
		t.Fatal(err)
	}
	log := tpmtest.StandardBoot()
	pcrs := log.PCRs(crypto.SHA256)
	q, err := ak.Quote(crypto.SHA256, pcrs, d[:32])
	if err != nil {
		t.Fatal(err)
	}
	ev, err := tpmtest.MarshalProto(&tpm.Evidence{AKPublicArea: ak.PublicArea(), Quotes: []tpm.Quote{q}, EventLog: log.Bytes()})
	if err != nil {
		t.Fatal(err)
	}
	writePEM := func(name string, key crypto.PublicKey) {
		der, err := x509.MarshalPKIXPublicKey(key)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p(name), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	writePEM("ak.pem", ak.Public())
	other, _ := tpmtest.NewRSAAK(2048)
	writePEM("other.pem", other.Public())
	// Approved boot: the firmware, boot loader and GRUB's kernel PCRs pinned.
	rv := "version: \"1\"\nreference_values:\n"
	for _, i := range []int{0, 4, 8, 9} {
		rv += fmt.Sprintf("  - name: tpm_pcr%02d\n    value: [\"%s\"]\n", i, hex.EncodeToString(pcrs[i]))
	}
	for name, b := range map[string][]byte{"ev.bin": ev, "rv.yaml": []byte(rv), "junk.pem": []byte("-----BEGIN RSA PRIVATE KEY-----\nAA==\n-----END RSA PRIVATE KEY-----\n")} {
		if err := os.WriteFile(p(name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	base := []string{"--now", "2025-06-15T00:00:00Z", "--runtime-data", rdoc, "--reference-values", p("rv.yaml")}
	run := func(extra ...string) (int, string) {
		code, out, errs := verifyCmd(t, nil, append(append(append([]string{}, base...), extra...), p("ev.bin"))...)
		return code, out + errs
	}
	if code, out := run("--tpm-ak", p("ak.pem")); code != exitAffirming || !strings.Contains(out, "cpu0 (tpm): affirming") {
		t.Fatalf("exit %d\n%s", code, out)
	}
	if code, out := run("--tpm-ak", p("other.pem")); code != exitContraindicated || !strings.Contains(out, "cpu0 (tpm): contraindicated") {
		t.Fatalf("another AK: exit %d\n%s", code, out)
	}
	if code, out := run(); code != exitError || !strings.Contains(out, "TPM evidence needs --tpm-ak") {
		t.Fatalf("no AK trust: exit %d\n%s", code, out)
	}
	if code, out := run("--tpm-ak", p("junk.pem")); code != exitError || !strings.Contains(out, "expected PUBLIC KEY or CERTIFICATE") {
		t.Fatalf("junk AK file: exit %d\n%s", code, out)
	}
	code, out, _ := verifyCmd(t, nil, "--now", "2025-06-15T00:00:00Z", "--tpm-ak", p("ak.pem"), "--runtime-data", `{"nonce":"b3RoZXI=","tee-pubkey":{"kty":"EC"}}`, "--reference-values", p("rv.yaml"), p("ev.bin"))
	if code != exitContraindicated || !strings.Contains(out, "freshness") {
		t.Fatalf("another session: exit %d\n%s", code, out)
	}
}

// Claim text reaches the terminal escaped: control characters, and bytes
// that are not UTF-8 (a raw 0x9b is a C1 control sequence introducer).
func TestSafeText(t *testing.T) {
	for in, want := range map[string]string{
		"550.90.07":    "550.90.07",
		"a b ✓":        "a b ✓",
		"x\x1b[2Ky":    `x\x1b[2Ky`,
		"x\r\ny":       `x\r\ny`,
		"x\x9b2Jy":     `x\x9b2Jy`,
		"bad \xff\xfe": `bad \xff\xfe`,
	} {
		if got := safeText(in); got != want {
			t.Errorf("safeText(%q) = %q, want %q", in, got, want)
		}
	}
}
