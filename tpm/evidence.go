package tpm

import (
	"bytes"
	"crypto"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/trustfactory/attest/internal/jsonbound"
	"github.com/trustfactory/attest/verify"
)

// maxEvidenceSize caps any encoded evidence before it is decoded.
const maxEvidenceSize = 4 << 20

// Evidence is a TPM attestation in its raw parts. None of it is trusted until
// VerifyEvidence has checked it.
type Evidence struct {
	// The attestation key, in any of three forms; every form present must be
	// the same key. AKPublicArea (TPMT_PUBLIC) also lets the verifier check
	// the key's attributes (restricted, sign, fixedTPM).
	AKPublicArea []byte `json:"ak_public_area,omitempty"`
	AKPublicKey  []byte `json:"ak_public_key,omitempty"` // DER SubjectPublicKeyInfo
	AKCert       []byte `json:"ak_cert,omitempty"`       // DER X.509
	// Intermediates are untrusted certificates that may complete the AK
	// certificate's chain to the configured roots.
	Intermediates [][]byte `json:"intermediate_certs,omitempty"`
	// Quotes holds one quote per PCR bank; the verifier uses the first bank
	// of its preference list that is present.
	Quotes []Quote `json:"quotes"`
	// EventLog is a TCG PC Client crypto-agile event log (optional).
	EventLog []byte `json:"event_log,omitempty"`
	// AAEventLog is an Attestation-Agent event log (optional): Trustee's
	// agent's runtime events, replayed into the PCRs they name (see
	// AAEventLog).
	AAEventLog []byte `json:"aa_eventlog,omitempty"`
}

// Quote is a TPM2_Quote output with the PCR values it covers.
type Quote struct {
	Attest    []byte         `json:"tpms_attest"`    // TPMS_ATTEST
	Signature []byte         `json:"tpmt_signature"` // TPMT_SIGNATURE
	Bank      crypto.Hash    `json:"-"`              // hash of the PCR bank
	PCRs      map[int][]byte `json:"-"`              // PCR index → value
}

type quoteJSON struct {
	Attest    []byte            `json:"tpms_attest"`
	Signature []byte            `json:"tpmt_signature"`
	Bank      string            `json:"pcr_bank"`
	PCRs      map[string]string `json:"pcrs"`
}

// MarshalJSON encodes the quote with its bank name and hex PCR values.
func (q Quote) MarshalJSON() ([]byte, error) {
	j := quoteJSON{Attest: q.Attest, Signature: q.Signature, Bank: bankName(q.Bank), PCRs: make(map[string]string, len(q.PCRs))}
	for i, v := range q.PCRs {
		j.PCRs[strconv.Itoa(i)] = hex.EncodeToString(v)
	}
	return json.Marshal(j)
}

// UnmarshalJSON decodes the form MarshalJSON writes.
func (q *Quote) UnmarshalJSON(b []byte) error {
	var j quoteJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	bank := bankByName(j.Bank)
	if bank == 0 {
		return fmt.Errorf("pcr_bank %q: expected sha1, sha256, sha384 or sha512", j.Bank)
	}
	*q = Quote{Attest: j.Attest, Signature: j.Signature, Bank: bank, PCRs: make(map[int][]byte, len(j.PCRs))}
	for k, v := range j.PCRs {
		i, err := strconv.Atoi(k)
		if err != nil || i < 0 || i >= maxPCRs || strconv.Itoa(i) != k {
			return fmt.Errorf("pcrs: key %q is not a PCR index 0..%d", k, maxPCRs-1)
		}
		d, err := hex.DecodeString(v)
		if err != nil {
			return fmt.Errorf("pcrs[%s]: %w", k, err)
		}
		q.PCRs[i] = d
	}
	return nil
}

func bankName(h crypto.Hash) string {
	return strings.ToLower(strings.ReplaceAll(h.String(), "-", ""))
}

func bankByName(s string) crypto.Hash {
	for _, h := range []crypto.Hash{crypto.SHA1, crypto.SHA256, crypto.SHA384, crypto.SHA512} {
		if s == bankName(h) {
			return h
		}
	}
	return 0
}

// Encoding names an evidence encoding.
type Encoding int

