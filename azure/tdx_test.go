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
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/azure"
	"github.com/trustfactory/attest/azure/aztest"
	"github.com/trustfactory/attest/kbs"
	"github.com/trustfactory/attest/tdx"
	"github.com/trustfactory/attest/tdx/tdxtest"
	"github.com/trustfactory/attest/verify"
)

const (
	realTDXDir = "../testdata/azure/tdx/" // provenance in testdata/azure/README.md
	// realTDXHCL2 is a second real TDX HCL report, from another VM (vTPM).
	realTDXHCL2 = "../testdata/azure/tdx/hcl-report-tdx-vm2.bin"
)

// The real sample's MRTD (Azure's paravisor) and PCR 0, from the real bytes.
const (
	realTDXMRTD  = "024a32b070383331181619fa387cb4d55d1e38879f989933055ccad5bc2db795d1737b66205949d15469dc8c1ba7ab7b"
	realTDXVMID  = "6332533D-5649-4D02-8AA7-8F64B7C3EE21"
	realTDXNonce = "challenge"
)

func readShared(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("test data: %v", err)
	}
	return b
}

// realTDXQuote is Trustee's real vTPM quote (tpm-quote-v1.json), made by the
// vTPM whose AK the real HCL report carries, nonce "challenge".
func realTDXQuote(t testing.TB) azure.Quote {
	t.Helper()
	var j struct {
		Signature, Message string
		PCRs               []string
	}
	require.NoError(t, json.Unmarshal(readShared(t, realTDXDir+"tpm-quote-v1.json"), &j))
	q := azure.Quote{PCRs: make([][]byte, len(j.PCRs))}
	var err error
	q.Signature, err = hex.DecodeString(j.Signature)
	require.NoError(t, err)
	q.Message, err = hex.DecodeString(j.Message)
	require.NoError(t, err)
	for i, p := range j.PCRs {
		q.PCRs[i], err = hex.DecodeString(p)
		require.NoError(t, err)
	}
	return q
}

// realTDX assembles version 1 az-tdx-vtpm evidence from the real HCL report
// and the real vTPM quote. The real TD quote of it (td-quote.bin) has no
// public Intel collateral (TestRealPublicAzureTDXQuote verifies it without),
// so the TD quote here is what Azure's IMDS would make of the real
// TDREPORT, signed by the test Intel PKI pki: everything but the TD quote's
// signatures is real bytes.
func realTDX(t testing.TB, pki *tdxtest.PKI, hclPath string) []byte {
	t.Helper()
	hcl := readShared(t, hclPath)
	body, err := aztest.TDReportBody(hcl[0x20 : 0x20+1024])
	require.NoError(t, err)
	qs := pki.DefaultQuote(nil)
	qs.Body = body
	ev, err := aztest.TDXEvidenceJSON(1, hcl, pki.Quote(qs), realTDXQuote(t))
	require.NoError(t, err)
	return ev
}

// tdxVerifier trusts pki's root and takes its default collateral.
func tdxVerifier(t testing.TB, pki *tdxtest.PKI) *azure.TDXVerifier {
	t.Helper()
	src := tdx.NewMemorySource()
	src.Add(pki.Platform.FMSPC, "platform", pki.DefaultCollateral())
	tv, err := tdx.NewVerifier(tdx.WithCollateral(src), tdx.WithTrustedRoots(pki.Root.Cert))
	require.NoError(t, err)
	v, err := azure.NewTDXVerifier(azure.WithTDX(tv))
	require.NoError(t, err)
	return v
}

func realTDXExp() verify.Expectations {
	return verify.Expectations{ReportData: []byte(realTDXNonce), Now: tdxtest.VerifyTime()}
}

