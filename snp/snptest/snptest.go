// Package snptest is a test attester for SEV-SNP: a test AMD key hierarchy
// (ARK, ASK, ASVK, VCEK, VLEK) per product, attestation reports signed with
// any field chosen, extended-report certificate tables, Trustee JSON
// evidence, CRLs that revoke or not, and a fake AMD KDS on httptest.
//
// Everything it mints chains only to its own test roots: configure a
// verifier with snp.WithTrustedRoots(pki.Roots()). The RSA keys of the test
// ARK/ASK/ASVK are fixed (embedded) so that tests are fast; they are test
// keys, published with the source, and must never be trusted elsewhere.
package snptest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha512"
	"crypto/x509"
	"crypto/x509/pkix"
	"embed"
	"encoding/asn1"
	"encoding/binary"
	"encoding/pem"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/trustfactory/attest/snp"
)

//go:embed keys/*.pem
var keyFS embed.FS

// Epoch returns the NotBefore of every minted certificate unless overridden
// (2024-01-01); minted endorsement keys are valid for 10 years, roots for 25.
func Epoch() time.Time { return time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC) }

// PKI is a test AMD key hierarchy for one product with one chip's VCEK and
// one VLEK. Its fields may be replaced (for example with a certificate from
// IssueVCEK) before minting evidence.
type PKI struct {
	Product snp.Product
	ARK     *x509.Certificate
	ASK     *x509.Certificate
	ASVK    *x509.Certificate
	VCEK    *x509.Certificate
	VLEK    *x509.Certificate

	ARKKey, ASKKey, ASVKKey *rsa.PrivateKey
	VCEKKey, VLEKKey        *ecdsa.PrivateKey

	// ChipID is the chip's CHIP_ID; the VCEK's hwID is its first 8 bytes on
	// Turin, all 64 otherwise.
	ChipID [64]byte
	// TCB is the TCB the VCEK and VLEK are issued for, and the default
	// REPORTED_TCB.
	TCB snp.TCB
}

// Options adjust NewPKI.
type Options struct {
	// FreshRootKeys generates new RSA keys for ARK/ASK/ASVK instead of the
	// embedded ones (an "attacker" hierarchy with the same names).
	FreshRootKeys bool
	// NotBefore of every certificate; zero means Epoch.
	NotBefore time.Time
	// TCB for the endorsement keys; zero means bl=3 tee=0 snp=8 ucode=115 (+fmc=1 on Turin).
	TCB snp.TCB
	// ChipID; zero means a fixed pattern that differs per product.
	ChipID [64]byte
}

// NewPKI mints a test hierarchy for product.
func NewPKI(product snp.Product, opts ...Options) (*PKI, error) {
	product, err := snp.ParseProduct(string(product))
	if err != nil || product == snp.ProductUnknown {
		return nil, fmt.Errorf("snptest: product %q: expected Milan, Genoa or Turin", product)
	}
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	if o.NotBefore.IsZero() {
		o.NotBefore = Epoch()
	}
	if o.TCB == (snp.TCB{}) {
		o.TCB = snp.TCB{Bootloader: 3, TEE: 0, SNP: 8, Microcode: 115}
		if product == snp.Turin {
			o.TCB.FMC = 1
		}
	}
	if o.ChipID == ([64]byte{}) {
		// Distinct per product, as real chip IDs are.
		for i := range o.ChipID {
			o.ChipID[i] = byte(0xA0+i) ^ product[0]
		}
	}
	p := &PKI{Product: product, ChipID: o.ChipID, TCB: o.TCB}
	keys := []**rsa.PrivateKey{&p.ARKKey, &p.ASKKey, &p.ASVKKey}
	for i, name := range []string{"ark", "ask", "asvk"} {
		if o.FreshRootKeys {
			*keys[i], err = rsa.GenerateKey(rand.Reader, 2048)
		} else {
			*keys[i], err = loadKey(strings.ToLower(string(product)) + "_" + name)
		}
		if err != nil {
			return nil, err
		}
	}
	if p.VCEKKey, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader); err != nil {
		return nil, err
	}
	if p.VLEKKey, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader); err != nil {
		return nil, err
	}
	nb := o.NotBefore
	if p.ARK, err = p.issue(Cert{CN: "ARK-" + string(product), CA: true, Serial: 0x10000, NotBefore: nb, Years: 25}, &p.ARKKey.PublicKey, nil, p.ARKKey); err != nil {
		return nil, err
	}
	crlDP := func(kind string) []string {
		return []string{"https://kdsintf.amd.com/" + kind + "/v1/" + string(product) + "/crl"}
	}
	if p.ASK, err = p.issue(Cert{CN: "SEV-" + string(product), CA: true, Serial: 0x10001, NotBefore: nb, Years: 25, CRLDistributionPoints: crlDP("vcek")}, &p.ASKKey.PublicKey, p.ARK, p.ARKKey); err != nil {
		return nil, err
	}
	if p.ASVK, err = p.issue(Cert{CN: "SEV-VLEK-" + string(product), CA: true, Serial: 0x10101, NotBefore: nb, Years: 25, CRLDistributionPoints: crlDP("vlek")}, &p.ASVKKey.PublicKey, p.ARK, p.ARKKey); err != nil {
		return nil, err
	}
	if p.VCEK, err = p.IssueVCEK(Cert{NotBefore: nb}); err != nil {
		return nil, err
	}
	if p.VLEK, err = p.IssueVLEK(Cert{NotBefore: nb}); err != nil {
		return nil, err
	}
	return p, nil
}

