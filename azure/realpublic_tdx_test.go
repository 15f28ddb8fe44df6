package azure_test

import (
	"bytes"
	"context"
	"crypto/sha512"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/trustfactory/attest/azure"
	"github.com/trustfactory/attest/tdx"
	"github.com/trustfactory/attest/verify"
)

// realTDXTime lies inside the real TD quote's PCK certificate validity
// (2023-09-13..2030-09-13).
var realTDXTime = time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)

// realTDXEvidence is Trustee's complete az-tdx-vtpm evidence-v1.json: the
// real HCL report and vTPM quote of testdata/azure/tdx with the real TD
// quote Azure's IMDS made of that HCL report's TDREPORT (td-quote.bin).
func realTDXEvidence(t testing.TB, tdQuote []byte) []byte {
	t.Helper()
	q := readShared(t, realTDXDir+"tpm-quote-v1.json")
	return []byte(fmt.Sprintf(`{"version": 1, "tpm_quote": %s, "hcl_report": %q, "td_quote": %q}`, q,
		base64.URLEncoding.EncodeToString(readShared(t, realTDXDir+"hcl-report.bin")), base64.URLEncoding.EncodeToString(tdQuote)))
}

// TestRealPublicAzureTDXQuote verifies real Azure TDX CVM evidence end to
// end except for Intel's collateral, which is not public for this quote's
// platform and time: the TD quote's ECDSA signature, its QE report and the
// PCK chain to Intel's root (package tdx, WithoutCollateralUnsafe, so no TCB
// status and no revocation, and the claims say so), the quote repeating the
// HCL report's TDREPORT field by field, the runtime data's digest as its
// report data, and the vTPM quote signed by the runtime data's AK with
// extraData "challenge".
func TestRealPublicAzureTDXQuote(t *testing.T) {
	tv, err := tdx.NewVerifier(tdx.WithoutCollateralUnsafe())
	if err != nil {
		t.Fatal(err)
	}
	v, err := azure.NewTDXVerifier(azure.WithTDX(tv))
	if err != nil {
		t.Fatal(err)
	}
	td := readShared(t, realTDXDir+"td-quote.bin")
	raw := realTDXEvidence(t, td)
	if !v.Detect(raw) {
		t.Fatal("not detected")
	}
	exp := verify.Expectations{ReportData: []byte(realTDXNonce), Now: realTDXTime}
	c, err := v.Verify(context.Background(), raw, exp)
	if err != nil {
		t.Fatal(err)
	}
	m := c.Map()
	for k, want := range map[string]any{
		"quote.body.mr_td":              realTDXMRTD,
		"vm_configuration.vm_unique_id": realTDXVMID,
		"ak.trust":                      "bound",
		"az_version":                    1,
		"hcl_report_session_bound":      false,
		"report_data":                   fmt.Sprintf("%x", realTDXNonce),
	} {
		if got := m[k]; got != want {
			t.Errorf("%s: got %v (%T), want %v", k, got, got, want)
		}
	}
	if u, _ := m[verify.ClaimUnsafe].([]string); len(u) == 0 {
		t.Errorf("collateral skipped, yet no unsafe claim: %v", m[verify.ClaimUnsafe])
	}

	// Negatives on the real bytes.
	flip := func(off int) []byte {
		b := bytes.Clone(td)
		b[off] ^= 1
		return b
	}
	for name, c := range map[string]struct {
		ev    []byte
		exp   verify.Expectations
		kinds []error
	}{
		// The quote's MRTD (body offset 136) no longer the TDREPORT's: the
		// field-by-field match refuses it before any signature is checked.
		"TD quote MRTD flipped":      {realTDXEvidence(t, flip(48+136)), exp, []error{verify.ErrBinding}},
		"TD quote signature flipped": {realTDXEvidence(t, flip(48+584+4+10)), exp, []error{verify.ErrSignature}},
		"another session":            {raw, verify.Expectations{ReportData: []byte("other"), Now: realTDXTime}, []error{verify.ErrFreshness}},
		"the second VM's HCL report": {[]byte(fmt.Sprintf(`{"version": 1, "tpm_quote": %s, "hcl_report": %q, "td_quote": %q}`,
			readShared(t, realTDXDir+"tpm-quote-v1.json"), base64.URLEncoding.EncodeToString(readShared(t, realTDXHCL2)),
			base64.URLEncoding.EncodeToString(td))), exp, []error{verify.ErrBinding}},
		"after the PCK certificate": {raw, verify.Expectations{ReportData: []byte(realTDXNonce), Now: time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)},
			[]error{verify.ErrExpired}},
	} {
		t.Run(name, func(t *testing.T) {
			claims, err := v.Verify(context.Background(), c.ev, c.exp)
			if err == nil {
				t.Fatal("verified")
			}
			wantKind(t, claims, err, c.kinds...)
		})
	}
}

