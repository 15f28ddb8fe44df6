// Package gputest is a test attester for the gpu package: a fake NVIDIA
// device PKI whose attestation key certificate carries an FWID (Hopper or
// Blackwell style), an SPDM responder that signs reports with chosen
// measurements and opaque fields, and an OCSP responder on httptest. Combine
// it with gpu/rim/rimtest for RIMs. Never use it outside tests.
package gputest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha512"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/binary"
	"encoding/pem"
	"fmt"
	"math/big"
	"time"

	"github.com/trustfactory/attest/gpu"
)

// PKI is a fake device identity hierarchy: root → identity CA → provisioner
// ICA → BROM → attestation key (leaf).
type PKI struct {
	Arch  gpu.Arch
	Certs []*x509.Certificate // leaf first, root last
	Keys  []*ecdsa.PrivateKey // matching Certs
	PDI   [8]byte             // the device PDI, low 8 bytes of the BROM serial
	FWID  []byte              // in the leaf; nil when omitted
}

// PKIOptions choose the shape of the hierarchy.
type PKIOptions struct {
	Arch gpu.Arch // default Hopper
	// FWID goes into the leaf (48 bytes); nil: a random FWID.
	FWID []byte
	// NoFWIDExtension leaves the FWID extension out of the leaf.
	NoFWIDExtension bool
	// PDI is the device PDI; zero: random.
	PDI [8]byte
	// Root reuses an existing root (cert and key) so several devices share it.
	Root    *x509.Certificate
	RootKey *ecdsa.PrivateKey
	// Sibling issues the device's BROM certificate under Sibling's
	// provisioner ICA, so that the two share the ICA, the identity CA and
	// the root, as every board of one product does on real hardware. Arch
	// (when empty) and the CAs come from Sibling; Root is ignored. An Arch
	// other than Sibling's panics: the CA names carry the chip.
	Sibling *PKI
	// NotBefore/NotAfter of every certificate; zero: 2020-01-01 .. 9999-12-31.
	NotBefore, NotAfter time.Time
}

var (
	oidFWID        = asn1.ObjectIdentifier{2, 23, 133, 5, 4, 1}
	oidDiceTcbInfo = asn1.ObjectIdentifier{2, 23, 133, 5, 4, 1, 1}
	oidSHA384      = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}
)

type fwidEntry struct {
	HashAlg asn1.ObjectIdentifier
	Digest  []byte
}

type tcbInfo struct {
	Vendor string      `asn1:"tag:0,optional,utf8"`
	Model  string      `asn1:"tag:1,optional,utf8"`
	FWIDs  []fwidEntry `asn1:"tag:6,optional"`
}

func chipName(a gpu.Arch) (chip, proc string, serialPrefix byte) {
	switch a {
	case gpu.ArchBlackwell:
		return "GB100", "GSP", 0x41
	case gpu.ArchLS10:
		return "LS_10", "FSP", 0x50
	}
	return "GH100", "GSP", 0x41
}

// NewKey returns a fresh P-384 key.
func NewKey() *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		panic(err)
	}
	return k
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	return n.Add(n, big.NewInt(1))
}

// Sign issues a certificate from tmpl for pub, signed by parent/parentKey
// (self-signed when parent is nil).
func Sign(tmpl *x509.Certificate, pub *ecdsa.PublicKey, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) *x509.Certificate {
	if parent == nil {
		parent = tmpl
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, parentKey)
	if err != nil {
		panic(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		panic(err)
	}
	return c
}

// NewRoot returns a fake "NVIDIA Device Identity CA".
func NewRoot() (*x509.Certificate, *ecdsa.PrivateKey) {
	k := NewKey()
	c := Sign(&x509.Certificate{
		SerialNumber: serial(), Subject: pkix.Name{CommonName: "NVIDIA Device Identity CA", Organization: []string{"NVIDIA"}},
		NotBefore: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), NotAfter: time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}, &k.PublicKey, nil, k)
	return c, k
}