func loadKey(name string) (*rsa.PrivateKey, error) {
	b, err := keyFS.ReadFile("keys/" + name + ".pem")
	if err != nil {
		return nil, fmt.Errorf("snptest: no embedded key %s: %w", name, err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, fmt.Errorf("snptest: key %s: no PEM block", name)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, err
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("snptest: key %s is %T", name, k)
	}
	return rk, nil
}

// Roots returns the test hierarchy as pinned roots for snp.WithTrustedRoots.
func (p *PKI) Roots() snp.Roots {
	return snp.Roots{Product: p.Product, ARK: p.ARK, ASK: p.ASK, ASVK: p.ASVK}
}

// Cert describes a certificate to issue. Zero fields take defaults.
type Cert struct {
	CN        string
	CA        bool
	Serial    int64
	NotBefore time.Time
	Years     int // validity; default 10
	// NotAfter, when set, overrides Years.
	NotAfter time.Time
	// For VCEK/VLEK: the TCB in the extensions (default PKI.TCB), the hwID
	// (default from PKI.ChipID), the product name (default "<Product>-B0"),
	// and extra extensions.
	TCB         *snp.TCB
	HWID        []byte
	ProductName string
	CSPID       string
	Extra       []pkix.Extension
	// SignatureAlgorithm defaults to SHA384WithRSAPSS.
	SignatureAlgorithm x509.SignatureAlgorithm
	// CRLDistributionPoints as AMD sets them on the ASK and ASVK.
	CRLDistributionPoints []string
}

func (p *PKI) issue(c Cert, pub crypto.PublicKey, parent *x509.Certificate, signer crypto.Signer) (*x509.Certificate, error) {
	if c.Years == 0 {
		c.Years = 10
	}
	if c.NotBefore.IsZero() {
		c.NotBefore = Epoch()
	}
	na := c.NotBefore.AddDate(c.Years, 0, 0)
	if !c.NotAfter.IsZero() {
		na = c.NotAfter
	}
	alg := c.SignatureAlgorithm
	if alg == 0 {
		alg = x509.SHA384WithRSAPSS
	}
	tpl := &x509.Certificate{
		SerialNumber:          big.NewInt(c.Serial),
		Subject:               amdName(c.CN),
		NotBefore:             c.NotBefore,
		NotAfter:              na,
		SignatureAlgorithm:    alg,
		ExtraExtensions:       c.Extra,
		CRLDistributionPoints: c.CRLDistributionPoints,
	}
	if c.CA {
		tpl.IsCA, tpl.BasicConstraintsValid = true, true
		tpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	}
	if parent == nil {
		parent = tpl
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, parent, pub, signer)
	if err != nil {
		return nil, fmt.Errorf("snptest: issuing %q: %w", c.CN, err)
	}
	return x509.ParseCertificate(der)
}

func amdName(cn string) pkix.Name {
	return pkix.Name{
		OrganizationalUnit: []string{"Engineering"}, Country: []string{"US"}, Locality: []string{"Santa Clara"},
		Province: []string{"CA"}, Organization: []string{"Advanced Micro Devices"}, CommonName: cn,
	}
}

var (
	oidStructVer   = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 3704, 1, 1}
	oidProductName = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 3704, 1, 2}
	oidTCB         = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 3704, 1, 3}
	oidHWID        = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 3704, 1, 4}
	oidCSPID       = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 3704, 1, 5}
)

