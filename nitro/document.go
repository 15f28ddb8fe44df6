package nitro

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/fxamacker/cbor/v2"

	"github.com/trustfactory/attest/verify"
)

// Limits on a document, checked before anything is allocated for it. The
// sizes follow AWS's attestation-process document; where its CDDL and its
// own checks disagree (user_data and nonce: 1024 vs 512 bytes) the larger
// bound is enforced so that no document NSM can emit is refused.
const (
	// MaxDocumentBytes bounds a whole COSE_Sign1 document. The real ones are
	// about 4.5 KiB; every field at its maximum fits in well under this.
	MaxDocumentBytes = 32 << 10
	// MaxCertBytes bounds the certificate and each cabundle entry (DER).
	MaxCertBytes = 1024
	// MaxCABundle bounds the cabundle: root plus intermediates (4 observed).
	MaxCABundle = 8
	// MaxPCRs is the number of PCR indices NSM has (0–31).
	MaxPCRs = 32
	// MaxUserBytes bounds public_key, user_data and nonce.
	MaxUserBytes = 1024
	// MaxModuleIDBytes bounds module_id (about 40 bytes in practice).
	MaxModuleIDBytes = 256
)

// coseAlgES384 is COSE algorithm -35, ECDSA P-384 with SHA-384.
const coseAlgES384 = -35

// Document is a parsed NSM attestation document. Nothing in it is verified:
// ParseDocument checks only its structure and bounds. Claims come from
// Verifier.Verify, never from a Document.
type Document struct {
	ModuleID string
	// Digest names the PCR bank: "SHA384" (NSM's only value), "SHA256" or "SHA512".
	Digest string
	// Timestamp is when NSM signed the document (millisecond precision).
	Timestamp time.Time
	// PCRs maps a PCR index (0–31) to its value, len(value) = Digest's size.
	PCRs map[int][]byte
	// Certificate is the DER certificate whose key signed the document.
	Certificate []byte
	// CABundle is the chain above Certificate, [root, intermediate 1, …,
	// intermediate N]; its root is never trusted, only compared with the pin.
	CABundle [][]byte
	// PublicKey, UserData and Nonce are the enclave's optional fields; nil
	// when absent, CBOR null or an empty byte string.
	PublicKey []byte
	UserData  []byte
	Nonce     []byte

	protected []byte // the protected header bucket, as signed
	payload   []byte // the payload, as signed
	signature []byte // raw r‖s, 96 bytes
}

// coseSign1 is the untagged COSE_Sign1 array.
type coseSign1 struct {
	_           struct{} `cbor:",toarray"`
	Protected   []byte
	Unprotected cbor.RawMessage
	Payload     []byte
	Signature   []byte
}

// payload is the attestation document map. Null decodes to the zero value,
// which is how NSM's null public_key and nonce become "absent".
type payload struct {
	ModuleID    *string           `cbor:"module_id"`
	Digest      *string           `cbor:"digest"`
	Timestamp   *uint64           `cbor:"timestamp"`
	PCRs        map[uint64][]byte `cbor:"pcrs"`
	Certificate []byte            `cbor:"certificate"`
	CABundle    [][]byte          `cbor:"cabundle"`
	PublicKey   []byte            `cbor:"public_key"`
	UserData    []byte            `cbor:"user_data"`
	Nonce       []byte            `cbor:"nonce"`
}

// decMode is strict: no duplicate keys, case-sensitive names, no unknown
// fields, no tags, valid UTF-8, and counts bounded. Indefinite lengths stay
// allowed because NSM encodes the payload map with one (0xbf … 0xff).
var decMode = mustDecMode(cbor.DecOptions{
	DupMapKey:         cbor.DupMapKeyEnforcedAPF,
	IndefLength:       cbor.IndefLengthAllowed,
	TagsMd:            cbor.TagsForbidden,
	MaxNestedLevels:   4,
	MaxArrayElements:  16,
	MaxMapPairs:       MaxPCRs,
	ExtraReturnErrors: cbor.ExtraDecErrorUnknownField,
	UTF8:              cbor.UTF8RejectInvalid,
	FieldNameMatching: cbor.FieldNameMatchingCaseSensitive,
	BinaryUnmarshaler: cbor.BinaryUnmarshalerNone,
})

func mustDecMode(o cbor.DecOptions) cbor.DecMode {
	m, err := o.DecMode()
	if err != nil {
		panic(err) // the options above are constants: a failure is a programming error
	}
	return m
}

