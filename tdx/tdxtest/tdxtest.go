// Package tdxtest is a test attester for Intel TDX: a test PKI shaped like
// Intel's (root, PCK Platform CA, PCK leaf with SGX extensions, TCB signing
// certificate), a Quoting Enclave with an attestation key, quotes v4 and v5
// with any field chosen by the caller, TCB info and QE identity signed by the
// PKI, CRLs, and an httptest PCS server. Use it in tests only: every key is
// generated in memory and trusted only by verifiers built with its root.
package tdxtest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"sync/atomic"
	"time"

	"github.com/trustfactory/attest/internal/pck/pcktest"
	"github.com/trustfactory/attest/tdx"
)

// Platform describes the SGX TCB that the PCK certificate certifies.
type Platform struct {
	FMSPC   [6]byte
	PCEID   [2]byte
	CompSVN [16]byte
	PCESVN  uint16
	CPUSVN  [16]byte
	// PlatformInstanceID is written when non-nil (Platform CA certificates).
	PlatformInstanceID []byte
}

// DefaultPlatform is the platform of a new PKI: FMSPC 00906ED50000, SGX
// component SVNs 3 (first eight), PCESVN 13.
func DefaultPlatform() Platform {
	p := Platform{FMSPC: [6]byte{0x00, 0x90, 0x6e, 0xd5, 0x00, 0x00}, PCESVN: 13}
	for i := 0; i < 8; i++ {
		p.CompSVN[i] = 3
	}
	copy(p.CPUSVN[:], p.CompSVN[:])
	p.PlatformInstanceID = bytes.Repeat([]byte{0xab}, 16)
	return p
}

// Key and certificate of one PKI member.
type Key struct {
	Cert    *x509.Certificate
	Private *ecdsa.PrivateKey
}

// PKI is a test Intel SGX PKI with one platform and one Quoting Enclave.
type PKI struct {
	Root      Key
	PCKCA     Key // "Intel SGX PCK Platform CA"
	PCK       Key // the platform's PCK leaf
	TCBSigner Key // "Intel SGX TCB Signing"
	// AttestationKey is the QE's P-256 attestation key.
	AttestationKey *ecdsa.PrivateKey
	Platform       Platform
	// NotBefore and NotAfter bound every certificate.
	NotBefore, NotAfter time.Time
	// CollateralTime is the time the PKI's collateral (TCB info, QE identity
	// and CRLs made by its methods) is valid at: see Window. Zero:
	// VerifyTime, the fixed June 2025 window of IssueDate and NextUpdate.
	CollateralTime time.Time
}

// Collateral window around CollateralTime, as long as the defaults' (issued
// 2025-06-01, next update 2025-07-01 around VerifyTime 2025-06-15): Intel's
// own TCB info is issued daily and valid for a month.
const (
	windowBefore = 14 * 24 * time.Hour
	windowAfter  = 16 * 24 * time.Hour
)

// Window returns the issue date and next update of the collateral the PKI's
// methods make: 14 days before CollateralTime to 16 days after it, or
// IssueDate to NextUpdate when CollateralTime is zero.
func (p *PKI) Window() (issue, next time.Time) {
	if p.CollateralTime.IsZero() {
		return IssueDate(), NextUpdate()
	}
	t := p.CollateralTime.UTC().Truncate(time.Second)
	return t.Add(-windowBefore), t.Add(windowAfter)
}

var serial atomic.Int64

func nextSerial() *big.Int { return big.NewInt(1000 + serial.Add(1)) }

func intelName(cn string) pkix.Name {
	return pkix.Name{CommonName: cn, Organization: []string{"Intel Corporation"}, Locality: []string{"Santa Clara"}, Province: []string{"CA"}, Country: []string{"US"}}
}

func newKey() *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	return k
}

func issue(tmpl *x509.Certificate, parent *Key, key *ecdsa.PrivateKey) Key {
	signer, parentCert := key, tmpl
	if parent != nil {
		signer, parentCert = parent.Private, parent.Cert
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parentCert, &key.PublicKey, signer)
	if err != nil {
		panic(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		panic(err)
	}
	return Key{Cert: c, Private: key}
}

// NewPKI returns a fresh PKI for DefaultPlatform, its certificates valid
// 2020-01-01..2040-01-01.
func NewPKI() *PKI {
	return NewPKIFor(DefaultPlatform(), time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2040, 1, 1, 0, 0, 0, 0, time.UTC))
}

