// Package binding computes the values that bind evidence to a session, as the
// Trustee KBS RCAR protocol does, and places them in each TEE's fields.
//
// Runtime data is a JSON object {"nonce", "tee-pubkey"[, "additional-evidence"]}.
// It is canonicalised with RFC 8785 (JCS) and hashed, SHA-384 by default, into
// a digest D. The canonical text is written straight into the hash, from
// spans of the document (Digest) or from the members (RuntimeData.Digest):
// megabytes of additional evidence cost a few kilobytes of allocation. D is placed where each verifier says (verify.ReportDataPlacer,
// used by ExpectFor and ReportDataFor); for the TEEs that ship with attest:
//
//	TDX, SNP report data (64 bytes)   D ‖ zero bytes
//	NVIDIA GPU / NVSwitch SPDM nonce  D[0:32]
//	TPM quote extraData               D[0:32]
//
// Init data is a TOML document; its digest is taken over the raw bytes with the
// algorithm the document names, and placed in MRCONFIGID (TDX, 48 bytes),
// HOST_DATA (SNP, 32 bytes) or PCR 8 (TPM, SHA-256(0³² ‖ digest)).
//
// Callers that compute report data themselves skip this package and set
// verify.Expectations.ReportData directly.
package binding

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/json"
	"fmt"
	"hash"

	"github.com/trustfactory/attest/internal/jsonbound"
	"github.com/trustfactory/attest/verify"
)

// MaxRuntimeData caps the runtime-data JSON accepted for canonicalisation. The
// additional evidence of eight GPUs fits well below it.
const MaxRuntimeData = 4 << 20

// Structure caps of a runtime-data document, checked by a linear scan before
// canonicalisation. Runtime data is a nonce, a JWK and the additional
// evidence as one JSON string: a few dozen values, nesting 3. The
// canonicaliser allocates per value (a tree node, about 100 bytes with its
// growth: under 1 MB at the cap, measured) and nothing per byte of string,
// so the number of values is what must be bounded. (gowebpki/jcs, used
// before, took 381 MB and 2.7 s for 4 MiB of "1,", and 14 bytes per byte
// of string.)
const (
	maxRuntimeDataDepth  = 32   // nesting of [ and {
	maxRuntimeDataValues = 4096 // array elements and object members
)

// Algorithms accepted for runtime-data and init-data digests.
const (
	SHA256 = "sha256"
	SHA384 = "sha384"
	SHA512 = "sha512"
)

// newHash returns a hash for a named algorithm.
func newHash(alg string) (hash.Hash, error) {
	switch alg {
	case SHA256:
		return sha256.New(), nil
	case SHA384:
		return sha512.New384(), nil
	case SHA512:
		return sha512.New(), nil
	}
	return nil, verify.Errorf(verify.ErrUnsupported, "digest algorithm %q: expected %s, %s or %s", alg, SHA256, SHA384, SHA512)
}

// HashName returns the binding name of h (sha256, sha384, sha512).
func HashName(h crypto.Hash) (string, error) {
	switch h {
	case crypto.SHA256:
		return SHA256, nil
	case crypto.SHA384:
		return SHA384, nil
	case crypto.SHA512:
		return SHA512, nil
	}
	return "", verify.Errorf(verify.ErrConfig, "runtime-data hash %v: expected SHA-256, SHA-384 or SHA-512", h)
}

// RuntimeData is the object the KBS binds into evidence. TEEPubKey is the JWK
// of the key the TEE wants secrets wrapped to, kept as received.
type RuntimeData struct {
	Nonce     string          `json:"nonce"`
	TEEPubKey json.RawMessage `json:"tee-pubkey"`
	// AdditionalEvidence is present only in the primary (CPU) evidence's
	// runtime data; Trustee always includes it there, even as "".
	AdditionalEvidence *string `json:"additional-evidence,omitempty"`
}

// JSON returns the runtime data as JSON (not yet canonical).
func (r RuntimeData) JSON() ([]byte, error) {
	if err := r.check(); err != nil {
		return nil, err
	}
	b, err := json.Marshal(r)
	if err != nil {
		return nil, verify.Errorf(verify.ErrMalformed, "runtime data: %w", err)
	}
	return b, nil
}

// Digest returns the canonical digest D of the runtime data: Digest of
// r.JSON(), with the same result and the same refusals, computed without
// marshalling r (json.Marshal of megabytes of additional evidence costs
// several times their size). The canonical text goes straight into the hash.
func (r RuntimeData) Digest(h crypto.Hash) ([]byte, error) {
	return r.digest(h)
}

// Device returns the runtime data bound into device (GPU, switch) evidence:
// the same nonce and key, without the additional evidence.
func (r RuntimeData) Device() RuntimeData {
	return RuntimeData{Nonce: r.Nonce, TEEPubKey: r.TEEPubKey}
}

// Session returns the session r belongs to, for verify.Appraiser's
// AppraiseSession: the nonce by verify.SessionNonce (a Trustee nonce, 44
// characters of base64, is used as is) and the TEE key as received.
func (r RuntimeData) Session() (verify.Session, error) {
	return verify.NewSession(r.Nonce, r.TEEPubKey)
}

// Canonicalize returns the RFC 8785 form of the JSON document doc. It
// refuses (verify.ErrMalformed) what RFC 8785 cannot canonicalise: invalid
// JSON or UTF-8, lone surrogates in \u escapes, a member name given twice,
// a number a float64 does not hold, trailing data.
func Canonicalize(doc []byte) ([]byte, error) {
	t, err := parseRuntimeData(doc)
	if err != nil {
		return nil, err
	}
	// len(doc) is usually enough: only numbers such as 1e20 grow.
	out := bytes.NewBuffer(make([]byte, 0, len(doc)))
	w := newJCSWriter(out)
	t.writeTo(w)
	if err := w.flush(); err != nil { // a bytes.Buffer never fails to write
		return nil, verify.Errorf(verify.ErrMalformed, "runtime data: %w", err)
	}
	return out.Bytes(), nil
}

