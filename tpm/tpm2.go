package tpm

import (
	"crypto"
	"encoding/binary"
	"fmt"
	"math/bits"

	"github.com/trustfactory/attest/internal/bytereader"
	"github.com/trustfactory/attest/verify"
)

// TPM 2.0 constants (TPM 2.0 Library, Part 2: Structures).
const (
	tpmGeneratedValue = 0xff544347 // TPM_GENERATED_VALUE
	stAttestQuote     = 0x8018     // TPM_ST_ATTEST_QUOTE
	stAttestCertify   = 0x8017     // TPM_ST_ATTEST_CERTIFY

	algRSA    = 0x0001
	algSHA1   = 0x0004
	algSHA256 = 0x000B
	algSHA384 = 0x000C
	algSHA512 = 0x000D
	algNull   = 0x0010
	algRSASSA = 0x0014
	algRSAPSS = 0x0016
	algECDSA  = 0x0018
	algECDAA  = 0x001A
	algECC    = 0x0023

	eccNistP256 = 0x0003
	eccNistP384 = 0x0004
	eccNistP521 = 0x0005

	attrFixedTPM            = 1 << 1
	attrFixedParent         = 1 << 4
	attrSensitiveDataOrigin = 1 << 5
	attrRestricted          = 1 << 16
	attrDecrypt             = 1 << 17
	attrSign                = 1 << 18

	maxPCRs       = 24  // PCRs of a PC Client TPM
	maxSelect     = 4   // bytes of a pcrSelect bitmap we accept
	maxBanks      = 16  // TPML_PCR_SELECTION entries (HASH_COUNT bound)
	maxDataSize   = 66  // TPM2B_DATA: sizeof(TPMT_HA)
	maxDigestSize = 64  // TPM2B_DIGEST
	maxNameSize   = 66  // TPM2B_NAME: sizeof(TPMU_NAME)
	maxRSABytes   = 512 // RSA-4096
	maxECCBytes   = 66  // P-521 coordinate
)

// hashFromAlg maps a TPM_ALG_ID hash to a crypto.Hash (0 when unknown).
func hashFromAlg(alg uint16) crypto.Hash {
	switch alg {
	case algSHA1:
		return crypto.SHA1
	case algSHA256:
		return crypto.SHA256
	case algSHA384:
		return crypto.SHA384
	case algSHA512:
		return crypto.SHA512
	}
	return 0
}

// algFromHash maps a crypto.Hash to its TPM_ALG_ID (0 when unknown).
func algFromHash(h crypto.Hash) uint16 {
	switch h {
	case crypto.SHA1:
		return algSHA1
	case crypto.SHA256:
		return algSHA256
	case crypto.SHA384:
		return algSHA384
	case crypto.SHA512:
		return algSHA512
	}
	return 0
}

// reader is the shared bounded reader in the big-endian order of TPM
// marshalled structures, with the TPM's sized buffers and PCR selections.
type reader struct{ bytereader.Reader }

func newReader(b []byte, what string) *reader {
	return &reader{bytereader.New(b, bytereader.BigEndian, what)}
}

// tpm2b reads a TPM2B_* buffer whose size may not exceed max.
func (r *reader) tpm2b(field string, max int) []byte {
	n := int(r.U16(field + ".size"))
	if r.Err() != nil {
		return nil
	}
	if n > max {
		r.Fail(verify.ErrMalformed, "field %s: size %d exceeds the maximum %d", field, n, max)
		return nil
	}
	return r.Take(n, field)
}

// ClockInfo is TPMS_CLOCK_INFO from a quote.
type ClockInfo struct {
	Clock        uint64 // milliseconds the TPM has been powered
	ResetCount   uint32
	RestartCount uint32
	Safe         bool
}

// PCRSelection is one bank of a TPML_PCR_SELECTION.
type PCRSelection struct {
	Hash crypto.Hash
	PCRs []int // ascending
}

// Attest is a parsed TPMS_ATTEST of type TPM_ST_ATTEST_QUOTE. Its fields are
// trustworthy only after the signature over Raw verified.
type Attest struct {
	Raw             []byte
	QualifiedSigner []byte
	ExtraData       []byte
	Clock           ClockInfo
	FirmwareVersion uint64
	Selection       []PCRSelection
	PCRDigest       []byte
}