// ParseDocument parses a COSE_Sign1 NSM attestation document, untagged (as
// NSM returns it) or with COSE tag 18. It checks structure and bounds only:
// the algorithm is ES384, every field has its type and size, required fields
// are present, unknown payload keys are refused (ErrUnsupported: a field we
// do not know might change what the document means), and nothing follows the
// document. Errors are ErrMalformed, ErrLimit or ErrUnsupported.
func ParseDocument(b []byte) (*Document, error) {
	if len(b) > MaxDocumentBytes {
		return nil, verify.Errorf(verify.ErrLimit, "nitro document: %d bytes exceeds the limit of %d", len(b), MaxDocumentBytes)
	}
	if len(b) > 0 && b[0] == 0xd2 { // tag 18, COSE_Sign1
		b = b[1:]
	}
	if len(b) == 0 || b[0] != 0x84 {
		return nil, verify.Errorf(verify.ErrMalformed, "nitro document: expected a COSE_Sign1 array of 4 (0x84), got %s", firstByte(b))
	}
	var m coseSign1
	if err := decMode.Unmarshal(b, &m); err != nil {
		return nil, cborError("COSE_Sign1", err)
	}
	if err := checkHeaders(m.Protected, m.Unprotected); err != nil {
		return nil, err
	}
	if len(m.Signature) != 96 {
		return nil, verify.Errorf(verify.ErrMalformed, "nitro document: ES384 signature of %d bytes, expected 96", len(m.Signature))
	}
	if len(m.Payload) == 0 {
		return nil, verify.Errorf(verify.ErrMalformed, "nitro document: empty payload")
	}
	var p payload
	if err := decMode.Unmarshal(m.Payload, &p); err != nil {
		return nil, cborError("payload", err)
	}
	d, err := p.document()
	if err != nil {
		return nil, err
	}
	d.protected, d.payload, d.signature = m.Protected, m.Payload, m.Signature
	return d, nil
}

func firstByte(b []byte) string {
	if len(b) == 0 {
		return "no bytes"
	}
	return fmt.Sprintf("%#02x", b[0])
}

// checkHeaders requires the protected bucket to be exactly {1: -35} and the
// unprotected one empty, as NSM writes them: any other header (crit, kid, a
// second algorithm) would be a parameter this verifier does not honour.
func checkHeaders(protected []byte, unprotected cbor.RawMessage) error {
	var ph map[int64]cbor.RawMessage
	if err := decMode.Unmarshal(protected, &ph); err != nil {
		return cborError("protected header", err)
	}
	alg, ok := ph[1]
	if !ok || len(ph) != 1 {
		return verify.Errorf(verify.ErrUnsupported, "nitro document: protected header %x: expected only the algorithm {1: -35}", protected)
	}
	var a int64
	if err := decMode.Unmarshal(alg, &a); err != nil || a != coseAlgES384 {
		return verify.Errorf(verify.ErrUnsupported, "nitro document: COSE algorithm %x, expected ES384 (-35)", []byte(alg))
	}
	var uh map[int64]cbor.RawMessage
	if err := decMode.Unmarshal(unprotected, &uh); err != nil {
		return cborError("unprotected header", err)
	}
	if len(uh) != 0 {
		return verify.Errorf(verify.ErrUnsupported, "nitro document: unprotected header has %d entries, expected none", len(uh))
	}
	return nil
}

// cborError gives a decoding error its kind: a hit cap is ErrLimit, an
// unknown field ErrUnsupported, anything else ErrMalformed.
func cborError(what string, err error) error {
	var (
		arr   *cbor.MaxArrayElementsError
		pairs *cbor.MaxMapPairsError
		depth *cbor.MaxNestedLevelError
		field *cbor.UnknownFieldError
	)
	switch {
	case errors.As(err, &arr), errors.As(err, &pairs), errors.As(err, &depth):
		return verify.Errorf(verify.ErrLimit, "nitro document: %s: %w", what, err)
	case errors.As(err, &field):
		return verify.Errorf(verify.ErrUnsupported, "nitro document: %s: %w", what, err)
	}
	return verify.Errorf(verify.ErrMalformed, "nitro document: %s: %w", what, err)
}

// digestSizes are the PCR banks NSM can name, with their value sizes.
var digestSizes = map[string]int{"SHA256": 32, "SHA384": 48, "SHA512": 64}

