// Package sgxtest is a test attester for Intel SGX: the test PKI of package
// tdxtest (root, PCK Platform CA, PCK leaf with SGX extensions, TCB signing
// certificate, a Quoting Enclave's attestation key), SGX quotes v3 with any
// field chosen by the caller, and SGX TCB info (id "SGX") and QE identity
// (id "QE") signed by the PKI. Use it in tests only: every key is
// generated in memory and trusted only by verifiers built with its root.
package sgxtest

import (
	"bytes"
	"crypto/ecdsa"
	"encoding/binary"
	"time"

	"github.com/trustfactory/attest/internal/pck/pcktest"
	"github.com/trustfactory/attest/sgx"
	"github.com/trustfactory/attest/tdx"
	"github.com/trustfactory/attest/tdx/tdxtest"
)

// PKI is a test Intel SGX PKI with one platform and one Quoting Enclave.
type PKI struct {
	*tdxtest.PKI
}

// NewPKI returns a fresh PKI for tdxtest.DefaultPlatform, its certificates
// valid 2020-01-01..2040-01-01 and its collateral at tdxtest.VerifyTime().
func NewPKI() *PKI { return &PKI{tdxtest.NewPKI()} }

// NewPKIAt returns a fresh PKI whose certificates and collateral are valid at t.
func NewPKIAt(t time.Time) *PKI { return &PKI{tdxtest.NewPKIAt(t)} }

// intelQEVendorID is the QE vendor ID of Intel's Quoting Enclave.
var intelQEVendorID = [16]byte{0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9, 0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07}

// MREnclave is the MRENCLAVE of DefaultQuote's enclave.
func MREnclave() [32]byte { return [32]byte{0xe1, 0x0e, 0x1c, 0x1a, 0x7e} }

// MRSigner is the MRSIGNER of DefaultQuote's enclave.
func MRSigner() [32]byte { return [32]byte{0x51, 0x9e, 0xe2} }

// Enclave identity of DefaultQuote.
const (
	ISVProdID = 7
	ISVSVN    = 3
)

// QuoteSpec chooses every field of a test quote. Start from DefaultQuote.
type QuoteSpec struct {
	Header   sgx.Header
	Body     sgx.EnclaveReport // the Raw field is ignored
	QE       sgx.EnclaveReport // the Raw field is ignored
	AuthData []byte

	// Optional overrides for negative tests.
	AttestationKey    *ecdsa.PrivateKey // signs the quote instead of the PKI's
	QEReportData      *[64]byte         // instead of SHA-256(AK ‖ auth data) ‖ zeros
	QEReportSignature []byte            // instead of the PCK signature
	PCKChainPEM       []byte            // instead of PCK, PCK CA, root
	PCK               *tdxtest.Key      // signs the QE report instead of the PKI's PCK
	CertDataType      uint16            // certification data type, default 5
	Padding           []byte            // appended after the signature data
}

// DefaultQuote returns a v3 quote spec of a production (non-debug) enclave
// that the PKI's DefaultCollateral rates UpToDate.
func (p *PKI) DefaultQuote(reportData []byte) QuoteSpec {
	s := QuoteSpec{
		Header:   sgx.Header{Version: 3, AttKeyType: 2, QESVN: 4, PCESVN: p.Platform.PCESVN, VendorID: intelQEVendorID},
		AuthData: bytes.Repeat([]byte{0x5a}, 32),
	}
	s.Body.CPUSVN = p.Platform.CPUSVN
	s.Body.Attributes = [16]byte{sgx.AttrInit | sgx.AttrMode64Bit, 0, 0, 0, 0, 0, 0, 0, 0x03}
	s.Body.MREnclave = MREnclave()
	s.Body.MRSigner = MRSigner()
	s.Body.ISVProdID = ISVProdID
	s.Body.ISVSVN = ISVSVN
	copy(s.Body.ReportData[:], reportData)
	s.QE.MRSigner = tdxtest.QEMRSigner()
	s.QE.ISVProdID = 2
	s.QE.ISVSVN = 4
	s.QE.Attributes = [16]byte{0x11}
	return s
}

// EncodeEnclaveReport encodes a 384-byte SGX REPORTBODY.
func EncodeEnclaveReport(e *sgx.EnclaveReport) []byte {
	r := make([]byte, 384)
	copy(r[0:], e.CPUSVN[:])
	binary.LittleEndian.PutUint32(r[16:], e.MiscSelect)
	copy(r[32:], e.ISVExtProdID[:])
	copy(r[48:], e.Attributes[:])
	copy(r[64:], e.MREnclave[:])
	copy(r[128:], e.MRSigner[:])
	copy(r[192:], e.ConfigID[:])
	binary.LittleEndian.PutUint16(r[256:], e.ISVProdID)
	binary.LittleEndian.PutUint16(r[258:], e.ISVSVN)
	binary.LittleEndian.PutUint16(r[260:], e.ConfigSVN)
	copy(r[304:], e.ISVFamilyID[:])
	copy(r[320:], e.ReportData[:])
	return r
}