// The real Azure TDX HCL report and vTPM quote: the runtime data hashes to
// the real TDREPORT's REPORTDATA, the TD quote of that TDREPORT (minted, see
// realTDX) verifies and repeats it, the real quote is signed by the real
// runtime data's AK with extraData "challenge" over the real PCRs.
func TestAzureTDXRealParts(t *testing.T) {
	pki := tdxtest.NewPKI()
	v := tdxVerifier(t, pki)
	ev := realTDX(t, pki, realTDXDir+"hcl-report.bin")
	c, err := v.Verify(context.Background(), ev, realTDXExp())
	require.NoError(t, err)
	assert.Equal(t, verify.FormatAzureTDX, c.Format())

	hcl := readShared(t, realTDXDir+"hcl-report.bin")
	size := int(hcl[8]) | int(hcl[9])<<8
	rdDigest := sha256.Sum256(hcl[0x4d4:size])
	q := realTDXQuote(t)
	m := c.Map()
	for k, want := range map[string]any{
		"quote.body.mr_td":                 realTDXMRTD,
		"td_report_data":                   hex.EncodeToString(rdDigest[:]) + strings.Repeat("00", 32),
		"report_data":                      hex.EncodeToString([]byte(realTDXNonce)),
		"ak.trust":                         "bound",
		"pcr00":                            hex.EncodeToString(q.PCRs[0]),
		"pcr23":                            hex.EncodeToString(q.PCRs[23]),
		"vm_configuration.vm_unique_id":    realTDXVMID,
		"vm_configuration.console_enabled": true,
		"secure_boot.enabled":              true,
		"az_version":                       1,
		"hcl_report_session_bound":         false,
		"runtime_data_hash":                "sha256",
		"td_attributes.debug":              false,
		"init_data":                        nil, // MRCONFIGID is the paravisor's, not init data
	} {
		assert.Equal(t, want, m[k], k)
	}
	assert.Equal(t, "OutOfDate", m["tcb_status"], "the real TEE_TCB_SVN 020106… has TDX module SVN 2, OutOfDate in the minted TCB info")

	sv, err := azure.NewVerifier()
	require.NoError(t, err)
	assert.True(t, v.Detect(ev))
	assert.False(t, sv.Detect(ev), "the az-snp-vtpm verifier must not claim az-tdx-vtpm evidence")
	assert.False(t, v.Detect(readReal(t)), "nor the other way round")
}

// A real vTPM quote with the real HCL report of another VM: the quote is not
// signed by that report's AK, so it is not bound to its TD (TPM-22 for
// Azure TDX): ErrBinding wrapping ErrSignature.
func TestAzureTDXRealQuoteOfAnotherVTPM(t *testing.T) {
	pki := tdxtest.NewPKI()
	v := tdxVerifier(t, pki)
	c, err := v.Verify(context.Background(), realTDX(t, pki, realTDXHCL2), realTDXExp())
	require.ErrorIs(t, err, verify.ErrBinding)
	require.ErrorIs(t, err, verify.ErrSignature)
	assert.Nil(t, c)
}

// editTDX decodes evidence, lets f change the JSON members, encodes it.
func editTDX(t *testing.T, ev []byte, f func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(ev, &m))
	f(m)
	b, err := json.Marshal(m)
	require.NoError(t, err)
	return b
}

// editB64 edits the base64url member name of ev.
func editB64(t *testing.T, ev []byte, name string, f func([]byte) []byte) []byte {
	return editTDX(t, ev, func(m map[string]any) {
		b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(m[name].(string), "="))
		require.NoError(t, err)
		m[name] = base64.RawURLEncoding.EncodeToString(f(b))
	})
}

// A member Trustee ignores is ignored here too: the evidence still verifies.
func TestAzureTDXUnknownMemberIgnored(t *testing.T) {
	pki := tdxtest.NewPKI()
	ev := realTDX(t, pki, realTDXDir+"hcl-report.bin")
	_, err := tdxVerifier(t, pki).Verify(context.Background(), editTDX(t, ev, func(m map[string]any) { m["extra"] = 1 }), realTDXExp())
	require.NoError(t, err)
}

