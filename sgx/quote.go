package sgx

import (
	"encoding/binary"

	"github.com/trustfactory/attest/internal/pck"
	"github.com/trustfactory/attest/verify"
)

// Sizes of the fixed parts of an SGX quote v3 (Intel SGX DCAP Quote Library
// API, appendix A).
const (
	headerSize        = 48
	reportSize        = pck.EnclaveReportSize
	signedSize        = headerSize + reportSize // header ‖ ISV enclave report
	ecdsaSigSize      = 64
	ecdsaKeySize      = 64
	certTypePCKChain  = 5
	attKeyTypeP256    = 2
	teeTypeSGX        = 0
	quoteVersion      = 3
	intelQEVendorID   = "\x93\x9a\x72\x33\xf7\x9c\x4c\xa9\x94\x0a\x0d\xb3\x95\x7f\x06\x07"
	minSignatureData  = ecdsaSigSize + ecdsaKeySize + reportSize + ecdsaSigSize + 2 + 2 + 4
	maxQEAuthDataSize = 4 << 10

	// MaxQuoteSize caps the quote (and so every length field inside it).
	MaxQuoteSize = 1 << 20
)

// ATTRIBUTES.flags bits (Intel SDM, SECS.ATTRIBUTES).
const (
	AttrInit          = 1 << 0
	AttrDebug         = 1 << 1
	AttrMode64Bit     = 1 << 2
	AttrProvisionKey  = 1 << 4
	AttrEInitTokenKey = 1 << 5
	AttrKSS           = 1 << 7
)

// Header is the 48-byte quote header.
type Header struct {
	Version    uint16
	AttKeyType uint16
	// AttKeyData0 is the TEE type slot of later versions; reserved (zero) in v3.
	AttKeyData0 uint32
	QESVN       uint16
	PCESVN      uint16
	VendorID    [16]byte
	UserData    [20]byte
}

// EnclaveReport is an SGX REPORTBODY: the ISV enclave's report, or the
// Quoting Enclave's.
type EnclaveReport struct {
	CPUSVN       [16]byte
	MiscSelect   uint32
	ISVExtProdID [16]byte
	Attributes   [16]byte // flags u64 ‖ xfrm u64, little-endian
	MREnclave    [32]byte
	MRSigner     [32]byte
	ConfigID     [64]byte
	ISVProdID    uint16
	ISVSVN       uint16
	ConfigSVN    uint16
	ISVFamilyID  [16]byte
	ReportData   [64]byte
	Raw          [reportSize]byte
}

// The shared report type and this one must stay convertible.
var _ = EnclaveReport(pck.EnclaveReport{})

// Flags returns ATTRIBUTES.flags.
func (r *EnclaveReport) Flags() uint64 { return binary.LittleEndian.Uint64(r.Attributes[:8]) }

// XFRM returns ATTRIBUTES.xfrm.
func (r *EnclaveReport) XFRM() uint64 { return binary.LittleEndian.Uint64(r.Attributes[8:]) }

// Debug reports whether the enclave is a debug enclave (ATTRIBUTES.DEBUG):
// its memory can be read and written by a debugger on the host.
func (r *EnclaveReport) Debug() bool { return r.Flags()&AttrDebug != 0 }

// Quote is a parsed SGX quote v3. Parsing checks structure only; nothing
// in a Quote is authenticated until Verify succeeds.
type Quote struct {
	Header Header
	// Body is the ISV enclave's report.
	Body EnclaveReport

	// Signature is the raw r‖s ECDSA P-256 signature by AttestationKey over Signed.
	Signature      [ecdsaSigSize]byte
	AttestationKey [ecdsaKeySize]byte // raw x‖y P-256 public key

	QEReport          EnclaveReport
	QEReportSignature [ecdsaSigSize]byte // raw r‖s by the PCK leaf over QEReport.Raw
	QEAuthData        []byte
	PCKChainPEM       []byte // the PEM certificate chain, leaf first

	// Signed is the part of the quote the attestation key signs: header and body.
	Signed []byte
	// CertData is the QE report, its signature, the auth data and the
	// certification data: the input of the platform-level cache key.
	CertData []byte
	// Padding counts the zero bytes after the signature data.
	Padding int
}

// reader walks a byte slice with bounds checks; the first failure sticks.
type reader struct {
	b   []byte
	off int
	err error
}

func (r *reader) take(n int, field string) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.b)-r.off {
		r.err = verify.Errorf(verify.ErrMalformed, "SGX quote field %s at offset %#x: need %d bytes, %d left", field, r.off, n, len(r.b)-r.off)
		return nil
	}
	s := r.b[r.off : r.off+n]
	r.off += n
	return s
}

func (r *reader) u16(field string) uint16 {
	if s := r.take(2, field); s != nil {
		return binary.LittleEndian.Uint16(s)
	}
	return 0
}

func (r *reader) u32(field string) uint32 {
	if s := r.take(4, field); s != nil {
		return binary.LittleEndian.Uint32(s)
	}
	return 0
}