// document checks the decoded payload's fields and sizes.
func (p *payload) document() (*Document, error) {
	switch {
	case p.ModuleID == nil || *p.ModuleID == "":
		return nil, missing("module_id")
	case p.Digest == nil:
		return nil, missing("digest")
	case p.Timestamp == nil || *p.Timestamp == 0:
		return nil, missing("timestamp")
	case len(p.PCRs) == 0:
		return nil, missing("pcrs")
	case len(p.Certificate) == 0:
		return nil, missing("certificate")
	case len(p.CABundle) == 0:
		return nil, missing("cabundle")
	}
	if len(*p.ModuleID) > MaxModuleIDBytes {
		return nil, verify.Errorf(verify.ErrLimit, "nitro document: module_id of %d bytes exceeds the limit of %d", len(*p.ModuleID), MaxModuleIDBytes)
	}
	size, ok := digestSizes[*p.Digest]
	if !ok {
		return nil, verify.Errorf(verify.ErrUnsupported, "nitro document: digest %q, expected SHA384, SHA256 or SHA512", *p.Digest)
	}
	// A millisecond count past year 9999 would overflow time arithmetic.
	const maxMillis = 253402300799999
	if *p.Timestamp > maxMillis {
		return nil, verify.Errorf(verify.ErrMalformed, "nitro document: timestamp %d ms is past year 9999", *p.Timestamp)
	}
	d := &Document{
		ModuleID:    *p.ModuleID,
		Digest:      *p.Digest,
		Timestamp:   time.UnixMilli(int64(*p.Timestamp)).UTC(),
		PCRs:        make(map[int][]byte, len(p.PCRs)),
		Certificate: p.Certificate,
		CABundle:    p.CABundle,
		PublicKey:   absentIfEmpty(p.PublicKey),
		UserData:    absentIfEmpty(p.UserData),
		Nonce:       absentIfEmpty(p.Nonce),
	}
	for i, v := range p.PCRs {
		if i >= MaxPCRs {
			return nil, verify.Errorf(verify.ErrMalformed, "nitro document: PCR index %d, expected 0–%d", i, MaxPCRs-1)
		}
		if len(v) != size {
			return nil, verify.Errorf(verify.ErrMalformed, "nitro document: PCR %d of %d bytes, expected %d for digest %s", i, len(v), size, d.Digest)
		}
		d.PCRs[int(i)] = v
	}
	if err := sizeBetween("certificate", len(d.Certificate), 1, MaxCertBytes); err != nil {
		return nil, err
	}
	if len(d.CABundle) > MaxCABundle {
		return nil, verify.Errorf(verify.ErrLimit, "nitro document: cabundle of %d certificates exceeds the limit of %d", len(d.CABundle), MaxCABundle)
	}
	for i, c := range d.CABundle {
		if err := sizeBetween(fmt.Sprintf("cabundle[%d]", i), len(c), 1, MaxCertBytes); err != nil {
			return nil, err
		}
	}
	for _, f := range []struct {
		name string
		b    []byte
	}{{"public_key", d.PublicKey}, {"user_data", d.UserData}, {"nonce", d.Nonce}} {
		if err := sizeBetween(f.name, len(f.b), 0, MaxUserBytes); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// absentIfEmpty maps an empty byte string to nil. NSM encodes an optional
// field the enclave passed as an empty buffer as an empty byte string (a
// real 2022 document carries a zero-length public_key); it vouches for
// nothing, so it reads as absent, as CBOR null does, instead of becoming an
// empty claim a policy could take for a key.
func absentIfEmpty(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

func missing(field string) error {
	return verify.Errorf(verify.ErrMalformed, "nitro document: %s missing, null or empty", field)
}

func sizeBetween(field string, n, min, max int) error {
	switch {
	case n > max:
		return verify.Errorf(verify.ErrLimit, "nitro document: %s of %d bytes exceeds the limit of %d", field, n, max)
	case n < min:
		return verify.Errorf(verify.ErrMalformed, "nitro document: %s of %d bytes, expected at least %d", field, n, min)
	}
	return nil
}

// PCRIndices returns the indices of d's PCRs in increasing order.
func (d *Document) PCRIndices() []int {
	out := make([]int, 0, len(d.PCRs))
	for i := range d.PCRs {
		out = append(out, i)
	}
	sort.Ints(out)
	return out
}

// Debug reports whether d comes from an enclave in debug mode: NSM then
// reports PCR0–PCR3 as all zero bytes. A missing PCR counts as zero.
func (d *Document) Debug() bool {
	for i := 0; i < 4; i++ {
		if len(bytes.Trim(d.PCRs[i], "\x00")) != 0 {
			return false
		}
	}
	return true
}

// sigStructure is the CBOR Sig_structure ["Signature1", protected, empty,
// payload] that ES384 signs, written piecewise into w so that the payload
// is not copied.
func (d *Document) sigStructure(w interface{ Write([]byte) (int, error) }) {
	w.Write([]byte{0x84, 0x6a})
	w.Write([]byte("Signature1"))
	writeBstr(w, d.protected)
	w.Write([]byte{0x40})
	writeBstr(w, d.payload)
}

// writeBstr writes a CBOR byte string header and b (len(b) < 2^32, which
// MaxDocumentBytes guarantees).
func writeBstr(w interface{ Write([]byte) (int, error) }, b []byte) {
	n := len(b)
	switch {
	case n < 24:
		w.Write([]byte{0x40 | byte(n)})
	case n < 1<<8:
		w.Write([]byte{0x58, byte(n)})
	case n < 1<<16:
		w.Write([]byte{0x59, byte(n >> 8), byte(n)})
	default:
		w.Write([]byte{0x5a, byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
	}
	w.Write(b)
}
