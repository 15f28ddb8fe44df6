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
	VCEK    string `json:"vcek"`
	TDQuote string `json:"td_quote"`
}

// DecodeEvidence decodes Trustee's az-snp-vtpm JSON: {"version": 1|2,
// "hcl_report": base64url, "tpm_quote": {"signature": hex, "message": hex,
// "pcrs": [hex, …]}, "vcek": base64url DER}. Members Trustee ignores are
// ignored (skipped without being kept, within MaxEvidenceSize); a td_quote
// (az-tdx-vtpm evidence), trailing data, version 0 (byte arrays) and missing
// parts are refused.
func DecodeEvidence(b []byte) (*Evidence, error) {
	const name = "az-snp-vtpm evidence"
	j, err := decodeJSON(name, b)
	if err != nil {
		return nil, err
	}
	if j.TDQuote != "" {
		return nil, verify.Errorf(verify.ErrMalformed, "%s: td_quote present (az-tdx-vtpm evidence?)", name)
	}
	if j.VCEK == "" {
		return nil, verify.Errorf(verify.ErrMalformed, "%s: hcl_report, tpm_quote and vcek are all required", name)
	}
	ev := &Evidence{Version: *j.Version}
	if ev.HCLReport, ev.Quote, err = decodeVTPM(name, j); err != nil {
		return nil, err
	}
	if ev.VCEK, err = b64url(name, "vcek", j.VCEK); err != nil {
		return nil, err
	}
	return ev, nil
}

// TDXEvidence is Trustee's az-tdx-vtpm evidence (versions 1 and 2),
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
}

// DecodeTDXEvidence decodes Trustee's az-tdx-vtpm JSON: {"version": 1|2,
// "hcl_report": base64url, "tpm_quote": {"signature": hex, "message": hex,
// "pcrs": [hex, …]}, "td_quote": base64url}. Unknown members (a vcek among
// them), trailing data, version 0 (byte arrays) and missing parts are
// refused.
func DecodeTDXEvidence(b []byte) (*TDXEvidence, error) {
	const name = "az-tdx-vtpm evidence"
	j, err := decodeJSON(name, b)
	if err != nil {
		return nil, err
	}
	if j.VCEK != "" {
		return nil, verify.Errorf(verify.ErrMalformed, "%s: vcek present (az-snp-vtpm evidence?)", name)
	}
	if j.TDQuote == "" {
		return nil, verify.Errorf(verify.ErrMalformed, "%s: hcl_report, tpm_quote and td_quote are all required", name)
	}
	ev := &TDXEvidence{Version: *j.Version}
	if ev.HCLReport, ev.Quote, err = decodeVTPM(name, j); err != nil {
		return nil, err
	}
	if ev.TDQuote, err = b64url(name, "td_quote", j.TDQuote); err != nil {
		return nil, err
	}
	return ev, nil
}

// decodeJSON decodes the JSON both formats share, bounded before decoding,
// and checks its version.
func decodeJSON(name string, b []byte) (*evidenceJSON, error) {
	if len(b) > MaxEvidenceSize {
		return nil, verify.Errorf(verify.ErrLimit, "%s: %d bytes exceeds %d", name, len(b), MaxEvidenceSize)
	}
	var j evidenceJSON
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&j); err != nil {
		return nil, verify.Errorf(verify.ErrMalformed, "%s: %v", name, err)
	}
	if dec.More() {
		return nil, verify.Errorf(verify.ErrMalformed, "%s: trailing data after the JSON document", name)
	}
	if j.Version == nil {
		return nil, verify.Errorf(verify.ErrMalformed, "%s: no version", name)
	}
	if *j.Version != 1 && *j.Version != 2 {
		return nil, verify.Errorf(verify.ErrUnsupported, "%s: version %d, expected 1 or 2", name, *j.Version)
	}
	if j.TPMQuote == nil || j.HCLReport == "" {
		return nil, verify.Errorf(verify.ErrMalformed, "%s: hcl_report and tpm_quote are required", name)
	}
	return &j, nil
}

// decodeVTPM decodes the HCL report and the vTPM quote.
func decodeVTPM(name string, j *evidenceJSON) (hcl []byte, q Quote, err error) {
	if hcl, err = b64url(name, "hcl_report", j.HCLReport); err != nil {
		return nil, Quote{}, err
	}
	if q.Message, err = hexField(name, "tpm_quote.message", j.TPMQuote.Message); err != nil {
		return nil, Quote{}, err
	}
	if q.Signature, err = hexField(name, "tpm_quote.signature", j.TPMQuote.Signature); err != nil {
		return nil, Quote{}, err
	}
	if len(j.TPMQuote.PCRs) == 0 || len(j.TPMQuote.PCRs) > 24 {
		return nil, Quote{}, verify.Errorf(verify.ErrMalformed, "%s: %d PCR values, expected 1..24", name, len(j.TPMQuote.PCRs))
	}
	q.PCRs = make([][]byte, len(j.TPMQuote.PCRs))
	for i, p := range j.TPMQuote.PCRs {
		if q.PCRs[i], err = hexField(name, "tpm_quote.pcrs", p); err != nil {
			return nil, Quote{}, err
		}
		if len(q.PCRs[i]) != 32 {
			return nil, Quote{}, verify.Errorf(verify.ErrMalformed, "%s: PCR %d is %d bytes, expected 32 (SHA-256)", name, i, len(q.PCRs[i]))
		}
	}
	return hcl, q, nil
}

// b64url decodes base64url with or without padding (Trustee pads).
func b64url(name, field, s string) ([]byte, error) {
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	if err != nil {
		return nil, verify.Errorf(verify.ErrMalformed, "%s: %s is not base64url: %v", name, field, err)
	}
	return b, nil
}

func hexField(name, field, s string) ([]byte, error) {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) == 0 {
		return nil, verify.Errorf(verify.ErrMalformed, "%s: %s is not non-empty hex", name, field)
	}
	return b, nil
}

// detect reports whether b looks like Azure vTPM JSON whose hardware part
// is the member hw ("vcek" for az-snp-vtpm, "td_quote" for az-tdx-vtpm):
// cheap, no decoding.
func detect(b []byte, hw string) bool {
	b = bytes.TrimSpace(b)
	return len(b) > 0 && b[0] == '{' && len(b) <= MaxEvidenceSize &&
		bytes.Contains(b, []byte(`"hcl_report"`)) && bytes.Contains(b, []byte(`"tpm_quote"`)) &&
		bytes.Contains(b, []byte(`"`+hw+`"`))
}
