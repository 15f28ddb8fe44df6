package snp

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"log/slog"
	"maps"
	"math/big"
	"slices"
	"time"

	"github.com/trustfactory/attest/internal/lru"
	"github.com/trustfactory/attest/verify"
)

// Verifier verifies SEV-SNP attestation reports. It implements
// verify.Verifier and verify.Detector, is immutable after NewVerifier and is
// safe for concurrent use.
type Verifier struct {
	roots        map[Product]Roots // pinned.roots
	pinned       *pinnedSet
	trusted      []Roots    // as given to WithTrustedRoots, checked (and copied) by NewVerifier
	rootCache    *RootCache // WithRootCache; nil: the trusted roots are checked per verifier
	source       Source
	product      Product
	noRevocation bool
	log          *slog.Logger

	chains *lru.Cache[[32]byte, *verifiedChain]
	crls   *lru.Cache[[32]byte, *verifiedCRL]
	roles  *lru.Cache[[32]byte, string] // certificate hash → role
	names  *lru.Cache[[32]byte, string] // endorsement certificate hash → product name
	inters *lru.Cache[[32]byte, []byte] // KDS cert_chain (with ARK and key kind) → its intermediate
}

// Option configures a Verifier.
type Option func(*Verifier) error

// WithKDS sets where VCEKs and CRLs come from when the evidence does not
// carry them: an *HTTPSource (AMD KDS), an *FSSource (an offline store), a
// *MemorySource or any Source.
func WithKDS(src Source) Option {
	return func(v *Verifier) error {
		if src == nil {
			return verify.Errorf(verify.ErrConfig, "snp: nil collateral source")
		}
		v.source = src
		return nil
	}
}

// WithProduct names the product line of the reports this verifier sees. It
// is needed for version-2 reports, which carry no CPUID, when the evidence
// has no VCEK naming the product; a report or certificate that names a
// different product is rejected with verify.ErrBinding.
func WithProduct(p Product) Option {
	return func(v *Verifier) error {
		parsed, err := ParseProduct(string(p))
		if err != nil || p == ProductUnknown {
			return verify.Errorf(verify.ErrConfig, "snp: product %q: expected one of %v", p, products)
		}
		v.product = parsed
		return nil
	}
}

// WithTrustedRoots replaces the embedded AMD roots: only the products given
// are trusted, each with the given ARK, ASK and ASVK. NewVerifier checks
// them as ParseRoots does (refusing bad ones with verify.ErrConfig) and keeps
// its own copy, parsed from the certificates' DER; with WithRootCache it
// skips the checks for a root set whose exact bytes passed them before.
func WithTrustedRoots(roots ...Roots) Option {
	return func(v *Verifier) error {
		if len(roots) == 0 {
			return verify.Errorf(verify.ErrConfig, "snp: WithTrustedRoots without roots")
		}
		seen := make(map[Product]bool, len(roots))
		for _, r := range roots {
			if seen[r.Product] {
				return verify.Errorf(verify.ErrConfig, "snp: two root sets for %s", r.Product)
			}
			seen[r.Product] = true
		}
		v.trusted = slices.Clone(roots)
		return nil
	}
}

// WithRootCache shares c between verifiers so that the roots of
// WithTrustedRoots are checked once per distinct root set rather than once
// per verifier (see RootCache). It has no effect with the embedded roots,
// which are checked once per process.
func WithRootCache(c *RootCache) Option {
	return func(v *Verifier) error {
		if c == nil {
			return verify.Errorf(verify.ErrConfig, "snp: nil root cache")
		}
		v.rootCache = c
		return nil
	}
}

// UnsafeWithoutRevocation is the unsafe switch of WithoutRevocationUnsafe,
// as the claims report it (Claims.UnsafeSwitches).
const UnsafeWithoutRevocation verify.UnsafeSwitch = "snp.WithoutRevocationUnsafe"

// WithoutRevocationUnsafe skips the CRL check of the ASK/ASVK. A revoked
// AMD intermediate would then go unnoticed; the claims record the choice
// (revocation_checked=false, UnsafeWithoutRevocation).
func WithoutRevocationUnsafe() Option {
	return func(v *Verifier) error {
		v.noRevocation = true
		return nil
	}
}

// WithLogger sets a logger for debug messages; the default is silent.
func WithLogger(l *slog.Logger) Option {
	return func(v *Verifier) error {
		if l != nil {
			v.log = l
		}
		return nil
	}
}

