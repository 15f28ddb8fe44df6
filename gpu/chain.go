package gpu

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	_ "embed"
	"encoding/asn1"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/trustfactory/attest/gpu/ocsp"
	"github.com/trustfactory/attest/internal/certlink"
	"github.com/trustfactory/attest/internal/pemchain"
	"github.com/trustfactory/attest/verify"
)

// Arch is a device architecture as named in NVIDIA evidence.
type Arch string

// Supported architectures.
const (
	ArchHopper    Arch = "HOPPER"
	ArchBlackwell Arch = "BLACKWELL"
	ArchLS10      Arch = "LS10"
)

// IsSwitch reports whether the architecture is an NVSwitch.
func (a Arch) IsSwitch() bool { return a == ArchLS10 }

// ParseArch normalises an architecture name ("Hopper", "HOPPER", "LS10", …).
func ParseArch(s string) (Arch, error) {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "HOPPER":
		return ArchHopper, nil
	case "BLACKWELL":
		return ArchBlackwell, nil
	case "LS10", "LS_10":
		return ArchLS10, nil
	}
	return "", verify.Errorf(verify.ErrUnsupported, "architecture: expected HOPPER, BLACKWELL or LS10, got %q", s)
}

// DeviceChainLength is the number of certificates in every NVIDIA device
// chain: attestation key, BROM, provisioner ICA, identity CA, root.
const DeviceChainLength = 5

const maxChainPEM = 64 << 10

//go:embed roots/device_identity_ca.pem
var deviceRootPEM []byte

//go:embed roots/device_identity_ca_l1b.pem
var deviceRootL1BPEM []byte

// DefaultDeviceRoots returns the pinned NVIDIA Device Identity CA
// certificates: the original and the re-issued L1B certificate, which carry
// the same public key.
func DefaultDeviceRoots() []*x509.Certificate {
	var out []*x509.Certificate
	for _, p := range [][]byte{deviceRootPEM, deviceRootL1BPEM} {
		certs, err := ParsePEMChain(p)
		if err != nil || len(certs) != 1 {
			panic("gpu: embedded device root does not parse") // build-time invariant
		}
		out = append(out, certs[0])
	}
	return out
}

// ParsePEMChain parses concatenated PEM certificates. Non-certificate blocks,
// text between blocks other than white space, and an empty chain are
// ErrMalformed.
func ParsePEMChain(b []byte) ([]*x509.Certificate, error) {
	if len(b) > maxChainPEM {
		return nil, verify.Errorf(verify.ErrLimit, "certificate chain: %d bytes of PEM exceeds the cap of %d", len(b), maxChainPEM)
	}
	certs, err := pemchain.Parse(b, 16)
	if err != nil {
		return nil, fmt.Errorf("certificate chain: %w", err)
	}
	return certs, nil
}

// rootSet is a set of trust anchors pinned by public key.
type rootSet struct {
	pool  *x509.CertPool
	certs []*x509.Certificate
	spkis map[[32]byte]bool
}

func newRootSet(roots []*x509.Certificate) (*rootSet, error) {
	if len(roots) == 0 {
		return nil, verify.Errorf(verify.ErrConfig, "no pinned root certificate")
	}
	rs := &rootSet{pool: x509.NewCertPool(), certs: roots, spkis: make(map[[32]byte]bool)}
	for _, r := range roots {
		rs.pool.AddCert(r)
		rs.spkis[sha256.Sum256(r.RawSubjectPublicKeyInfo)] = true
	}
	return rs, nil
}

func (rs *rootSet) pinned(c *x509.Certificate) bool {
	return rs.spkis[sha256.Sum256(c.RawSubjectPublicKeyInfo)]
}

// anchorsFor lists the pinned roots that could have issued c, the one equal
// to supplied (the chain's own copy of the root) first, then those with its
// key, then the rest: the pinned roots share one key, and trying the likely
// one first saves a P-384 check per cold chain.
func (rs *rootSet) anchorsFor(c, supplied *x509.Certificate) []*x509.Certificate {
	var same, key, other []*x509.Certificate
	for _, r := range rs.certs {
		switch {
		case string(r.RawSubject) != string(c.RawIssuer):
		case r.Equal(supplied):
			same = append(same, r)
		case string(r.RawSubjectPublicKeyInfo) == string(supplied.RawSubjectPublicKeyInfo):
			key = append(key, r)
		default:
			other = append(other, r)
		}
	}
	return append(append(same, key...), other...)
}

