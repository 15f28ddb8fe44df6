package azure

import (
	"bytes"
	"encoding/pem"

	"github.com/trustfactory/attest/verify"
)

// MaxEvidenceSize caps encoded evidence before it is decoded.
const MaxEvidenceSize = 64 << 10

// Evidence is Trustee's az-snp-vtpm evidence (versions 0, 1 and 2), decoded.
// None of it is trusted until Verify has checked it.
type Evidence struct {
	Version int
	// HCLReport is the raw HCL report from vTPM NV index 0x01400001.
	HCLReport []byte
	// Quote is the vTPM quote: TPMS_ATTEST, the raw RSASSA signature by the
	// AK, and the SHA-256 PCR values the quote covers (index = PCR).
	Quote Quote
	// VCEK is the DER endorsement certificate of the SEV-SNP report.
	VCEK []byte
	// AAEventLog is the Attestation-Agent event log (see tpm.AAEventLog),
	// when the evidence carries one: the agent's runtime events, extended
	// into the vTPM's PCR 23 on Azure.
	AAEventLog []byte
}

// Quote is a vTPM quote as Trustee's attester sends it.
type Quote struct {
	Message   []byte   // TPMS_ATTEST
	Signature []byte   // RSASSA-PKCS1-v1_5 signature, SHA-256
	PCRs      [][]byte // SHA-256 bank, PCR i at index i
}

// DecodeEvidence decodes Trustee's az-snp-vtpm JSON: {"version": 1|2,
// "hcl_report": base64url, "tpm_quote": {"signature": hex, "message": hex,
// "pcrs": [hex, …]}, "vcek": base64url DER}, with an optional "aa_eventlog"
// (base64, the AA event log as Trustee derivatives carry it beside a TPM
// quote), or version 0, Trustee's legacy shape without a version:
// {"report": [u8], "quote": {"signature": [u8], "message": [u8], "pcrs":
// [[u8; 32], …]}, "vcek": PEM} (Evidence.Version 0; it binds the session
// as version 1 does). Members Trustee ignores are skipped without being
// kept (within MaxEvidenceSize, nested at most 32 deep); a td_quote
// (az-tdx-vtpm evidence), a member read here given twice or under a name
// differing only in case, trailing data, a mix of version 0's and later
// members, and missing parts are refused.
func DecodeEvidence(b []byte) (*Evidence, error) {
	const name = "az-snp-vtpm evidence"
	d, version, err := parseEvidence(name, b, false)
	if err != nil {
		return nil, err
	}
	if !d.tdQuote.empty() {
		return nil, verify.Errorf(verify.ErrMalformed, "%s: td_quote present (az-tdx-vtpm evidence?)", name)
	}
	if d.vcek.empty() {
		return nil, verify.Errorf(verify.ErrMalformed, "%s: hcl_report, tpm_quote and vcek are all required", name)
	}
	ev := &Evidence{Version: version}
	if version == 0 {
		if ev.HCLReport, ev.Quote, ev.AAEventLog, err = d.vtpmV0(name); err != nil {
			return nil, err
		}
		if ev.VCEK, err = pemCertField(name, "vcek", d.vcek); err != nil {
			return nil, err
		}
		return ev, nil
	}
	if ev.HCLReport, ev.Quote, ev.AAEventLog, err = d.vtpm(name); err != nil {
		return nil, err
	}
	if ev.VCEK, err = b64urlField(name, "vcek", d.vcek); err != nil {
		return nil, err
	}
	return ev, nil
}

// pemCertField decodes a string holding exactly one PEM CERTIFICATE block
// (whitespace around it allowed) into its DER bytes.
func pemCertField(name, field string, r rawString) ([]byte, error) {
	src, err := r.text()
	if err != nil {
		return nil, verify.Errorf(verify.ErrMalformed, "%s: %s: %v", name, field, err)
	}
	blk, rest := pem.Decode(src)
	if blk == nil || blk.Type != "CERTIFICATE" || len(blk.Headers) != 0 || len(bytes.TrimSpace(rest)) != 0 {
		return nil, verify.Errorf(verify.ErrMalformed, "%s: %s is not one PEM CERTIFICATE block", name, field)
	}
	return blk.Bytes, nil
}

// TDXEvidence is Trustee's az-tdx-vtpm evidence (versions 0, 1 and 2),
// decoded. None of it is trusted until Verify has checked it.
type TDXEvidence struct {
	Version int
	// HCLReport is the raw HCL report from vTPM NV index 0x01400001; its
	// hardware report is a TDREPORT.
	HCLReport []byte
	// Quote is the vTPM quote.
	Quote Quote
	// TDQuote is the TD quote (DCAP v4) Azure's IMDS made of the HCL
	// report's TDREPORT.
	TDQuote []byte
	// AAEventLog is the Attestation-Agent event log, as in Evidence.
	AAEventLog []byte
}

// DecodeTDXEvidence decodes Trustee's az-tdx-vtpm JSON: {"version": 1|2,
// "hcl_report": base64url, "tpm_quote": {"signature": hex, "message": hex,
// "pcrs": [hex, …]}, "td_quote": base64url}, with an optional "aa_eventlog"
// as for DecodeEvidence, or version 0, Trustee's legacy shape without a
// version whose members have byte-array values ("pcrs" an array of 32-byte
// arrays; TDXEvidence.Version 0, binding the session as version 1 does).
// Members Trustee ignores are skipped as DecodeEvidence skips them; a vcek
// (az-snp-vtpm evidence), a member read here given twice or under a name
// differing only in case, trailing data, a mix of the shapes and missing
// parts are refused.
func DecodeTDXEvidence(b []byte) (*TDXEvidence, error) {
	const name = "az-tdx-vtpm evidence"
	d, version, err := parseEvidence(name, b, true)
	if err != nil {
		return nil, err
	}
	if !d.vcek.empty() {
		return nil, verify.Errorf(verify.ErrMalformed, "%s: vcek present (az-snp-vtpm evidence?)", name)
	}
	if d.tdQuote.empty() && version != 0 {
		return nil, verify.Errorf(verify.ErrMalformed, "%s: hcl_report, tpm_quote and td_quote are all required", name)
	}
	ev := &TDXEvidence{Version: version}
	if version == 0 {
		if ev.HCLReport, ev.Quote, ev.TDQuote, ev.AAEventLog, err = d.tdxV0(name); err != nil {
			return nil, err
		}
		return ev, nil
	}
	if ev.HCLReport, ev.Quote, ev.AAEventLog, err = d.vtpm(name); err != nil {
		return nil, err
	}
	if ev.TDQuote, err = b64urlField(name, "td_quote", d.tdQuote); err != nil {
		return nil, err
	}
	return ev, nil
}

// detect reports whether b looks like Azure vTPM JSON whose hardware part
// is the member hw ("vcek" for az-snp-vtpm, "td_quote" for az-tdx-vtpm):
// cheap, no decoding.
// az-snp-vtpm's version 0 names its parts "report" and "quote".
func detect(b []byte, hw string) bool {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '{' || len(b) > MaxEvidenceSize || !bytes.Contains(b, []byte(`"`+hw+`"`)) {
		return false
	}
	if bytes.Contains(b, []byte(`"hcl_report"`)) && bytes.Contains(b, []byte(`"tpm_quote"`)) {
		return true
	}
	return hw == "vcek" && bytes.Contains(b, []byte(`"report"`)) && bytes.Contains(b, []byte(`"quote"`))
}