// WithCacheSize bounds the caches of verified certificate chains and CRLs
// (entries each; default 1024).
func WithCacheSize(n int) Option {
	return func(v *Verifier) error {
		if n < 1 {
			return verify.Errorf(verify.ErrConfig, "snp: cache size %d: expected at least 1", n)
		}
		v.chains = lru.New[[32]byte, *verifiedChain](n)
		v.crls = lru.New[[32]byte, *verifiedCRL](n)
		v.roles = lru.New[[32]byte, string](n)
		v.names = lru.New[[32]byte, string](n)
		v.inters = lru.New[[32]byte, []byte](n)
		return nil
	}
}

// NewVerifier returns a Verifier with the embedded AMD roots for Milan,
// Genoa and Turin unless WithTrustedRoots replaces them. Without WithKDS the
// evidence must carry the VCEK or VLEK, and the revocation check (on by
// default) fails with verify.ErrCollateral for want of a CRL.
func NewVerifier(opts ...Option) (*Verifier, error) {
	v := &Verifier{log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		if err := o(v); err != nil {
			return nil, err
		}
	}
	if v.trusted == nil {
		// The embedded roots are parsed and checked once per process.
		set, err := embeddedPinned()
		if err != nil {
			return nil, err
		}
		v.pinned = set
	} else {
		// Roots from WithTrustedRoots are checked per verifier, or once
		// per distinct root set with WithRootCache.
		m := make(map[Product]Roots, len(v.trusted))
		for _, r := range v.trusted {
			cp, err := v.rootCache.checked(r)
			if err != nil {
				return nil, err
			}
			m[r.Product] = cp
		}
		v.pinned = newPinnedSet(m)
		v.trusted = nil
	}
	v.roots = v.pinned.roots
	if _, trusted := v.roots[v.product]; v.product != ProductUnknown && !trusted {
		// Every report of the product would fail for want of its roots.
		return nil, verify.Errorf(verify.ErrConfig, "snp: WithProduct(%s) and WithTrustedRoots for %v contradict each other: no roots for %s", v.product, slices.Sorted(maps.Keys(v.roots)), v.product)
	}
	if v.chains == nil {
		v.chains = lru.New[[32]byte, *verifiedChain](1024)
		v.crls = lru.New[[32]byte, *verifiedCRL](1024)
		v.roles = lru.New[[32]byte, string](1024)
		v.names = lru.New[[32]byte, string](1024)
		v.inters = lru.New[[32]byte, []byte](1024)
	}
	return v, nil
}

// Format implements verify.Verifier.
func (v *Verifier) Format() verify.Format { return verify.FormatSNP }

// Detect implements verify.Detector: a raw report (optionally followed by a
// certificate table) of a supported version, or Trustee's JSON evidence.
func (v *Verifier) Detect(b []byte) bool {
	t := bytes.TrimLeft(b, " \t\r\n")
	if len(t) > 0 && t[0] == '{' {
		return len(b) <= MaxEvidenceSize && bytes.Contains(t, []byte(`"attestation_report"`))
	}
	if len(b) < ReportSize {
		return false
	}
	ver := binary.LittleEndian.Uint32(b[0x00:])
	alg := binary.LittleEndian.Uint32(b[0x34:])
	return ver >= MinReportVersion && ver <= MaxReportVersion && alg == SigAlgoECDSAP384SHA384
}