// The evidence encodings Decode recognises.
const (
	EncodingUnknown  Encoding = iota
	EncodingProto             // go-tpm-tools attest.Attestation protobuf
	EncodingTrustee           // Trustee TPM JSON {"ak_public", "tpm_quote"}
	EncodingEvidence          // JSON of Evidence
)

// String names the encoding.
func (e Encoding) String() string {
	switch e {
	case EncodingProto:
		return "go-tpm-tools attest.Attestation"
	case EncodingTrustee:
		return "Trustee TPM JSON"
	case EncodingEvidence:
		return "attest TPM evidence JSON"
	}
	return "unknown"
}

// Decode decodes evidence in any supported encoding.
func Decode(b []byte) (*Evidence, Encoding, error) {
	if len(b) > maxEvidenceSize {
		return nil, EncodingUnknown, verify.Errorf(verify.ErrLimit, "TPM evidence: %d bytes exceed the limit of %d", len(b), maxEvidenceSize)
	}
	if t := bytes.TrimLeft(b, " \t\r\n"); len(t) > 0 && t[0] == '{' {
		return decodeJSON(t)
	}
	ev, err := decodeProto(b)
	if err != nil {
		return nil, EncodingUnknown, err
	}
	return ev, EncodingProto, nil
}

type trusteeJSON struct {
	AKPublic *string `json:"ak_public"`
	Quote    *struct {
		Message   string   `json:"message"`
		Signature string   `json:"signature"`
		PCRs      []string `json:"pcrs"`
	} `json:"tpm_quote"`
	// AAEventLog is the base64 TCG2 AA event log that Trustee derivatives
	// carry beside the quote.
	AAEventLog *string `json:"aa_eventlog"`
}

// Structure caps of TPM evidence JSON, checked before it is decoded:
// encoding/json allocates a value (and for an element of the wrong type an
// error) per element, so 4 MiB of [0,0,…] in intermediate_certs or pcrs
// allocated 100 times its size (TestWorstShapeDecode). Real evidence is 3
// levels deep (quotes, a quote, its pcrs) and holds a few banks of 24 PCRs
// and a few certificates, its bytes base64 strings.
const (
	maxJSONDepth  = 8
	maxJSONValues = 1024
)

func decodeJSON(b []byte) (*Evidence, Encoding, error) {
	if err := jsonbound.Check(b, "TPM evidence JSON", maxJSONDepth, maxJSONValues); err != nil {
		return nil, EncodingUnknown, err
	}
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(b, &probe); err != nil {
		return nil, EncodingUnknown, verify.Errorf(verify.ErrMalformed, "TPM evidence JSON: %w", err)
	}
	if _, ok := probe["tpm_quote"]; ok {
		ev, err := decodeTrustee(b)
		return ev, EncodingTrustee, err
	}
	if _, ok := probe["quotes"]; ok {
		var ev Evidence
		if err := json.Unmarshal(b, &ev); err != nil {
			return nil, EncodingEvidence, verify.Errorf(verify.ErrMalformed, "TPM evidence JSON: %w", err)
		}
		return &ev, EncodingEvidence, nil
	}
	return nil, EncodingUnknown, verify.Errorf(verify.ErrUnsupported, "JSON evidence has neither \"tpm_quote\" (Trustee) nor \"quotes\"")
}