// DeviceChain is a device certificate chain verified to a pinned root.
type DeviceChain struct {
	Certs     []*x509.Certificate // leaf first; the last is the pinned root the chain was verified to
	Arch      Arch                // from the leaf's subject
	Key       *ecdsa.PublicKey    // the attestation key (P-384)
	FWID      []byte              // from the leaf; nil when the leaf has no FWID extension
	NotBefore time.Time           // latest notBefore in the chain
	NotAfter  time.Time           // earliest notAfter in the chain

	revocation *ocsp.Chain // Certs prepared for OCSP checks, once per verified chain
}

// verifyDeviceChain checks the 5-certificate device chain: the supplied root
// must carry a pinned key and is replaced by the pinned certificate; the rest
// must build to it at time now. Links verified before (the identity and
// provisioner CAs every board shares) are not checked again: links
// remembers them.
func verifyDeviceChain(certs []*x509.Certificate, roots *rootSet, links *certlink.Cache, now time.Time) (*DeviceChain, error) {
	if len(certs) != DeviceChainLength {
		return nil, verify.Errorf(verify.ErrChain, "device certificate chain: expected %d certificates, got %d", DeviceChainLength, len(certs))
	}
	last := certs[len(certs)-1]
	if !roots.pinned(last) {
		return nil, verify.Errorf(verify.ErrChain, "device certificate chain: root %q does not carry a pinned NVIDIA Device Identity CA key", last.Subject.CommonName)
	}
	// The path is fixed: the supplied certificates in order, then a pinned
	// root. certlink accepts it only where x509.Verify would; anything else
	// (and every rejection, for its wording) goes through x509.Verify below.
	for _, anchor := range roots.anchorsFor(certs[len(certs)-2], last) {
		path := append(slices.Clone(certs[:len(certs)-1]), anchor)
		if links.Verify(path, now) {
			return newDeviceChain(path)
		}
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1 : len(certs)-1] {
		inter.AddCert(c)
	}
	leaf := certs[0]
	chains, err := leaf.Verify(x509.VerifyOptions{
		Roots: roots.pool, Intermediates: inter, CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	})
	if err != nil {
		kind := verify.ErrChain
		var inv x509.CertificateInvalidError
		if errors.As(err, &inv) && inv.Reason == x509.Expired {
			kind = verify.ErrExpired
		}
		return nil, verify.Errorf(kind, "device certificate chain (leaf %q): %w", leaf.Subject.CommonName, err)
	}
	var built []*x509.Certificate
	for _, ch := range chains {
		if len(ch) != DeviceChainLength {
			continue
		}
		ok := true
		for i := 0; i < DeviceChainLength-1; i++ {
			if !ch[i].Equal(certs[i]) {
				ok = false
				break
			}
		}
		if ok {
			built = ch
			break
		}
	}
	if built == nil {
		return nil, verify.Errorf(verify.ErrChain, "device certificate chain: the supplied certificates do not form the %d-level chain in order", DeviceChainLength)
	}
	return newDeviceChain(built)
}

// newDeviceChain reads the attestation key, architecture and FWID of a
// verified chain, leaf first and pinned root last.
func newDeviceChain(built []*x509.Certificate) (*DeviceChain, error) {
	leaf := built[0]
	key, ok := leaf.PublicKey.(*ecdsa.PublicKey)
	if !ok || key.Curve != elliptic.P384() {
		return nil, verify.Errorf(verify.ErrChain, "attestation key certificate: expected an ECDSA P-384 key, got %T", leaf.PublicKey)
	}
	arch, err := archFromLeaf(leaf)
	if err != nil {
		return nil, err
	}
	fwid, err := leafFWID(leaf, arch)
	if err != nil {
		return nil, err
	}
	dc := &DeviceChain{Certs: built, Arch: arch, Key: key, FWID: fwid, NotBefore: built[0].NotBefore, NotAfter: built[0].NotAfter,
		revocation: ocsp.NewChain(built)}
	for _, c := range built {
		if c.NotBefore.After(dc.NotBefore) {
			dc.NotBefore = c.NotBefore
		}
		if c.NotAfter.Before(dc.NotAfter) {
			dc.NotAfter = c.NotAfter
		}
	}
	return dc, nil
}

