// Package rimtest mints NVIDIA-style RIMs for tests: a fake RIM signing PKI
// (root, CA, L3 CA, signer, all ECDSA P-384 like NVIDIA's), a builder that
// writes the SWID document and signs it exactly as NVIDIA does (enveloped
// XML-DSig, C14N 1.1, ecdsa-sha384 with a raw r‖s SignatureValue, the chain
// signer-first in KeyInfo), and an httptest RIM service.
//
// Verify minted RIMs with rim.NewVerifier(rim.WithRoots(pki.Root)).
package rimtest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math/big"
	"sort"
	"strings"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/trustfactory/attest/gpu/rim"
)

// PKI is a fake RIM signing hierarchy shaped like NVIDIA's:
// Root → CA → L3 → Signer. Its fields may be replaced (for example by a
// signer with another validity) before signing.
type PKI struct {
	Root, CA, L3, Signer             *x509.Certificate
	RootKey, CAKey, L3Key, SignerKey *ecdsa.PrivateKey
}

// PKIOptions choose the validity of the signer certificate; zero values
// mean 2023-01-01 and 2043-01-01, which contain every pinned test time.
type PKIOptions struct {
	SignerNotBefore, SignerNotAfter time.Time
}

var (
	defaultNotBefore = time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)
	defaultNotAfter  = time.Date(2043, 1, 1, 0, 0, 0, 0, time.UTC)
)

// NewPKI creates a fresh hierarchy.
func NewPKI(opts PKIOptions) (*PKI, error) {
	p := &PKI{}
	var err error
	if p.Root, p.RootKey, err = NewCert(nil, nil, "Test CoRIM signing Root CA", true, defaultNotBefore, defaultNotAfter.AddDate(10, 0, 0)); err != nil {
		return nil, err
	}
	if p.CA, p.CAKey, err = NewCert(p.Root, p.RootKey, "Test Reference Value CA", true, defaultNotBefore, defaultNotAfter.AddDate(5, 0, 0)); err != nil {
		return nil, err
	}
	if p.L3, p.L3Key, err = NewCert(p.CA, p.CAKey, "Test Reference Value L3", true, defaultNotBefore, defaultNotAfter.AddDate(1, 0, 0)); err != nil {
		return nil, err
	}
	nb, na := opts.SignerNotBefore, opts.SignerNotAfter
	if nb.IsZero() {
		nb = defaultNotBefore
	}
	if na.IsZero() {
		na = defaultNotAfter
	}
	if p.Signer, p.SignerKey, err = NewCert(p.L3, p.L3Key, "Test RIM L4 Signer", false, nb, na); err != nil {
		return nil, err
	}
	return p, nil
}

// Chain returns the certificates a RIM embeds, in NVIDIA's order: signer,
// L3, CA, root.
func (p *PKI) Chain() []*x509.Certificate {
	return []*x509.Certificate{p.Signer, p.L3, p.CA, p.Root}
}

// NewCert issues a P-384 certificate for cn signed by parent (self-signed
// when parent is nil), a CA or a digital-signature leaf.
func NewCert(parent *x509.Certificate, parentKey *ecdsa.PrivateKey, cn string, isCA bool, notBefore, notAfter time.Time) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn, Organization: []string{"attest test"}},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		BasicConstraintsValid: true,
		IsCA:                  isCA,
		SignatureAlgorithm:    x509.ECDSAWithSHA384,
	}
	if isCA {
		tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	} else {
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	}
	signer, signerKey := tmpl, key
	if parent != nil {
		signer, signerKey = parent, parentKey
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, &key.PublicKey, signerKey)
	if err != nil {
		return nil, nil, err
	}
	c, err := x509.ParseCertificate(der)
	return c, key, err
}

// Manifest describes a RIM to mint.
type Manifest struct {
	// Version is Meta/@colloquialVersion ("550.90.07", "96.00.9F.00.01").
	Version string
	// Product is Meta/@product; empty means "GH100".
	Product string
	// Edition is Meta/@edition; empty means "GPU" ("SWITCH" for switch BIOS RIMs).
	Edition string
	// Measurements are written as Resource entries in index order; entries
	// with no alternatives are written inactive with one all-zero value.
	Measurements []rim.Measurement
}

// Golden returns the measurements of a RIM whose active entries are the
// given RIM indices, each with the value of SPDM block index+1 of blocks as
// its only alternative; every other index below slots is inactive.
func Golden(blocks map[int][]byte, slots int, active ...int) []rim.Measurement {
	on := make(map[int]bool, len(active))
	for _, i := range active {
		on[i] = true
	}
	ms := make([]rim.Measurement, slots)
	for i := range ms {
		ms[i] = rim.Measurement{Index: i, Name: fmt.Sprintf("Measurement_%d", i), Size: 48, Active: on[i]}
		v := make([]byte, 48)
		if on[i] {
			v = bytes.Clone(blocks[i+1])
		}
		ms[i].Alternatives = [][]byte{v}
	}
	return ms
}

