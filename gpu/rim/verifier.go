package rim

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	_ "embed"
	"encoding/pem"
	"errors"
	"log/slog"
	"time"

	"github.com/trustfactory/attest/internal/certlink"
	"github.com/trustfactory/attest/internal/coalesce"
	"github.com/trustfactory/attest/internal/lru"
	"github.com/trustfactory/attest/verify"
)

//go:embed nvidia_rim_root.pem
var nvidiaRIMRootPEM []byte

// NVIDIARoot returns the pinned NVIDIA CoRIM signing Root CA (P-384, valid
// 2023-03-16..2053-03-08, SHA-256 fingerprint 12:97:7B:51:…:1D:F5:D1), the
// root every NVIDIA RIM signer chains to.
func NVIDIARoot() *x509.Certificate {
	blk, _ := pem.Decode(nvidiaRIMRootPEM)
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		panic("rim: embedded NVIDIA RIM root does not parse: " + err.Error())
	}
	return c
}

// Verifier verifies RIM documents. It is safe for concurrent use; its
// options are fixed at construction.
type Verifier struct {
	roots     *x509.CertPool
	rootCerts []*x509.Certificate
	maxSize   int
	log       *slog.Logger
	cache     *lru.Cache[cacheKey, *Manifest]
	// links remembers verified signer-chain links: NVIDIA's RIM signers
	// share their CAs, so a device's two RIMs need them checked once.
	links *certlink.Cache
	// inflight lets concurrent verifications of the same document at the
	// same time share one (a composite's GPUs all ask for the same RIMs).
	inflight coalesce.Group[*Manifest]
}

type cacheKey struct {
	id  string
	sum [32]byte
}

// Option configures a Verifier.
type Option func(*Verifier) error

// WithRoots replaces the pinned NVIDIA RIM root with roots (for tests and
// private RIM signers). At least one root is required.
func WithRoots(roots ...*x509.Certificate) Option {
	return func(v *Verifier) error {
		if len(roots) == 0 {
			return verify.Errorf(verify.ErrConfig, "rim: WithRoots: no roots")
		}
		v.rootCerts = nil
		for i, r := range roots {
			if r == nil {
				return verify.Errorf(verify.ErrConfig, "rim: WithRoots: root %d is nil", i)
			}
			v.rootCerts = append(v.rootCerts, r)
		}
		return nil
	}
}

// WithLogger sets a logger for debug messages. The default discards them.
func WithLogger(l *slog.Logger) Option {
	return func(v *Verifier) error {
		if l == nil {
			return verify.Errorf(verify.ErrConfig, "rim: WithLogger: nil logger")
		}
		v.log = l
		return nil
	}
}

// WithMaxSize sets the largest RIM document accepted, in bytes (default
// 512 KiB; NVIDIA's are about 20 KiB). Larger documents are ErrLimit.
func WithMaxSize(n int) Option {
	return func(v *Verifier) error {
		if n <= 0 {
			return verify.Errorf(verify.ErrConfig, "rim: WithMaxSize: %d is not positive", n)
		}
		v.maxSize = n
		return nil
	}
}

// WithCacheSize sets how many verified manifests are kept (default 256).
func WithCacheSize(n int) Option {
	return func(v *Verifier) error {
		if n <= 0 {
			return verify.Errorf(verify.ErrConfig, "rim: WithCacheSize: %d is not positive", n)
		}
		v.cache = lru.New[cacheKey, *Manifest](n)
		return nil
	}
}

// NewVerifier returns a Verifier that trusts the pinned NVIDIA RIM root
// unless WithRoots says otherwise.
func NewVerifier(opts ...Option) (*Verifier, error) {
	v := &Verifier{
		rootCerts: []*x509.Certificate{NVIDIARoot()},
		maxSize:   defaultMaxSize,
		log:       slog.New(slog.DiscardHandler),
		cache:     lru.New[cacheKey, *Manifest](256),
	}
	for _, o := range opts {
		if err := o(v); err != nil {
			return nil, err
		}
	}
	v.roots = x509.NewCertPool()
	for _, r := range v.rootCerts {
		v.roots.AddCert(r)
	}
	v.links = certlink.New(64)
	return v, nil
}