// ParseAttest parses a TPMS_ATTEST that must be a quote: the magic must be
// TPM_GENERATED_VALUE and the type TPM_ST_ATTEST_QUOTE. Every size is checked
// against the bytes left; trailing bytes are an error.
func ParseAttest(b []byte) (*Attest, error) {
	r := newReader(b, "TPMS_ATTEST")
	if magic := r.U32("magic"); r.Err() == nil && magic != tpmGeneratedValue {
		return nil, verify.Errorf(verify.ErrMalformed, "TPMS_ATTEST magic: expected %#08x (TPM_GENERATED_VALUE), got %#08x", uint32(tpmGeneratedValue), magic)
	}
	if typ := r.U16("type"); r.Err() == nil && typ != stAttestQuote {
		return nil, verify.Errorf(verify.ErrMalformed, "TPMS_ATTEST type: expected %#04x (TPM_ST_ATTEST_QUOTE), got %#04x", stAttestQuote, typ)
	}
	a := &Attest{Raw: b}
	a.QualifiedSigner = r.tpm2b("qualifiedSigner", maxNameSize)
	a.ExtraData = r.tpm2b("extraData", maxDataSize)
	a.Clock.Clock = r.U64("clockInfo.clock")
	a.Clock.ResetCount = r.U32("clockInfo.resetCount")
	a.Clock.RestartCount = r.U32("clockInfo.restartCount")
	switch safe := r.U8("clockInfo.safe"); safe {
	case 0:
	case 1:
		a.Clock.Safe = true
	default:
		r.Fail(verify.ErrMalformed, "clockInfo.safe: expected 0 or 1, got %d", safe)
	}
	a.FirmwareVersion = r.U64("firmwareVersion")
	a.Selection = r.pcrSelection()
	a.PCRDigest = r.tpm2b("pcrDigest", maxDigestSize)
	if err := r.Done(); err != nil {
		return nil, err
	}
	return a, nil
}

func (r *reader) pcrSelection() []PCRSelection {
	n := r.U32("pcrSelect.count")
	if r.Err() != nil {
		return nil
	}
	if n > maxBanks {
		r.Fail(verify.ErrMalformed, "pcrSelect.count %d exceeds %d", n, maxBanks)
		return nil
	}
	out := make([]PCRSelection, 0, n)
	for i := range int(n) {
		alg := r.U16("pcrSelect.hash")
		size := int(r.U8("pcrSelect.sizeofSelect"))
		if r.Err() != nil {
			return nil
		}
		if size > maxSelect {
			r.Fail(verify.ErrMalformed, "pcrSelect[%d].sizeofSelect %d exceeds %d", i, size, maxSelect)
			return nil
		}
		mask := r.Take(size, "pcrSelect.pcrSelect")
		if r.Err() != nil {
			return nil
		}
		h := hashFromAlg(alg)
		if h == 0 {
			r.Fail(verify.ErrUnsupported, "pcrSelect[%d].hash %#04x is not a supported hash", i, alg)
			return nil
		}
		for _, s := range out {
			if s.Hash == h {
				r.Fail(verify.ErrMalformed, "pcrSelect lists bank %v twice", h)
				return nil
			}
		}
		n := 0
		for _, by := range mask {
			n += bits.OnesCount8(by)
		}
		sel := PCRSelection{Hash: h, PCRs: make([]int, 0, n)} // one allocation, not one per doubling
		for j, by := range mask {
			for k := range 8 {
				if by&(1<<k) == 0 {
					continue
				}
				idx := j*8 + k
				if idx >= maxPCRs {
					r.Fail(verify.ErrMalformed, "pcrSelect[%d] selects PCR %d, beyond the %d PCRs of a PC Client TPM", i, idx, maxPCRs)
					return nil
				}
				sel.PCRs = append(sel.PCRs, idx)
			}
		}
		out = append(out, sel)
	}
	return out
}

// Signature is a parsed TPMT_SIGNATURE.
type Signature struct {
	Alg  uint16      // TPM_ALG_RSASSA, TPM_ALG_RSAPSS or TPM_ALG_ECDSA
	Hash crypto.Hash // hash of the signature scheme
	RSA  []byte      // RSASSA / RSAPSS signature
	R, S []byte      // ECDSA
}