func TestAzureTDXRealPartsNegatives(t *testing.T) {
	pki := tdxtest.NewPKI()
	v := tdxVerifier(t, pki)
	ev := realTDX(t, pki, realTDXDir+"hcl-report.bin")
	flip := func(off int) func([]byte) []byte {
		return func(b []byte) []byte { b[off] ^= 1; return b }
	}
	other := tdxtest.NewPKI()
	for name, c := range map[string]struct {
		ev    []byte
		exp   verify.Expectations
		kinds []error
	}{
		"runtime data AK modulus edited": {editB64(t, ev, "hcl_report", func(h []byte) []byte {
			i := bytes.Index(h, []byte(`"n":"`))
			h[i+10] ^= 1
			return h
		}), realTDXExp(), []error{verify.ErrBinding}},
		"TDREPORT REPORTDATA flipped": {editB64(t, ev, "hcl_report", flip(0x20+0x80)), realTDXExp(), []error{verify.ErrBinding}},
		"TDREPORT MRTD flipped (quote of another TD)": {editB64(t, ev, "hcl_report", flip(0x20+0x210)), realTDXExp(),
			[]error{verify.ErrBinding}},
		"TDREPORT type":              {editB64(t, ev, "hcl_report", flip(0x20)), realTDXExp(), []error{verify.ErrMalformed}},
		"padding after the TDREPORT": {editB64(t, ev, "hcl_report", flip(0x20+1024+3)), realTDXExp(), []error{verify.ErrMalformed}},
		"SEV-SNP report type":        {editB64(t, ev, "hcl_report", func(h []byte) []byte { h[0x4c0+8] = 2; return h }), realTDXExp(), []error{verify.ErrUnsupported}},
		"TD quote signature flipped": {editB64(t, ev, "td_quote", flip(48+584+4+4)), realTDXExp(), []error{verify.ErrSignature}},
		"TD quote body flipped":      {editB64(t, ev, "td_quote", flip(48+200)), realTDXExp(), []error{verify.ErrBinding}},
		"TD quote by another PKI": {editTDX(t, ev, func(m map[string]any) {
			qs := other.DefaultQuote(nil)
			hcl, _ := base64.URLEncoding.DecodeString(m["hcl_report"].(string))
			qs.Body, _ = aztest.TDReportBody(hcl[0x20:])
			m["td_quote"] = base64.URLEncoding.EncodeToString(other.Quote(qs))
		}), realTDXExp(), []error{verify.ErrChain}},
		"vTPM message flipped": {editTDX(t, ev, func(m map[string]any) {
			q := m["tpm_quote"].(map[string]any)
			msg, _ := hex.DecodeString(q["message"].(string))
			msg[len(msg)-1] ^= 1
			q["message"] = hex.EncodeToString(msg)
		}), realTDXExp(), []error{verify.ErrBinding, verify.ErrSignature}},
		"PCR value changed": {editTDX(t, ev, func(m map[string]any) {
			m["tpm_quote"].(map[string]any)["pcrs"].([]any)[0] = strings.Repeat("11", 32)
		}), realTDXExp(), []error{verify.ErrBinding}},
		"wrong nonce":                {ev, verify.Expectations{ReportData: []byte("other session"), Now: tdxtest.VerifyTime()}, []error{verify.ErrFreshness}},
		"no expected report data":    {ev, verify.Expectations{Now: tdxtest.VerifyTime()}, []error{verify.ErrConfig}},
		"HCL report truncated":       {editB64(t, ev, "hcl_report", func(h []byte) []byte { return h[:0x4d0] }), realTDXExp(), []error{verify.ErrMalformed}},
		"HCL report cut in the JSON": {editB64(t, ev, "hcl_report", func(h []byte) []byte { return h[:2000] }), realTDXExp(), []error{verify.ErrMalformed}},
		"TD quote truncated":         {editB64(t, ev, "td_quote", func(q []byte) []byte { return q[:len(q)/2] }), realTDXExp(), []error{verify.ErrMalformed}},
		"JSON truncated":             {ev[:len(ev)/2], realTDXExp(), []error{verify.ErrMalformed}},
		"no td_quote":                {editTDX(t, ev, func(m map[string]any) { delete(m, "td_quote") }), realTDXExp(), []error{verify.ErrMalformed}},
		"a vcek member":              {editTDX(t, ev, func(m map[string]any) { m["vcek"] = "AAAA" }), realTDXExp(), []error{verify.ErrMalformed}},
		"version 3":                  {editTDX(t, ev, func(m map[string]any) { m["version"] = 3 }), realTDXExp(), []error{verify.ErrUnsupported}},
		"version 2, user-data zero":  {editTDX(t, ev, func(m map[string]any) { m["version"] = 2 }), realTDXExp(), []error{verify.ErrFreshness}},
		"after the collateral":       {ev, verify.Expectations{ReportData: []byte(realTDXNonce), Now: tdxtest.NextUpdate().AddDate(0, 1, 0)}, []error{verify.ErrExpired}},
	} {
		t.Run(name, func(t *testing.T) {
			cl, err := v.Verify(context.Background(), c.ev, c.exp)
			require.Error(t, err)
			for _, k := range c.kinds {
				require.ErrorIs(t, err, k)
			}
			assert.Nil(t, cl)
		})
	}
}

func mintedTDX(t testing.TB) (*aztest.TDXVM, *azure.TDXVerifier) {
	t.Helper()
	vm, err := aztest.NewTDXVM()
	require.NoError(t, err)
	return vm, tdxVerifier(t, vm.PKI)
}