// Fetch gets the RIM named id from src, verifies it at now and checks that it
// is the RIM for firmware version (Manifest.Expect). A source that cannot
// deliver the RIM yields ErrCollateral.
func (v *Verifier) Fetch(ctx context.Context, src Source, id, version string, now time.Time) (*Manifest, error) {
	if src == nil {
		return nil, verify.Errorf(verify.ErrConfig, "rim: Fetch %s: nil source", id)
	}
	if err := CheckID(id); err != nil {
		return nil, err
	}
	if version == "" {
		return nil, verify.Errorf(verify.ErrConfig, "rim: Fetch %s: expected version is empty", id)
	}
	doc, err := src.Get(ctx, id)
	if err != nil {
		return nil, verify.Wrap(verify.ErrCollateral, err)
	}
	m, err := v.verify(ctx, id, doc, now)
	if err != nil {
		return nil, err
	}
	if err := m.Expect(id, version); err != nil {
		return nil, err
	}
	return m, nil
}

// Verify checks the RIM document doc at time now (see the package
// documentation for the checks) and returns its manifest, with an empty ID.
// Call Manifest.Expect before using it for a device.
//
// Errors: ErrLimit (size and structure caps), ErrMalformed (XML, DTD, shape,
// attribute values), ErrSignature (missing signature, other algorithms,
// digest or signature mismatch), ErrChain (signer not chaining to a pinned
// root, stray certificates), ErrExpired (a chain certificate is not valid at
// now), ErrUnsupported (entry types this package does not know).
func (v *Verifier) Verify(ctx context.Context, doc []byte, now time.Time) (*Manifest, error) {
	return v.verify(ctx, "", doc, now)
}

func (v *Verifier) verify(ctx context.Context, id string, doc []byte, now time.Time) (*Manifest, error) {
	if err := verify.Canceled(ctx, "rim: verification not started"); err != nil {
		return nil, err
	}
	if now.IsZero() {
		return nil, verify.Errorf(verify.ErrConfig, "rim: verification time is zero")
	}
	if len(doc) > v.maxSize {
		return nil, verify.Errorf(verify.ErrLimit, "rim: document of %d bytes exceeds %d", len(doc), v.maxSize)
	}
	key := cacheKey{id: id, sum: sha256.Sum256(doc)}
	if m, ok := v.cache.Get(key, now); ok && !now.Before(m.NotBefore) {
		c := m.clone()
		return c, nil
	}
	// Concurrent callers with the same ID, bytes and time share one
	// verification; the result is the one the cache would give them.
	flight := string(key.sum[:]) + id + "\x00" + now.UTC().Format(time.RFC3339Nano)
	m, err := v.inflight.Do(flight, func() (*Manifest, error) {
		m, err := v.verifyCold(doc, now)
		if err != nil {
			v.log.DebugContext(ctx, "rim: verification failed", "id", id, "err", err)
			return nil, err
		}
		m.ID = id
		m.Digest = key.sum
		v.cache.Add(key, m, m.NotAfter)
		v.log.DebugContext(ctx, "rim: verified", "id", id, "version", m.Version, "kind", m.Kind, "signer", m.Chain[0].Subject.CommonName)
		return m, nil
	}, func(*Manifest, error) bool { return true })
	if err != nil {
		return nil, err
	}
	return m.clone(), nil
}

func (v *Verifier) verifyCold(doc []byte, now time.Time) (*Manifest, error) {
	// A UTF-8 byte-order mark (an editor's addition) is not part of the
	// signed canonical form.
	doc = bytes.TrimPrefix(doc, []byte("\xef\xbb\xbf"))
	tree, err := parseXML(doc)
	if err != nil {
		return nil, err
	}
	if root := tree.el(tree.root); root.local != "SoftwareIdentity" || root.space != nsSWID {
		return nil, verify.Errorf(verify.ErrMalformed, "rim: root element: expected {%s}SoftwareIdentity, got {%s}%s", nsSWID, root.space, root.local)
	}
	sig, err := checkSignatureShape(tree)
	if err != nil {
		return nil, err
	}
	chain, err := v.verifyChain(sig.certs, now)
	if err != nil {
		return nil, err
	}
	signer := chain[0]
	pub, ok := signer.PublicKey.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P384() {
		return nil, verify.Errorf(verify.ErrSignature, "rim: signer %q key: expected ECDSA P-384, got %T", signer.Subject.CommonName, signer.PublicKey)
	}

	if err := verifyEnveloped(tree, sig, pub); err != nil {
		return nil, err
	}
	// The manifest is read from the tree both canonical forms were written
	// from, the signature now detached: every element and attribute it
	// reads is in the digested bytes, with the namespace they give it.
	m, err := parseManifest(tree)
	if err != nil {
		return nil, err
	}
	m.Chain = chain
	// The cache keeps m until NotAfter: bound it by the embedded certificates
	// too (an embedded copy of the root may be shorter-lived than the pinned
	// one), as the cold path checks them all.
	m.NotBefore, m.NotAfter = validity(append(append([]*x509.Certificate(nil), chain...), sig.certs...))
	return m, nil
}