// decodeTrustee decodes Trustee's TPM evidence: a DER SPKI AK, one quote and
// the 24 SHA-256 PCR values.
func decodeTrustee(b []byte) (*Evidence, error) {
	var t trusteeJSON
	if err := json.Unmarshal(b, &t); err != nil {
		return nil, verify.Errorf(verify.ErrMalformed, "Trustee TPM evidence: %w", err)
	}
	if t.AKPublic == nil || t.Quote == nil {
		return nil, verify.Errorf(verify.ErrMalformed, "Trustee TPM evidence: ak_public and tpm_quote are required")
	}
	ak, err := base64.StdEncoding.DecodeString(*t.AKPublic)
	if err != nil {
		return nil, verify.Errorf(verify.ErrMalformed, "Trustee TPM evidence ak_public: %w", err)
	}
	msg, err := base64.StdEncoding.DecodeString(t.Quote.Message)
	if err != nil {
		return nil, verify.Errorf(verify.ErrMalformed, "Trustee TPM evidence tpm_quote.message: %w", err)
	}
	sig, err := base64.StdEncoding.DecodeString(t.Quote.Signature)
	if err != nil {
		return nil, verify.Errorf(verify.ErrMalformed, "Trustee TPM evidence tpm_quote.signature: %w", err)
	}
	if len(t.Quote.PCRs) > maxPCRs {
		return nil, verify.Errorf(verify.ErrMalformed, "Trustee TPM evidence tpm_quote.pcrs: %d values, at most %d", len(t.Quote.PCRs), maxPCRs)
	}
	q := Quote{Attest: msg, Signature: sig, Bank: crypto.SHA256, PCRs: make(map[int][]byte, len(t.Quote.PCRs))}
	for i, s := range t.Quote.PCRs {
		v, err := hex.DecodeString(s)
		if err != nil {
			return nil, verify.Errorf(verify.ErrMalformed, "Trustee TPM evidence tpm_quote.pcrs[%d]: %w", i, err)
		}
		q.PCRs[i] = v
	}
	ev := &Evidence{AKPublicKey: ak, Quotes: []Quote{q}}
	if t.AAEventLog != nil && *t.AAEventLog != "" {
		if ev.AAEventLog, err = base64.StdEncoding.DecodeString(*t.AAEventLog); err != nil {
			return nil, verify.Errorf(verify.ErrMalformed, "Trustee TPM evidence aa_eventlog: %w", err)
		}
	}
	return ev, nil
}

// decodeProto decodes a go-tpm-tools attest.Attestation with protowire, so
// that byte fields alias the input and nothing is decoded that the verifier
// does not use. Repeated singular fields are rejected rather than merged.
func decodeProto(b []byte) (*Evidence, error) {
	ev := &Evidence{}
	var seen fieldSet
	err := walkProto(b, func(num protowire.Number, typ protowire.Type, v []byte) error {
		switch num {
		case 1, 3, 6: // ak_pub, event_log, ak_cert
			if err := singular(&seen, num, typ); err != nil {
				return err
			}
			switch num {
			case 1:
				ev.AKPublicArea = v
			case 3:
				ev.EventLog = v
			case 6:
				ev.AKCert = v
			}
		case 2: // quotes
			if typ != protowire.BytesType {
				return fmt.Errorf("quotes: wire type %d, expected bytes", typ)
			}
			if len(ev.Quotes) >= maxBanks {
				return fmt.Errorf("more than %d quotes", maxBanks)
			}
			q, err := decodeProtoQuote(v)
			if err != nil {
				return fmt.Errorf("quotes[%d]: %w", len(ev.Quotes), err)
			}
			ev.Quotes = append(ev.Quotes, q)
		case 7: // intermediate_certs
			if typ != protowire.BytesType {
				return fmt.Errorf("intermediate_certs: wire type %d, expected bytes", typ)
			}
			if len(ev.Intermediates) >= maxIntermediates {
				return fmt.Errorf("more than %d intermediate certificates", maxIntermediates)
			}
			ev.Intermediates = append(ev.Intermediates, v)
		}
		return nil
	})
	if err != nil {
		return nil, verify.Errorf(verify.ErrMalformed, "attest.Attestation protobuf: %w", err)
	}
	if len(ev.AKPublicArea) == 0 && len(ev.Quotes) == 0 {
		return nil, verify.Errorf(verify.ErrMalformed, "attest.Attestation protobuf: neither ak_pub nor quotes present")
	}
	return ev, nil
}

func decodeProtoQuote(b []byte) (Quote, error) {
	q := Quote{PCRs: make(map[int][]byte, maxPCRs)}
	var seen fieldSet
	err := walkProto(b, func(num protowire.Number, typ protowire.Type, v []byte) error {
		switch num {
		case 1, 2, 3:
			if err := singular(&seen, num, typ); err != nil {
				return err
			}
			switch num {
			case 1:
				q.Attest = v
			case 2:
				q.Signature = v
			case 3:
				return decodeProtoPCRs(v, &q)
			}
		}
		return nil
	})
	return q, err
}

// singular checks that field num is a bytes field not seen before, and
// records it as seen.
func singular(seen *fieldSet, num protowire.Number, typ protowire.Type) error {
	if typ != protowire.BytesType {
		return fmt.Errorf("field %d: wire type %d, expected bytes", num, typ)
	}
	if *seen&(1<<num) != 0 {
		return fmt.Errorf("field %d repeated", num)
	}
	*seen |= 1 << num
	return nil
}