// ParseQuote parses a raw SGX quote v3 strictly: every length is checked
// against the bytes left, other versions, key types and certification data
// types are refused, the signature data must end exactly where its length
// says, and only zero bytes may follow it.
func ParseQuote(b []byte) (*Quote, error) {
	if len(b) > MaxQuoteSize {
		return nil, verify.Errorf(verify.ErrLimit, "SGX quote: %d bytes exceeds the cap of %d", len(b), MaxQuoteSize)
	}
	if len(b) < 8 {
		return nil, verify.Errorf(verify.ErrMalformed, "SGX quote: %d bytes, shorter than the version, key type and TEE type", len(b))
	}
	q := &Quote{}
	r := &reader{b: b}
	h := &q.Header
	h.Version = r.u16("version")
	h.AttKeyType = r.u16("att_key_type")
	h.AttKeyData0 = r.u32("att_key_data_0")
	switch {
	case h.Version != quoteVersion:
		return nil, verify.Errorf(verify.ErrMalformed, "SGX quote version: expected 3, got %d: %w", h.Version, verify.ErrUnsupported)
	case h.AttKeyType != attKeyTypeP256:
		return nil, verify.Errorf(verify.ErrMalformed, "SGX quote att_key_type: expected 2 (ECDSA-256-with-P-256), got %d: %w", h.AttKeyType, verify.ErrUnsupported)
	case h.AttKeyData0 != teeTypeSGX:
		return nil, verify.Errorf(verify.ErrMalformed, "SGX quote v3 att_key_data_0 (TEE type): expected 0, got %#x: %w", h.AttKeyData0, verify.ErrUnsupported)
	}
	h.QESVN = r.u16("qe_svn")
	h.PCESVN = r.u16("pce_svn")
	copy(h.VendorID[:], r.take(16, "qe_vendor_id"))
	copy(h.UserData[:], r.take(20, "user_data"))
	body := r.take(reportSize, "isv_enclave_report")
	if r.err != nil {
		return nil, r.err
	}
	rep, err := pck.ParseEnclaveReport(body)
	if err != nil {
		return nil, err
	}
	q.Body = EnclaveReport(rep)
	q.Signed = b[:signedSize]

	sigLen := r.u32("signature_data_len")
	if r.err != nil {
		return nil, r.err
	}
	if sigLen < minSignatureData || int(sigLen) > len(b)-r.off {
		return nil, verify.Errorf(verify.ErrMalformed, "SGX quote signature_data_len: %d, expected %d..%d (bytes left)", sigLen, minSignatureData, len(b)-r.off)
	}
	sr := &reader{b: b[r.off : r.off+int(sigLen)]}
	copy(q.Signature[:], sr.take(ecdsaSigSize, "isv_report_signature"))
	copy(q.AttestationKey[:], sr.take(ecdsaKeySize, "attestation_key"))
	certStart := sr.off
	qeRaw := sr.take(reportSize, "qe_report")
	copy(q.QEReportSignature[:], sr.take(ecdsaSigSize, "qe_report_signature"))
	authLen := sr.u16("qe_auth_data_size")
	if int(authLen) > maxQEAuthDataSize {
		return nil, verify.Errorf(verify.ErrLimit, "SGX quote qe_auth_data_size: %d exceeds the cap of %d", authLen, maxQEAuthDataSize)
	}
	q.QEAuthData = sr.take(int(authLen), "qe_auth_data")
	certType := sr.u16("certification_data_type")
	certSize := sr.u32("certification_data_size")
	if sr.err != nil {
		return nil, sr.err
	}
	if certType != certTypePCKChain {
		return nil, verify.Errorf(verify.ErrMalformed, "SGX quote certification_data_type: expected 5 (PCK certificate chain), got %d: %w", certType, verify.ErrUnsupported)
	}
	if certSize > pck.MaxChainPEMLen {
		return nil, verify.Errorf(verify.ErrLimit, "SGX quote PCK certificate chain: %d bytes exceeds the cap of %d", certSize, pck.MaxChainPEMLen)
	}
	q.PCKChainPEM = sr.take(int(certSize), "certification_data")
	if sr.err != nil {
		return nil, sr.err
	}
	if sr.off != len(sr.b) {
		return nil, verify.Errorf(verify.ErrMalformed, "SGX quote signature data: %d bytes after the certification data (signature_data_len %d)", len(sr.b)-sr.off, sigLen)
	}
	q.CertData = sr.b[certStart:]
	qe, err := pck.ParseEnclaveReport(qeRaw)
	if err != nil {
		return nil, err
	}
	q.QEReport = EnclaveReport(qe)
	rest := b[r.off+int(sigLen):]
	for i, c := range rest {
		if c != 0 {
			return nil, verify.Errorf(verify.ErrMalformed, "SGX quote: non-zero byte %#02x at offset %#x after the signature data", c, r.off+int(sigLen)+i)
		}
	}
	q.Padding = len(rest)
	return q, nil
}