// Minted version 2 evidence: bound to the session through the user-data
// too; every part's attack refused by kind.
func TestAzureTDXMinted(t *testing.T) {
	vm, v := mintedTDX(t)
	ctx := context.Background()
	rd := bytes.Repeat([]byte{0x5a}, 48)
	exp := verify.Expectations{ReportData: rd, Now: tdxtest.VerifyTime()}
	ev, err := vm.Evidence(aztest.TDXSpec{ReportData: rd, TD: func(b *tdx.Body) { b.MRTD[0] = 0xee }})
	require.NoError(t, err)
	c, err := v.Verify(ctx, ev, exp)
	require.NoError(t, err)
	m := c.Map()
	assert.Equal(t, true, m["hcl_report_session_bound"])
	assert.Equal(t, 2, m["az_version"])
	assert.Equal(t, hex.EncodeToString(rd), m["report_data"])
	assert.Equal(t, "UpToDate", m["tcb_status"])
	assert.True(t, strings.HasPrefix(m["quote.body.mr_td"].(string), "ee41"), m["quote.body.mr_td"])
	assert.Nil(t, m[verify.ClaimUnsafe])
	exp2, ok := c.(*azure.TDXClaims).Expiry()
	assert.True(t, ok)
	assert.Equal(t, tdxtest.NextUpdate(), exp2)

	otherAK, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	for name, tc := range map[string]struct {
		spec  aztest.TDXSpec
		kinds []error
	}{
		"runtime data not the TD report data": {aztest.TDXSpec{ReportData: rd, RuntimeData: func(b []byte) []byte {
			return bytes.Replace(b, []byte(`"secure-boot":true`), []byte(`"secure-boot":false`), 1)
		}}, []error{verify.ErrBinding}},
		"TD quote of another TD": {aztest.TDXSpec{ReportData: rd, TDQuote: func(q *tdxtest.QuoteSpec) { q.Body.RTMR[1][0] ^= 1 }},
			[]error{verify.ErrBinding}},
		"TD quote with other report data": {aztest.TDXSpec{ReportData: rd, TDQuote: func(q *tdxtest.QuoteSpec) { q.Body.ReportData[63] = 1 }},
			[]error{verify.ErrBinding}},
		"quote by another vTPM":                   {aztest.TDXSpec{ReportData: rd, QuoteSigner: otherAK}, []error{verify.ErrBinding, verify.ErrSignature}},
		"user-data of another one":                {aztest.TDXSpec{ReportData: rd, UserData: bytes.Repeat([]byte{1}, 64)}, []error{verify.ErrFreshness}},
		"quote nonce of another":                  {aztest.TDXSpec{ReportData: []byte("other")}, []error{verify.ErrFreshness}},
		"debug TD still verifies, but is a claim": {aztest.TDXSpec{ReportData: rd, TD: func(b *tdx.Body) { b.TDAttributes[0] |= 1 }}, nil},
	} {
		t.Run(name, func(t *testing.T) {
			ev, err := vm.Evidence(tc.spec)
			require.NoError(t, err)
			cl, err := v.Verify(ctx, ev, exp)
			if tc.kinds == nil {
				require.NoError(t, err)
				assert.Equal(t, true, cl.Map()["td_attributes.debug"])
				return
			}
			require.Error(t, err)
			for _, k := range tc.kinds {
				require.ErrorIs(t, err, k)
			}
			assert.Nil(t, cl)
		})
	}
}

func TestAzureTDXOptions(t *testing.T) {
	_, err := azure.NewTDXVerifier(azure.WithTDX(nil))
	require.ErrorIs(t, err, verify.ErrConfig)
	_, err = azure.NewTDXVerifier(azure.WithTDXTPM(nil))
	require.ErrorIs(t, err, verify.ErrConfig)
	_, err = azure.NewTDXVerifier()
	require.ErrorIs(t, err, verify.ErrConfig, "a TD quote is not verifiable without collateral")
	v := tdxVerifier(t, tdxtest.NewPKI())
	assert.Equal(t, "az-tdx-vtpm", v.TEEName())
	assert.Equal(t, verify.ClassCPU, v.SubmodClass())
	cl, err := v.VerifyEvidence(context.Background(), nil, realTDXExp())
	require.ErrorIs(t, err, verify.ErrMalformed)
	assert.Nil(t, cl)
}

// In a registry with the TDX and both Azure verifiers, az-tdx-vtpm evidence
// is detected as such (as "attest verify" does) and az-snp-vtpm stays
// az-snp-vtpm.
func TestAzureTDXDetectedInRegistry(t *testing.T) {
	pki := tdxtest.NewPKI()
	src := tdx.NewMemorySource()
	src.Add(pki.Platform.FMSPC, "platform", pki.DefaultCollateral())
	tv, err := tdx.NewVerifier(tdx.WithCollateral(src), tdx.WithTrustedRoots(pki.Root.Cert))
	require.NoError(t, err)
	atv, err := azure.NewTDXVerifier(azure.WithTDX(tv))
	require.NoError(t, err)
	reg, err := verify.NewRegistry(tv, realVerifier(t), atv)
	require.NoError(t, err)
	f, err := reg.Detect(realTDX(t, pki, realTDXDir+"hcl-report.bin"))
	require.NoError(t, err)
	assert.Equal(t, verify.FormatAzureTDX, f)
	f, err = reg.Detect(readReal(t))
	require.NoError(t, err)
	assert.Equal(t, verify.FormatAzureSNP, f)
	f, err = reg.ForTEE("az-tdx-vtpm", realTDX(t, pki, realTDXDir+"hcl-report.bin"))
	require.NoError(t, err)
	assert.Equal(t, verify.FormatAzureTDX, f)
	f, err = kbs.Format("az-tdx-vtpm")
	require.NoError(t, err)
	assert.Equal(t, verify.FormatAzureTDX, f)
}