// archFromLeaf reads the chip from the attestation key's common name
// ("GH100 A01 GSP FMC LF", "GB100 …", "LS_10 A01 FSP …").
func archFromLeaf(leaf *x509.Certificate) (Arch, error) {
	cn := leaf.Subject.CommonName
	switch {
	case strings.HasPrefix(cn, "GH"):
		return ArchHopper, nil
	case strings.HasPrefix(cn, "GB"):
		return ArchBlackwell, nil
	case strings.HasPrefix(cn, "LS_10"), strings.HasPrefix(cn, "LS10"):
		return ArchLS10, nil
	}
	return "", verify.Errorf(verify.ErrUnsupported, "attestation key certificate: unknown chip in common name %q", cn)
}

var (
	oidFWID        = asn1.ObjectIdentifier{2, 23, 133, 5, 4, 1}
	oidDiceTcbInfo = asn1.ObjectIdentifier{2, 23, 133, 5, 4, 1, 1}
)

type diceFWID struct {
	HashAlg asn1.ObjectIdentifier
	Digest  []byte
}

// diceTcbInfo is the TCG DICE TcbInfo extension; only fwids is used.
type diceTcbInfo struct {
	Vendor     asn1.RawValue `asn1:"optional,tag:0"`
	Model      asn1.RawValue `asn1:"optional,tag:1"`
	Version    asn1.RawValue `asn1:"optional,tag:2"`
	SVN        asn1.RawValue `asn1:"optional,tag:3"`
	Layer      asn1.RawValue `asn1:"optional,tag:4"`
	Index      asn1.RawValue `asn1:"optional,tag:5"`
	FWIDs      []diceFWID    `asn1:"optional,tag:6"`
	Flags      asn1.RawValue `asn1:"optional,tag:7"`
	VendorInfo asn1.RawValue `asn1:"optional,tag:8"`
	Type       asn1.RawValue `asn1:"optional,tag:9"`
}

// leafFWID extracts the firmware ID of the attestation key certificate:
// Hopper/LS10 take the last 48 bytes of extension 2.23.133.5.4.1; Blackwell
// takes fwids[0].digest of the DICE TcbInfo extension 2.23.133.5.4.1.1.
func leafFWID(leaf *x509.Certificate, arch Arch) ([]byte, error) {
	want := oidFWID
	if arch == ArchBlackwell {
		want = oidDiceTcbInfo
	}
	for _, e := range leaf.Extensions {
		if !e.Id.Equal(want) {
			continue
		}
		if arch != ArchBlackwell {
			if len(e.Value) < 48 {
				return nil, verify.Errorf(verify.ErrMalformed, "FWID extension %s: %d bytes, expected at least 48", want, len(e.Value))
			}
			return e.Value[len(e.Value)-48:], nil
		}
		var ti diceTcbInfo
		rest, err := asn1.Unmarshal(e.Value, &ti)
		if err != nil || len(rest) != 0 {
			return nil, verify.Errorf(verify.ErrMalformed, "DICE TcbInfo extension: %v (%d trailing bytes)", err, len(rest))
		}
		if len(ti.FWIDs) == 0 || len(ti.FWIDs[0].Digest) != 48 {
			return nil, verify.Errorf(verify.ErrMalformed, "DICE TcbInfo extension: expected fwids[0] with a 48-byte digest, got %d fwids", len(ti.FWIDs))
		}
		return ti.FWIDs[0].Digest, nil
	}
	return nil, nil
}

// Certificate serials used by the PPCIe topology check: the BROM
// certificate's serial ends with the device PDI.
func broMPDI(dc *DeviceChain) ([8]byte, error) {
	var pdi [8]byte
	if len(dc.Certs) < 2 {
		return pdi, verify.Errorf(verify.ErrConfig, "device chain: expected a BROM certificate at index 1, got %d certificates", len(dc.Certs))
	}
	s := dc.Certs[1].SerialNumber.Bytes()
	if len(s) < 8 {
		return pdi, verify.Errorf(verify.ErrMalformed, "BROM certificate serial: %d bytes, expected at least 8", len(s))
	}
	copy(pdi[:], s[len(s)-8:])
	return pdi, nil
}