// Verify implements verify.Verifier for any encoding DecodeEvidence accepts.
func (v *Verifier) Verify(ctx context.Context, evidence []byte, exp verify.Expectations) (verify.Claims, error) {
	ev, err := DecodeEvidence(evidence)
	if err != nil {
		return nil, err
	}
	c, err := v.VerifyEvidence(ctx, ev, exp)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// VerifyReport verifies a raw report whose certificates (VCEK or VLEK, and
// optionally the ASK/ASVK and ARK) were delivered separately, as PEM or
// concatenated DER; certs may be empty when the Source supplies the VCEK.
func (v *Verifier) VerifyReport(ctx context.Context, report, certs []byte, exp verify.Expectations) (*Claims, error) {
	r, err := ParseReport(report)
	if err != nil {
		return nil, err
	}
	ev := &Evidence{Report: r}
	if len(certs) > 0 {
		ders, err := splitCerts(certs)
		if err != nil {
			return nil, err
		}
		for _, der := range ders {
			role, err := v.roleOf(der)
			if err != nil {
				return nil, err
			}
			if err := ev.add(role, der); err != nil {
				return nil, err
			}
		}
	}
	return v.VerifyEvidence(ctx, ev, exp)
}

// roleOf classifies a certificate by its subject, remembering the answer by
// the hash of its bytes so that a certificate seen before is not re-parsed.
func (v *Verifier) roleOf(der []byte) (string, error) {
	k := sha256.Sum256(der)
	if role, ok := v.roles.Get(k, time.Time{}); ok {
		return role, nil
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return "", verify.Errorf(verify.ErrMalformed, "certificate: %w", err)
	}
	role := certRole(c)
	v.roles.Add(k, role, time.Time{})
	return role, nil
}

// VerifyEvidence verifies decoded evidence. On any error the claims are nil.
func (v *Verifier) VerifyEvidence(ctx context.Context, ev *Evidence, exp verify.Expectations) (*Claims, error) {
	if ev == nil || ev.Report == nil {
		return nil, verify.Errorf(verify.ErrConfig, "snp: no report to verify")
	}
	if err := verify.Canceled(ctx, "snp: verification not started"); err != nil {
		return nil, err
	}
	// Re-parse from the raw bytes: the exported fields of a Report could have
	// been changed since it was parsed, and claims must come only from the
	// bytes the signature covers.
	r, err := ParseReport(ev.Report.Raw())
	if err != nil {
		return nil, err
	}
	now := exp.Time()
	ctx = withNow(ctx, now)
	key := r.SigningKey()

	product, err := v.productOf(r)
	if err != nil {
		return nil, err
	}

	// Signer selection follows SIGNING_KEY, never what the evidence offers.
	vekDER, err := v.endorsementDER(ctx, ev, r, key, &product)
	if err != nil {
		return nil, err
	}
	roots, ok := v.roots[product]
	if !ok {
		return nil, verify.Errorf(verify.ErrChain, "no trusted AMD roots for product %s (trusted: %v)", product, v.trustedProducts())
	}
	if ev.ARK != nil && !bytes.Equal(ev.ARK, roots.ARK.Raw) {
		return nil, verify.Errorf(verify.ErrChain, "ARK in the evidence differs from the pinned %s ARK (%q): roots come only from configuration", product, roots.ARK.Subject.CommonName)
	}
	inter := evidenceIntermediate(ev, key)
	if inter == nil && roots.intermediate(key) == nil {
		if inter, err = v.fetchIntermediate(ctx, roots, key); err != nil {
			return nil, err
		}
	}
	chain, err := v.chain(roots, key, vekDER, inter, now)
	if err != nil {
		return nil, err
	}
	if chain.vek.productName != "" {
		if p, err := ParseProduct(chain.vek.productName); err != nil || p != product {
			return nil, verify.Errorf(verify.ErrBinding, "%s product name: expected %s, certificate says %q", key, product, chain.vek.productName)
		}
	}

	revocationChecked := false
	notAfter := chain.notAfter
	if !v.noRevocation {
		next, err := v.checkRevocation(ctx, roots, key, chain.intermediate, now)
		if err != nil {
			return nil, err
		}
		revocationChecked = true
		if next.Before(notAfter) {
			notAfter = next
		}
	}

	// The signature comes first: until it verifies, no report field (TCB,
	// CHIP_ID) is worth comparing.
	if err := verifyReportSignature(chain.vek.pub, r); err != nil {
		return nil, err
	}
	if err := bindEndorsement(chain.vek, r, product); err != nil {
		return nil, err
	}
	if err := exp.CheckReportData("report_data", r.ReportData[:]); err != nil {
		return nil, err
	}
	if err := exp.CheckInitData("host_data", r.HostData[:]); err != nil {
		return nil, err
	}
	c := newClaims(r, product, chain, revocationChecked, exp.InitDataDigest != nil, len(exp.ReportData) > 0)
	c.NotAfter = notAfter
	return c, nil
}

func (v *Verifier) trustedProducts() []Product {
	var out []Product
	for _, p := range products {
		if _, ok := v.roots[p]; ok {
			out = append(out, p)
		}
	}
	return out
}

// productOf takes the product from the report's CPUID (v3+), checks it
// against WithProduct, and falls back to WithProduct. ProductUnknown means
// the endorsement certificate must name it.
func (v *Verifier) productOf(r *Report) (Product, error) {
	if r.HasCPUID() {
		p, err := ProductFromCPUID(r.CPUIDFamily, r.CPUIDModel)
		if err != nil {
			return ProductUnknown, err
		}
		if v.product != ProductUnknown && v.product != p {
			return ProductUnknown, verify.Errorf(verify.ErrBinding, "product: configured %s, report CPUID (family %#x model %#x) says %s", v.product, r.CPUIDFamily, r.CPUIDModel, p)
		}
		return p, nil
	}
	return v.product, nil
}

// endorsementDER picks the VCEK or VLEK named by SIGNING_KEY from the
// evidence or, for a VCEK, from the source. An unknown product is resolved
// from the certificate's product-name extension (authenticated later by the
// chain to that product's pinned ARK).
func (v *Verifier) endorsementDER(ctx context.Context, ev *Evidence, r *Report, key SigningKey, product *Product) ([]byte, error) {
	var der, other []byte
	if key == SigningKeyVLEK {
		der, other = ev.VLEK, ev.VCEK
	} else {
		der, other = ev.VCEK, ev.VLEK
	}
	if der != nil {
		if *product == ProductUnknown {
			name, err := v.productNameOf(der, key)
			if err != nil {
				return nil, err
			}
			if name == "" {
				return nil, verify.Errorf(verify.ErrConfig, "product unknown: report v%d has no CPUID, the %s names no product, and no WithProduct was given", r.Version, key)
			}
			if *product, err = ParseProduct(name); err != nil {
				return nil, err
			}
		}
		return der, nil
	}
	if key == SigningKeyVLEK {
		return nil, verify.Errorf(verify.ErrChain, "report is signed by a VLEK (signer_info.signing_key=1) but the evidence carries no VLEK certificate (VCEK present: %t); VLEKs cannot be fetched by chip", other != nil)
	}
	if v.source == nil {
		if other != nil {
			return nil, verify.Errorf(verify.ErrBinding, "report is signed by a VCEK (signer_info.signing_key=0) but the evidence carries only a VLEK certificate")
		}
		return nil, verify.Errorf(verify.ErrCollateral, "report is signed by a VCEK, the evidence carries none and no collateral source is configured (WithKDS)")
	}
	if *product == ProductUnknown {
		return nil, verify.Errorf(verify.ErrConfig, "product unknown: report v%d has no CPUID and no WithProduct was given, so the VCEK cannot be fetched", r.Version)
	}
	if allZero(r.ChipID[:]) {
		return nil, verify.Errorf(verify.ErrCollateral, "chip_id is masked (all zero): the VCEK cannot be fetched by chip; supply it with the evidence")
	}
	hwid := hwidForKDS(*product, r.ChipID[:])
	tcb := DecodeTCB(*product, r.ReportedTCB)
	der, err := v.source.VCEK(ctx, *product, hwid, tcb)
	if err != nil {
		return nil, verify.Wrap(verify.ErrCollateral, err)
	}
	return der, nil
}

// fetchIntermediate gets the ASK or ASVK from a ChainSource when neither the
// pinned roots nor the evidence carry it. It is verified like one from the
// evidence: only the pinned ARK can make it trusted.
func (v *Verifier) fetchIntermediate(ctx context.Context, roots Roots, key SigningKey) ([]byte, error) {
	cs, ok := v.source.(ChainSource)
	if !ok {
		return nil, verify.Errorf(verify.ErrChain, "no pinned %s intermediate for %s keys and none in the evidence", roots.Product, key)
	}
	b, err := cs.CertChain(ctx, roots.Product, key)
	if err != nil {
		return nil, verify.Wrap(verify.ErrCollateral, err)
	}
	if len(b) > maxCertBytes { // before hashing it for the cache key
		return nil, verify.Errorf(verify.ErrCollateral, "%s cert_chain: %d bytes exceeds the limit of %d", roots.Product, len(b), maxCertBytes)
	}
	// The chain is read once per distinct cert_chain, ARK and key kind.
	k := v.cacheKey(roots, key, b)
	if inter, ok := v.inters.Get(k, time.Time{}); ok {
		return inter, nil
	}
	certs, err := parseCerts(b)
	if err != nil {
		return nil, verify.Errorf(verify.ErrCollateral, "%s cert_chain: %w", roots.Product, err)
	}
	var inter []byte
	for _, c := range certs {
		if bytes.Equal(c.RawSubject, c.RawIssuer) {
			if !bytes.Equal(c.Raw, roots.ARK.Raw) {
				return nil, verify.Errorf(verify.ErrChain, "%s cert_chain: its ARK differs from the pinned ARK", roots.Product)
			}
			continue
		}
		if inter != nil {
			return nil, verify.Errorf(verify.ErrCollateral, "%s cert_chain: more than one intermediate", roots.Product)
		}
		inter = c.Raw
	}
	if inter == nil {
		return nil, verify.Errorf(verify.ErrCollateral, "%s cert_chain: no intermediate", roots.Product)
	}
	v.inters.Add(k, inter, time.Time{})
	return inter, nil
}

// productNameOf reads the product-name extension of an endorsement
// certificate, remembered by the hash of its bytes. The name only selects
// which pinned roots the chain must lead to.
func (v *Verifier) productNameOf(der []byte, key SigningKey) (string, error) {
	k := sha256.Sum256(der)
	if name, ok := v.names.Get(k, time.Time{}); ok {
		return name, nil
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return "", verify.Errorf(verify.ErrMalformed, "%s certificate: %w", key, err)
	}
	e, err := parseEndorsement(c)
	if err != nil {
		return "", err
	}
	v.names.Add(k, e.productName, time.Time{})
	return e.productName, nil
}

// evidenceIntermediate returns the ASK (VCEK) or ASVK (VLEK) the evidence
// carries, if any; the GHCB table may carry an ASVK in the ASK slot.
func evidenceIntermediate(ev *Evidence, key SigningKey) []byte {
	if key == SigningKeyVLEK {
		if ev.ASVK != nil {
			return ev.ASVK
		}
		return ev.ASK
	}
	return ev.ASK
}

// verifiedChain is an endorsement key whose chain to a pinned ARK verified.
// It is cached by the hash of the exact bytes involved and re-checked
// against the caller's time on every use.
type verifiedChain struct {
	vek          *endorsement
	intermediate *x509.Certificate
	notBefore    time.Time // latest NotBefore in the chain
	notAfter     time.Time // earliest NotAfter in the chain
}

func (v *Verifier) chain(roots Roots, key SigningKey, vekDER, interDER []byte, now time.Time) (*verifiedChain, error) {
	ck := v.cacheKey(roots, key, vekDER, interDER)
	if c, ok := v.chains.Get(ck, now); ok {
		if now.Before(c.notBefore) {
			return nil, verify.Errorf(verify.ErrChain, "%s chain: %w", key, verify.Errorf(verify.ErrExpired, "not valid before %s, verification time %s", c.notBefore.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339)))
		}
		return c, nil
	}
	c, err := verifyChain(roots, key, vekDER, interDER)
	if err != nil {
		return nil, err
	}
	v.log.Debug("snp: verified endorsement chain", "product", roots.Product, "key", key.String(),
		"subject", c.vek.cert.Subject.CommonName, "notAfter", c.notAfter)
	for _, cert := range []*x509.Certificate{c.vek.cert, c.intermediate, roots.ARK} {
		if err := validity(cert, now); err != nil {
			return nil, err
		}
	}
	v.chains.Add(ck, c, c.notAfter)
	return c, nil
}

