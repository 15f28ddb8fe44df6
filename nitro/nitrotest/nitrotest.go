// Package nitrotest is a test attester for package nitro: a certificate
// hierarchy shaped like AWS's (root → regional → zonal → instance → a
// short-lived leaf per document, all ECDSA P-384) and NSM attestation
// documents minted with any PCRs, user_data, nonce and public_key, so that
// services can be tested end to end without an enclave. Verify them with
// nitro.NewVerifier(nitro.WithRoot(pki.Root)).
//
// Documents are encoded as NSM encodes them: an untagged COSE_Sign1 with
// protected header {1: -35}, an empty unprotected header, and a payload map
// in NSM's key order whose absent optional fields are CBOR null. The
// lower-level Fields, EncodePayload and Leaf.Sign1 let tests build documents
// NSM would never emit.
package nitrotest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha512"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"sort"
	"time"

	"github.com/fxamacker/cbor/v2"
)

// Protected returns NSM's protected header: {1: -35}, algorithm ES384.
func Protected() []byte { return []byte{0xa1, 0x01, 0x38, 0x22} }

// CA is one certificate authority of the hierarchy.
type CA struct {
	Cert *x509.Certificate
	Key  *ecdsa.PrivateKey
}

// PKI is a test Nitro hierarchy. It is safe for concurrent use once built.
type PKI struct {
	// At is the time the hierarchy was built around; default timestamps
	// use it.
	At time.Time
	// Root, Regional, Zonal and Instance are the CAs, root first. Root is
	// what a verifier pins; the others travel in every document's cabundle.
	Root, Regional, Zonal, Instance CA
}

// NewPKI builds a hierarchy whose certificates are valid around at with
// AWS's lifetimes: root 30 years, regional about 20 days, zonal about 6
// days, instance about 24 hours (each centred on at).
func NewPKI(at time.Time) (*PKI, error) {
	p := &PKI{At: at.UTC()}
	var err error
	if p.Root, err = newCA(nil, "nitrotest.aws.nitro-enclaves", at.AddDate(-1, 0, 0), at.AddDate(29, 0, 0), -1); err != nil {
		return nil, err
	}
	if p.Regional, err = newCA(&p.Root, "0123456789abcdef.us-test-1.nitrotest.aws.nitro-enclaves", at.Add(-10*24*time.Hour), at.Add(10*24*time.Hour), 2); err != nil {
		return nil, err
	}
	if p.Zonal, err = newCA(&p.Regional, "fedcba9876543210.zonal.us-test-1.nitrotest.aws.nitro-enclaves", at.Add(-3*24*time.Hour), at.Add(3*24*time.Hour), 1); err != nil {
		return nil, err
	}
	if p.Instance, err = newCA(&p.Zonal, "i-0123456789abcdef0.us-test-1.nitrotest.aws.nitro-enclaves", at.Add(-12*time.Hour), at.Add(12*time.Hour), 0); err != nil {
		return nil, err
	}
	return p, nil
}

// Bundle returns the cabundle NSM sends: [root, regional, zonal, instance]
// in DER.
func (p *PKI) Bundle() [][]byte {
	return [][]byte{p.Root.Cert.Raw, p.Regional.Cert.Raw, p.Zonal.Cert.Raw, p.Instance.Cert.Raw}
}

// Leaf is the short-lived certificate and key that sign one document.
type Leaf struct {
	Cert *x509.Certificate
	Key  *ecdsa.PrivateKey
}

