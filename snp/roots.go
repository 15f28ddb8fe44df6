package snp

import (
	"bytes"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"embed"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/trustfactory/attest/internal/lru"
	"github.com/trustfactory/attest/internal/pemchain"
	"github.com/trustfactory/attest/verify"
)

//go:embed roots/*.pem
var embeddedRoots embed.FS

// Roots is the pinned AMD key hierarchy of one product line: the self-signed
// ARK, the ASK that certifies VCEKs and the ASVK that certifies VLEKs. ASK
// or ASVK may be nil, which makes reports signed by that kind of key fail.
type Roots struct {
	Product Product
	ARK     *x509.Certificate
	ASK     *x509.Certificate
	ASVK    *x509.Certificate
}

// DefaultRoots returns the AMD roots embedded in this package for p (as
// published by AMD's KDS, the ARK/ASK valid to 2045–2048).
func DefaultRoots(p Product) (Roots, error) {
	b, err := embeddedRoots.ReadFile("roots/" + strings.ToLower(string(p)) + "_ask_ark_asvk.pem")
	if err != nil {
		return Roots{}, verify.Errorf(verify.ErrUnsupported, "no embedded AMD roots for product %q", p)
	}
	return ParseRoots(p, b)
}

// pinnedSet is a verifier's trusted roots by product, with the hash of each
// ARK that cache keys include. It is immutable once built.
type pinnedSet struct {
	roots  map[Product]Roots
	arkSum map[Product][32]byte
}

func newPinnedSet(roots map[Product]Roots) *pinnedSet {
	s := &pinnedSet{roots: roots, arkSum: make(map[Product][32]byte, len(roots))}
	for p, r := range roots {
		s.arkSum[p] = sha256.Sum256(r.ARK.Raw)
	}
	return s
}

// embeddedPinned parses and checks the embedded roots of every product once
// per process, on first use. The embedded PEM cannot change, so neither can
// the result: it is derived data, not state, and every verifier that keeps
// the default roots shares it read-only (three RSA-4096 checks per product
// were most of the cost of constructing a verifier). The certificates are
// never handed out: DefaultRoots parses its own copy for callers, who may
// modify what they get.
var embeddedPinned = sync.OnceValues(func() (*pinnedSet, error) {
	m := make(map[Product]Roots, len(products))
	for _, p := range products {
		r, err := DefaultRoots(p)
		if err != nil {
			return nil, err
		}
		m[p] = r
	}
	return newPinnedSet(m), nil
})

// RootCache remembers root sets that passed the checks WithTrustedRoots
// makes, so that verifiers constructed per request (or per registry) with
// the same caller-pinned roots do not repeat them: the ARK's self-signature
// and the ARK's signature on the ASK and on the ASVK, three RSA-4096 PSS
// verifications per product, most of the cost of such a construction.
//
// An entry is keyed by the SHA-256 of the product and the exact DER of the
// ARK, ASK and ASVK. Every check is a function of those bytes alone (no
// clock is involved: validity periods are checked against the caller's time
// at each verification), so a set whose bytes were checked once need not be
// checked again. The cache holds its own certificates, parsed from those
// bytes: a verifier never uses fields a caller could have changed after
// parsing. Root sets that fail are not remembered and fail again, with the
// same error, at every construction.
//
// A RootCache is an explicit object the caller creates and passes with
// WithRootCache to the verifiers that should share it; it is bounded, safe
// for concurrent use, and never global. The embedded AMD roots need none:
// they are checked once per process.
type RootCache struct {
	sets *lru.Cache[[32]byte, Roots]
}

// NewRootCache returns a RootCache holding at most size root sets (one per
// product and distinct ARK, ASK, ASVK bytes). size must be at least 1.
func NewRootCache(size int) (*RootCache, error) {
	if size < 1 {
		return nil, verify.Errorf(verify.ErrConfig, "snp: root cache size %d: expected at least 1", size)
	}
	return &RootCache{sets: lru.New[[32]byte, Roots](size)}, nil
}