// TestRealPublicAzureTDXSecondVM: Intel Trust Authority's client carries a
// second real Azure TDX pair, an HCL report (with user-data, in upper-case
// hex: SHA-512 of the empty string) and the TD quote IMDS made of it, but
// no vTPM quote. Everything up to the vTPM quote verifies (the TD quote's
// signature, QE report and PCK chain, the TDREPORT repeated field by
// field, the runtime data as its report data, the version 2 user-data as
// the session's report data): given the other VM's vTPM quote, only that
// quote is refused, as another vTPM's (TPM-22).
func TestRealPublicAzureTDXSecondVM(t *testing.T) {
	tv, err := tdx.NewVerifier(tdx.WithoutCollateralUnsafe())
	if err != nil {
		t.Fatal(err)
	}
	v, err := azure.NewTDXVerifier(azure.WithTDX(tv))
	if err != nil {
		t.Fatal(err)
	}
	hcl := readShared(t, realTDXDir+"ita-hcl-report.bin")
	td := readShared(t, realTDXDir+"ita-td-quote.bin")
	evidence := func(version int, hcl, td []byte) []byte {
		return []byte(fmt.Sprintf(`{"version": %d, "tpm_quote": %s, "hcl_report": %q, "td_quote": %q}`, version,
			readShared(t, realTDXDir+"tpm-quote-v1.json"), base64.URLEncoding.EncodeToString(hcl), base64.URLEncoding.EncodeToString(td)))
	}
	empty512 := sha512.Sum512(nil)
	exp := verify.Expectations{ReportData: empty512[:], Now: realTDXTime}
	c, err := v.Verify(context.Background(), evidence(2, hcl, td), exp)
	wantKind(t, c, err, verify.ErrBinding)
	if !strings.Contains(err.Error(), "vTPM quote not signed by the HCL report's AK") {
		t.Fatalf("refused before the vTPM quote: %v", err)
	}

	// Each earlier check refuses on its own.
	other := bytes.Clone(empty512[:])
	other[63] ^= 1
	c, err = v.Verify(context.Background(), evidence(2, hcl, td), verify.Expectations{ReportData: other, Now: realTDXTime})
	wantKind(t, c, err, verify.ErrFreshness) // the user-data
	c, err = v.Verify(context.Background(), evidence(2, readShared(t, realTDXDir+"hcl-report.bin"), td), exp)
	wantKind(t, c, err, verify.ErrBinding) // the first VM's HCL report with this TD quote
	sig := bytes.Clone(td)
	sig[48+584+4+10] ^= 1
	c, err = v.Verify(context.Background(), evidence(2, hcl, sig), exp)
	wantKind(t, c, err, verify.ErrSignature)
	rt := bytes.Clone(hcl)
	i := bytes.Index(rt, []byte("D6DA8E8D"))
	rt[i] = 'E'
	c, err = v.Verify(context.Background(), evidence(2, rt, td), exp)
	wantKind(t, c, err, verify.ErrBinding) // runtime data one byte off
}