// Unsigned returns the SWID document of m without a signature, laid out as
// NVIDIA's RIMs are.
func Unsigned(m Manifest) []byte {
	product := m.Product
	if product == "" {
		product = "GH100"
	}
	edition := m.Edition
	if edition == "" {
		edition = "GPU"
	}
	ms := append([]rim.Measurement(nil), m.Measurements...)
	sort.SliceStable(ms, func(i, j int) bool { return ms[i].Index < ms[j].Index })
	var b strings.Builder
	fmt.Fprintf(&b, `<SoftwareIdentity xmlns="http://standards.iso.org/iso/19770/-2/2015/schema.xsd" xmlns:ns0="http://standards.iso.org/iso/19770/-2/2015/schema.xsd" xmlns:ns2="http://www.w3.org/2001/04/xmlenc#sha384" corpus="false" name="%s" patch="false" supplemental="false" tagId="%s" version="1.0" tagVersion="0">`+"\n", product, strings.Repeat("ab", 48))
	b.WriteString(`    <ns0:Entity name="NVIDIA Corporation" role="softwareCreator tagCreator"/>` + "\n")
	fmt.Fprintf(&b, `    <ns0:Meta xmlns:ns1="https://trustedcomputinggroup.org/resource/tcg-reference-integrity-manifest-rim-information-model/" colloquialVersion="%s" edition="%s" product="%s" revision="r1" PayloadType="direct" ns1:BindingSpec="RIMIM" ns1:BindingSpecVersion="1.01" ns1:PlatformManufacturerId="5703" ns1:PlatformManufacturerStr="NVIDIA Corporation" ns1:PlatformModel="%s" ns1:FirmwareManufacturer="NVIDIA Corporation" ns1:FirmwareManufacturerId="5703"/>`+"\n", m.Version, edition, product, product)
	b.WriteString(`    <ns0:Payload xmlns:SHA384="http://www.w3.org/2001/04/xmlenc#sha384">` + "\n")
	for _, x := range ms {
		alts := x.Alternatives
		if len(alts) == 0 {
			alts = [][]byte{make([]byte, 48)}
		}
		active := "False"
		if x.Active {
			active = "True"
		}
		size := x.Size
		if size == 0 {
			size = 48
		}
		fmt.Fprintf(&b, `        <ns0:Resource type="Measurement" index="%d" active="%s" alternatives="%d"`, x.Index, active, len(alts))
		for i, a := range alts {
			fmt.Fprintf(&b, ` ns2:Hash%d="%s"`, i, hex.EncodeToString(a))
		}
		name := x.Name
		if name == "" {
			name = fmt.Sprintf("Measurement_%d", x.Index)
		}
		fmt.Fprintf(&b, ` name="%s" size="%d"/>`+"\n", name, size)
	}
	b.WriteString("    </ns0:Payload>\n</SoftwareIdentity>")
	return []byte(b.String())
}

// Build mints and signs m.
func (p *PKI) Build(m Manifest) ([]byte, error) {
	return p.Sign(Unsigned(m))
}

// Sign appends an enveloped signature to the root of the unsigned XML
// document doc, exactly as NVIDIA signs RIMs, embedding p.Chain().
func (p *PKI) Sign(doc []byte) ([]byte, error) {
	return SignWith(doc, p.SignerKey, p.Chain())
}

// SignWith signs doc with key and embeds certs (signer first) in KeyInfo.
func SignWith(doc []byte, key *ecdsa.PrivateKey, certs []*x509.Certificate) ([]byte, error) {
	d := etree.NewDocument()
	if err := d.ReadFromBytes(doc); err != nil {
		return nil, err
	}
	root := d.Root()
	if root == nil {
		return nil, fmt.Errorf("rimtest: document has no root")
	}
	ders := make([][]byte, len(certs))
	for i, c := range certs {
		ders[i] = c.Raw
	}
	ctx, err := dsig.NewSigningContext(key, ders)
	if err != nil {
		return nil, err
	}
	if err := ctx.SetSignatureMethod(dsig.ECDSASHA384SignatureMethod); err != nil {
		return nil, err
	}
	ctx.Canonicalizer = dsig.MakeC14N11Canonicalizer()
	sig, err := ctx.ConstructSignature(root, true)
	if err != nil {
		return nil, err
	}
	// goxmldsig writes ASN.1 DER; NVIDIA writes raw r‖s.
	sv := sig.FindElement("./SignatureValue")
	der, err := base64.StdEncoding.DecodeString(sv.Text())
	if err != nil {
		return nil, err
	}
	raw, err := DERToRaw(der, 48)
	if err != nil {
		return nil, err
	}
	sv.SetText(base64.StdEncoding.EncodeToString(raw))
	root.AddChild(sig)
	return d.WriteToBytes()
}

// DERToRaw converts an ASN.1 DER ECDSA signature to r‖s, each n bytes.
func DERToRaw(der []byte, n int) ([]byte, error) {
	var r, s big.Int
	in := cryptobyte.String(der)
	var seq cryptobyte.String
	if !in.ReadASN1(&seq, cbasn1.SEQUENCE) || !in.Empty() || !seq.ReadASN1Integer(&r) || !seq.ReadASN1Integer(&s) || !seq.Empty() {
		return nil, fmt.Errorf("rimtest: malformed DER ECDSA signature")
	}
	out := make([]byte, 2*n)
	r.FillBytes(out[:n])
	s.FillBytes(out[n:])
	return out, nil
}