// fieldSet holds the field numbers below 64 seen in one message; singular
// is only called for such numbers.
type fieldSet uint64

func decodeProtoPCRs(b []byte, q *Quote) error {
	seenHash := false
	return walkProto(b, func(num protowire.Number, typ protowire.Type, v []byte) error {
		switch num {
		case 1: // hash
			if typ != protowire.VarintType || seenHash {
				return fmt.Errorf("pcrs.hash: bad or repeated field")
			}
			seenHash = true
			n, _ := protowire.ConsumeVarint(v)
			if n > 0xffff || hashFromAlg(uint16(n)) == 0 {
				return fmt.Errorf("pcrs.hash %d is not a supported hash", n)
			}
			q.Bank = hashFromAlg(uint16(n))
		case 2: // map<uint32, bytes> pcrs
			if typ != protowire.BytesType {
				return fmt.Errorf("pcrs.pcrs: wire type %d, expected bytes", typ)
			}
			var idx uint64
			var val []byte
			var haveIdx bool
			err := walkProto(v, func(n protowire.Number, t protowire.Type, ev []byte) error {
				switch {
				case n == 1 && t == protowire.VarintType:
					idx, _ = protowire.ConsumeVarint(ev)
					haveIdx = true
				case n == 2 && t == protowire.BytesType:
					val = ev
				default:
					return fmt.Errorf("pcrs.pcrs entry: unexpected field %d", n)
				}
				return nil
			})
			if err != nil {
				return err
			}
			if !haveIdx || idx >= maxPCRs {
				return fmt.Errorf("pcrs.pcrs entry: PCR index %d missing or beyond %d", idx, maxPCRs-1)
			}
			if _, dup := q.PCRs[int(idx)]; dup {
				return fmt.Errorf("pcrs.pcrs: PCR %d given twice", idx)
			}
			q.PCRs[int(idx)] = val
		}
		return nil
	})
}

// walkProto calls fn for each field of a protobuf message. For varints v is
// the encoded varint; for bytes it is the payload (aliasing b). Groups and
// malformed input are errors.
func walkProto(b []byte, fn func(protowire.Number, protowire.Type, []byte) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		var v []byte
		switch typ {
		case protowire.VarintType:
			_, m := protowire.ConsumeVarint(b)
			if m < 0 {
				return protowire.ParseError(m)
			}
			v, b = b[:m], b[m:]
		case protowire.BytesType:
			p, m := protowire.ConsumeBytes(b)
			if m < 0 {
				return protowire.ParseError(m)
			}
			v, b = p, b[m:]
		case protowire.Fixed32Type, protowire.Fixed64Type:
			m := protowire.ConsumeFieldValue(num, typ, b)
			if m < 0 {
				return protowire.ParseError(m)
			}
			v, b = b[:m], b[m:]
		default:
			return fmt.Errorf("field %d: unsupported wire type %d", num, typ)
		}
		if err := fn(num, typ, v); err != nil {
			return err
		}
	}
	return nil
}

// Detect reports whether b looks like TPM evidence in a supported encoding:
// Trustee JSON, Evidence JSON, or an attest.Attestation protobuf whose first
// quote starts with TPM_GENERATED_VALUE.
func detect(b []byte) bool {
	if len(b) > maxEvidenceSize {
		return false
	}
	if t := bytes.TrimLeft(b, " \t\r\n"); len(t) > 0 && t[0] == '{' {
		// One pass for both JSON shapes: Trustee's TPM evidence, or this
		// package's Evidence JSON.
		var probe struct {
			TPMQuote json.RawMessage `json:"tpm_quote"`
			AKPublic json.RawMessage `json:"ak_public"`
			Quotes   []struct {
				TPMSAttest json.RawMessage `json:"tpms_attest"`
			} `json:"quotes"`
		}
		if json.Unmarshal(t, &probe) != nil {
			return false
		}
		if probe.TPMQuote != nil {
			return probe.AKPublic != nil
		}
		return len(probe.Quotes) > 0 && probe.Quotes[0].TPMSAttest != nil
	}
	ev, err := decodeProto(b)
	if err != nil || len(ev.Quotes) == 0 {
		return false
	}
	return bytes.HasPrefix(ev.Quotes[0].Attest, []byte{0xff, 'T', 'C', 'G'})
}