// cacheKey keys a cache entry that depends on the pinned ARK of roots, a key
// kind and the exact bytes of parts, each length-prefixed so that no two
// splits of the same bytes share a key.
func (v *Verifier) cacheKey(roots Roots, kind SigningKey, parts ...[]byte) (k [32]byte) {
	h := sha256.New()
	h.Write([]byte(roots.Product))
	h.Write([]byte{byte(kind)})
	ark := v.pinned.arkSum[roots.Product]
	h.Write(ark[:])
	for _, p := range parts {
		writeLen(h, p)
	}
	h.Sum(k[:0])
	return k
}

func writeLen(h interface{ Write([]byte) (int, error) }, b []byte) {
	n := len(b)
	h.Write([]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
	h.Write(b)
}

// verifyChain checks VEK ← intermediate ← pinned ARK, independent of time.
func verifyChain(roots Roots, key SigningKey, vekDER, interDER []byte) (*verifiedChain, error) {
	cert, err := x509.ParseCertificate(vekDER)
	if err != nil {
		return nil, verify.Errorf(verify.ErrMalformed, "%s certificate: %w", key, err)
	}
	vek, err := parseEndorsement(cert)
	if err != nil {
		return nil, err
	}
	if vek.kind != key {
		return nil, verify.Errorf(verify.ErrBinding, "report signer_info.signing_key is %s but the endorsement certificate is a %s", key, vek.kind)
	}
	pinned, name := roots.intermediate(key), intermediateName(key)
	var (
		candidates []*x509.Certificate
		rejected   error = noteNone{}
	)
	if pinned != nil {
		candidates = append(candidates, pinned)
	}
	if interDER != nil && (pinned == nil || !bytes.Equal(interDER, pinned.Raw)) {
		ic, err := x509.ParseCertificate(interDER)
		if err != nil {
			return nil, verify.Errorf(verify.ErrMalformed, "%s certificate in the evidence: %w", name, err)
		}
		// An intermediate from the evidence is only a candidate: it must
		// itself be a CA signed by the pinned ARK.
		if err := checkIntermediate(ic, roots.ARK, key == SigningKeyVLEK); err != nil {
			rejected = fmt.Errorf("; the %s in the evidence was ignored: %w", name, err)
		} else {
			candidates = append(candidates, ic)
		}
	}
	if len(candidates) == 0 {
		return nil, verify.Errorf(verify.ErrChain, "no %s for %s: none pinned%w", name, roots.Product, rejected)
	}
	var lastErr error
	for _, ic := range candidates {
		if err := checkAMDCert(cert, ic); err != nil {
			lastErr = err
			continue
		}
		c := &verifiedChain{vek: vek, intermediate: ic}
		c.notBefore, c.notAfter = cert.NotBefore, cert.NotAfter
		for _, x := range []*x509.Certificate{ic, roots.ARK} {
			if x.NotBefore.After(c.notBefore) {
				c.notBefore = x.NotBefore
			}
			if x.NotAfter.Before(c.notAfter) {
				c.notAfter = x.NotAfter
			}
		}
		return c, nil
	}
	return nil, fmt.Errorf("%s is not certified by the pinned %s %s: %w%w", key, roots.Product, name, lastErr, rejected)
}

// noteNone is an empty note for error messages.
type noteNone struct{}

func (noteNone) Error() string { return "" }

// bindEndorsement checks that the key that signs is the key of this chip at
// this TCB: the certificate's TCB extensions equal REPORTED_TCB and a
// VCEK's hwID equals CHIP_ID (unless the host masked CHIP_ID).
func bindEndorsement(e *endorsement, r *Report, p Product) error {
	got := DecodeTCB(p, r.ReportedTCB)
	want := e.tcb
	if p != Turin {
		want.FMC = 0
	} else if !e.hasFMC {
		return verify.Errorf(verify.ErrBinding, "%s certificate for Turin has no fmcSPL extension", e.kind)
	}
	if got != want {
		return verify.Errorf(verify.ErrBinding, "reported_tcb: expected the %s's TCB %s, report has %s (%#016x)", e.kind, want, got, r.ReportedTCB)
	}
	// The bytes outside the named parts are bound too: to the certificate's
	// SPL slots 4–7 on Milan and Genoa, to zero on Turin.
	var rest, wantRest []byte
	le := r.ReportedTCB
	if p == Turin {
		rest, wantRest = []byte{byte(le >> 32), byte(le >> 40), byte(le >> 48)}, []byte{0, 0, 0}
	} else {
		rest, wantRest = []byte{byte(le >> 16), byte(le >> 24), byte(le >> 32), byte(le >> 40)}, e.spl47[:]
	}
	if !bytes.Equal(rest, wantRest) {
		return verify.Errorf(verify.ErrBinding, "reported_tcb %#016x: reserved bytes %x, the %s certifies %x", r.ReportedTCB, rest, e.kind, wantRest)
	}
	if e.kind != SigningKeyVCEK || allZero(r.ChipID[:]) {
		return nil
	}
	chip := hwidForKDS(p, r.ChipID[:])
	if !bytes.Equal(e.hwid, chip) {
		return verify.Errorf(verify.ErrBinding, "chip_id: expected the VCEK hwID %s, report has %s", hex.EncodeToString(e.hwid), hex.EncodeToString(chip))
	}
	return nil
}

// verifyReportSignature checks the P-384 signature over the first 0x2A0
// bytes: the one check that cannot be cached.
func verifyReportSignature(pub *ecdsa.PublicKey, r *Report) error {
	digest := sha512.Sum384(r.Signed())
	rr, ss := r.signature()
	if rr.Sign() == 0 || ss.Sign() == 0 || !ecdsa.Verify(pub, digest[:], rr, ss) {
		return verify.Errorf(verify.ErrSignature, "report signature (r=%s…) does not verify under the %s key", shortHex(rr), r.SigningKey())
	}
	return nil
}

func shortHex(n *big.Int) string {
	s := n.Text(16)
	if len(s) > 16 {
		s = s[:16]
	}
	return s
}
