package azure_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/trustfactory/attest/azure"
	"github.com/trustfactory/attest/nitro"
	"github.com/trustfactory/attest/setup"
	"github.com/trustfactory/attest/snp"
	"github.com/trustfactory/attest/verify"
)

// genoaRD is the extraData of the Genoa sample's quote: the report data of
// the Trustee session that produced it (48 bytes).
const genoaRD = "0218488bae25d2509232bf676f1a66a30d7372add909109b36016ef136f2938ca05475f8b46094de6b64270ea35d950f"

// genoaTime lies inside the Genoa VCEK's validity (2025-01-24..2032-01-24).
var genoaTime = time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)

func genoaExp(t testing.TB) verify.Expectations {
	rd, err := hex.DecodeString(genoaRD)
	if err != nil {
		t.Fatal(err)
	}
	return verify.Expectations{ReportData: rd, Now: genoaTime}
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("../testdata/azure/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestRealPublicAzureGenoa verifies Trustee's Azure confidential VM sample
// from an AMD Genoa host (SEV-SNP report version 3, VCEK of product Genoa)
// in Trustee's version 0 shape (byte arrays, PEM VCEK; refused before as
// unsupported) and re-encoded as version 1: the SEV-SNP report verifies
// under the VCEK and AMD's Genoa roots at VMPL 0, the runtime data hashes
// to its REPORT_DATA, and the vTPM quote is the runtime data AK's over the
// 24 SHA-256 PCRs with the session's 48-byte report data. Both shapes
// decode to the same parts.
func TestRealPublicAzureGenoa(t *testing.T) {
	v0, err := azure.DecodeEvidence(readTestdata(t, "trustee-evidence-genoa.json"))
	if err != nil {
		t.Fatal(err)
	}
	v1, err := azure.DecodeEvidence(readTestdata(t, "trustee-evidence-genoa-as-v1.json"))
	if err != nil {
		t.Fatal(err)
	}
	if v0.Version != 0 || v1.Version != 1 || !bytes.Equal(v0.HCLReport, v1.HCLReport) || !bytes.Equal(v0.VCEK, v1.VCEK) ||
		!bytes.Equal(v0.Quote.Message, v1.Quote.Message) || !bytes.Equal(v0.Quote.Signature, v1.Quote.Signature) ||
		!bytes.Equal(bytes.Join(v0.Quote.PCRs, nil), bytes.Join(v1.Quote.PCRs, nil)) {
		t.Fatal("version 0 and version 1 decode to different parts")
	}
	for file, version := range map[string]int{"trustee-evidence-genoa.json": 0, "trustee-evidence-genoa-as-v1.json": 1} {
		t.Run(file, func(t *testing.T) { checkGenoa(t, readTestdata(t, file), version) })
	}
}

func checkGenoa(t *testing.T, raw []byte, version int) {
	v := realVerifier(t)
	if !v.Detect(raw) {
		t.Fatal("not detected")
	}
	c, err := v.Verify(context.Background(), raw, genoaExp(t))
	if err != nil {
		t.Fatal(err)
	}
	m := c.Map()
	for k, want := range map[string]any{
		"az_version":                    version,
		"product":                       "Genoa",
		"endorsement_product_name":      "Genoa",
		"version":                       3,
		"vmpl":                          0,
		"policy":                        "0x3001f",
		"measurement":                   "f57dc09a507c6ecd82369bffb600f0003792f4d99bc26e985ec0c266fc34faf3706faf814c9e61065768a6ff917c89ae",
		"chip_id":                       "0506ffba875e939c2729d20c74eb72b4c5ba6bf7ea1faaa640141f12c6d64782fb487f68ce69dcd021e914cc0d9244327bc121f0242d6470903ad1d4aaea4ad1",
		"reported_tcb":                  "0x541700000000000a",
		"cpuid_fam_id":                  25,
		"cpuid_mod_id":                  17,
		"ak.trust":                      "bound",
		"report_data":                   genoaRD,
		"snp_report_data":               "b581f12e29a2d7d64e5e0b738d563879a78b51c644d0fa0cce02b48699f6bf5f" + strings.Repeat("00", 32),
		"pcr00":                         "afd689d0bb1c5f36f023fbaf574135f555a28a10c1f6b938d2a25e70c7783338",
		"pcr17":                         strings.Repeat("ff", 32),
		"vm_configuration.vm_unique_id": "390CBCF5-6C67-4D9B-98EF-C3F1699CC8FC",
		"secure_boot.enabled":           true,
		"hcl_report_session_bound":      false,
		"snp_report_data_checked":       true,
		"quote.reset_count":             uint32(53),
	} {
		if got := m[k]; got != want {
			t.Errorf("%s: got %v (%T), want %v (%T)", k, got, got, want, want)
		}
	}
}

// TestRealPublicAzureGenoaNegatives: the Genoa sample refused as a reviewer
// would tamper with it, and mixed with the Milan sample's parts.
func TestRealPublicAzureGenoaNegatives(t *testing.T) {
	v := realVerifier(t)
	ctx := context.Background()
	raw := readTestdata(t, "trustee-evidence-genoa-as-v1.json")
	editGenoa := func(f func(m map[string]any)) []byte {
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		f(m)
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	hclOf := func(m map[string]any) []byte {
		h, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(m["hcl_report"].(string), "="))
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	editHCLGenoa := func(f func(h []byte)) []byte {
		return editGenoa(func(m map[string]any) {
			h := hclOf(m)
			f(h)
			m["hcl_report"] = base64.RawURLEncoding.EncodeToString(h)
		})
	}
	var milan map[string]any
	if err := json.Unmarshal(readReal(t), &milan); err != nil {
		t.Fatal(err)
	}
	milanSNP, err := snp.NewVerifier(snp.WithoutRevocationUnsafe(), snp.WithProduct(snp.Milan))
	if err != nil {
		t.Fatal(err)
	}
	milanOnly, err := azure.NewVerifier(azure.WithSNP(milanSNP))
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		v     *azure.Verifier
		ev    []byte
		exp   verify.Expectations
		kinds []error
	}{
		// The runtime data (var data) one byte off from what the report's
		// REPORT_DATA hashes: a vmUniqueId digit changed (SNP-31).
		"runtime data one byte off": {v, editHCLGenoa(func(h []byte) {
			i := bytes.Index(h, []byte("390CBCF5"))
			h[i] = '4'
		}), genoaExp(t), []error{verify.ErrBinding}},
		"runtime data AK modulus one bit off": {v, editHCLGenoa(func(h []byte) {
			i := bytes.Index(h, []byte(`"n":"v5q3`))
			h[i+6] ^= 1
		}), genoaExp(t), []error{verify.ErrBinding}},
		"REPORT_DATA flipped": {v, editHCLGenoa(func(h []byte) { h[0x20+0x50] ^= 1 }), genoaExp(t), []error{verify.ErrBinding}},
		"measurement flipped": {v, editHCLGenoa(func(h []byte) { h[0x20+0x90] ^= 1 }), genoaExp(t), []error{verify.ErrSignature}},
		"another session": {v, raw, verify.Expectations{ReportData: []byte("challenge"), Now: genoaTime},
			[]error{verify.ErrFreshness}},
		"before the VCEK's validity": {v, raw, verify.Expectations{ReportData: genoaExp(t).ReportData, Now: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)},
			[]error{verify.ErrExpired}},
		"the Milan sample's VCEK": {v, editGenoa(func(m map[string]any) { m["vcek"] = milan["vcek"] }), genoaExp(t),
			[]error{verify.ErrChain}},
		// TPM-22: the Milan VM's quote with the Genoa VM's HCL report.
		"the Milan VM's quote": {v, editGenoa(func(m map[string]any) { m["tpm_quote"] = milan["tpm_quote"] }), realExp(),
			[]error{verify.ErrBinding}},
		"Milan pinned": {milanOnly, raw, genoaExp(t), []error{verify.ErrBinding}},
		// The same in version 0's byte arrays.
		"v0 runtime data one byte off": {v, editV0Genoa(t, func(m map[string]any) {
			rep := m["report"].([]any)
			var h []byte
			for _, b := range rep {
				h = append(h, byte(b.(float64)))
			}
			i := bytes.Index(h, []byte("390CBCF5"))
			rep[i] = float64('4')
		}), genoaExp(t), []error{verify.ErrBinding}},
		"v0 quote signature one bit off": {v, editV0Genoa(t, func(m map[string]any) {
			sig := m["quote"].(map[string]any)["signature"].([]any)
			sig[0] = float64(int(sig[0].(float64)) ^ 1)
		}), genoaExp(t), []error{verify.ErrSignature}},
		"PCR 17 changed": {v, editGenoa(func(m map[string]any) {
			m["tpm_quote"].(map[string]any)["pcrs"].([]any)[17] = strings.Repeat("00", 32)
		}), genoaExp(t), []error{verify.ErrBinding}},
	} {
		t.Run(name, func(t *testing.T) {
			claims, err := c.v.Verify(ctx, c.ev, c.exp)
			wantKind(t, claims, err, c.kinds...)
		})
	}
}

// editV0Genoa decodes the version 0 Genoa sample, lets f change it, and
// encodes it again.
func editV0Genoa(t *testing.T, f func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(readTestdata(t, "trustee-evidence-genoa.json"), &m); err != nil {
		t.Fatal(err)
	}
	f(m)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Version 0 exists for az-snp-vtpm only: the TDX decoder refuses it.
func TestRealPublicAzureV0NotTDX(t *testing.T) {
	_, err := azure.DecodeTDXEvidence(readTestdata(t, "trustee-evidence-genoa.json"))
	wantKind(t, nil, err, verify.ErrMalformed)
	var tv azure.TDXVerifier
	if tv.Detect(readTestdata(t, "trustee-evidence-genoa.json")) {
		t.Fatal("version 0 detected as az-tdx-vtpm")
	}
}

// TestRealPublicAzureHCLVersion1 reads azure-cvm-tooling's real HCL report
// of an older Azure SEV-SNP CVM: HCL report version 1 holding an SEV-SNP
// report version 2, runtime data without user-data. It parses, its runtime
// data hashes to the report's REPORT_DATA, and its VM configuration reads;
// its VCEK is not public, so in evidence with the Milan sample's VCEK the
// report's signature fails (and nothing else refuses it first).
func TestRealPublicAzureHCLVersion1(t *testing.T) {
	raw := readTestdata(t, "hcl-report-snp-v1.bin")
	h, err := azure.ParseHCLReport(raw)
	if err != nil {
		t.Fatal(err)
	}
	if h.Version != 1 || h.ReportType != 2 || h.HWReport[0] != 2 {
		t.Fatalf("HCL version %d, report type %d, SEV-SNP report version %d", h.Version, h.ReportType, h.HWReport[0])
	}
	sum := sha256.Sum256(h.RuntimeData)
	if !bytes.Equal(sum[:], h.HWReport[0x50:0x70]) || !bytes.Equal(h.HWReport[0x70:0x90], make([]byte, 32)) {
		t.Fatalf("runtime data digest %x, REPORT_DATA %x", sum, h.HWReport[0x50:0x90])
	}
	rd, err := azure.ParseRuntimeData(h.RuntimeData)
	if err != nil {
		t.Fatal(err)
	}
	if rd.UserData != "" || !rd.VMConfiguration.SecureBoot {
		t.Fatalf("runtime data %+v", rd)
	}
	ev := edit(t, func(m map[string]any) { m["hcl_report"] = base64.RawURLEncoding.EncodeToString(raw) })
	c, err := realVerifier(t).Verify(context.Background(), ev, realExp())
	wantKind(t, c, err, verify.ErrSignature)
}

// The registry every attest deployment builds tells the new real public
// samples apart: each is detected as its own format and as no other.
func TestRealPublicRegistryDetection(t *testing.T) {
	// Any AK registers the TPM verifier, whose detection is what counts here.
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := setup.NewRegistry(setup.Config{TPM: setup.TPMTrust{AKs: []crypto.PublicKey{key.Public()}}})
	if err != nil {
		t.Fatal(err)
	}
	tdxRaw := realTDXEvidence(t, readShared(t, realTDXDir+"td-quote.bin"))
	for name, c := range map[string]struct {
		raw  []byte
		want verify.Format
	}{
		"genoa v0":      {readTestdata(t, "trustee-evidence-genoa.json"), verify.FormatAzureSNP},
		"genoa as v1":   {readTestdata(t, "trustee-evidence-genoa-as-v1.json"), verify.FormatAzureSNP},
		"azure tdx":     {tdxRaw, verify.FormatAzureTDX},
		"azure tdx v0":  {realTDXV0(t), verify.FormatAzureTDX},
		"trustee tpm":   {readShared(t, "../testdata/tpm/trustee-tpm-evidence.json"), verify.FormatTPM},
		"nitro brave":   {readShared(t, "../testdata/nitro/brave-core_cose_unittest.cose"), nitro.Format},
		"nitro epsilon": {readShared(t, "../testdata/nitro/epsilon-nitro-verify_test.cose"), nitro.Format},
		"nitro cape":    {readShared(t, "../testdata/nitro/cape-js_Cape.spec.cose"), nitro.Format},
	} {
		f, err := reg.Detect(c.raw)
		if err != nil || f != c.want {
			t.Errorf("%s: detected %q (%v), want %q", name, f, err, c.want)
		}
	}
}