// parseRuntimeData bounds doc (size, nesting, number of values) and parses
// it for canonicalisation.
func parseRuntimeData(doc []byte) (*jcsTree, error) {
	if len(doc) > MaxRuntimeData {
		return nil, verify.Errorf(verify.ErrLimit, "runtime data: %d bytes, limit %d", len(doc), MaxRuntimeData)
	}
	if len(bytes.TrimSpace(doc)) == 0 {
		return nil, verify.Errorf(verify.ErrConfig, "runtime data: empty document")
	}
	if err := jsonbound.Check(doc, "runtime data", maxRuntimeDataDepth, maxRuntimeDataValues); err != nil {
		return nil, err
	}
	return parseJCS(doc, "runtime data")
}

// Digest canonicalises the JSON document doc with RFC 8785 and hashes it with
// h (SHA-384 in the KBS protocol, SHA-512 for IBM SE). The canonical text
// goes straight into the hash: Digest allocates a small tree of the
// document's values (bounded by their number), not a copy of the document.
func Digest(doc []byte, h crypto.Hash) ([]byte, error) {
	name, err := HashName(h)
	if err != nil {
		return nil, err
	}
	t, err := parseRuntimeData(doc)
	if err != nil {
		return nil, err
	}
	hh, _ := newHash(name)
	w := newJCSWriter(hh)
	t.writeTo(w)
	if err := w.flush(); err != nil { // a hash never fails to write
		return nil, verify.Errorf(verify.ErrMalformed, "runtime data: hashing: %w", err)
	}
	return hh.Sum(nil), nil
}

// builtin is where the evidence of each format that ships with attest
// carries the runtime-data digest: the placement its verifier states
// (verify.ReportDataPlacer), for callers that name a format instead of
// holding a verifier. A test keeps the two in step.
var builtin = map[verify.Format]verify.ReportDataPlacement{
	verify.FormatTDX:      {Mode: verify.PlacePadded, Size: 64},
	verify.FormatSGX:      {Mode: verify.PlacePadded, Size: 64},
	verify.FormatSNP:      {Mode: verify.PlacePadded, Size: 64},
	verify.FormatAzureSNP: {Mode: verify.PlaceExact, Size: 64},
	verify.FormatAzureTDX: {Mode: verify.PlaceExact, Size: 64},
	verify.FormatGPU:      {Mode: verify.PlaceTruncated, Size: 32},
	verify.FormatNVSwitch: {Mode: verify.PlaceTruncated, Size: 32},
	verify.FormatTPM:      {Mode: verify.PlaceTruncated, Size: 32},
}

// ReportData returns the value the evidence of format f, one of the formats
// that ship with attest, must carry for the runtime-data digest d: the full
// report-data field for TDX, SGX and SNP (d followed by zero bytes), the first 32
// bytes of d for GPUs, switches and TPMs, d itself for an Azure vTPM quote.
// The result is ready for verify.Expectations.ReportData. ReportDataFor does
// the same for any verifier that states its placement.
func ReportData(f verify.Format, d []byte) ([]byte, error) {
	p, ok := builtin[f]
	if !ok {
		return nil, verify.Errorf(verify.ErrUnsupported, "report-data placement for format %q: use ReportDataFor with its verifier", f)
	}
	return place(f, p, d)
}

// ReportDataFor is ReportData for the evidence of verifier v, which must
// state its placement (verify.ReportDataPlacer; ErrUnsupported otherwise).
func ReportDataFor(v verify.Verifier, d []byte) ([]byte, error) {
	if v == nil {
		return nil, verify.Errorf(verify.ErrConfig, "report data: nil verifier")
	}
	p, ok := v.(verify.ReportDataPlacer)
	if !ok {
		return nil, verify.Errorf(verify.ErrUnsupported, "report-data placement for format %q: its verifier states none (verify.ReportDataPlacer)", v.Format())
	}
	return place(v.Format(), p.ReportDataPlacement(), d)
}

func place(f verify.Format, p verify.ReportDataPlacement, d []byte) ([]byte, error) {
	rd, err := p.Place(d)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f, err)
	}
	return rd, nil
}

// Expect returns Expectations for evidence of format f, one of the formats
// that ship with attest, bound to runtime data r hashed with h. Device
// formats (GPU, switch) bind r.Device(); the others bind r as given.
func Expect(f verify.Format, r RuntimeData, h crypto.Hash) (verify.Expectations, error) {
	if f == verify.FormatGPU || f == verify.FormatNVSwitch {
		r = r.Device()
	}
	d, err := r.Digest(h)
	if err != nil {
		return verify.Expectations{}, err
	}
	rd, err := ReportData(f, d)
	if err != nil {
		return verify.Expectations{}, err
	}
	return verify.Expectations{ReportData: rd}, nil
}

// ExpectFor returns Expectations for the evidence of verifier v bound to
// runtime data r hashed with h, placed where v says (ReportDataFor). r is
// bound as given: a KBS binds the primary evidence to its runtime data with
// the additional evidence and every additional device to r.Device().
func ExpectFor(v verify.Verifier, r RuntimeData, h crypto.Hash) (verify.Expectations, error) {
	d, err := r.Digest(h)
	if err != nil {
		return verify.Expectations{}, err
	}
	rd, err := ReportDataFor(v, d)
	if err != nil {
		return verify.Expectations{}, err
	}
	return verify.Expectations{ReportData: rd}, nil
}