// NewPKIAt returns a fresh PKI for DefaultPlatform whose certificates (five
// years before t to fifteen after) and collateral (Window) are valid at t:
// for tests at the real clock, pass time.Now().
func NewPKIAt(t time.Time) *PKI {
	p := NewPKIFor(DefaultPlatform(), t.AddDate(-5, 0, 0).UTC().Truncate(time.Second), t.AddDate(15, 0, 0).UTC().Truncate(time.Second))
	p.CollateralTime = t
	return p
}

// NewPKIFor returns a fresh PKI for plat with certificates valid from nb to na.
func NewPKIFor(plat Platform, nb, na time.Time) *PKI {
	p := &PKI{Platform: plat, NotBefore: nb, NotAfter: na, AttestationKey: newKey()}
	rk := newKey()
	p.Root = issue(&x509.Certificate{
		SerialNumber: nextSerial(), Subject: intelName("Intel SGX Root CA"), NotBefore: nb, NotAfter: na,
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}, nil, rk)
	p.PCKCA = issue(&x509.Certificate{
		SerialNumber: nextSerial(), Subject: intelName("Intel SGX PCK Platform CA"), NotBefore: nb, NotAfter: na,
		IsCA: true, BasicConstraintsValid: true, MaxPathLenZero: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}, &p.Root, newKey())
	p.TCBSigner = issue(&x509.Certificate{
		SerialNumber: nextSerial(), Subject: intelName("Intel SGX TCB Signing"), NotBefore: nb, NotAfter: na,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageDigitalSignature,
	}, &p.Root, newKey())
	p.PCK = p.IssuePCK(plat)
	return p
}

// IssuePCK issues a PCK leaf certificate for plat by the PCK CA.
func (p *PKI) IssuePCK(plat Platform) Key { return p.IssuePCKBy(p.PCKCA, plat) }

// IssuePCKBy issues a PCK leaf certificate for plat by ca (for example a
// "Intel SGX PCK Processor CA" from IssueCA).
func (p *PKI) IssuePCKBy(ca Key, plat Platform) Key {
	return issue(&x509.Certificate{
		SerialNumber: nextSerial(), Subject: intelName("Intel SGX PCK Certificate"), NotBefore: p.NotBefore, NotAfter: p.NotAfter,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtraExtensions: []pkix.Extension{{Id: asn1.ObjectIdentifier{1, 2, 840, 113741, 1, 13, 1}, Value: SGXExtensions(plat)}},
	}, &ca, newKey())
}

type oidValue struct {
	ID    asn1.ObjectIdentifier
	Value asn1.RawValue
}

func raw(v any) asn1.RawValue {
	b, err := asn1.Marshal(v)
	if err != nil {
		panic(err)
	}
	return asn1.RawValue{FullBytes: b}
}

func sgxOID(n ...int) asn1.ObjectIdentifier {
	return append(asn1.ObjectIdentifier{1, 2, 840, 113741, 1, 13, 1}, n...)
}

// SGXExtensions encodes the SGX extension value of a PCK certificate.
func SGXExtensions(plat Platform) []byte {
	var tcb []oidValue
	for i := 0; i < 16; i++ {
		tcb = append(tcb, oidValue{sgxOID(2, i+1), raw(int(plat.CompSVN[i]))})
	}
	tcb = append(tcb, oidValue{sgxOID(2, 17), raw(int(plat.PCESVN))}, oidValue{sgxOID(2, 18), raw(plat.CPUSVN[:])})
	items := []oidValue{
		{sgxOID(1), raw(bytes.Repeat([]byte{0x11}, 16))},
		{sgxOID(2), raw(tcb)},
		{sgxOID(3), raw(plat.PCEID[:])},
		{sgxOID(4), raw(plat.FMSPC[:])},
		{sgxOID(5), raw(asn1.Enumerated(1))},
	}
	if plat.PlatformInstanceID != nil {
		items = append(items, oidValue{sgxOID(6), raw(plat.PlatformInstanceID)})
	}
	b, err := asn1.Marshal(items)
	if err != nil {
		panic(err)
	}
	return b
}

