package pck

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"time"

	"github.com/trustfactory/attest/verify"
)

// EnclaveReportSize is the size of an SGX REPORTBODY (the QE report, and the
// ISV enclave report of an SGX quote).
const EnclaveReportSize = 384

// EnclaveReport is an SGX REPORTBODY (Intel SGX DCAP Quote Library API, A.4).
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
	Raw          [EnclaveReportSize]byte
}

// ParseEnclaveReport decodes a 384-byte REPORTBODY.
func ParseEnclaveReport(b []byte) (EnclaveReport, error) {
	var r EnclaveReport
	if len(b) != EnclaveReportSize {
		return r, verify.Errorf(verify.ErrMalformed, "enclave report: expected %d bytes, got %d", EnclaveReportSize, len(b))
	}
	copy(r.Raw[:], b)
	copy(r.CPUSVN[:], b[0:16])
	r.MiscSelect = binary.LittleEndian.Uint32(b[16:20])
	copy(r.ISVExtProdID[:], b[32:48])
	copy(r.Attributes[:], b[48:64])
	copy(r.MREnclave[:], b[64:96])
	copy(r.MRSigner[:], b[128:160])
	copy(r.ConfigID[:], b[192:256])
	r.ISVProdID = binary.LittleEndian.Uint16(b[256:258])
	r.ISVSVN = binary.LittleEndian.Uint16(b[258:260])
	r.ConfigSVN = binary.LittleEndian.Uint16(b[260:262])
	copy(r.ISVFamilyID[:], b[304:320])
	copy(r.ReportData[:], b[320:384])
	return r, nil
}

// QE is what a quote says about its Quoting Enclave: its report, the PCK
// signature over it, the attestation key it vouches for, and the PCK chain.
type QE struct {
	Report          *EnclaveReport
	ReportSignature []byte // raw r‖s by the PCK leaf over Report.Raw
	AttestationKey  []byte // raw x‖y P-256
	AuthData        []byte
	PCKChainPEM     []byte // leaf, PCK CA, root
}

// Platform is what depends only on the QE and the platform: the PCK chain to
// a pinned root, the PCK extensions, the QE report signature and the binding
// of the attestation key to the QE report.
type Platform struct {
	Leaf, Intermediate, Root *x509.Certificate
	Ext                      *Extensions
	CA                       string // "platform" or "processor"
	AK                       *ecdsa.PublicKey
	NotBefore, NotAfter      time.Time
	// Key is the SHA-256 of the attestation key and the certification data
	// the platform was verified from (set by Verifier.Platform), every byte
	// it depends on: callers key their own caches of results that depend on
	// the platform by it.
	Key [32]byte
}

// VerifyPlatform checks the PCK chain of qe to a pinned root at now, the
// PCK issuer, the QE report signature by the PCK leaf, and that the QE
// report data is SHA-256(attestation key ‖ QE auth data) followed by zeros.
func (t *Trust) VerifyPlatform(qe *QE, now time.Time) (*Platform, error) {
	certs, err := ParsePEMChain(qe.PCKChainPEM, 3, "PCK certificate chain")
	if err != nil {
		return nil, err
	}
	if err := t.VerifyCerts(certs, now, "PCK certificate chain"); err != nil {
		return nil, err
	}
	p := &Platform{Leaf: certs[0], Intermediate: certs[1], Root: certs[2]}
	if p.Leaf.IsCA {
		return nil, verify.Errorf(verify.ErrChain, "PCK certificate %q is a CA", p.Leaf.Subject.CommonName)
	}
	switch cn := p.Intermediate.Subject.CommonName; cn {
	case "Intel SGX PCK Platform CA":
		p.CA = "platform"
	case "Intel SGX PCK Processor CA":
		p.CA = "processor"
	default:
		return nil, verify.Errorf(verify.ErrChain, "PCK issuer: expected Intel SGX PCK Platform CA or Processor CA, got %q", cn)
	}
	if p.Ext, err = ParseExtensions(p.Leaf); err != nil {
		return nil, err
	}
	pub, ok := p.Leaf.PublicKey.(*ecdsa.PublicKey)
	if !ok {
		return nil, verify.Errorf(verify.ErrChain, "PCK certificate key is %T, expected ECDSA P-256", p.Leaf.PublicKey)
	}
	d := sha256.Sum256(qe.Report.Raw[:])
	if !VerifyRawP256(pub, d[:], qe.ReportSignature) {
		return nil, verify.Errorf(verify.ErrSignature, "QE report signature %x does not verify with the PCK key", qe.ReportSignature)
	}
	h := sha256.New()
	h.Write(qe.AttestationKey)
	h.Write(qe.AuthData)
	var want [64]byte
	h.Sum(want[:0])
	if !bytes.Equal(want[:], qe.Report.ReportData[:]) {
		return nil, verify.Errorf(verify.ErrBinding, "QE report_data: expected SHA-256(attestation key ‖ QE auth data) ‖ zeros = %x, got %x", want, qe.Report.ReportData)
	}
	if p.AK, err = P256Key(qe.AttestationKey); err != nil {
		return nil, err
	}
	var w Window
	for _, c := range certs {
		w.Cert("PCK", c)
	}
	p.NotBefore, p.NotAfter = w.from, w.to
	return p, nil
}
