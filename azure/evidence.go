package azure

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strings"

	"github.com/trustfactory/attest/verify"
)

// MaxEvidenceSize caps encoded evidence before it is decoded.
const MaxEvidenceSize = 64 << 10

// Evidence is Trustee's az-snp-vtpm evidence (versions 1 and 2), decoded.
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
}

// Quote is a vTPM quote as Trustee's attester sends it.
type Quote struct {
	Message   []byte   // TPMS_ATTEST
	Signature []byte   // RSASSA-PKCS1-v1_5 signature, SHA-256
	PCRs      [][]byte // SHA-256 bank, PCR i at index i
}

type evidenceJSON struct {
	Version   *int   `json:"version"`
	HCLReport string `json:"hcl_report"`
	TPMQuote  *struct {
		Signature string   `json:"signature"`
		Message   string   `json:"message"`
		PCRs      []string `json:"pcrs"`
	} `json:"tpm_quote"`
	VCEK string `json:"vcek"`
}

// DecodeEvidence decodes Trustee's az-snp-vtpm JSON: {"version": 1|2,
// "hcl_report": base64url, "tpm_quote": {"signature": hex, "message": hex,
// "pcrs": [hex, …]}, "vcek": base64url DER}. Members Trustee ignores are
// ignored (skipped without being kept, within MaxEvidenceSize); trailing
// data, version 0 (byte arrays) and missing parts are refused.
func DecodeEvidence(b []byte) (*Evidence, error) {
	if len(b) > MaxEvidenceSize {
		return nil, verify.Errorf(verify.ErrLimit, "az-snp-vtpm evidence: %d bytes exceeds %d", len(b), MaxEvidenceSize)
	}
	var j evidenceJSON
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&j); err != nil {
		return nil, verify.Errorf(verify.ErrMalformed, "az-snp-vtpm evidence: %v", err)
	}
	if dec.More() {
		return nil, verify.Errorf(verify.ErrMalformed, "az-snp-vtpm evidence: trailing data after the JSON document")
	}
	if j.Version == nil {
		return nil, verify.Errorf(verify.ErrMalformed, "az-snp-vtpm evidence: no version")
	}
	if *j.Version != 1 && *j.Version != 2 {
		return nil, verify.Errorf(verify.ErrUnsupported, "az-snp-vtpm evidence: version %d, expected 1 or 2", *j.Version)
	}
	if j.TPMQuote == nil || j.HCLReport == "" || j.VCEK == "" {
		return nil, verify.Errorf(verify.ErrMalformed, "az-snp-vtpm evidence: hcl_report, tpm_quote and vcek are all required")
	}
	ev := &Evidence{Version: *j.Version}
	var err error
	if ev.HCLReport, err = b64url("hcl_report", j.HCLReport); err != nil {
		return nil, err
	}
	if ev.VCEK, err = b64url("vcek", j.VCEK); err != nil {
		return nil, err
	}
	if ev.Quote.Message, err = hexField("tpm_quote.message", j.TPMQuote.Message); err != nil {
		return nil, err
	}
	if ev.Quote.Signature, err = hexField("tpm_quote.signature", j.TPMQuote.Signature); err != nil {
		return nil, err
	}
	if len(j.TPMQuote.PCRs) == 0 || len(j.TPMQuote.PCRs) > 24 {
		return nil, verify.Errorf(verify.ErrMalformed, "az-snp-vtpm evidence: %d PCR values, expected 1..24", len(j.TPMQuote.PCRs))
	}
	ev.Quote.PCRs = make([][]byte, len(j.TPMQuote.PCRs))
	for i, p := range j.TPMQuote.PCRs {
		if ev.Quote.PCRs[i], err = hexField("tpm_quote.pcrs", p); err != nil {
			return nil, err
		}
		if len(ev.Quote.PCRs[i]) != 32 {
			return nil, verify.Errorf(verify.ErrMalformed, "az-snp-vtpm evidence: PCR %d is %d bytes, expected 32 (SHA-256)", i, len(ev.Quote.PCRs[i]))
		}
	}
	return ev, nil
}

// b64url decodes base64url with or without padding (Trustee pads).
func b64url(field, s string) ([]byte, error) {
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	if err != nil {
		return nil, verify.Errorf(verify.ErrMalformed, "az-snp-vtpm evidence: %s is not base64url: %v", field, err)
	}
	return b, nil
}

func hexField(field, s string) ([]byte, error) {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) == 0 {
		return nil, verify.Errorf(verify.ErrMalformed, "az-snp-vtpm evidence: %s is not non-empty hex", field)
	}
	return b, nil
}

// detect reports whether b looks like az-snp-vtpm JSON: cheap, no decoding.
func detect(b []byte) bool {
	b = bytes.TrimSpace(b)
	return len(b) > 0 && b[0] == '{' && len(b) <= MaxEvidenceSize &&
		bytes.Contains(b, []byte(`"hcl_report"`)) && bytes.Contains(b, []byte(`"tpm_quote"`))
}