// realTDXV0 is the real az-tdx-vtpm evidence in Trustee's legacy version 0
// shape: version 1's members, their values byte arrays, no version.
func realTDXV0(t testing.TB) []byte {
	t.Helper()
	arr := func(b []byte) string {
		var sb strings.Builder
		sb.WriteByte('[')
		for i, x := range b {
			if i > 0 {
				sb.WriteString(", ")
			}
			fmt.Fprint(&sb, x)
		}
		return sb.String() + "]"
	}
	q := realTDXQuote(t)
	pcrs := make([]string, len(q.PCRs))
	for i, p := range q.PCRs {
		pcrs[i] = arr(p)
	}
	return []byte(fmt.Sprintf(`{"tpm_quote": {"signature": %s, "message": %s, "pcrs": [%s]}, "hcl_report": %s, "td_quote": %s}`,
		arr(q.Signature), arr(q.Message), strings.Join(pcrs, ", "), arr(readShared(t, realTDXDir+"hcl-report.bin")), arr(readShared(t, realTDXDir+"td-quote.bin"))))
}

// Trustee's legacy az-tdx-vtpm version 0 (refused as malformed before)
// decodes to the same parts as version 1 and verifies as version 1 does;
// byte arrays in version 1 evidence, or in az-snp-vtpm evidence, are
// refused.
func TestRealPublicAzureTDXVersion0(t *testing.T) {
	v0 := realTDXV0(t)
	d0, err := azure.DecodeTDXEvidence(v0)
	if err != nil {
		t.Fatal(err)
	}
	d1, err := azure.DecodeTDXEvidence(realTDXEvidence(t, readShared(t, realTDXDir+"td-quote.bin")))
	if err != nil {
		t.Fatal(err)
	}
	if d0.Version != 0 || !bytes.Equal(d0.HCLReport, d1.HCLReport) || !bytes.Equal(d0.TDQuote, d1.TDQuote) ||
		!bytes.Equal(d0.Quote.Message, d1.Quote.Message) || !bytes.Equal(d0.Quote.Signature, d1.Quote.Signature) ||
		!bytes.Equal(bytes.Join(d0.Quote.PCRs, nil), bytes.Join(d1.Quote.PCRs, nil)) {
		t.Fatal("version 0 and version 1 decode to different parts")
	}
	tv, err := tdx.NewVerifier(tdx.WithoutCollateralUnsafe())
	if err != nil {
		t.Fatal(err)
	}
	v, err := azure.NewTDXVerifier(azure.WithTDX(tv))
	if err != nil {
		t.Fatal(err)
	}
	if !v.Detect(v0) {
		t.Fatal("version 0 not detected")
	}
	c, err := v.Verify(context.Background(), v0, verify.Expectations{ReportData: []byte(realTDXNonce), Now: realTDXTime})
	if err != nil {
		t.Fatal(err)
	}
	if m := c.Map(); m["az_version"] != 0 || m["hcl_report_session_bound"] != false || m["quote.body.mr_td"] != realTDXMRTD {
		t.Fatalf("claims: version %v, session bound %v, MRTD %v", m["az_version"], m["hcl_report_session_bound"], m["quote.body.mr_td"])
	}
	for name, doc := range map[string]string{
		"with version 1":    strings.Replace(string(v0), `{"tpm_quote"`, `{"version": 1, "tpm_quote"`, 1),
		"a base64 TD quote": strings.Replace(string(v0), `"td_quote": [`, `"td_quote": "BAACAA", "x": [`, 1),
		"a hex signature":   strings.Replace(string(v0), `"signature": [`, `"signature": "00", "s": [`, 1),
		"PCR of 31 bytes":   strings.Replace(string(v0), `"pcrs": [[120, `, `"pcrs": [[`, 1),
	} {
		if doc == string(v0) {
			t.Fatalf("%s: edit did not apply", name)
		}
		_, err := azure.DecodeTDXEvidence([]byte(doc))
		wantKind(t, nil, err, verify.ErrMalformed)
	}
	_, err = azure.DecodeEvidence(v0)
	wantKind(t, nil, err, verify.ErrMalformed)
}