// NewPKI builds a device hierarchy.
func NewPKI(o PKIOptions) *PKI {
	if o.Sibling != nil {
		switch {
		case o.Arch == "":
			o.Arch = o.Sibling.Arch
		case o.Arch != o.Sibling.Arch:
			panic(fmt.Sprintf("gputest: a %s device cannot share the CAs of a %s sibling", o.Arch, o.Sibling.Arch))
		}
	}
	if o.Arch == "" {
		o.Arch = gpu.ArchHopper
	}
	if o.NotBefore.IsZero() {
		o.NotBefore = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	if o.NotAfter.IsZero() {
		o.NotAfter = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)
	}
	if o.FWID == nil && !o.NoFWIDExtension {
		o.FWID = make([]byte, 48)
		_, _ = rand.Read(o.FWID)
	}
	if o.PDI == ([8]byte{}) {
		_, _ = rand.Read(o.PDI[:])
	}
	root, rootKey := o.Root, o.RootKey
	if root == nil && o.Sibling == nil {
		root, rootKey = NewRoot()
	}
	chip, proc, prefix := chipName(o.Arch)
	ca := func(cn string, parent *x509.Certificate, pk *ecdsa.PrivateKey, sn *big.Int) (*x509.Certificate, *ecdsa.PrivateKey) {
		k := NewKey()
		return Sign(&x509.Certificate{
			SerialNumber: sn, Subject: pkix.Name{CommonName: cn, Organization: []string{"NVIDIA Corporation"}},
			NotBefore: o.NotBefore, NotAfter: o.NotAfter, IsCA: true, BasicConstraintsValid: true,
			KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign, OCSPServer: []string{"http://ocsp.invalid"},
		}, &k.PublicKey, parent, pk), k
	}
	var (
		ident, ica       *x509.Certificate
		identKey, icaKey *ecdsa.PrivateKey
	)
	if sib := o.Sibling; sib != nil {
		ica, ident, root = sib.Certs[2], sib.Certs[3], sib.Certs[4]
		icaKey, identKey, rootKey = sib.Keys[2], sib.Keys[3], sib.Keys[4]
	} else {
		ident, identKey = ca("NVIDIA "+chip+" Identity", root, rootKey, serial())
		ica, icaKey = ca("NVIDIA "+chip+" Provisioner ICA 1", ident, identKey, serial())
	}
	bromSerial := new(big.Int).SetBytes(append([]byte{prefix}, o.PDI[:]...))
	brom, bromKey := ca(chip+" A01 "+proc+" BROM", ica, icaKey, bromSerial)
	ak := NewKey()
	leafT := &x509.Certificate{
		SerialNumber: serial(), Subject: pkix.Name{CommonName: chip + " A01 " + proc + " FMC LF"},
		NotBefore: o.NotBefore, NotAfter: o.NotAfter, KeyUsage: x509.KeyUsageDigitalSignature,
	}
	if !o.NoFWIDExtension {
		var val []byte
		var err error
		if o.Arch == gpu.ArchBlackwell {
			val, err = asn1.Marshal(tcbInfo{Vendor: "NVIDIA", Model: chip + " A01 GSP", FWIDs: []fwidEntry{
				{HashAlg: oidSHA384, Digest: o.FWID}, {HashAlg: oidSHA384, Digest: make([]byte, 48)},
			}})
			leafT.ExtraExtensions = []pkix.Extension{{Id: oidDiceTcbInfo, Value: val}}
		} else {
			val, err = asn1.Marshal(struct{ F fwidEntry }{fwidEntry{oidSHA384, o.FWID}})
			leafT.ExtraExtensions = []pkix.Extension{{Id: oidFWID, Value: val}}
		}
		if err != nil {
			panic(err)
		}
	}
	leaf := Sign(leafT, &ak.PublicKey, brom, bromKey)
	return &PKI{
		Arch: o.Arch, PDI: o.PDI, FWID: o.FWID,
		Certs: []*x509.Certificate{leaf, brom, ica, ident, root},
		Keys:  []*ecdsa.PrivateKey{ak, bromKey, icaKey, identKey, rootKey},
	}
}

// ReissueLeaf returns the same device after a reset: a new attestation key
// and leaf certificate (new serial, same subject, validity and extensions)
// issued by the same BROM, the rest of the hierarchy shared with p.
func (p *PKI) ReissueLeaf() *PKI {
	old := p.Certs[0]
	ak := NewKey()
	leaf := Sign(&x509.Certificate{
		SerialNumber: serial(), Subject: old.Subject, NotBefore: old.NotBefore, NotAfter: old.NotAfter,
		KeyUsage: old.KeyUsage, ExtraExtensions: old.Extensions,
	}, &ak.PublicKey, p.Certs[1], p.Keys[1])
	q := *p
	q.Certs = append([]*x509.Certificate{leaf}, p.Certs[1:]...)
	q.Keys = append([]*ecdsa.PrivateKey{ak}, p.Keys[1:]...)
	return &q
}

// Root returns the root certificate, to pin with gpu.WithDeviceRoots.
func (p *PKI) Root() *x509.Certificate { return p.Certs[len(p.Certs)-1] }