// verifyChain verifies the embedded certificates at now: certs[0] is the
// signer, the others must be exactly its path to a pinned root, in order; the
// last may be the root itself (the same subject and key as a pinned root).
// It returns the verified chain, signer first, pinned root last.
func (v *Verifier) verifyChain(certs []*x509.Certificate, now time.Time) ([]*x509.Certificate, error) {
	for i, c := range certs {
		if now.Before(c.NotBefore) || now.After(c.NotAfter) {
			return nil, verify.Errorf(verify.ErrExpired, "rim: certificate %d %q valid %s..%s, not at %s",
				i, c.Subject.CommonName, c.NotBefore.UTC().Format(time.RFC3339), c.NotAfter.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
		}
	}
	signer := certs[0]
	if signer.IsCA {
		return nil, verify.Errorf(verify.ErrChain, "rim: signer %q is a CA certificate", signer.Subject.CommonName)
	}
	if signer.KeyUsage != 0 && signer.KeyUsage&x509.KeyUsageDigitalSignature == 0 {
		return nil, verify.Errorf(verify.ErrChain, "rim: signer %q key usage %#x lacks digitalSignature", signer.Subject.CommonName, signer.KeyUsage)
	}
	// The embedded certificates are the path in order, possibly ending with
	// a copy of the pinned root: certlink accepts that path where x509.Verify
	// would, checking each link once per verifier; anything else (and every
	// rejection, for its wording) goes through x509.Verify below.
	if ch := v.fastChain(certs, now); ch != nil {
		return ch, nil
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	chains, err := signer.Verify(x509.VerifyOptions{
		Roots:         v.roots,
		Intermediates: inter,
		CurrentTime:   now,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	})
	if err != nil {
		var inv x509.CertificateInvalidError
		if errors.As(err, &inv) && inv.Reason == x509.Expired {
			return nil, verify.Errorf(verify.ErrExpired, "rim: signer %q chain: %w", signer.Subject.CommonName, err)
		}
		return nil, verify.Errorf(verify.ErrChain, "rim: signer %q does not chain to a pinned RIM root: %w", signer.Subject.CommonName, err)
	}
	for _, ch := range chains {
		if embeddedIsPath(certs, ch) {
			return ch, nil
		}
	}
	return nil, verify.Errorf(verify.ErrChain, "rim: the %d embedded certificates of signer %q are not exactly its path to a pinned root", len(certs), signer.Subject.CommonName)
}

// fastChain returns the verified path of certs to a pinned root, or nil
// when certlink cannot vouch for it. A last certificate with a pinned root's
// subject and key stands for that root and is replaced by it, as
// embeddedIsPath allows; otherwise a pinned root must have issued it.
func (v *Verifier) fastChain(certs []*x509.Certificate, now time.Time) []*x509.Certificate {
	last := certs[len(certs)-1]
	body := certs
	var anchors []*x509.Certificate
	for _, r := range v.rootCerts {
		if string(r.RawSubject) == string(last.RawSubject) && string(r.RawSubjectPublicKeyInfo) == string(last.RawSubjectPublicKeyInfo) {
			anchors = []*x509.Certificate{r}
			body = certs[:len(certs)-1]
			break
		}
		if string(r.RawSubject) == string(last.RawIssuer) {
			anchors = append(anchors, r)
		}
	}
	if len(body) == 0 {
		return nil // the signer is a root: x509.Verify decides
	}
	for _, r := range anchors {
		path := append(append(make([]*x509.Certificate, 0, len(body)+1), body...), r)
		if v.links.Verify(path, now) && embeddedIsPath(certs, path) {
			return path
		}
	}
	return nil
}

// embeddedIsPath reports whether certs is chain, in order, or chain without
// its root, or chain with a root carrying the pinned root's subject and key.
func embeddedIsPath(certs, chain []*x509.Certificate) bool {
	if len(certs) > len(chain) {
		return false
	}
	last := len(chain) - 1
	for i, c := range certs {
		if c.Equal(chain[i]) {
			continue
		}
		if i == last && string(c.RawSubject) == string(chain[i].RawSubject) &&
			string(c.RawSubjectPublicKeyInfo) == string(chain[i].RawSubjectPublicKeyInfo) {
			continue
		}
		return false
	}
	return len(certs) >= last // every certificate below the root is embedded
}

func validity(chain []*x509.Certificate) (notBefore, notAfter time.Time) {
	for i, c := range chain {
		if i == 0 || c.NotBefore.After(notBefore) {
			notBefore = c.NotBefore
		}
		if i == 0 || c.NotAfter.Before(notAfter) {
			notAfter = c.NotAfter
		}
	}
	return notBefore, notAfter
}