func (p *PKI) endorsementExtensions(c Cert, vcek bool) []pkix.Extension {
	tcb := p.TCB
	if c.TCB != nil {
		tcb = *c.TCB
	}
	name := c.ProductName
	if name == "" {
		name = string(p.Product) + "-B0"
	}
	ia5 := func(s string) []byte {
		b, _ := asn1.MarshalWithParams(s, "ia5")
		return b
	}
	intExt := func(sub int, v uint8) pkix.Extension {
		b, _ := asn1.Marshal(int(v))
		return pkix.Extension{Id: append(append(asn1.ObjectIdentifier{}, oidTCB...), sub), Value: b}
	}
	one, _ := asn1.Marshal(1)
	exts := []pkix.Extension{
		{Id: oidStructVer, Value: one},
		{Id: oidProductName, Value: ia5(name)},
		intExt(1, tcb.Bootloader), intExt(2, tcb.TEE), intExt(3, tcb.SNP), intExt(8, tcb.Microcode),
		// Reserved SPL slots, present (zero) in AMD's certificates.
		intExt(4, 0), intExt(5, 0), intExt(6, 0), intExt(7, 0),
	}
	if p.Product == snp.Turin {
		exts = append(exts, intExt(9, tcb.FMC))
	}
	if vcek {
		hwid := c.HWID
		if hwid == nil {
			hwid = p.ChipID[:]
			if p.Product == snp.Turin {
				hwid = p.ChipID[:8]
			}
		}
		exts = append(exts, pkix.Extension{Id: oidHWID, Value: hwid})
	} else {
		csp := c.CSPID
		if csp == "" {
			csp = "test-csp"
		}
		exts = append(exts, pkix.Extension{Id: oidCSPID, Value: ia5(csp)})
	}
	return append(exts, c.Extra...)
}

// IssueVCEK issues a VCEK for the PKI's VCEK key under the ASK, with
// extensions from c (TCB, hwID, product name) over the PKI defaults.
func (p *PKI) IssueVCEK(c Cert) (*x509.Certificate, error) {
	if c.CN == "" {
		c.CN = "SEV-VCEK"
	}
	c.Extra = p.endorsementExtensions(c, true)
	return p.issue(c, &p.VCEKKey.PublicKey, p.ASK, p.ASKKey)
}

// IssueVLEK issues a VLEK for the PKI's VLEK key under the ASVK.
func (p *PKI) IssueVLEK(c Cert) (*x509.Certificate, error) {
	if c.CN == "" {
		c.CN = "SEV-VLEK"
	}
	c.Extra = p.endorsementExtensions(c, false)
	return p.issue(c, &p.VLEKKey.PublicKey, p.ASVK, p.ASVKKey)
}

// IssueUnder issues an endorsement certificate of the given key kind for
// that kind's key, but signed by an arbitrary issuer (for wrong-intermediate
// tests).
func (p *PKI) IssueUnder(kind snp.SigningKey, c Cert, parent *x509.Certificate, parentKey crypto.Signer) (*x509.Certificate, error) {
	vcek := kind == snp.SigningKeyVCEK
	pub := &p.VLEKKey.PublicKey
	if c.CN == "" {
		c.CN = "SEV-VLEK"
	}
	if vcek {
		pub = &p.VCEKKey.PublicKey
		if c.CN == "SEV-VLEK" {
			c.CN = "SEV-VCEK"
		}
	}
	c.Extra = p.endorsementExtensions(c, vcek)
	return p.issue(c, pub, parent, parentKey)
}

// IssueIntermediate issues an ASK-like certificate signed by the ARK
// (for CA:FALSE or unexpected-intermediate tests).
func (p *PKI) IssueIntermediate(c Cert, key *rsa.PrivateKey) (*x509.Certificate, error) {
	return p.issue(c, &key.PublicKey, p.ARK, p.ARKKey)
}

// CRL returns an ARK-signed CRL valid from thisUpdate to nextUpdate listing
// the given serials as revoked.
func (p *PKI) CRL(thisUpdate, nextUpdate time.Time, revoked ...*big.Int) ([]byte, error) {
	return p.CRLSignedBy(p.ARK, p.ARKKey, thisUpdate, nextUpdate, revoked...)
}

// CRLSignedBy returns a CRL signed by an arbitrary issuer.
func (p *PKI) CRLSignedBy(issuer *x509.Certificate, key crypto.Signer, thisUpdate, nextUpdate time.Time, revoked ...*big.Int) ([]byte, error) {
	tpl := &x509.RevocationList{
		Number:             big.NewInt(1),
		ThisUpdate:         thisUpdate,
		NextUpdate:         nextUpdate,
		SignatureAlgorithm: x509.SHA384WithRSAPSS,
	}
	for _, s := range revoked {
		tpl.RevokedCertificateEntries = append(tpl.RevokedCertificateEntries, x509.RevocationListEntry{SerialNumber: s, RevocationTime: thisUpdate})
	}
	return x509.CreateRevocationList(rand.Reader, tpl, issuer, key)
}