// checked returns the verifier's own checked copy of r, from c when the same
// bytes were checked before (c may be nil).
func (c *RootCache) checked(r Roots) (Roots, error) {
	if c == nil {
		return checkedCopy(r)
	}
	k := rootsKey(r)
	if cp, ok := c.sets.Get(k, time.Time{}); ok {
		return cp, nil
	}
	cp, err := checkedCopy(r)
	if err != nil {
		return Roots{}, err
	}
	c.sets.Add(k, cp, time.Time{})
	return cp, nil
}

// rootsKey hashes the product and the exact bytes of each certificate, each
// slot marked present or absent and length-prefixed, so that no two root
// sets (a certificate moved to another slot, an absent one) share a key.
func rootsKey(r Roots) (k [32]byte) {
	h := sha256.New()
	writeLen(h, []byte(r.Product))
	for _, c := range []*x509.Certificate{r.ARK, r.ASK, r.ASVK} {
		if c == nil {
			h.Write([]byte{0})
			continue
		}
		h.Write([]byte{1})
		writeLen(h, c.Raw)
	}
	h.Sum(k[:0])
	return k
}

// checkedCopy parses r's certificates again from their DER, so that the
// verifier holds certificates that are exactly those bytes and that the
// caller cannot change afterwards, and checks them as check does.
func checkedCopy(r Roots) (Roots, error) {
	cp := Roots{Product: r.Product}
	for _, x := range []struct {
		name string
		src  *x509.Certificate
		dst  **x509.Certificate
	}{{"ARK", r.ARK, &cp.ARK}, {"ASK", r.ASK, &cp.ASK}, {"ASVK", r.ASVK, &cp.ASVK}} {
		if x.src == nil {
			continue
		}
		c, err := x509.ParseCertificate(x.src.Raw)
		if err != nil {
			return Roots{}, verify.Errorf(verify.ErrConfig, "AMD roots for %s: %s: %w", r.Product, x.name, err)
		}
		*x.dst = c
	}
	if err := cp.check(); err != nil {
		return Roots{}, err
	}
	return cp, nil
}

// ParseRoots reads an ARK, ASK and ASVK of product p from PEM or
// concatenated DER, in any order (a KDS cert_chain or Trustee's
// *_ask_ark_asvk.pem). The ARK is the self-signed certificate; the ASVK is
// the intermediate whose subject names VLEK. It checks that the ARK signed
// itself and each intermediate, with RSA-PSS.
func ParseRoots(p Product, data []byte) (Roots, error) {
	certs, err := parseCerts(data)
	if err != nil {
		return Roots{}, verify.Errorf(verify.ErrConfig, "AMD roots for %s: %w", p, err)
	}
	r := Roots{Product: p}
	for _, c := range certs {
		switch {
		case bytes.Equal(c.RawSubject, c.RawIssuer):
			if r.ARK != nil {
				return Roots{}, verify.Errorf(verify.ErrConfig, "AMD roots for %s: two self-signed certificates", p)
			}
			r.ARK = c
		case isVLEKIntermediate(c):
			if r.ASVK != nil {
				return Roots{}, verify.Errorf(verify.ErrConfig, "AMD roots for %s: two ASVKs", p)
			}
			r.ASVK = c
		default:
			// Two ASKs would leave one silently unused: which one the
			// caller meant to pin is not ours to guess.
			if r.ASK != nil {
				return Roots{}, verify.Errorf(verify.ErrConfig, "AMD roots for %s: two ASKs (%q and %q)", p, r.ASK.Subject.CommonName, c.Subject.CommonName)
			}
			r.ASK = c
		}
	}
	if err := r.check(); err != nil {
		return Roots{}, err
	}
	return r, nil
}

// intermediate returns the pinned ASK (VCEK) or ASVK (VLEK).
func (r Roots) intermediate(key SigningKey) *x509.Certificate {
	if key == SigningKeyVLEK {
		return r.ASVK
	}
	return r.ASK
}

// intermediateName names the intermediate that certifies key: "ASK" or "ASVK".
func intermediateName(key SigningKey) string {
	if key == SigningKeyVLEK {
		return "ASVK"
	}
	return "ASK"
}