// PEM encodes certificates.
func PEM(certs ...*x509.Certificate) []byte {
	var b bytes.Buffer
	for _, c := range certs {
		_ = pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	}
	return b.Bytes()
}

// QEMRSigner returns the MRSIGNER of the test QE (a function, so that no
// caller can change what the test collateral's QE identity names).
func QEMRSigner() [32]byte { return [32]byte{0xdc, 0x9e, 0x2a, 0x7c, 0x6f, 0x94, 0x8f, 0x17} }

// QuoteSpec chooses every field of a test quote. Start from DefaultQuote.
type QuoteSpec struct {
	Header   tdx.Header
	BodyType uint16 // 2 or 3; v4 quotes always carry type 2
	Body     tdx.Body
	QE       tdx.EnclaveReport // the Raw field is ignored
	AuthData []byte

	// Optional overrides for negative tests.
	AttestationKey    *ecdsa.PrivateKey // signs the quote instead of the PKI's
	QEReportData      *[64]byte         // instead of SHA-256(AK ‖ auth data) ‖ zeros
	QEReportSignature []byte            // instead of the PCK signature
	PCKChainPEM       []byte            // instead of PCK, PCK CA, root
	PCK               *Key              // signs the QE report instead of the PKI's PCK
	CertDataType      uint16            // outer certification data type, default 6
	InnerCertDataType uint16            // inner type, default 5
}

// DefaultQuote returns a v4 quote spec that the PKI's DefaultCollateral rates UpToDate.
func (p *PKI) DefaultQuote(reportData []byte) QuoteSpec {
	s := QuoteSpec{
		Header:   tdx.Header{Version: 4, AttKeyType: 2, TEEType: 0x81},
		BodyType: 2,
		AuthData: bytes.Repeat([]byte{0x5a}, 32),
	}
	copy(s.Header.VendorID[:], "\x93\x9a\x72\x33\xf7\x9c\x4c\xa9\x94\x0a\x0d\xb3\x95\x7f\x06\x07")
	s.Body.TEETCBSVN = [16]byte{4, 1, 2}
	for i := range s.Body.MRSEAM {
		s.Body.MRSEAM[i] = byte(i)
		s.Body.MRTD[i] = byte(0x40 + i)
	}
	s.Body.TDAttributes = [8]byte{0, 0, 0, 0x10} // SEPT_VE_DISABLE
	s.Body.XFAM = [8]byte{0xe7, 0x02, 0x06}
	copy(s.Body.ReportData[:], reportData)
	s.QE.MRSigner = QEMRSigner()
	s.QE.ISVProdID = 2
	s.QE.ISVSVN = 4
	s.QE.Attributes = [16]byte{0x11}
	return s
}

func u16(v uint16) []byte { return binary.LittleEndian.AppendUint16(nil, v) }
func u32(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }

// EncodeBody encodes a TD quote body of the given type (2: 584 bytes, 3: 648 bytes).
func EncodeBody(b *tdx.Body, bodyType uint16) []byte {
	var o bytes.Buffer
	for _, f := range [][]byte{b.TEETCBSVN[:], b.MRSEAM[:], b.MRSignerSEAM[:], b.SEAMAttributes[:], b.TDAttributes[:], b.XFAM[:],
		b.MRTD[:], b.MRConfigID[:], b.MROwner[:], b.MROwnerConfig[:], b.RTMR[0][:], b.RTMR[1][:], b.RTMR[2][:], b.RTMR[3][:], b.ReportData[:]} {
		o.Write(f)
	}
	if bodyType == 3 {
		o.Write(b.TEETCBSVN2[:])
		o.Write(b.MRServiceTD[:])
	}
	return o.Bytes()
}

// EncodeEnclaveReport encodes a 384-byte SGX enclave report.
func EncodeEnclaveReport(e *tdx.EnclaveReport) []byte {
	r := make([]byte, 384)
	copy(r[0:], e.CPUSVN[:])
	binary.LittleEndian.PutUint32(r[16:], e.MiscSelect)
	copy(r[48:], e.Attributes[:])
	copy(r[64:], e.MREnclave[:])
	copy(r[128:], e.MRSigner[:])
	binary.LittleEndian.PutUint16(r[256:], e.ISVProdID)
	binary.LittleEndian.PutUint16(r[258:], e.ISVSVN)
	copy(r[320:], e.ReportData[:])
	return r
}