func le16(v uint16) []byte { return binary.LittleEndian.AppendUint16(nil, v) }
func le32(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }

// Quote mints and signs an SGX quote v3 from s: the QE report binds the
// attestation key, the PCK signs the QE report, the attestation key signs
// header and body.
func (p *PKI) Quote(s QuoteSpec) []byte {
	ak := p.AttestationKey
	if s.AttestationKey != nil {
		ak = s.AttestationKey
	}
	var signed bytes.Buffer
	h := s.Header
	signed.Write(le16(h.Version))
	signed.Write(le16(h.AttKeyType))
	signed.Write(le32(h.AttKeyData0))
	signed.Write(le16(h.QESVN))
	signed.Write(le16(h.PCESVN))
	signed.Write(h.VendorID[:])
	signed.Write(h.UserData[:])
	signed.Write(EncodeEnclaveReport(&s.Body))

	akPub := pcktest.RawPub(&ak.PublicKey)
	qe := s.QE
	if s.QEReportData != nil {
		qe.ReportData = *s.QEReportData
	} else {
		qe.ReportData = pcktest.QEReportData(akPub, s.AuthData)
	}
	rep := EncodeEnclaveReport(&qe)
	pck := p.PCK
	if s.PCK != nil {
		pck = *s.PCK
	}
	qeSig := s.QEReportSignature
	if qeSig == nil {
		qeSig = pcktest.RawSign(pck.Private, rep)
	}
	chain := s.PCKChainPEM
	if chain == nil {
		chain = tdxtest.PEM(pck.Cert, p.PCKCA.Cert, p.Root.Cert)
	}
	certType := s.CertDataType
	if certType == 0 {
		certType = 5
	}
	var sig bytes.Buffer
	sig.Write(pcktest.RawSign(ak, signed.Bytes()))
	sig.Write(akPub)
	sig.Write(rep)
	sig.Write(qeSig)
	sig.Write(le16(uint16(len(s.AuthData))))
	sig.Write(s.AuthData)
	sig.Write(le16(certType))
	sig.Write(le32(uint32(len(chain))))
	sig.Write(chain)

	out := append([]byte(nil), signed.Bytes()...)
	out = append(out, le32(uint32(sig.Len()))...)
	out = append(out, sig.Bytes()...)
	return append(out, s.Padding...)
}

// DefaultTCBInfo is SGX TCB info (id "SGX", no TDX components) for the
// PKI's platform whose first level, the one DefaultQuote's PCK matches, has
// the given status; a second level is OutOfDate. It is dated in the PKI's Window.
func (p *PKI) DefaultTCBInfo(status string) tdxtest.TCBInfo {
	t := p.PKI.DefaultTCBInfo(status)
	t.ID = "SGX"
	t.TDXModule, t.TDXModuleIdentities = nil, nil
	for i := range t.TCBLevels {
		t.TCBLevels[i].TCB.TDXComponents = nil
	}
	return t
}

// DefaultQEIdentity is the SGX QE identity (id "QE") matching DefaultQuote's
// QE, dated in the PKI's Window.
func (p *PKI) DefaultQEIdentity() tdxtest.QEIdentity {
	q := p.PKI.DefaultQEIdentity()
	q.ID = "QE"
	return q
}

// Collateral assembles a full SGX collateral set from signed TCB info and QE
// identity bodies, with empty CRLs valid in the PKI's Window.
func (p *PKI) Collateral(tcbInfo, qeIdentity []byte) *sgx.Collateral {
	return p.PKI.Collateral(tcbInfo, qeIdentity)
}

// DefaultCollateral is the full SGX collateral set rating DefaultQuote
// UpToDate, valid in the PKI's Window.
func (p *PKI) DefaultCollateral() *sgx.Collateral {
	return p.Collateral(p.SignTCBInfo(p.DefaultTCBInfo("UpToDate")), p.SignQEIdentity(p.DefaultQEIdentity()))
}

// Source returns an in-memory source serving c for the PKI's platform.
func (p *PKI) Source(c *sgx.Collateral) *tdx.MemorySource {
	src := tdx.NewMemorySource()
	src.AddSGX(p.Platform.FMSPC, "platform", c)
	return src
}