// Report describes a report to mint. Zero fields take defaults: version 3
// with the product's CPUID, policy 0x30000 (SMT allowed), VMPL 0, the PKI's
// chip ID, REPORTED/CURRENT/COMMITTED/LAUNCH TCB = PKI.TCB, signed by the VCEK,
// and for version 3 and later PLATFORM_INFO = ALIAS_CHECK_COMPLETE, as
// current firmware sets it (use Mutate to mint a zero PLATFORM_INFO).
type Report struct {
	Version      uint32
	GuestSVN     uint32
	Policy       uint64
	FamilyID     [16]byte
	ImageID      [16]byte
	VMPL         uint32
	PlatformInfo uint64
	SigningKey   snp.SigningKey
	AuthorKeyEn  bool
	MaskChipID   bool // sets MASK_CHIP_KEY and zeroes CHIP_ID
	ReportData   [64]byte
	Measurement  [48]byte
	HostData     [32]byte
	IDKeyDigest  [48]byte
	ReportID     [32]byte
	ReportedTCB  *snp.TCB
	CurrentTCB   *snp.TCB
	// NoCPUID leaves the CPUID fields zero (as a version-2 report has them).
	NoCPUID bool
	// CPUID overrides the product's family, model, stepping.
	CPUID *[3]byte
	// ChipID overrides PKI.ChipID.
	ChipID *[64]byte
	// LaunchMitVector, CurrentMitVector are written for version 5.
	LaunchMitVector, CurrentMitVector uint64
	// Firmware overrides the CURRENT and COMMITTED firmware version
	// (major, minor, build; default 1.55.21).
	Firmware *[3]byte
	// Mutate, when set, edits the raw report just before it is signed.
	Mutate func(raw []byte)
	// Signer overrides the signing key (default: the PKI's VCEK or VLEK key per SigningKey).
	Signer *ecdsa.PrivateKey
}

// TurinPlatformInfo is the PLATFORM_INFO of a real version 5 report from
// current Turin firmware (AMDESE/AMDSEV#285): SMT_EN, ECC_EN,
// ALIAS_CHECK_COMPLETE and bit 6, which ABI 1.58 reserves.
const TurinPlatformInfo = 0x65

// CurrentTurin returns a Report with the version and PLATFORM_INFO bits a
// real report from current Turin firmware carries (version 5,
// TurinPlatformInfo), for minting with a Turin PKI.
func CurrentTurin() Report {
	return Report{Version: 5, PlatformInfo: TurinPlatformInfo}
}

// CPUID returns a family, model and stepping of the product.
func CPUID(p snp.Product) [3]byte {
	switch p {
	case snp.Genoa:
		return [3]byte{0x19, 0x11, 0x01}
	case snp.Turin:
		return [3]byte{0x1A, 0x02, 0x00}
	}
	return [3]byte{0x19, 0x01, 0x01}
}