// Quote mints and signs a quote from s.
func (p *PKI) Quote(s QuoteSpec) []byte {
	ak := p.AttestationKey
	if s.AttestationKey != nil {
		ak = s.AttestationKey
	}
	var signed bytes.Buffer
	h := s.Header
	signed.Write(u16(h.Version))
	signed.Write(u16(h.AttKeyType))
	signed.Write(u32(h.TEEType))
	signed.Write(h.Reserved[:])
	signed.Write(h.VendorID[:])
	signed.Write(h.UserData[:])
	bt := s.BodyType
	if h.Version != 5 {
		bt = 2
	}
	body := EncodeBody(&s.Body, bt)
	if h.Version == 5 {
		signed.Write(u16(bt))
		signed.Write(u32(uint32(len(body))))
	}
	signed.Write(body)

	akPub := pcktest.RawPub(&p.AttestationKey.PublicKey)
	if s.AttestationKey != nil {
		akPub = pcktest.RawPub(&s.AttestationKey.PublicKey)
	}
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
		chain = PEM(pck.Cert, p.PCKCA.Cert, p.Root.Cert)
	}
	inner := s.InnerCertDataType
	if inner == 0 {
		inner = 5
	}
	var cert bytes.Buffer
	cert.Write(rep)
	cert.Write(qeSig)
	cert.Write(u16(uint16(len(s.AuthData))))
	cert.Write(s.AuthData)
	cert.Write(u16(inner))
	cert.Write(u32(uint32(len(chain))))
	cert.Write(chain)
	outer := s.CertDataType
	if outer == 0 {
		outer = 6
	}
	var sig bytes.Buffer
	sig.Write(pcktest.RawSign(ak, signed.Bytes()))
	sig.Write(akPub)
	sig.Write(u16(outer))
	sig.Write(u32(uint32(cert.Len())))
	sig.Write(cert.Bytes())

	out := append([]byte(nil), signed.Bytes()...)
	out = append(out, u32(uint32(sig.Len()))...)
	return append(out, sig.Bytes()...)
}

// Component is a TCB component of a TCB level.
type Component struct {
	SVN      int    `json:"svn"`
	Category string `json:"category,omitempty"`
	Type     string `json:"type,omitempty"`
}

// LevelTCB is the "tcb" member of a TCB level.
type LevelTCB struct {
	SGXComponents []Component `json:"sgxtcbcomponents,omitempty"`
	PCESVN        *int        `json:"pcesvn,omitempty"`
	TDXComponents []Component `json:"tdxtcbcomponents,omitempty"`
	ISVSVN        *int        `json:"isvsvn,omitempty"`
}

// Level is a TCB level.
type Level struct {
	TCB         LevelTCB `json:"tcb"`
	TCBDate     string   `json:"tcbDate"`
	TCBStatus   string   `json:"tcbStatus"`
	AdvisoryIDs []string `json:"advisoryIDs,omitempty"`
}

// Module is tdxModule or an entry of tdxModuleIdentities.
type Module struct {
	ID             string  `json:"id,omitempty"`
	MRSigner       string  `json:"mrsigner"`
	Attributes     string  `json:"attributes"`
	AttributesMask string  `json:"attributesMask"`
	TCBLevels      []Level `json:"tcbLevels,omitempty"`
}

// TCBInfo is Intel's TDX TCB info (version 3).
type TCBInfo struct {
	ID                      string   `json:"id"`
	Version                 int      `json:"version"`
	IssueDate               string   `json:"issueDate"`
	NextUpdate              string   `json:"nextUpdate"`
	FMSPC                   string   `json:"fmspc"`
	PCEID                   string   `json:"pceId"`
	TCBType                 int      `json:"tcbType"`
	TCBEvaluationDataNumber int      `json:"tcbEvaluationDataNumber"`
	TDXModule               *Module  `json:"tdxModule,omitempty"`
	TDXModuleIdentities     []Module `json:"tdxModuleIdentities,omitempty"`
	TCBLevels               []Level  `json:"tcbLevels"`
}