// ChainPEM returns the given certificates (default: the whole chain) as PEM.
func ChainPEM(certs []*x509.Certificate) []byte {
	var out []byte
	for _, c := range certs {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return out
}

// ChainPEM returns the device chain as PEM.
func (p *PKI) ChainPEM() []byte { return ChainPEM(p.Certs) }

// Report describes an SPDM report to mint.
type Report struct {
	Nonce [32]byte
	// Blocks is the number of measurement blocks (default 64, LS10 31).
	Blocks int
	// Measurements overrides block values by SPDM index (1-based); other
	// blocks are 48 zero bytes.
	Measurements map[int][]byte
	// Opaque are the opaque entries in order. Nil: DefaultOpaque.
	Opaque []gpu.OpaqueField
	// Versioned encodes the opaque data in the NVDAOD format (header major 1).
	Versioned bool
	// Mutate edits the unsigned bytes (request ‖ response without signature)
	// before signing.
	Mutate func([]byte) []byte
	// SignedSpan, when set, picks the bytes to sign instead of the whole
	// (for wrong-span negative tests).
	SignedSpan func(unsigned []byte) []byte
}

// DefaultOpaque returns GPU opaque fields for a Hopper H100 with driver
// 550.90.07 and VBIOS 96.00.9F.00.01, and the PKI's FWID.
func (p *PKI) DefaultOpaque() []gpu.OpaqueField {
	f := func(t uint16, v []byte) gpu.OpaqueField { return gpu.OpaqueField{Type: t, Value: v} }
	fs := []gpu.OpaqueField{
		f(gpu.OpaqueDriverVersion, []byte("550.90.07\x00")),
		f(gpu.OpaqueVBIOSVersion, []byte{0x00, 0x9f, 0x00, 0x96, 0x01, 0, 0, 0}),
		f(gpu.OpaqueProject, []byte("1010\x00")),
		f(gpu.OpaqueProjectSKU, []byte("0200\x00")),
		f(gpu.OpaqueChipSKU, []byte("882\x00")),
		f(gpu.OpaqueNVDEC0Status, []byte{gpu.StatusDisabled}),
		f(gpu.OpaqueProtectedPCIe, []byte{gpu.StatusDisabled}),
	}
	if p.Arch == gpu.ArchLS10 {
		fs = []gpu.OpaqueField{f(gpu.OpaqueVBIOSVersion, []byte("96.10.55.00.01")), f(gpu.OpaqueSwitchPDI, p.PDI[:])}
	}
	if p.FWID != nil && p.Arch != gpu.ArchLS10 {
		fs = append(fs, f(gpu.OpaqueFWID, p.FWID))
	}
	return fs
}

// EncodeOpaque encodes fields in the legacy TLV or the NVDAOD format.
func EncodeOpaque(fields []gpu.OpaqueField, versioned bool) []byte {
	var out []byte
	if versioned {
		out = append(out, "NVDAOD"...)
		out = append(out, 0, 0, 1, 0, 0, 0) // profile 0, version 1.0.0, pad
	}
	for _, f := range fields {
		out = binary.LittleEndian.AppendUint16(out, f.Type)
		if versioned {
			out = binary.LittleEndian.AppendUint16(out, f.ValueType)
		}
		out = binary.LittleEndian.AppendUint16(out, uint16(len(f.Value)))
		out = append(out, f.Value...)
	}
	return out
}

// Unsigned returns request ‖ response without the signature.
func (p *PKI) Unsigned(r Report) []byte {
	n := r.Blocks
	if n == 0 {
		n = 64
		if p.Arch == gpu.ArchLS10 {
			n = 31
		}
	}
	b := []byte{gpu.SPDMVersion11, gpu.CodeGetMeasurements, 0x01, 0xFF}
	b = append(b, r.Nonce[:]...)
	b = append(b, 0x00)
	var rec []byte
	for i := 1; i <= n; i++ {
		v, ok := r.Measurements[i]
		if !ok {
			v = make([]byte, 48)
		}
		rec = append(rec, byte(i), gpu.MeasurementSpecDMTF)
		rec = binary.LittleEndian.AppendUint16(rec, uint16(3+len(v)))
		rec = append(rec, 0x01)
		rec = binary.LittleEndian.AppendUint16(rec, uint16(len(v)))
		rec = append(rec, v...)
	}
	b = append(b, gpu.SPDMVersion11, gpu.CodeMeasurements, 0, 0, byte(n), byte(len(rec)), byte(len(rec)>>8), byte(len(rec)>>16))
	b = append(b, rec...)
	resp := make([]byte, 32)
	_, _ = rand.Read(resp)
	b = append(b, resp...)
	fields := r.Opaque
	if fields == nil {
		fields = p.DefaultOpaque()
	}
	op := EncodeOpaque(fields, r.Versioned)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(op)))
	b = append(b, op...)
	if r.Mutate != nil {
		b = r.Mutate(b)
	}
	return b
}

// SignRaw appends the raw r‖s P-384 signature of SHA-384(span) to unsigned.
func SignRaw(key *ecdsa.PrivateKey, unsigned, span []byte) []byte {
	d := sha512.Sum384(span)
	rr, s, err := ecdsa.Sign(rand.Reader, key, d[:])
	if err != nil {
		panic(err)
	}
	sig := make([]byte, 96)
	rr.FillBytes(sig[:48])
	s.FillBytes(sig[48:])
	return append(append([]byte(nil), unsigned...), sig...)
}

// Sign mints a signed report.
func (p *PKI) Sign(r Report) []byte {
	u := p.Unsigned(r)
	span := u
	if r.SignedSpan != nil {
		span = r.SignedSpan(u)
	}
	return SignRaw(p.Keys[0], u, span)
}

// Evidence returns the report and chain in NVIDIA's serialized array encoding.
func (p *PKI) Evidence(report []byte, nonce [32]byte) []byte {
	b, err := gpu.EncodeEvidence([]gpu.DeviceEvidence{{Arch: p.Arch, Nonce: nonce[:], Report: report, Certificate: p.ChainPEM()}})
	if err != nil {
		panic(fmt.Sprintf("gputest: %v", err))
	}
	return b
}