// Leaf issues a leaf valid for 3 hours from issued, as NSM's are: not a CA,
// key usage digitalSignature and nonRepudiation, no extended key usage.
func (p *PKI) Leaf(issued time.Time, enclave string) (*Leaf, error) {
	key, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               name(enclave + ".us-test-1.aws"),
		NotBefore:             issued,
		NotAfter:              issued.Add(3 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.Instance.Cert, &key.PublicKey, p.Instance.Key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &Leaf{Cert: cert, Key: key}, nil
}

// Spec describes a document. Zero fields take defaults.
type Spec struct {
	// ModuleID defaults to "i-0123456789abcdef0-enc0123456789abcdef".
	ModuleID string
	// Timestamp defaults to the PKI's At. The leaf is issued 3 seconds
	// before it, as NSM's are.
	Timestamp time.Time
	// PCRs default to indices 0–15 with PCR i filled with byte i+1 (48
	// bytes); PCRs 0–3 all zero make a debug-mode document.
	PCRs map[int][]byte
	// PublicKey, UserData and Nonce are encoded as CBOR null when nil.
	PublicKey, UserData, Nonce []byte
}

func (s Spec) withDefaults(p *PKI) Spec {
	if s.ModuleID == "" {
		s.ModuleID = "i-0123456789abcdef0-enc0123456789abcdef"
	}
	if s.Timestamp.IsZero() {
		s.Timestamp = p.At
	}
	if s.PCRs == nil {
		s.PCRs = DefaultPCRs()
	}
	return s
}

// DefaultPCRs returns PCRs 0–15, PCR i filled with byte i+1 (48 bytes).
func DefaultPCRs() map[int][]byte {
	m := make(map[int][]byte, 16)
	for i := 0; i < 16; i++ {
		v := make([]byte, 48)
		for j := range v {
			v[j] = byte(i + 1)
		}
		m[i] = v
	}
	return m
}

// DebugPCRs returns DefaultPCRs with PCR0–PCR3 zeroed, as NSM reports a
// debug-mode enclave.
func DebugPCRs() map[int][]byte {
	m := DefaultPCRs()
	for i := 0; i < 4; i++ {
		m[i] = make([]byte, 48)
	}
	return m
}

// Mint returns a signed document for s, with a fresh leaf.
func (p *PKI) Mint(s Spec) ([]byte, error) {
	s = s.withDefaults(p)
	leaf, err := p.Leaf(s.Timestamp.Add(-3*time.Second), s.ModuleID)
	if err != nil {
		return nil, err
	}
	payload, err := EncodePayload(p.Fields(s, leaf))
	if err != nil {
		return nil, err
	}
	return leaf.Sign1(Protected(), payload)
}

// Field is one payload entry. EncodePayload writes them in order.
type Field struct {
	Key   string
	Value any // nil is CBOR null
}

// Fields returns the payload entries of s signed by leaf, in NSM's order.
func (p *PKI) Fields(s Spec, leaf *Leaf) []Field {
	s = s.withDefaults(p)
	idx := make([]int, 0, len(s.PCRs))
	for i := range s.PCRs {
		idx = append(idx, i)
	}
	sort.Ints(idx)
	pcrs := make(map[uint64][]byte, len(s.PCRs))
	for _, i := range idx {
		pcrs[uint64(i)] = s.PCRs[i]
	}
	return []Field{
		{"module_id", s.ModuleID},
		{"digest", "SHA384"},
		{"timestamp", uint64(s.Timestamp.UnixMilli())},
		{"pcrs", pcrs},
		{"certificate", leaf.Cert.Raw},
		{"cabundle", p.Bundle()},
		{"public_key", bytesOrNil(s.PublicKey)},
		{"user_data", bytesOrNil(s.UserData)},
		{"nonce", bytesOrNil(s.Nonce)},
	}
}

func bytesOrNil(b []byte) any {
	if b == nil {
		return nil
	}
	return b
}

// EncodePayload encodes fields as a CBOR map with text keys, in the given
// order (duplicates included, for tests that need them).
func EncodePayload(fields []Field) ([]byte, error) {
	// Canonical sorting puts the PCR indices in numeric order.
	em, err := cbor.EncOptions{Sort: cbor.SortCanonical}.EncMode()
	if err != nil {
		return nil, err
	}
	out := appendHead(nil, 0xa0, uint64(len(fields)))
	for _, f := range fields {
		k, err := em.Marshal(f.Key)
		if err != nil {
			return nil, err
		}
		v, err := em.Marshal(f.Value)
		if err != nil {
			return nil, fmt.Errorf("nitrotest: field %s: %w", f.Key, err)
		}
		out = append(append(out, k...), v...)
	}
	return out, nil
}

// Sign1 returns the untagged COSE_Sign1 [protected, {}, payload, signature]
// with an ES384 signature by the leaf's key.
func (l *Leaf) Sign1(protected, payload []byte) ([]byte, error) {
	tbs := appendHead(nil, 0x80, 4)
	tbs = appendHead(tbs, 0x60, 10)
	tbs = append(tbs, "Signature1"...)
	tbs = appendBytes(tbs, protected)
	tbs = appendBytes(tbs, nil)
	tbs = appendBytes(tbs, payload)
	h := sha512.Sum384(tbs)
	r, s, err := ecdsa.Sign(rand.Reader, l.Key, h[:])
	if err != nil {
		return nil, err
	}
	sig := make([]byte, 96)
	r.FillBytes(sig[:48])
	s.FillBytes(sig[48:])
	out := appendHead(nil, 0x80, 4)
	out = appendBytes(out, protected)
	out = append(out, 0xa0)
	out = appendBytes(out, payload)
	return appendBytes(out, sig), nil
}

func appendBytes(b, v []byte) []byte {
	return append(appendHead(b, 0x40, uint64(len(v))), v...)
}

// appendHead appends a CBOR head of major type mt (already shifted) and
// argument n.
func appendHead(b []byte, mt byte, n uint64) []byte {
	switch {
	case n < 24:
		return append(b, mt|byte(n))
	case n < 1<<8:
		return append(b, mt|24, byte(n))
	case n < 1<<16:
		return append(b, mt|25, byte(n>>8), byte(n))
	case n < 1<<32:
		return append(b, mt|26, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return append(b, mt|27, byte(n>>56), byte(n>>48), byte(n>>40), byte(n>>32), byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}

// newCA issues a CA certificate (self-signed when parent is nil) with the
// given path-length constraint (-1: none).
func newCA(parent *CA, cn string, notBefore, notAfter time.Time, pathLen int) (CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		return CA{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               name(cn),
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            pathLen,
		MaxPathLenZero:        pathLen == 0,
	}
	issuer, signer := tmpl, key
	if parent != nil {
		issuer, signer = parent.Cert, parent.Key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, issuer, &key.PublicKey, signer)
	if err != nil {
		return CA{}, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return CA{}, err
	}
	return CA{Cert: cert, Key: key}, nil
}

func name(cn string) pkix.Name {
	return pkix.Name{Country: []string{"US"}, Organization: []string{"Amazon"}, OrganizationalUnit: []string{"AWS"}, CommonName: cn}
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return big.NewInt(1) // crypto/rand does not fail on supported platforms
	}
	return n.Add(n, big.NewInt(1))
}