// QEIdentity is Intel's TD_QE enclave identity (version 2).
type QEIdentity struct {
	ID                      string  `json:"id"`
	Version                 int     `json:"version"`
	IssueDate               string  `json:"issueDate"`
	NextUpdate              string  `json:"nextUpdate"`
	TCBEvaluationDataNumber int     `json:"tcbEvaluationDataNumber"`
	MiscSelect              string  `json:"miscselect"`
	MiscSelectMask          string  `json:"miscselectMask"`
	Attributes              string  `json:"attributes"`
	AttributesMask          string  `json:"attributesMask"`
	MRSigner                string  `json:"mrsigner"`
	ISVProdID               int     `json:"isvprodid"`
	TCBLevels               []Level `json:"tcbLevels"`
}

func ip(i int) *int { return &i }

// PlatformLevel returns a TCB info level for SGX component SVNs sgx (first
// eight), PCESVN pcesvn and TDX component SVN tdx at index 2.
func PlatformLevel(sgx, pcesvn, tdxSVN int, status, date string) Level {
	l := Level{TCBDate: date, TCBStatus: status}
	for i := 0; i < 16; i++ {
		s := 0
		if i < 8 {
			s = sgx
		}
		l.TCB.SGXComponents = append(l.TCB.SGXComponents, Component{SVN: s})
		t := 0
		if i == 2 {
			t = tdxSVN
		}
		l.TCB.TDXComponents = append(l.TCB.TDXComponents, Component{SVN: t})
	}
	l.TCB.PCESVN = ip(pcesvn)
	return l
}

// ISVLevel returns a QE identity or module identity level.
func ISVLevel(isvsvn int, status, date string) Level {
	return Level{TCB: LevelTCB{ISVSVN: ip(isvsvn)}, TCBDate: date, TCBStatus: status}
}

// IssueDate is the issue date of the defaults' collateral (a PKI whose
// CollateralTime is zero): 2025-06-01. A PKI's CollateralTime chooses
// another window.
func IssueDate() time.Time { return time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC) }

// NextUpdate is the next update of the defaults' collateral: 2025-07-01.
func NextUpdate() time.Time { return time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC) }

// VerifyTime lies inside the defaults' collateral validity: 2025-06-15.
func VerifyTime() time.Time { return time.Date(2025, 6, 15, 0, 0, 0, 0, time.UTC) }

const zeros48 = "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"

// DefaultTCBInfo is TCB info for the PKI's platform whose first level, the one
// DefaultQuote matches, has the given status; a second level is OutOfDate.
// It is dated in the PKI's Window.
func (p *PKI) DefaultTCBInfo(status string) TCBInfo {
	issue, next := p.Window()
	return TCBInfo{
		ID: "TDX", Version: 3,
		IssueDate: issue.Format(time.RFC3339), NextUpdate: next.Format(time.RFC3339),
		FMSPC: fmt.Sprintf("%X", p.Platform.FMSPC[:]), PCEID: fmt.Sprintf("%X", p.Platform.PCEID[:]),
		TCBEvaluationDataNumber: 17,
		TDXModule:               &Module{MRSigner: zeros48, Attributes: "0000000000000000", AttributesMask: "FFFFFFFFFFFFFFFF"},
		TDXModuleIdentities: []Module{{
			ID: "TDX_01", MRSigner: zeros48, Attributes: "0000000000000000", AttributesMask: "FFFFFFFFFFFFFFFF",
			TCBLevels: []Level{ISVLevel(4, "UpToDate", "2024-03-13T00:00:00Z"), ISVLevel(2, "OutOfDate", "2023-08-09T00:00:00Z")},
		}},
		TCBLevels: []Level{
			PlatformLevel(3, 13, 2, status, "2024-03-13T00:00:00Z"),
			PlatformLevel(2, 5, 1, "OutOfDate", "2018-01-04T00:00:00Z"),
		},
	}
}

// DefaultQEIdentity matches DefaultQuote's QE (ISVSVN 4 UpToDate, 0
// OutOfDate), dated IssueDate to NextUpdate.
func DefaultQEIdentity() QEIdentity {
	return qeIdentity(IssueDate(), NextUpdate())
}

// DefaultQEIdentity is the package's DefaultQEIdentity dated in the PKI's
// Window.
func (p *PKI) DefaultQEIdentity() QEIdentity {
	return qeIdentity(p.Window())
}

