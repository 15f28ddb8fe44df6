package nitro

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"math/big"
	"time"

	"github.com/trustfactory/attest/internal/lru"
	"github.com/trustfactory/attest/verify"
)

// Format is the evidence format of an AWS Nitro Enclaves attestation
// document. Neither Trustee nor Veraison has a Nitro verifier, so there is no
// established name to match; "aws-nitro" follows the vendor-first style of
// "az-snp-vtpm" and "nvidia-gpu".
const Format = verify.FormatNitro

// Field names the document field that carries the session's report data.
type Field string

// The caller-controlled fields that can bind a document to a session.
const (
	// FieldUserData binds through user_data (the default; Dstack and most
	// SDKs put the session's report data there).
	FieldUserData Field = "user_data"
	// FieldNonce binds through nonce.
	FieldNonce Field = "nonce"
)

// Defaults for the time checks.
const (
	// DefaultMaxAge is how old a document may be at the verification time
	// (Dstack's nsm-qvl uses the same hour).
	DefaultMaxAge = time.Hour
	// DefaultClockSkew is how far in the future a document's timestamp may
	// be, for clocks that disagree (nsm-qvl: 300 s).
	DefaultClockSkew = 5 * time.Minute
	// defaultCacheSize bounds the cache of verified certificate chains.
	defaultCacheSize = 1024
)

// Verifier verifies NSM attestation documents. It is immutable after
// NewVerifier and safe for concurrent use.
type Verifier struct {
	root     *x509.Certificate
	rootSPKI [32]byte // SHA-256 of the pinned root's SubjectPublicKeyInfo
	field    Field
	maxAge   time.Duration
	skew     time.Duration
	chains   *lru.Cache[[32]byte, *verifiedChain]

	// set records options given, so that a contradiction is an error.
	set map[string]bool
}

// Option configures a Verifier.
type Option func(*Verifier) error

func (v *Verifier) once(name string) error {
	if v.set[name] {
		return verify.Errorf(verify.ErrConfig, "nitro: option %s given twice", name)
	}
	v.set[name] = true
	return nil
}

// WithRoot pins root instead of the embedded AWS Nitro Enclaves Root-G1
// (for a test PKI such as package nitrotest's). It must be a self-signed CA.
// The cabundle's first certificate must carry the same public key; it is
// never trusted itself.
func WithRoot(root *x509.Certificate) Option {
	return func(v *Verifier) error {
		if err := v.once("WithRoot"); err != nil {
			return err
		}
		if root == nil {
			return verify.Errorf(verify.ErrConfig, "nitro: nil root")
		}
		if err := checkRoot(root); err != nil {
			return err
		}
		v.root = root
		return nil
	}
}

// WithReportDataField names the field Expectations.ReportData is compared
// with: FieldUserData (default) or FieldNonce. The expected value must be
// the field's first bytes and the rest of the field zero, as for the other
// TEEs' report data.
func WithReportDataField(f Field) Option {
	return func(v *Verifier) error {
		if err := v.once("WithReportDataField"); err != nil {
			return err
		}
		if f != FieldUserData && f != FieldNonce {
			return verify.Errorf(verify.ErrConfig, "nitro: report-data field %q, expected %q or %q", f, FieldUserData, FieldNonce)
		}
		v.field = f
		return nil
	}
}

// WithMaxAge sets how old a document's timestamp may be at the verification
// time (default DefaultMaxAge). To verify an archived document, set
// Expectations.Now to its timestamp instead of widening this.
func WithMaxAge(d time.Duration) Option {
	return func(v *Verifier) error {
		if err := v.once("WithMaxAge"); err != nil {
			return err
		}
		if d <= 0 {
			return verify.Errorf(verify.ErrConfig, "nitro: maximum age %v, expected a positive duration", d)
		}
		v.maxAge = d
		return nil
	}
}

// WithClockSkew sets how far past the verification time a document's
// timestamp may be (default DefaultClockSkew). Zero allows none.
func WithClockSkew(d time.Duration) Option {
	return func(v *Verifier) error {
		if err := v.once("WithClockSkew"); err != nil {
			return err
		}
		if d < 0 {
			return verify.Errorf(verify.ErrConfig, "nitro: clock skew %v, expected zero or more", d)
		}
		v.skew = d
		return nil
	}
}

