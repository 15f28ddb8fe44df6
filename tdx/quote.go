package tdx

import (
	"encoding/binary"

	"github.com/trustfactory/attest/internal/bytereader"
	"github.com/trustfactory/attest/verify"
)

// Sizes of the fixed parts of a TDX quote (Intel TDX DCAP Quoting Library API, appendix A).
const (
	headerSize        = 48
	body10Size        = 584 // TD quote body, TDX 1.0
	body15Size        = 648 // TD quote body, TDX 1.5 (adds TEE_TCB_SVN2 and MRSERVICETD)
	descriptorSize    = 6   // v5 body descriptor: type u16, size u32
	enclaveReportSize = 384
	ecdsaSigSize      = 64
	ecdsaKeySize      = 64

	// MaxQuoteSize caps the quote (and every length field inside it).
	MaxQuoteSize = 1 << 20
)

// Quote header and body constants.
const (
	teeTypeTDX        = 0x81
	attKeyTypeP256    = 2
	certTypePCKChain  = 5
	certTypeQEReport  = 6
	bodyTypeTDX10     = 2
	bodyTypeTDX15     = 3
	intelQEVendorID   = "\x93\x9a\x72\x33\xf7\x9c\x4c\xa9\x94\x0a\x0d\xb3\x95\x7f\x06\x07"
	maxPCKChainPEMLen = 64 << 10
)

// Header is the 48-byte quote header.
type Header struct {
	Version    uint16
	AttKeyType uint16
	TEEType    uint32
	Reserved   [4]byte // QE SVN and PCE SVN in SGX quotes; reserved in TDX quotes
	VendorID   [16]byte
	UserData   [20]byte
}

// Body is the TD quote body (a TD report as signed by the QE). The TDX 1.5
// fields are zero in TDX 1.0 bodies.
type Body struct {
	TEETCBSVN      [16]byte
	MRSEAM         [48]byte
	MRSignerSEAM   [48]byte
	SEAMAttributes [8]byte
	TDAttributes   [8]byte
	XFAM           [8]byte
	MRTD           [48]byte
	MRConfigID     [48]byte
	MROwner        [48]byte
	MROwnerConfig  [48]byte
	RTMR           [4][48]byte
	ReportData     [64]byte
	TEETCBSVN2     [16]byte // TDX 1.5 only
	MRServiceTD    [48]byte // TDX 1.5 only
}

// EnclaveReport is an SGX enclave report, here the Quoting Enclave's.
type EnclaveReport struct {
	CPUSVN     [16]byte
	MiscSelect uint32
	Attributes [16]byte
	MREnclave  [32]byte
	MRSigner   [32]byte
	ISVProdID  uint16
	ISVSVN     uint16
	ReportData [64]byte
	Raw        [enclaveReportSize]byte
}

// Quote is a parsed TDX quote (version 4 or 5). Parsing checks structure
// only; nothing in a Quote is authenticated until Verify succeeds.
type Quote struct {
	Header Header
	// BodyType is 2 (TDX 1.0) or 3 (TDX 1.5). Version 4 quotes carry a TDX 1.0 body.
	BodyType uint16
	Body     Body

	// Signature is the raw r‖s ECDSA P-256 signature by AttestationKey over Signed.
	Signature      [ecdsaSigSize]byte
	AttestationKey [ecdsaKeySize]byte // raw x‖y P-256 public key

	QEReport          EnclaveReport
	QEReportSignature [ecdsaSigSize]byte // raw r‖s by the PCK leaf over QEReport.Raw
	QEAuthData        []byte
	PCKChainPEM       []byte // the PEM certificate chain, leaf first

	// Signed is the part of the quote the attestation key signs: header,
	// v5 body descriptor and body.
	Signed []byte
	// CertData is the whole QE certification data (type 6), the input of the
	// platform-level cache key.
	CertData []byte
	// TrailingBytes counts the bytes after the signature data, which are ignored.
	TrailingBytes int
}