// ParseSignature parses a TPMT_SIGNATURE of scheme RSASSA, RSAPSS or ECDSA
// with a SHA-1/SHA-2 hash. Trailing bytes are an error.
func ParseSignature(b []byte) (*Signature, error) {
	r := newReader(b, "TPMT_SIGNATURE")
	s := &Signature{Alg: r.U16("sigAlg")}
	hashAlg := r.U16("hash")
	if r.Err() != nil {
		return nil, r.Err()
	}
	switch s.Alg {
	case algRSASSA, algRSAPSS:
		s.RSA = r.tpm2b("sig", maxRSABytes)
	case algECDSA:
		s.R = r.tpm2b("signatureR", maxECCBytes)
		s.S = r.tpm2b("signatureS", maxECCBytes)
	default:
		return nil, verify.Errorf(verify.ErrUnsupported, "TPMT_SIGNATURE sigAlg %#04x: only RSASSA, RSAPSS and ECDSA are supported", s.Alg)
	}
	if err := r.Done(); err != nil {
		return nil, err
	}
	if s.Hash = hashFromAlg(hashAlg); s.Hash == 0 {
		return nil, verify.Errorf(verify.ErrUnsupported, "TPMT_SIGNATURE hash %#04x is not a supported hash", hashAlg)
	}
	return s, nil
}

// Public is the part of a TPMT_PUBLIC that AK checks need.
type Public struct {
	Type       uint16
	NameAlg    crypto.Hash
	Attributes uint32
	Key        crypto.PublicKey // *rsa.PublicKey or *ecdsa.PublicKey
	SchemeAlg  uint16           // TPM_ALG_NULL when the key has no fixed scheme
	SchemeHash crypto.Hash
	RSABits    int
	Curve      uint16
}

// parsePublicArea parses a TPMT_PUBLIC of type RSA or ECC. Building the
// crypto key is left to publicKey so that errors there carry their own kind.
func parsePublicArea(b []byte) (*Public, []byte, []byte, error) {
	r := newReader(b, "TPMT_PUBLIC")
	p := &Public{Type: r.U16("type")}
	nameAlg := r.U16("nameAlg")
	p.Attributes = r.U32("objectAttributes")
	r.tpm2b("authPolicy", maxDigestSize)
	if r.Err() != nil {
		return nil, nil, nil, r.Err()
	}
	p.NameAlg = hashFromAlg(nameAlg)
	symmetric := func() {
		if alg := r.U16("symmetric.algorithm"); alg != algNull {
			r.U16("symmetric.keyBits")
			r.U16("symmetric.mode")
		}
	}
	scheme := func() {
		p.SchemeAlg = r.U16("scheme.scheme")
		if p.SchemeAlg != algNull && r.Err() == nil {
			p.SchemeHash = hashFromAlg(r.U16("scheme.hashAlg"))
			if p.SchemeAlg == algECDAA {
				r.U16("scheme.count")
			}
		}
	}
	var x, y []byte
	switch p.Type {
	case algRSA:
		symmetric()
		scheme()
		p.RSABits = int(r.U16("keyBits"))
		exp := r.U32("exponent")
		x = r.tpm2b("unique.rsa", maxRSABytes)
		if r.Err() == nil {
			if exp == 0 {
				exp = 65537
			}
			y = binary.BigEndian.AppendUint32(nil, exp)
		}
	case algECC:
		symmetric()
		scheme()
		p.Curve = r.U16("curveID")
		if kdf := r.U16("kdf.scheme"); kdf != algNull {
			r.U16("kdf.hashAlg")
		}
		x = r.tpm2b("unique.ecc.x", maxECCBytes)
		y = r.tpm2b("unique.ecc.y", maxECCBytes)
	default:
		return nil, nil, nil, verify.Errorf(verify.ErrUnsupported, "TPMT_PUBLIC type %#04x: only RSA and ECC keys can be AKs", p.Type)
	}
	if err := r.Done(); err != nil {
		return nil, nil, nil, err
	}
	if p.SchemeAlg != algNull && p.SchemeHash == 0 {
		return nil, nil, nil, verify.Errorf(verify.ErrUnsupported, "TPMT_PUBLIC scheme %#04x has an unsupported hash", p.SchemeAlg)
	}
	return p, x, y, nil
}

// String formats the selection as its bank and PCR indices, e.g. "SHA-256[0 7]".
func (s PCRSelection) String() string { return fmt.Sprintf("%v%v", s.Hash, s.PCRs) }