// WithCacheSize bounds the cache of verified certificate chains (default
// 1024 chains; NSM's leaf certificates live about 3 hours).
func WithCacheSize(n int) Option {
	return func(v *Verifier) error {
		if err := v.once("WithCacheSize"); err != nil {
			return err
		}
		if n < 1 {
			return verify.Errorf(verify.ErrConfig, "nitro: cache size %d, expected at least 1", n)
		}
		v.chains = lru.New[[32]byte, *verifiedChain](n)
		return nil
	}
}

// NewVerifier returns a Verifier pinned to the embedded AWS root unless
// WithRoot says otherwise. An option given twice, or a clock skew not
// smaller than the maximum age, is an ErrConfig error.
func NewVerifier(opts ...Option) (*Verifier, error) {
	v := &Verifier{field: FieldUserData, maxAge: DefaultMaxAge, skew: DefaultClockSkew, set: map[string]bool{}}
	for _, o := range opts {
		if o == nil {
			return nil, verify.Errorf(verify.ErrConfig, "nitro: nil option")
		}
		if err := o(v); err != nil {
			return nil, err
		}
	}
	if v.skew >= v.maxAge {
		return nil, verify.Errorf(verify.ErrConfig, "nitro: clock skew %v is not below the maximum age %v", v.skew, v.maxAge)
	}
	if v.root == nil {
		r, err := DefaultRoot()
		if err != nil {
			return nil, err
		}
		v.root = r
	}
	v.rootSPKI = sha256.Sum256(v.root.RawSubjectPublicKeyInfo)
	if v.chains == nil {
		v.chains = lru.New[[32]byte, *verifiedChain](defaultCacheSize)
	}
	v.set = nil // read only from here on
	return v, nil
}

// Format implements verify.Verifier.
func (v *Verifier) Format() verify.Format { return Format }

// Detect implements verify.Detector: a COSE_Sign1 (untagged or tag 18)
// whose protected header is NSM's {1: -35} and whose payload map starts
// with module_id, as NSM writes it.
func (v *Verifier) Detect(b []byte) bool { return Detect(b) }

// Detect reports whether b looks like an NSM attestation document. It reads
// only the first bytes.
func Detect(b []byte) bool {
	if len(b) > 0 && b[0] == 0xd2 {
		b = b[1:]
	}
	head := []byte{0x84, 0x44, 0xa1, 0x01, 0x38, 0x22}
	if !bytes.HasPrefix(b, head) {
		return false
	}
	// The unprotected map and the payload's byte-string header follow;
	// the payload's map names module_id first in NSM's encoding.
	return bytes.Contains(b[len(head):min(len(b), len(head)+32)], []byte("\x69module_id"))
}