// Sign mints a signed 1184-byte report.
func (p *PKI) Sign(r Report) ([]byte, error) {
	if r.Version == 0 {
		r.Version = 3
	}
	if r.Policy == 0 {
		r.Policy = snp.PolicySMT | snp.PolicyReservedMustBe1
	}
	if r.PlatformInfo == 0 && r.Version >= 3 {
		r.PlatformInfo = snp.PlatformAliasCheckComplete
	}
	tcb := p.TCB
	if r.ReportedTCB != nil {
		tcb = *r.ReportedTCB
	}
	cur := tcb
	if r.CurrentTCB != nil {
		cur = *r.CurrentTCB
	}
	b := make([]byte, snp.ReportSize)
	le := binary.LittleEndian
	le.PutUint32(b[0x00:], r.Version)
	le.PutUint32(b[0x04:], r.GuestSVN)
	le.PutUint64(b[0x08:], r.Policy)
	copy(b[0x10:], r.FamilyID[:])
	copy(b[0x20:], r.ImageID[:])
	le.PutUint32(b[0x30:], r.VMPL)
	le.PutUint32(b[0x34:], snp.SigAlgoECDSAP384SHA384)
	le.PutUint64(b[0x38:], cur.Encode(p.Product))
	le.PutUint64(b[0x40:], r.PlatformInfo)
	info := uint32(r.SigningKey) << 2
	if r.AuthorKeyEn {
		info |= 1
	}
	if r.MaskChipID {
		info |= 2
	}
	le.PutUint32(b[0x48:], info)
	copy(b[0x50:], r.ReportData[:])
	copy(b[0x90:], r.Measurement[:])
	copy(b[0xC0:], r.HostData[:])
	copy(b[0xE0:], r.IDKeyDigest[:])
	copy(b[0x140:], r.ReportID[:])
	le.PutUint64(b[0x180:], tcb.Encode(p.Product))
	if r.Version >= 3 && !r.NoCPUID {
		c := CPUID(p.Product)
		if r.CPUID != nil {
			c = *r.CPUID
		}
		copy(b[0x188:], c[:])
	}
	chip := p.ChipID
	if r.ChipID != nil {
		chip = *r.ChipID
	}
	if !r.MaskChipID {
		copy(b[0x1A0:], chip[:])
	}
	le.PutUint64(b[0x1E0:], tcb.Encode(p.Product))
	fw := [3]byte{1, 55, 21}
	if r.Firmware != nil {
		fw = *r.Firmware
	}
	b[0x1E8], b[0x1E9], b[0x1EA] = fw[2], fw[1], fw[0]
	b[0x1EC], b[0x1ED], b[0x1EE] = fw[2], fw[1], fw[0]
	le.PutUint64(b[0x1F0:], tcb.Encode(p.Product))
	if r.Version >= 5 {
		le.PutUint64(b[0x1F8:], r.LaunchMitVector)
		le.PutUint64(b[0x200:], r.CurrentMitVector)
	}
	if r.Mutate != nil {
		r.Mutate(b)
	}
	key := r.Signer
	if key == nil {
		key = p.VCEKKey
		if r.SigningKey == snp.SigningKeyVLEK {
			key = p.VLEKKey
		}
	}
	if err := SignRaw(b, key); err != nil {
		return nil, err
	}
	return b, nil
}

// SignRaw (re-)signs the first 0x2A0 bytes of a raw report in place.
func SignRaw(b []byte, key *ecdsa.PrivateKey) error {
	if len(b) != snp.ReportSize {
		return fmt.Errorf("snptest: report of %d bytes", len(b))
	}
	d := sha512.Sum384(b[:snp.SignedSize])
	rr, ss, err := ecdsa.Sign(rand.Reader, key, d[:])
	if err != nil {
		return err
	}
	putLE(b[snp.SignedSize:snp.SignedSize+72], rr)
	putLE(b[snp.SignedSize+72:snp.SignedSize+144], ss)
	return nil
}

func putLE(dst []byte, n *big.Int) {
	clear(dst)
	be := n.Bytes()
	for i, c := range be {
		dst[len(be)-1-i] = c
	}
}

// CertTable returns an extended-report certificate table carrying the
// endorsement key for kind, its intermediate (ASK or ASVK, under the ASK
// GUID as the GHCB specification has it) and the ARK.
func (p *PKI) CertTable(kind snp.SigningKey) ([]byte, error) {
	entries := []snp.CertEntry{{GUID: snp.GUIDVCEK(), Data: p.VCEK.Raw}, {GUID: snp.GUIDASK(), Data: p.ASK.Raw}, {GUID: snp.GUIDARK(), Data: p.ARK.Raw}}
	if kind == snp.SigningKeyVLEK {
		entries = []snp.CertEntry{{GUID: snp.GUIDVLEK(), Data: p.VLEK.Raw}, {GUID: snp.GUIDASK(), Data: p.ASVK.Raw}, {GUID: snp.GUIDARK(), Data: p.ARK.Raw}}
	}
	return snp.MarshalCertTable(entries)
}

// Extended mints a report and appends the certificate table for its key.
func (p *PKI) Extended(r Report) ([]byte, error) {
	raw, err := p.Sign(r)
	if err != nil {
		return nil, err
	}
	table, err := p.CertTable(r.SigningKey)
	if err != nil {
		return nil, err
	}
	return append(raw, table...), nil
}

// JSON mints a report as Trustee JSON evidence carrying the endorsement key
// (and its intermediate and the ARK) in cert_chain.
func (p *PKI) JSON(r Report) ([]byte, error) {
	raw, err := p.Sign(r)
	if err != nil {
		return nil, err
	}
	rep, err := snp.ParseReport(raw)
	if err != nil {
		return nil, err
	}
	certs := map[string][]byte{"VCEK": p.VCEK.Raw, "ASK": p.ASK.Raw, "ARK": p.ARK.Raw}
	if r.SigningKey == snp.SigningKeyVLEK {
		certs = map[string][]byte{"VLEK": p.VLEK.Raw, "ASVK": p.ASVK.Raw, "ARK": p.ARK.Raw}
	}
	return snp.EncodeJSON(rep, p.Product, certs)
}