// check verifies the internal consistency of pinned roots: every certificate
// is an RSA CA signed with RSA-PSS by the ARK, which signs itself.
//
// The ARK is a trust anchor by configuration, and its self-signature adds no
// trust; it is checked anyway because it catches an ARK damaged in copying or
// paired with the wrong key where it is configured, as ParseRoots promises.
// The intermediates are checked here, at construction, rather than when a
// chain through them is first used: roots that cannot work are then refused
// by NewVerifier with verify.ErrConfig, not by whichever verification comes
// first with an error of another kind. A RootCache makes all of it once per
// distinct root set instead of once per verifier.
func (r Roots) check() error {
	if r.ARK == nil {
		return verify.Errorf(verify.ErrConfig, "AMD roots for %s: no ARK", r.Product)
	}
	if r.ASK == nil && r.ASVK == nil {
		return verify.Errorf(verify.ErrConfig, "AMD roots for %s: neither ASK nor ASVK", r.Product)
	}
	if err := checkAMDCert(r.ARK, r.ARK); err != nil {
		return verify.Errorf(verify.ErrConfig, "AMD roots for %s: %w", r.Product, err)
	}
	// Each intermediate certifies only its own kind of key, as for one
	// carried by evidence: a mix-up must not let the ASVK certify VCEKs.
	for _, x := range []struct {
		name string
		c    *x509.Certificate
		vlek bool
	}{{"ASK", r.ASK, false}, {"ASVK", r.ASVK, true}} {
		if x.c == nil {
			continue
		}
		if err := checkIntermediate(x.c, r.ARK, x.vlek); err != nil {
			return verify.Errorf(verify.ErrConfig, "AMD roots for %s: %s slot: %w", r.Product, x.name, err)
		}
	}
	return nil
}

// checkIntermediate checks that c may certify one kind of key: an AMD
// certificate signed by ark, a CA, and the intermediate of that kind (an ASK
// never certifies a VLEK, an ASVK never a VCEK).
func checkIntermediate(c, ark *x509.Certificate, vlek bool) error {
	if err := checkAMDCert(c, ark); err != nil {
		return err
	}
	if !c.IsCA || !c.BasicConstraintsValid {
		return fmt.Errorf("%q is not a CA", c.Subject.CommonName)
	}
	if isVLEKIntermediate(c) != vlek {
		return fmt.Errorf("%q is the intermediate for the other kind of key", c.Subject.CommonName)
	}
	return nil
}

// checkAMDCert checks that c is an RSA certificate signed by parent with
// RSA-PSS SHA-384, the only algorithm AMD's key hierarchy uses.
func checkAMDCert(c, parent *x509.Certificate) error {
	if c.SignatureAlgorithm != x509.SHA384WithRSAPSS {
		return verify.Errorf(verify.ErrChain, "certificate %q: signature algorithm: expected %s, got %s", c.Subject.CommonName, x509.SHA384WithRSAPSS, c.SignatureAlgorithm)
	}
	if _, ok := parent.PublicKey.(*rsa.PublicKey); !ok {
		return verify.Errorf(verify.ErrChain, "certificate %q: issuer key is %T, expected RSA", parent.Subject.CommonName, parent.PublicKey)
	}
	if !bytes.Equal(c.RawIssuer, parent.RawSubject) {
		return verify.Errorf(verify.ErrChain, "certificate %q: issuer %q is not %q", c.Subject.CommonName, c.Issuer.CommonName, parent.Subject.CommonName)
	}
	if err := c.CheckSignatureFrom(parent); err != nil {
		return verify.Errorf(verify.ErrChain, "certificate %q: not signed by %q: %w", c.Subject.CommonName, parent.Subject.CommonName, err)
	}
	return nil
}

// parseCerts reads certificates from PEM blocks or from one or more
// concatenated DER certificates, framed as splitCerts requires.
func parseCerts(data []byte) ([]*x509.Certificate, error) {
	ders, err := splitCerts(data)
	if err != nil {
		return nil, err
	}
	return pemchain.ParseDER(ders)
}

const (
	maxCertBytes = 256 << 10
	maxCerts     = 8
)
