package azure_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/azure"
	"github.com/trustfactory/attest/azure/aztest"
	"github.com/trustfactory/attest/snp"
	"github.com/trustfactory/attest/snp/snptest"
	"github.com/trustfactory/attest/verify"
)

// realTime is inside the real sample's VCEK validity (2025-01-28..2032-01-28).
var realTime = time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)

func readReal(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile("../testdata/azure/trustee-evidence-v1.json")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func realVerifier(t testing.TB) *azure.Verifier {
	t.Helper()
	sv, err := snp.NewVerifier(snp.WithoutRevocationUnsafe())
	if err != nil {
		t.Fatal(err)
	}
	v, err := azure.NewVerifier(azure.WithSNP(sv))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func realExp() verify.Expectations {
	return verify.Expectations{ReportData: []byte("challenge"), Now: realTime}
}

func wantKind(t *testing.T, c verify.Claims, err error, kinds ...error) {
	t.Helper()
	if c != nil {
		t.Fatalf("claims returned with error %v", err)
	}
	for _, k := range kinds {
		if !errors.Is(err, k) {
			t.Fatalf("expected %v, got %v", k, err)
		}
	}
}

// The real Azure sample: the SEV-SNP report verifies under AMD's roots at
// VMPL 0, the runtime data is its REPORT_DATA, the quote is the AK's with
// extraData "challenge".
func TestRealEvidenceV1(t *testing.T) {
	v := realVerifier(t)
	c, err := v.Verify(context.Background(), readReal(t), realExp())
	if err != nil {
		t.Fatal(err)
	}
	m := c.Map()
	for k, want := range map[string]any{
		"vmpl":                             0,
		"ak.trust":                         "bound",
		"report_data":                      hex.EncodeToString([]byte("challenge")),
		"snp_report_data":                  "af2910341dd8108360e485f1b72494255190b9cdd5ccb44b73b883037cf99f21" + strings.Repeat("00", 32),
		"pcr00":                            "e15c44796beabf46abcec7c57e590942041e47497e4ec27571c8b7664f48dced",
		"pcr08":                            strings.Repeat("00", 32),
		"secure_boot.enabled":              true,
		"vm_configuration.console_enabled": true,
		"vm_configuration.vm_unique_id":    "26F8BC30-774E-4290-8E7A-535F3B672AEE",
		"az_version":                       1,
		"hcl_report_session_bound":         false,
		"snp_report_data_checked":          true,
		"report_data_checked":              nil,
		"runtime_data_hash":                "sha256",
		"endorsement_product_name":         "Milan-B0",
	} {
		if m[k] != want {
			t.Errorf("%s: got %v (%T), want %v", k, m[k], m[k], want)
		}
	}
	if c.Format() != verify.FormatAzureSNP {
		t.Fatalf("format %s", c.Format())
	}
	if !v.Detect(readReal(t)) || v.Detect([]byte(`{"quote":"AAAA"}`)) {
		t.Fatal("detection")
	}
}

// edit decodes the real JSON, lets f change it, and encodes it again.
func edit(t *testing.T, f func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(readReal(t), &m); err != nil {
		t.Fatal(err)
	}
	f(m)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func editHCL(t *testing.T, f func(hcl []byte)) []byte {
	return edit(t, func(m map[string]any) {
		s := strings.TrimRight(m["hcl_report"].(string), "=")
		hcl, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		f(hcl)
		m["hcl_report"] = base64.RawURLEncoding.EncodeToString(hcl)
	})
}

func quote(m map[string]any) map[string]any { return m["tpm_quote"].(map[string]any) }

func TestRealEvidenceNegatives(t *testing.T) {
	v := realVerifier(t)
	ctx := context.Background()
	runtimeData := 0x20 + snp.ReportSize + 20
	for name, c := range map[string]struct {
		ev    []byte
		exp   verify.Expectations
		kinds []error
	}{
		// SNP-31: the runtime data (here its AK modulus) no longer hashes
		// to the SEV-SNP report's REPORT_DATA.
		"SNP-31 runtime data edited": {editHCL(t, func(h []byte) {
			i := bytes.Index(h, []byte(`"n":"`))
			h[i+10] ^= 1
		}), realExp(), []error{verify.ErrBinding}},
		"runtime data JSON key edited": {editHCL(t, func(h []byte) { h[runtimeData+3] = 'K' }), realExp(), []error{verify.ErrBinding}},
		"wrong nonce": {readReal(t), verify.Expectations{ReportData: []byte("other session"), Now: realTime},
			[]error{verify.ErrFreshness}},
		"no expected report data":     {readReal(t), verify.Expectations{Now: realTime}, []error{verify.ErrConfig}},
		"SEV-SNP measurement flipped": {editHCL(t, func(h []byte) { h[0x20+0x90] ^= 1 }), realExp(), []error{verify.ErrSignature}},
		"SEV-SNP report data flipped": {editHCL(t, func(h []byte) { h[0x20+0x50] ^= 1 }), realExp(), []error{verify.ErrBinding}},
		"quote message flipped": {edit(t, func(m map[string]any) {
			q := quote(m)
			msg, _ := hex.DecodeString(q["message"].(string))
			msg[len(msg)-1] ^= 1
			q["message"] = hex.EncodeToString(msg)
		}), realExp(), []error{verify.ErrBinding, verify.ErrSignature}},
		"PCR value changed": {edit(t, func(m map[string]any) {
			quote(m)["pcrs"].([]any)[0] = strings.Repeat("11", 32)
		}), realExp(), []error{verify.ErrBinding}},
		"PCR value dropped": {edit(t, func(m map[string]any) {
			q := quote(m)
			q["pcrs"] = q["pcrs"].([]any)[:23]
		}), realExp(), []error{verify.ErrMalformed}},
		"after the VCEK's validity": {readReal(t), verify.Expectations{ReportData: []byte("challenge"), Now: time.Date(2032, 2, 1, 0, 0, 0, 0, time.UTC)},
			[]error{verify.ErrExpired}},
		"VCEK of another chip": {edit(t, func(m map[string]any) {
			other, err := os.ReadFile("../testdata/snp/test-vcek.der")
			if err != nil {
				t.Fatal(err)
			}
			m["vcek"] = base64.RawURLEncoding.EncodeToString(other)
		}), realExp(), []error{verify.ErrSignature}},
		"TDX hardware report":             {editHCL(t, func(h []byte) { h[0x20+snp.ReportSize+8] = 4 }), realExp(), []error{verify.ErrUnsupported}},
		"hash type 9":                     {editHCL(t, func(h []byte) { h[0x20+snp.ReportSize+12] = 9 }), realExp(), []error{verify.ErrUnsupported}},
		"not HCLA":                        {editHCL(t, func(h []byte) { h[0] = 'X' }), realExp(), []error{verify.ErrMalformed}},
		"padding not zero":                {editHCL(t, func(h []byte) { h[len(h)-1] = 1 }), realExp(), []error{verify.ErrMalformed}},
		"declared size beyond the report": {editHCL(t, func(h []byte) { h[9] = 0x20 }), realExp(), []error{verify.ErrMalformed}},
		"variable data size off by one": {editHCL(t, func(h []byte) { h[0x20+snp.ReportSize+16]++ }), realExp(),
			[]error{verify.ErrMalformed}},
		"version 0": {edit(t, func(m map[string]any) { m["version"] = 0 }), realExp(), []error{verify.ErrUnsupported}},
		"no vcek":   {edit(t, func(m map[string]any) { delete(m, "vcek") }), realExp(), []error{verify.ErrMalformed}},
		"signature not hex": {edit(t, func(m map[string]any) { quote(m)["signature"] = "zz" }), realExp(),
			[]error{verify.ErrMalformed}},
		"25 PCRs": {edit(t, func(m map[string]any) {
			q := quote(m)
			q["pcrs"] = append(q["pcrs"].([]any), strings.Repeat("00", 32))
		}), realExp(), []error{verify.ErrMalformed}},
		"trailing JSON": {append(readReal(t), []byte("{}")...), realExp(), []error{verify.ErrMalformed}},
	} {
		t.Run(name, func(t *testing.T) {
			claims, err := v.Verify(ctx, c.ev, c.exp)
			wantKind(t, claims, err, c.kinds...)
		})
	}
}

// The real version 2 sample: the quote's extraData and the runtime data's
// user-data carry Trustee's test report data (48 bytes; user-data zero
// padded to 64).
func TestRealEvidenceV2(t *testing.T) {
	b, err := os.ReadFile("../testdata/azure/trustee-evidence-v2.json")
	if err != nil {
		t.Fatal(err)
	}
	rd, _ := hex.DecodeString("982f5c6e45df0ed3f10b6f60b02f0c8390e281300f3805e2279c16168cd6ae9aa398f647caa2338748cd0fd9f5f819ef")
	exp := verify.Expectations{ReportData: rd, Now: realTime}
	v := realVerifier(t)
	c, err := v.Verify(context.Background(), b, exp)
	if err != nil {
		t.Fatal(err)
	}
	m := c.Map()
	if m["az_version"] != 2 || m["user_data"] != hex.EncodeToString(rd)+strings.Repeat("00", 16) ||
		m["vm_configuration.vm_unique_id"] != "7DF7B373-B947-4AAA-96E5-C358F2A03D20" || m["ak.trust"] != "bound" {
		t.Fatalf("claims %v", m)
	}
	// Another session's report data.
	other := bytes.Clone(rd)
	other[0] ^= 1
	c, err = v.Verify(context.Background(), b, verify.Expectations{ReportData: other, Now: realTime})
	wantKind(t, c, err, verify.ErrFreshness)
	// TPM-22 with real data: version 1's HCL report (one VM) with version
	// 2's quote (another VM's vTPM).
	var v1, v2 map[string]any
	if err := json.Unmarshal(readReal(t), &v1); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &v2); err != nil {
		t.Fatal(err)
	}
	v1["tpm_quote"] = v2["tpm_quote"]
	mixed, _ := json.Marshal(v1)
	c, err = v.Verify(context.Background(), mixed, exp)
	wantKind(t, c, err, verify.ErrBinding, verify.ErrSignature)
}

// TPM-22: a quote that the HCL report's AK did not sign (another VM's vTPM)
// is not bound to this SEV-SNP report.
func TestRealQuoteFromAnotherVTPM(t *testing.T) {
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := azure.DecodeEvidence(readReal(t))
	if err != nil {
		t.Fatal(err)
	}
	sig, err := rsa.SignPKCS1v15(rand.Reader, other, 5 /* crypto.SHA256 */, sha256Sum(ev.Quote.Message))
	if err != nil {
		t.Fatal(err)
	}
	ev.Quote.Signature = sig
	c, err := realVerifier(t).VerifyEvidence(context.Background(), ev, realExp())
	if c != nil || !errors.Is(err, verify.ErrBinding) || !errors.Is(err, verify.ErrSignature) {
		t.Fatalf("quote of another vTPM: %v", err)
	}
}

// mintedVerifier trusts the test VM's AMD hierarchy, with revocation checked
// against a CRL from the test KDS.
func minted(t *testing.T) (*aztest.VM, *azure.Verifier) {
	t.Helper()
	vm, err := aztest.NewVM(snp.Milan)
	if err != nil {
		t.Fatal(err)
	}
	kds := snptest.NewKDS(vm.PKI)
	t.Cleanup(kds.Close)
	crl, err := vm.PKI.CRL(snptest.Epoch(), snptest.Epoch().AddDate(5, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	kds.SetCRL(snp.Milan, snp.SigningKeyVCEK, crl)
	src, err := snp.NewHTTPSource(kds.URL(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	sv, err := snp.NewVerifier(snp.WithTrustedRoots(vm.PKI.Roots()), snp.WithKDS(src))
	if err != nil {
		t.Fatal(err)
	}
	v, err := azure.NewVerifier(azure.WithSNP(sv))
	if err != nil {
		t.Fatal(err)
	}
	return vm, v
}

var mintedTime = snptest.Epoch().AddDate(1, 0, 0)

func TestMintedEvidence(t *testing.T) {
	vm, v := minted(t)
	ctx := context.Background()
	rd := bytes.Repeat([]byte{0x5a}, 48)
	exp := verify.Expectations{ReportData: rd, Now: mintedTime}
	for _, version := range []int{1, 2} {
		ev, err := vm.Evidence(aztest.Spec{Version: version, ReportData: rd})
		if err != nil {
			t.Fatal(err)
		}
		c, err := v.Verify(ctx, ev, exp)
		if err != nil {
			t.Fatalf("version %d: %v", version, err)
		}
		m := c.Map()
		if m["revocation_checked"] != true || m[verify.ClaimUnsafe] != nil || m["ak.trust"] != "bound" || m["report_data"] != hex.EncodeToString(rd) ||
			m["hcl_report_session_bound"] != (version == 2) {
			t.Fatalf("version %d claims: %v", version, m)
		}
	}
	// Version 2 without expected report data (unsafe): the user-data was not
	// compared, so the report is not claimed bound to a session.
	ev, err := vm.Evidence(aztest.Spec{ReportData: rd})
	if err != nil {
		t.Fatal(err)
	}
	c, err := v.Verify(ctx, ev, verify.Expectations{AllowMissingReportDataUnsafe: true, Now: mintedTime})
	if err != nil || c.Map()["hcl_report_session_bound"] != false {
		t.Fatalf("unsafe, no report data: %v, %v", c, err)
	}
	for name, c := range map[string]struct {
		spec  aztest.Spec
		kinds []error
	}{
		// Only the paravisor runs at VMPL 0.
		"VMPL 2": {aztest.Spec{ReportData: rd, Report: snptest.Report{VMPL: 2}}, []error{verify.ErrBinding}},
		"SNP-31": {aztest.Spec{ReportData: rd, RuntimeData: func(b []byte) []byte {
			return bytes.Replace(b, []byte(`"secure-boot":true`), []byte(`"secure-boot":false`), 1)
		}}, []error{verify.ErrBinding}},
		"TPM-22":      {aztest.Spec{ReportData: rd, QuoteSigner: mustRSA(t)}, []error{verify.ErrBinding, verify.ErrSignature}},
		"wrong nonce": {aztest.Spec{ReportData: bytes.Repeat([]byte{0x5b}, 48)}, []error{verify.ErrFreshness}},
	} {
		t.Run(name, func(t *testing.T) {
			ev, err := vm.Evidence(c.spec)
			if err != nil {
				t.Fatal(err)
			}
			claims, err := v.Verify(ctx, ev, exp)
			wantKind(t, claims, err, c.kinds...)
		})
	}
}

// Version 2 binds the session in the user-data too: runtime data whose
// user-data is another session's fails even with the right quote; version 1
// has no such check.
func TestMintedUserData(t *testing.T) {
	vm, v := minted(t)
	rd := bytes.Repeat([]byte{0x5a}, 48)
	exp := verify.Expectations{ReportData: rd, Now: mintedTime}
	for version, kinds := range map[int][]error{1: nil, 2: {verify.ErrFreshness}} {
		ev, err := vm.Evidence(aztest.Spec{Version: version, ReportData: rd, UserData: bytes.Repeat([]byte{0x5b}, 64)})
		if err != nil {
			t.Fatal(err)
		}
		c, err := v.Verify(context.Background(), ev, exp)
		if kinds == nil {
			if err != nil {
				t.Fatalf("version 1: %v", err)
			}
			continue
		}
		wantKind(t, c, err, kinds...)
	}
}

func sha256Sum(b []byte) []byte {
	h := sha256.Sum256(b)
	return h[:]
}

func mustRSA(t *testing.T) *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// The AK is the one RSA signing key named HCLAkPub.
func TestRuntimeDataAK(t *testing.T) {
	key := func(kid, kty, e string, ops ...string) map[string]any {
		return map[string]any{"kid": kid, "kty": kty, "e": e, "key_ops": ops,
			"n": base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{0xc3}, 256))}
	}
	for name, c := range map[string]struct {
		keys []map[string]any
		kind error
	}{
		"ok":            {[]map[string]any{key("HCLEkPub", "RSA", "AQAB", "encrypt"), key("HCLAkPub", "RSA", "AQAB", "sign")}, nil},
		"missing":       {[]map[string]any{key("HCLEkPub", "RSA", "AQAB", "sign")}, verify.ErrMalformed},
		"two":           {[]map[string]any{key("HCLAkPub", "RSA", "AQAB", "sign"), key("HCLAkPub", "RSA", "AQAB", "sign")}, verify.ErrMalformed},
		"not RSA":       {[]map[string]any{key("HCLAkPub", "EC", "AQAB", "sign")}, verify.ErrUnsupported},
		"not for sign":  {[]map[string]any{key("HCLAkPub", "RSA", "AQAB", "encrypt")}, verify.ErrMalformed},
		"even exponent": {[]map[string]any{key("HCLAkPub", "RSA", "AQAA", "sign")}, verify.ErrMalformed},
		"exponent 1":    {[]map[string]any{key("HCLAkPub", "RSA", "AQ", "sign")}, verify.ErrMalformed},
		"long exponent": {[]map[string]any{key("HCLAkPub", "RSA", "AQEBAQE", "sign")}, verify.ErrMalformed},
		"bad base64 e":  {[]map[string]any{key("HCLAkPub", "RSA", "!!", "sign")}, verify.ErrMalformed},
	} {
		t.Run(name, func(t *testing.T) {
			b, _ := json.Marshal(map[string]any{"keys": c.keys})
			rd, err := azure.ParseRuntimeData(b)
			if err != nil {
				t.Fatal(err)
			}
			k, err := rd.AK()
			if c.kind == nil {
				if err != nil || k.E != 65537 || k.N.BitLen() != 2048 {
					t.Fatalf("%v %v", k, err)
				}
				return
			}
			if k != nil || !errors.Is(err, c.kind) {
				t.Fatalf("expected %v, got %v", c.kind, err)
			}
		})
	}
	for _, trailing := range []string{` {}`, `]`, ` }`} {
		if _, err := azure.ParseRuntimeData([]byte(`{"keys":[]}` + trailing)); !errors.Is(err, verify.ErrMalformed) {
			t.Fatalf("trailing data %q: %v", trailing, err)
		}
	}
}

// Trustee compares the quote's extraData with the report data exactly: the
// digest followed by zeros is another value. A caller-built Evidence of an
// unknown version is refused.
func TestMintedExactExtraData(t *testing.T) {
	vm, v := minted(t)
	rd := bytes.Repeat([]byte{0x5a}, 48)
	ev, err := vm.Evidence(aztest.Spec{ReportData: append(bytes.Clone(rd), make([]byte, 16)...)})
	if err != nil {
		t.Fatal(err)
	}
	c, err := v.Verify(context.Background(), ev, verify.Expectations{ReportData: rd, Now: mintedTime})
	wantKind(t, c, err, verify.ErrFreshness)
	dec, err := azure.DecodeEvidence(ev)
	if err != nil {
		t.Fatal(err)
	}
	for _, version := range []int{-1, 3} {
		dec.Version = version
		cl, err := v.VerifyEvidence(context.Background(), dec, verify.Expectations{ReportData: rd, Now: mintedTime})
		if cl != nil || !errors.Is(err, verify.ErrUnsupported) {
			t.Fatalf("version %d: %v", version, err)
		}
	}
}

// Members Trustee ignores (at the top and inside tpm_quote) are ignored:
// the real sample with them still verifies, and the bytes cap still holds.
func TestRealEvidenceUnknownMembers(t *testing.T) {
	v := realVerifier(t)
	ev := edit(t, func(m map[string]any) {
		m["extra"] = map[string]any{"note": "from a newer attester"}
		m["tpm_quote"].(map[string]any)["pcr_bank"] = "sha256"
	})
	_, err := v.Verify(context.Background(), ev, realExp())
	require.NoError(t, err)
	big := edit(t, func(m map[string]any) { m["extra"] = strings.Repeat("x", azure.MaxEvidenceSize) })
	_, err = v.Verify(context.Background(), big, realExp())
	require.ErrorIs(t, err, verify.ErrLimit)
}
