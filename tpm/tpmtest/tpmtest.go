// Package tpmtest is a pure-Go test attester for package tpm: attestation
// keys (RSA and ECC) that sign TPMS_ATTEST quotes over chosen PCRs and
// nonces, a test CA that certifies them, and TCG crypto-agile event logs that
// replay to the PCRs they produce (or are tampered on request).
//
// Everything here is for tests: the keys are generated in memory and the
// "TPM" is whatever the caller says it is.
package tpmtest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"fmt"
	"math/big"
	"slices"
	"time"

	pb "github.com/google/go-tpm-tools/proto/attest"
	tpmpb "github.com/google/go-tpm-tools/proto/tpm"
	"google.golang.org/protobuf/proto"

	"github.com/trustfactory/attest/tpm"
)

// TPM constants used by the attester.
const (
	TPMGeneratedValue = 0xff544347
	STAttestQuote     = 0x8018
	STAttestCertify   = 0x8017
	AlgRSA            = 0x0001
	AlgSHA1           = 0x0004
	AlgSHA256         = 0x000B
	AlgSHA384         = 0x000C
	AlgSHA512         = 0x000D
	AlgNull           = 0x0010
	AlgRSASSA         = 0x0014
	AlgRSAPSS         = 0x0016
	AlgECDSA          = 0x0018
	AlgECC            = 0x0023
	CurveP256         = 0x0003
	CurveP384         = 0x0004
	CurveBNP256       = 0x0010
	// AKAttributes are the attributes of a genuine AK: fixedTPM, fixedParent,
	// sensitiveDataOrigin, userWithAuth, restricted, sign.
	AKAttributes = 0x00050072
)

// HashAlg returns the TPM_ALG_ID of h.
func HashAlg(h crypto.Hash) uint16 {
	switch h {
	case crypto.SHA1:
		return AlgSHA1
	case crypto.SHA256:
		return AlgSHA256
	case crypto.SHA384:
		return AlgSHA384
	case crypto.SHA512:
		return AlgSHA512
	}
	return 0
}

// AK is a test attestation key.
type AK struct {
	Signer     crypto.Signer
	Attributes uint32 // objectAttributes written into PublicArea
	// Scheme fixes the key's signing scheme in its public area (default
	// RSASSA-SHA256 for RSA, ECDSA-SHA256 for ECC); AlgNull leaves it open.
	Scheme, SchemeHash uint16
	// Curve overrides the TPM curve ID written into PublicArea (ECC only).
	Curve uint16
}

// NewRSAAK returns an RSA AK of the given size.
func NewRSAAK(bits int) (*AK, error) {
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		return nil, err
	}
	return &AK{Signer: k, Attributes: AKAttributes, Scheme: AlgRSASSA, SchemeHash: AlgSHA256}, nil
}

// NewECCAK returns an ECC AK on curve (P-256 or P-384).
func NewECCAK(curve elliptic.Curve) (*AK, error) {
	k, err := ecdsa.GenerateKey(curve, rand.Reader)
	if err != nil {
		return nil, err
	}
	id := uint16(CurveP256)
	if curve == elliptic.P384() {
		id = CurveP384
	}
	return &AK{Signer: k, Attributes: AKAttributes, Scheme: AlgECDSA, SchemeHash: AlgSHA256, Curve: id}, nil
}

// Public returns the AK's public key.
func (ak *AK) Public() crypto.PublicKey { return ak.Signer.Public() }

// PublicArea returns the AK as a TPMT_PUBLIC.
func (ak *AK) PublicArea() []byte {
	var b []byte
	switch k := ak.Signer.Public().(type) {
	case *rsa.PublicKey:
		b = be16(b, AlgRSA)
		b = be16(b, AlgSHA256)
		b = be32(b, ak.Attributes)
		b = be16(b, 0) // authPolicy
		b = be16(b, AlgNull)
		b = ak.scheme(b)
		b = be16(b, uint16(k.N.BitLen()))
		e := uint32(k.E)
		if e == 65537 {
			e = 0
		}
		b = be32(b, e)
		b = tpm2b(b, k.N.Bytes())
	case *ecdsa.PublicKey:
		b = be16(b, AlgECC)
		b = be16(b, AlgSHA256)
		b = be32(b, ak.Attributes)
		b = be16(b, 0)
		b = be16(b, AlgNull)
		b = ak.scheme(b)
		b = be16(b, ak.Curve)
		b = be16(b, AlgNull) // kdf
		pt, err := k.Bytes() // 04 ‖ X ‖ Y
		if err != nil {
			panic(err)
		}
		size := (len(pt) - 1) / 2
		b = tpm2b(b, pt[1:1+size])
		b = tpm2b(b, pt[1+size:])
	}
	return b
}

