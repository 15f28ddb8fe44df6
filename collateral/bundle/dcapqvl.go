package bundle

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"strings"

	"github.com/trustfactory/attest/tdx"
	"github.com/trustfactory/attest/verify"
)

// MaxDCAPQVLBytes caps dcap-qvl collateral JSON (real ones are about 16 KiB).
const MaxDCAPQVLBytes = 1 << 20

// ParseDCAPQVL converts dcap-qvl's collateral JSON (QuoteCollateralV3:
// pck_crl_issuer_chain, root_ca_crl, pck_crl, tcb_info_issuer_chain,
// tcb_info, tcb_info_signature, qe_identity_issuer_chain, qe_identity,
// qe_identity_signature, and an optional pck_certificate_chain) into the
// PCS shapes tdx verifies. Byte fields are hex strings (any case) or, as
// dcap-qvl's JavaScript port writes them, arrays of integers. The signed
// tcb_info and qe_identity texts are kept byte for byte: the body is
// {"tcbInfo":<tcb_info>,"signature":"<hex>"}. Nothing is verified here.
func ParseDCAPQVL(b []byte) (*tdx.Collateral, error) {
	c, _, err := parseDCAPQVL(b)
	return c, err
}

// parseDCAPQVL is ParseDCAPQVL that also returns the PCK certificate chain
// the document names (nil when it has none): the chain whose collateral it
// is.
func parseDCAPQVL(b []byte) (*tdx.Collateral, []byte, error) {
	if len(b) > MaxDCAPQVLBytes {
		return nil, nil, verify.Errorf(verify.ErrLimit, "dcap-qvl collateral: %d bytes exceed the cap of %d", len(b), MaxDCAPQVLBytes)
	}
	var d struct {
		PCKCRLIssuerChain   *string         `json:"pck_crl_issuer_chain"`
		RootCACRL           json.RawMessage `json:"root_ca_crl"`
		PCKCRL              json.RawMessage `json:"pck_crl"`
		TCBInfoIssuerChain  *string         `json:"tcb_info_issuer_chain"`
		TCBInfo             *string         `json:"tcb_info"`
		TCBInfoSignature    json.RawMessage `json:"tcb_info_signature"`
		QEIdentityChain     *string         `json:"qe_identity_issuer_chain"`
		QEIdentity          *string         `json:"qe_identity"`
		QEIdentitySignature json.RawMessage `json:"qe_identity_signature"`
		PCKCertificateChain *string         `json:"pck_certificate_chain"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		return nil, nil, verify.Errorf(verify.ErrMalformed, "dcap-qvl collateral: %w", err)
	}
	// Not dec.More(), which reports false before a stray ']' or '}'.
	if len(bytes.TrimLeft(b[dec.InputOffset():], " \t\r\n")) != 0 {
		return nil, nil, verify.Errorf(verify.ErrMalformed, "dcap-qvl collateral: data after the JSON object")
	}
	for name, s := range map[string]*string{
		"pck_crl_issuer_chain": d.PCKCRLIssuerChain, "tcb_info_issuer_chain": d.TCBInfoIssuerChain,
		"tcb_info": d.TCBInfo, "qe_identity_issuer_chain": d.QEIdentityChain, "qe_identity": d.QEIdentity,
	} {
		if s == nil || *s == "" {
			return nil, nil, verify.Errorf(verify.ErrMalformed, "dcap-qvl collateral: field %s missing or empty", name)
		}
	}
	c := &tdx.Collateral{
		TCBInfoIssuerChain:    []byte(*d.TCBInfoIssuerChain),
		QEIdentityIssuerChain: []byte(*d.QEIdentityChain),
		PCKCRLIssuerChain:     []byte(*d.PCKCRLIssuerChain),
	}
	var err error
	if c.RootCACRL, err = dcapBytes("root_ca_crl", d.RootCACRL, 0); err != nil {
		return nil, nil, err
	}
	if c.PCKCRL, err = dcapBytes("pck_crl", d.PCKCRL, 0); err != nil {
		return nil, nil, err
	}
	tcbSig, err := dcapBytes("tcb_info_signature", d.TCBInfoSignature, 64)
	if err != nil {
		return nil, nil, err
	}
	qeSig, err := dcapBytes("qe_identity_signature", d.QEIdentitySignature, 64)
	if err != nil {
		return nil, nil, err
	}
	if c.TCBInfo, err = signedBody("tcb_info", "tcbInfo", *d.TCBInfo, tcbSig); err != nil {
		return nil, nil, err
	}
	if c.QEIdentity, err = signedBody("qe_identity", "enclaveIdentity", *d.QEIdentity, qeSig); err != nil {
		return nil, nil, err
	}
	var chain []byte
	if d.PCKCertificateChain != nil {
		chain = []byte(*d.PCKCertificateChain)
	}
	return c, chain, nil
}

// signedBody rebuilds the PCS body around the signed text, which must be
// one JSON object (it is embedded unchanged).
func signedBody(field, key, text string, sig []byte) ([]byte, error) {
	t := strings.TrimSpace(text)
	if !strings.HasPrefix(t, "{") || !json.Valid([]byte(t)) {
		return nil, verify.Errorf(verify.ErrMalformed, "dcap-qvl collateral: field %s: expected the JSON text of one object", field)
	}
	return []byte(`{"` + key + `":` + t + `,"signature":"` + hex.EncodeToString(sig) + `"}`), nil
}

// dcapBytes decodes a byte field: a hex string or an array of integers
// 0..255. want > 0 requires that length.
func dcapBytes(field string, raw json.RawMessage, want int) ([]byte, error) {
	raw = bytes.TrimSpace(raw)
	var out []byte
	switch {
	case len(raw) == 0 || bytes.Equal(raw, []byte("null")):
		return nil, verify.Errorf(verify.ErrMalformed, "dcap-qvl collateral: field %s missing", field)
	case raw[0] == '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, verify.Errorf(verify.ErrMalformed, "dcap-qvl collateral: field %s: %w", field, err)
		}
		d, err := hex.DecodeString(s)
		if err != nil {
			return nil, verify.Errorf(verify.ErrMalformed, "dcap-qvl collateral: field %s: expected hex: %w", field, err)
		}
		out = d
	case raw[0] == '[':
		var ints []int
		if err := json.Unmarshal(raw, &ints); err != nil {
			return nil, verify.Errorf(verify.ErrMalformed, "dcap-qvl collateral: field %s: expected an array of bytes: %w", field, err)
		}
		out = make([]byte, len(ints))
		for i, v := range ints {
			if v < 0 || v > 255 {
				return nil, verify.Errorf(verify.ErrMalformed, "dcap-qvl collateral: field %s: element %d is %d, expected 0..255", field, i, v)
			}
			out[i] = byte(v)
		}
	default:
		return nil, verify.Errorf(verify.ErrMalformed, "dcap-qvl collateral: field %s: expected a hex string or an array of bytes", field)
	}
	if len(out) == 0 {
		return nil, verify.Errorf(verify.ErrMalformed, "dcap-qvl collateral: field %s is empty", field)
	}
	if want > 0 && len(out) != want {
		return nil, verify.Errorf(verify.ErrMalformed, "dcap-qvl collateral: field %s: %d bytes, expected %d", field, len(out), want)
	}
	return out, nil
}