// ParseQuote parses a raw TDX quote of version 4 or 5 strictly: every length
// is checked against the bytes left, unsupported versions, key types, TEE
// types, body types and certification data types are rejected, and trailing
// bytes inside the signature data are an error. Bytes after the signature
// data (zero padding in most real quotes) are counted in TrailingBytes and
// otherwise ignored.
func ParseQuote(b []byte) (*Quote, error) {
	if len(b) > MaxQuoteSize {
		return nil, verify.Errorf(verify.ErrLimit, "quote: %d bytes exceeds the cap of %d", len(b), MaxQuoteSize)
	}
	q := &Quote{}
	r := bytereader.New(b, bytereader.LittleEndian, "quote")
	h := r.Take(headerSize, "header")
	if err := r.Err(); err != nil {
		return nil, err
	}
	q.Header.Version = binary.LittleEndian.Uint16(h[0:])
	q.Header.AttKeyType = binary.LittleEndian.Uint16(h[2:])
	q.Header.TEEType = binary.LittleEndian.Uint32(h[4:])
	copy(q.Header.Reserved[:], h[8:12])
	copy(q.Header.VendorID[:], h[12:28])
	copy(q.Header.UserData[:], h[28:48])
	switch q.Header.Version {
	case 4, 5:
	default:
		return nil, verify.Errorf(verify.ErrMalformed, "quote header version: expected 4 or 5, got %d", q.Header.Version)
	}
	if q.Header.TEEType != teeTypeTDX {
		return nil, verify.Errorf(verify.ErrMalformed, "quote header tee_type: expected %#x (TDX), got %#x", teeTypeTDX, q.Header.TEEType)
	}
	if q.Header.AttKeyType != attKeyTypeP256 {
		return nil, verify.Errorf(verify.ErrMalformed, "quote header att_key_type: expected %d (ECDSA P-256), got %d: %w", attKeyTypeP256, q.Header.AttKeyType, verify.ErrUnsupported)
	}

	bodyLen := body10Size
	q.BodyType = bodyTypeTDX10
	if q.Header.Version == 5 {
		q.BodyType = r.U16("body type")
		size := r.U32("body size")
		if err := r.Err(); err != nil {
			return nil, err
		}
		switch {
		case q.BodyType == bodyTypeTDX10 && size == body10Size:
		case q.BodyType == bodyTypeTDX15 && size == body15Size:
			bodyLen = body15Size
		default:
			return nil, verify.Errorf(verify.ErrMalformed, "quote v5 body descriptor: expected type 2 with size %d or type 3 with size %d, got type %d with size %d",
				body10Size, body15Size, q.BodyType, size)
		}
	}
	body := r.Take(bodyLen, "body")
	if err := r.Err(); err != nil {
		return nil, err
	}
	parseBody(&q.Body, body)
	q.Signed = b[:r.Offset():r.Offset()]

	sigLen := r.U32("signature data length")
	if err := r.Err(); err != nil {
		return nil, err
	}
	if int64(sigLen) > int64(r.Left()) {
		return nil, verify.Errorf(verify.ErrMalformed, "quote signature data length: field says %d, only %d bytes follow", sigLen, r.Left())
	}
	// Bytes after the signature data are outside every signature and are
	// never parsed: quotes are often handed over in zero-padded buffers.
	q.TrailingBytes = r.Left() - int(sigLen)
	r.Truncate(int(sigLen), "signature data")
	copy(q.Signature[:], r.Take(ecdsaSigSize, "signature"))
	copy(q.AttestationKey[:], r.Take(ecdsaKeySize, "attestation key"))
	certType := r.U16("certification data type")
	certSize := r.U32("certification data size")
	if err := r.Err(); err != nil {
		return nil, err
	}
	if certType != certTypeQEReport {
		return nil, verify.Errorf(verify.ErrMalformed, "quote certification data type: expected %d (QE report), got %d", certTypeQEReport, certType)
	}
	if int64(certSize) != int64(r.Left()) {
		return nil, verify.Errorf(verify.ErrMalformed, "quote certification data size: field says %d, %d bytes follow", certSize, r.Left())
	}
	q.CertData = b[r.Offset() : r.Offset()+r.Left() : r.Offset()+r.Left()]
	rep := r.Take(enclaveReportSize, "QE report")
	if err := r.Err(); err != nil {
		return nil, err
	}
	parseEnclaveReport(&q.QEReport, rep)
	copy(q.QEReportSignature[:], r.Take(ecdsaSigSize, "QE report signature"))
	authLen := r.U16("QE auth data size")
	q.QEAuthData = r.Take(int(authLen), "QE auth data")
	innerType := r.U16("PCK certification data type")
	innerSize := r.U32("PCK certification data size")
	if err := r.Err(); err != nil {
		return nil, err
	}
	if innerType != certTypePCKChain {
		return nil, verify.Errorf(verify.ErrMalformed, "QE certification data type: expected %d (PCK chain), got %d", certTypePCKChain, innerType)
	}
	if innerSize > maxPCKChainPEMLen {
		return nil, verify.Errorf(verify.ErrLimit, "PCK certificate chain: %d bytes exceeds the cap of %d", innerSize, maxPCKChainPEMLen)
	}
	if int64(innerSize) != int64(r.Left()) {
		return nil, verify.Errorf(verify.ErrMalformed, "PCK certification data size: field says %d, %d bytes follow", innerSize, r.Left())
	}
	q.PCKChainPEM = r.Take(int(innerSize), "PCK certificate chain")
	if err := r.Err(); err != nil {
		return nil, err
	}
	return q, nil
}

func parseBody(d *Body, b []byte) {
	off := 0
	next := func(dst []byte) {
		copy(dst, b[off:off+len(dst)])
		off += len(dst)
	}
	next(d.TEETCBSVN[:])
	next(d.MRSEAM[:])
	next(d.MRSignerSEAM[:])
	next(d.SEAMAttributes[:])
	next(d.TDAttributes[:])
	next(d.XFAM[:])
	next(d.MRTD[:])
	next(d.MRConfigID[:])
	next(d.MROwner[:])
	next(d.MROwnerConfig[:])
	for i := range d.RTMR {
		next(d.RTMR[i][:])
	}
	next(d.ReportData[:])
	if len(b) == body15Size {
		next(d.TEETCBSVN2[:])
		next(d.MRServiceTD[:])
	}
}

func parseEnclaveReport(e *EnclaveReport, b []byte) {
	copy(e.Raw[:], b)
	copy(e.CPUSVN[:], b[0:16])
	e.MiscSelect = binary.LittleEndian.Uint32(b[16:])
	copy(e.Attributes[:], b[48:64])
	copy(e.MREnclave[:], b[64:96])
	copy(e.MRSigner[:], b[128:160])
	e.ISVProdID = binary.LittleEndian.Uint16(b[256:])
	e.ISVSVN = binary.LittleEndian.Uint16(b[258:])
	copy(e.ReportData[:], b[320:384])
}