// Verify implements verify.Verifier: it parses evidence (a bare COSE_Sign1
// document), verifies its certificate chain to the pinned root and its
// ES384 signature, checks its timestamp and binding at exp.Time(), and
// returns *Claims. The report data is compared with the field chosen by
// WithReportDataField; a mismatch or an absent field is ErrFreshness, an
// empty expectation ErrConfig (unless AllowMissingReportDataUnsafe). NSM
// documents have no init-data field, so a set exp.InitDataDigest is
// ErrConfig rather than silently unchecked.
func (v *Verifier) Verify(ctx context.Context, evidence []byte, exp verify.Expectations) (verify.Claims, error) {
	c, err := v.VerifyDocument(ctx, evidence, exp)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// VerifyDocument is Verify with its concrete result type.
func (v *Verifier) VerifyDocument(ctx context.Context, evidence []byte, exp verify.Expectations) (*Claims, error) {
	if err := ctx.Err(); err != nil {
		return nil, verify.Wrap(verify.ErrConfig, err)
	}
	if exp.InitDataDigest != nil {
		return nil, verify.Errorf(verify.ErrConfig, "nitro: an init-data digest of %d bytes is expected, but NSM documents have no init-data field", len(exp.InitDataDigest))
	}
	d, err := ParseDocument(evidence)
	if err != nil {
		return nil, err
	}
	now := exp.Time()
	ch, err := v.chain(d, now)
	if err != nil {
		return nil, err
	}
	if err := d.checkSignature(ch.key); err != nil {
		return nil, err
	}
	if err := v.checkTime(d, ch, now); err != nil {
		return nil, err
	}
	bound := d.field(v.field)
	if err := exp.CheckReportData(string(v.field), bound); err != nil {
		return nil, err
	}
	return &Claims{
		ModuleID:          d.ModuleID,
		Digest:            d.Digest,
		Timestamp:         d.Timestamp,
		PCRs:              d.PCRs,
		PublicKey:         d.PublicKey,
		UserData:          d.UserData,
		Nonce:             d.Nonce,
		Debug:             d.Debug(),
		Signer:            ch.certs[0].Subject.CommonName,
		ChainNotAfter:     ch.notAfter,
		ReportDataField:   v.field,
		ReportDataChecked: len(exp.ReportData) > 0,
	}, nil
}

func (d *Document) field(f Field) []byte {
	if f == FieldNonce {
		return d.Nonce
	}
	return d.UserData
}

// checkSignature verifies the ES384 signature over the Sig_structure.
func (d *Document) checkSignature(key *ecdsa.PublicKey) error {
	h := sha512.New384()
	d.sigStructure(h)
	r := new(big.Int).SetBytes(d.signature[:48])
	s := new(big.Int).SetBytes(d.signature[48:])
	if !ecdsa.Verify(key, h.Sum(nil), r, s) {
		return verify.Errorf(verify.ErrSignature, "nitro document: ES384 signature does not verify under certificate %x…", d.Certificate[:min(len(d.Certificate), 8)])
	}
	return nil
}

// checkTime requires the signed timestamp to fall inside the leaf's
// validity (NSM signs with a fresh leaf; a timestamp outside it means the
// clock or the key is wrong), at most skew after now and at most maxAge
// before it. All three are ErrExpired: the document is not valid at now.
func (v *Verifier) checkTime(d *Document, ch *verifiedChain, now time.Time) error {
	leaf := ch.certs[0]
	ts := d.Timestamp
	if ts.Before(leaf.NotBefore) || ts.After(leaf.NotAfter) {
		return verify.Errorf(verify.ErrExpired, "nitro document: timestamp %s is outside its certificate's validity %s–%s",
			stamp(ts), stamp(leaf.NotBefore), stamp(leaf.NotAfter))
	}
	if ts.After(now.Add(v.skew)) {
		return verify.Errorf(verify.ErrExpired, "nitro document: timestamp %s is more than %v after the verification time %s", stamp(ts), v.skew, stamp(now))
	}
	if now.Sub(ts) > v.maxAge {
		return verify.Errorf(verify.ErrExpired, "nitro document: timestamp %s is more than %v before the verification time %s", stamp(ts), v.maxAge, stamp(now))
	}
	return nil
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z07:00") }

// verifiedChain is a leaf certificate whose chain, cabundle[1:] up to the
// pinned root, verified. It is cached by the hash of the exact DER bytes
// and the pinned root; validity is re-checked against the caller's time on
// every use, since callers may verify at any time.
type verifiedChain struct {
	certs    []*x509.Certificate // leaf, intermediates (nearest first), root
	key      *ecdsa.PublicKey    // the leaf's P-384 key
	notAfter time.Time           // earliest NotAfter in the chain
}

// chain returns d's verified chain at now, from the cache when it is there.
func (v *Verifier) chain(d *Document, now time.Time) (*verifiedChain, error) {
	k := v.chainKey(d)
	if ch, ok := v.chains.Get(k, now); ok {
		// The cache checked only the earliest NotAfter; check each window.
		if err := validity(ch.certs, now); err != nil {
			return nil, err
		}
		return ch, nil
	}
	ch, err := v.verifyChain(d, now)
	if err != nil {
		return nil, err
	}
	v.chains.Add(k, ch, ch.notAfter)
	return ch, nil
}

// chainKey hashes the pinned root's key and every certificate's DER, each
// length-prefixed so that no two splits of the same bytes share a key.
func (v *Verifier) chainKey(d *Document) (k [32]byte) {
	h := sha256.New()
	h.Write(v.rootSPKI[:])
	writeLen(h, d.Certificate)
	for _, c := range d.CABundle {
		writeLen(h, c)
	}
	h.Sum(k[:0])
	return k
}

func writeLen(h interface{ Write([]byte) (int, error) }, b []byte) {
	n := len(b)
	h.Write([]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
	h.Write(b)
}

// verifyChain checks leaf ← cabundle[N] ← … ← cabundle[1] ← pinned root at
// now. cabundle[0] must carry the pinned root's key and is not used
// otherwise: nothing that arrives with the document is a root.
func (v *Verifier) verifyChain(d *Document, now time.Time) (*verifiedChain, error) {
	leaf, err := x509.ParseCertificate(d.Certificate)
	if err != nil {
		return nil, verify.Errorf(verify.ErrMalformed, "nitro document: certificate: %w", err)
	}
	bundle := make([]*x509.Certificate, len(d.CABundle))
	for i, der := range d.CABundle {
		if bundle[i], err = x509.ParseCertificate(der); err != nil {
			return nil, verify.Errorf(verify.ErrMalformed, "nitro document: cabundle[%d]: %w", i, err)
		}
	}
	if got := sha256.Sum256(bundle[0].RawSubjectPublicKeyInfo); got != v.rootSPKI {
		return nil, verify.Errorf(verify.ErrChain, "nitro document: cabundle[0] %q (key SHA-256 %x) is not the pinned root %q (key SHA-256 %x)",
			bundle[0].Subject.CommonName, got, v.root.Subject.CommonName, v.rootSPKI)
	}
	// The chain as the document orders it: leaf, then the bundle from its
	// end, then the pinned root in place of cabundle[0].
	certs := make([]*x509.Certificate, 0, len(bundle)+1)
	certs = append(certs, leaf)
	for i := len(bundle) - 1; i >= 1; i-- {
		certs = append(certs, bundle[i])
	}
	certs = append(certs, v.root)
	if err := validity(certs, now); err != nil {
		return nil, err
	}
	inter := x509.NewCertPool()
	for _, c := range bundle[1:] {
		inter.AddCert(c)
	}
	roots := x509.NewCertPool()
	roots.AddCert(v.root)
	// NSM leaves carry no extended key usage; ExtKeyUsageAny accepts that.
	// x509.Verify adds path-length, name-constraint and critical-extension
	// checks to the signatures.
	paths, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	if err != nil {
		return nil, verify.Errorf(verify.ErrChain, "nitro document: certificate %q does not chain to the pinned root %q through the cabundle: %w",
			leaf.Subject.CommonName, v.root.Subject.CommonName, err)
	}
	if !hasPath(paths, certs) {
		// Every bundle certificate must be on the path, in order: one left
		// over is unverified bytes the document vouches for.
		return nil, verify.Errorf(verify.ErrChain, "nitro document: the cabundle of %d certificates is not the exact path from certificate %q to the root",
			len(bundle), leaf.Subject.CommonName)
	}
	if leaf.IsCA {
		return nil, verify.Errorf(verify.ErrChain, "nitro document: certificate %q is a CA, expected an end-entity certificate", leaf.Subject.CommonName)
	}
	if leaf.KeyUsage != 0 && leaf.KeyUsage&x509.KeyUsageDigitalSignature == 0 {
		return nil, verify.Errorf(verify.ErrChain, "nitro document: certificate %q key usage %#x lacks digitalSignature", leaf.Subject.CommonName, leaf.KeyUsage)
	}
	key, ok := leaf.PublicKey.(*ecdsa.PublicKey)
	if !ok || key.Curve != elliptic.P384() {
		return nil, verify.Errorf(verify.ErrUnsupported, "nitro document: certificate %q has a %T key, expected ECDSA P-384 for ES384", leaf.Subject.CommonName, leaf.PublicKey)
	}
	ch := &verifiedChain{certs: certs, key: key, notAfter: certs[0].NotAfter}
	for _, c := range certs[1:] {
		if c.NotAfter.Before(ch.notAfter) {
			ch.notAfter = c.NotAfter
		}
	}
	return ch, nil
}

// hasPath reports whether one of paths is exactly want.
func hasPath(paths [][]*x509.Certificate, want []*x509.Certificate) bool {
	for _, p := range paths {
		if len(p) != len(want) {
			continue
		}
		same := true
		for i := range p {
			same = same && p[i].Equal(want[i])
		}
		if same {
			return true
		}
	}
	return false
}

// validity returns ErrExpired naming the first certificate of certs that is
// not valid at now.
func validity(certs []*x509.Certificate, now time.Time) error {
	for _, c := range certs {
		if now.Before(c.NotBefore) || now.After(c.NotAfter) {
			return verify.Errorf(verify.ErrExpired, "nitro certificate %q is valid %s–%s, verification time %s",
				c.Subject.CommonName, stamp(c.NotBefore), stamp(c.NotAfter), stamp(now))
		}
	}
	return nil
}