func qeIdentity(issue, next time.Time) QEIdentity {
	return QEIdentity{
		ID: "TD_QE", Version: 2,
		IssueDate: issue.Format(time.RFC3339), NextUpdate: next.Format(time.RFC3339),
		TCBEvaluationDataNumber: 17,
		MiscSelect:              "00000000", MiscSelectMask: "FFFFFFFF",
		Attributes: "11000000000000000000000000000000", AttributesMask: "FBFFFFFFFFFFFFFF0000000000000000",
		MRSigner: fmt.Sprintf("%X", QEMRSigner()), ISVProdID: 2,
		TCBLevels: []Level{ISVLevel(4, "UpToDate", "2024-03-13T00:00:00Z"), ISVLevel(0, "OutOfDate", "2021-11-10T00:00:00Z")},
	}
}

// SignJSON returns {"<key>":<body>,"signature":"<hex>"} signed by signer.
func SignJSON(key string, body []byte, signer *ecdsa.PrivateKey) []byte {
	return []byte(`{"` + key + `":` + string(body) + `,"signature":"` + hex.EncodeToString(pcktest.RawSign(signer, body)) + `"}`)
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// SignTCBInfo signs t with the TCB signing key.
func (p *PKI) SignTCBInfo(t TCBInfo) []byte {
	return SignJSON("tcbInfo", mustJSON(t), p.TCBSigner.Private)
}

// SignQEIdentity signs q with the TCB signing key.
func (p *PKI) SignQEIdentity(q QEIdentity) []byte {
	return SignJSON("enclaveIdentity", mustJSON(q), p.TCBSigner.Private)
}

// CRL returns a DER CRL by issuer revoking serials, valid from IssueDate to NextUpdate.
func CRL(issuer Key, serials ...*big.Int) []byte {
	return CRLAt(issuer, IssueDate(), NextUpdate(), serials...)
}

// CRL returns a DER CRL by issuer revoking serials, valid in the PKI's Window.
func (p *PKI) CRL(issuer Key, serials ...*big.Int) []byte {
	issue, next := p.Window()
	return CRLAt(issuer, issue, next, serials...)
}

// CRLAt is CRL with an explicit validity.
func CRLAt(issuer Key, this, next time.Time, serials ...*big.Int) []byte {
	var entries []x509.RevocationListEntry
	for _, s := range serials {
		entries = append(entries, x509.RevocationListEntry{SerialNumber: s, RevocationTime: this})
	}
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		Number: big.NewInt(1), ThisUpdate: this, NextUpdate: next, RevokedCertificateEntries: entries,
	}, issuer.Cert, issuer.Private)
	if err != nil {
		panic(err)
	}
	return der
}

// Collateral assembles a full collateral set from signed TCB info and QE
// identity bodies, with empty CRLs valid in the PKI's Window.
func (p *PKI) Collateral(tcbInfo, qeIdentity []byte) *tdx.Collateral {
	signing := PEM(p.TCBSigner.Cert, p.Root.Cert)
	return &tdx.Collateral{
		TCBInfo: tcbInfo, TCBInfoIssuerChain: signing,
		QEIdentity: qeIdentity, QEIdentityIssuerChain: signing,
		PCKCRL: p.CRL(p.PCKCA), PCKCRLIssuerChain: PEM(p.PCKCA.Cert, p.Root.Cert),
		RootCACRL: p.CRL(p.Root),
	}
}

// DefaultCollateral is the full collateral set rating DefaultQuote UpToDate,
// valid in the PKI's Window.
func (p *PKI) DefaultCollateral() *tdx.Collateral {
	return p.Collateral(p.SignTCBInfo(p.DefaultTCBInfo("UpToDate")), p.SignQEIdentity(p.DefaultQEIdentity()))
}

// IssueCA issues another intermediate CA under the PKI's root (for example a
// second PCK CA whose CRL must not be accepted for this platform's PCK).
func (p *PKI) IssueCA(cn string) Key {
	return issue(&x509.Certificate{
		SerialNumber: nextSerial(), Subject: intelName(cn), NotBefore: p.NotBefore, NotAfter: p.NotAfter,
		IsCA: true, BasicConstraintsValid: true, MaxPathLenZero: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}, &p.Root, newKey())
}