func (ak *AK) scheme(b []byte) []byte {
	b = be16(b, ak.Scheme)
	if ak.Scheme != AlgNull {
		b = be16(b, ak.SchemeHash)
	}
	return b
}

// SPKI returns the AK's DER SubjectPublicKeyInfo.
func (ak *AK) SPKI() []byte {
	der, err := x509.MarshalPKIXPublicKey(ak.Signer.Public())
	if err != nil {
		panic(err) // RSA and ECDSA keys always marshal
	}
	return der
}

// Attest describes a TPMS_ATTEST to marshal. Zero Magic and Type mean a
// genuine quote.
type Attest struct {
	Magic           uint32
	Type            uint16
	QualifiedSigner []byte
	ExtraData       []byte
	Clock           uint64
	ResetCount      uint32
	RestartCount    uint32
	Safe            bool
	FirmwareVersion uint64
	Bank            crypto.Hash // bank of the selection; zero means no selection
	Select          []int       // selected PCRs
	PCRDigest       []byte
}

// Marshal encodes a TPMS_ATTEST with TPMS_QUOTE_INFO.
func (a Attest) Marshal() []byte {
	magic, typ := a.Magic, a.Type
	if magic == 0 {
		magic = TPMGeneratedValue
	}
	if typ == 0 {
		typ = STAttestQuote
	}
	var b []byte
	b = be32(b, magic)
	b = be16(b, typ)
	b = tpm2b(b, a.QualifiedSigner)
	b = tpm2b(b, a.ExtraData)
	b = binary.BigEndian.AppendUint64(b, a.Clock)
	b = be32(b, a.ResetCount)
	b = be32(b, a.RestartCount)
	if a.Safe {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	b = binary.BigEndian.AppendUint64(b, a.FirmwareVersion)
	if a.Bank == 0 {
		b = be32(b, 0)
	} else {
		b = be32(b, 1)
		b = be16(b, HashAlg(a.Bank))
		bits := make([]byte, 3)
		for _, i := range a.Select {
			bits[i/8] |= 1 << (i % 8)
		}
		b = append(b, byte(len(bits)))
		b = append(b, bits...)
	}
	return tpm2b(b, a.PCRDigest)
}

// PCRDigest is the quote digest of vals at the selected indices (ascending).
func PCRDigest(h crypto.Hash, sel []int, vals map[int][]byte) []byte {
	s := slices.Sorted(slices.Values(sel))
	d := h.New()
	for _, i := range s {
		d.Write(vals[i])
	}
	return d.Sum(nil)
}

// Sign signs msg with the AK under scheme (AlgRSASSA or AlgRSAPSS for RSA
// keys, AlgECDSA for ECC keys) and hash, and returns the TPMT_SIGNATURE.
func (ak *AK) Sign(msg []byte, scheme uint16, h crypto.Hash) ([]byte, error) {
	d := h.New()
	d.Write(msg)
	digest := d.Sum(nil)
	switch k := ak.Signer.(type) {
	case *rsa.PrivateKey:
		var sig []byte
		var err error
		if scheme == AlgRSAPSS {
			sig, err = rsa.SignPSS(rand.Reader, k, h, digest, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		} else {
			sig, err = rsa.SignPKCS1v15(rand.Reader, k, h, digest)
		}
		if err != nil {
			return nil, err
		}
		return RSASignature(scheme, h, sig), nil
	case *ecdsa.PrivateKey:
		r, s, err := ecdsa.Sign(rand.Reader, k, digest)
		if err != nil {
			return nil, err
		}
		return ECDSASignature(h, r.Bytes(), s.Bytes()), nil
	}
	return nil, fmt.Errorf("tpmtest: unsupported signer %T", ak.Signer)
}

// RSASignature encodes a TPMT_SIGNATURE with an RSA-shaped body under any alg tag.
func RSASignature(alg uint16, h crypto.Hash, sig []byte) []byte {
	return tpm2b(be16(be16(nil, alg), HashAlg(h)), sig)
}

// ECDSASignature encodes an ECDSA TPMT_SIGNATURE.
func ECDSASignature(h crypto.Hash, r, s []byte) []byte {
	return tpm2b(tpm2b(be16(be16(nil, AlgECDSA), HashAlg(h)), r), s)
}

// DefaultScheme is the AK's own signature scheme.
func (ak *AK) DefaultScheme() uint16 {
	if _, ok := ak.Signer.(*ecdsa.PrivateKey); ok {
		return AlgECDSA
	}
	if ak.Scheme == AlgRSAPSS {
		return AlgRSAPSS
	}
	return AlgRSASSA
}

// Quote returns a signed quote over vals (all of them selected) in bank with
// extraData, signed with the AK's default scheme and SHA-256.
func (ak *AK) Quote(bank crypto.Hash, vals map[int][]byte, extraData []byte) (tpm.Quote, error) {
	sel := make([]int, 0, len(vals))
	for i := range vals {
		sel = append(sel, i)
	}
	a := Attest{ExtraData: extraData, Clock: 123456, ResetCount: 2, Safe: true, FirmwareVersion: 0x2016051100162800,
		Bank: bank, Select: sel, PCRDigest: PCRDigest(crypto.SHA256, sel, vals)}
	return ak.SignAttest(a, bank, vals)
}

// SignAttest marshals a, signs it with the AK's default scheme and SHA-256,
// and returns the quote carrying vals.
func (ak *AK) SignAttest(a Attest, bank crypto.Hash, vals map[int][]byte) (tpm.Quote, error) {
	msg := a.Marshal()
	sig, err := ak.Sign(msg, ak.DefaultScheme(), crypto.SHA256)
	if err != nil {
		return tpm.Quote{}, err
	}
	return tpm.Quote{Attest: msg, Signature: sig, Bank: bank, PCRs: vals}, nil
}

// CA is a test certificate authority for AK certificates.
type CA struct {
	Cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

// NewCA returns a self-signed P-256 CA valid in [notBefore, notAfter].
func NewCA(name string, notBefore, notAfter time.Time) (*CA, error) {
	return newCA(name, 1, notBefore, notAfter, nil)
}

// Intermediate returns a CA certified by ca.
func (ca *CA) Intermediate(name string, notBefore, notAfter time.Time) (*CA, error) {
	return newCA(name, 2, notBefore, notAfter, ca)
}

// newCA issues a P-256 CA certificate under parent, or self-signed when
// parent is nil.
func newCA(name string, serial int64, notBefore, notAfter time.Time, parent *CA) (*CA, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name},
		NotBefore: notBefore, NotAfter: notAfter, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	issuer, issuerKey := tmpl, k
	if parent != nil {
		issuer, issuerKey = parent.Cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, issuer, &k.PublicKey, issuerKey)
	if err != nil {
		return nil, err
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &CA{Cert: c, key: k}, nil
}

// CertifyAK issues a DER AK certificate for ak.
func (ca *CA) CertifyAK(ak *AK, notBefore, notAfter time.Time) ([]byte, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: "test AK"},
		NotBefore: notBefore, NotAfter: notAfter, KeyUsage: x509.KeyUsageDigitalSignature,
	}
	return x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, ak.Signer.Public(), ca.key)
}

// MarshalProto encodes ev as a go-tpm-tools attest.Attestation.
func MarshalProto(ev *tpm.Evidence) ([]byte, error) {
	a := &pb.Attestation{AkPub: ev.AKPublicArea, EventLog: ev.EventLog, AkCert: ev.AKCert, IntermediateCerts: ev.Intermediates}
	for _, q := range ev.Quotes {
		pcrs := &tpmpb.PCRs{Hash: tpmpb.HashAlgo(HashAlg(q.Bank)), Pcrs: map[uint32][]byte{}}
		for i, v := range q.PCRs {
			pcrs.Pcrs[uint32(i)] = v
		}
		a.Quotes = append(a.Quotes, &tpmpb.Quote{Quote: q.Attest, RawSig: q.Signature, Pcrs: pcrs})
	}
	return proto.Marshal(a)
}

func be16(b []byte, v uint16) []byte { return binary.BigEndian.AppendUint16(b, v) }
func be32(b []byte, v uint32) []byte { return binary.BigEndian.AppendUint32(b, v) }
func tpm2b(b, v []byte) []byte       { return append(be16(b, uint16(len(v))), v...) }
