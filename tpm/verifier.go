package tpm

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/asn1"
	"encoding/binary"
	"errors"
	"hash/maphash"
	"log/slog"
	"slices"
	"time"

	"github.com/trustfactory/attest/internal/lru"
	"github.com/trustfactory/attest/verify"
)

// Verifier verifies TPM 2.0 quotes, their AK and their event log. It is
// immutable after NewVerifier and safe for concurrent use.
type Verifier struct {
	trustedAKs    map[[32]byte]bool // SHA-256 of SPKI DER
	boundOnly     bool              // WithBoundAKsOnly
	roots         *x509.CertPool
	intermediates []*x509.Certificate
	banks         []crypto.Hash // PCR banks in preference order
	sigHashes     []crypto.Hash
	sha1Unsafe    bool
	requiredPCRs  []int
	requireLog    bool
	limits        Limits
	minRSABits    int
	chains        *lru.Cache[[32]byte, chainResult]
	logs          *lru.Cache[[32]byte, *replayedLog]
	logSeed       maphash.Seed
	akForms       *lru.Cache[[32]byte, akForm]
	logger        *slog.Logger
}

// chainResult is a verified AK certificate chain, valid in [notBefore, notAfter].
type chainResult struct {
	notBefore, notAfter time.Time
	subject             string
	key                 crypto.PublicKey
	fp                  [32]byte // keyFingerprint(key)
}

// akForm is one form of an AK in evidence, parsed and fingerprinted; it
// depends only on the form's bytes, by whose hash it is cached.
type akForm struct {
	key  crypto.PublicKey
	fp   [32]byte
	pub  *Public // for the public area: parsed, its attributes checked
	name []byte  // for the public area: the AK's TPM name
}

// Kinds of AK form, part of the cache key.
const (
	formPublicArea = 1 + iota
	formPublicKey
	formCert
)

// akFormOf parses and fingerprints one AK form, from the cache when these
// bytes were seen before. Parse errors are not cached.
func (v *Verifier) akFormOf(kind byte, b []byte) (akForm, error) {
	h := sha256.New()
	h.Write([]byte{kind})
	h.Write(b)
	var k [32]byte
	h.Sum(k[:0])
	if f, ok := v.akForms.Get(k, time.Time{}); ok {
		return f, nil
	}
	var f akForm
	switch kind {
	case formPublicArea:
		p, err := ParsePublic(b)
		if err != nil {
			return akForm{}, err
		}
		if err := checkAKAttributes(p); err != nil {
			return akForm{}, err
		}
		f.pub, f.key, f.name = p, p.Key, akName(p.NameAlg, b)
	case formPublicKey:
		key, err := x509.ParsePKIXPublicKey(b)
		if err != nil {
			return akForm{}, verify.Errorf(verify.ErrMalformed, "AK public key (SubjectPublicKeyInfo): %w", err)
		}
		f.key = key
	case formCert:
		cert, err := x509.ParseCertificate(b)
		if err != nil {
			return akForm{}, verify.Errorf(verify.ErrMalformed, "AK certificate: %w", err)
		}
		f.key = cert.PublicKey
	}
	fp, err := keyFingerprint(f.key)
	if err != nil {
		return akForm{}, err
	}
	f.fp = fp
	v.akForms.Add(k, f, time.Time{})
	return f, nil
}

// Option configures a Verifier.
type Option func(*Verifier) error

// WithTrustedAKs pins the attestation keys: a quote verifies only when signed
// by one of these keys. Exclusive with WithAKRoots.
func WithTrustedAKs(keys ...crypto.PublicKey) Option {
	return func(v *Verifier) error {
		if len(keys) == 0 {
			return verify.Errorf(verify.ErrConfig, "WithTrustedAKs: no keys given")
		}
		if v.trustedAKs == nil {
			v.trustedAKs = map[[32]byte]bool{}
		}
		for i, k := range keys {
			fp, err := keyFingerprint(k)
			if err != nil {
				return verify.Errorf(verify.ErrConfig, "WithTrustedAKs: key %d: %w", i, err)
			}
			v.trustedAKs[fp] = true
		}
		return nil
	}
}

// WithBoundAKsOnly makes a verifier for VerifyBoundAK alone, where the AK
// is bound by other verified evidence (package azure); VerifyEvidence and
// Verify then fail with verify.ErrConfig. Exclusive with WithTrustedAKs and
// WithAKRoots.
func WithBoundAKsOnly() Option {
	return func(v *Verifier) error {
		v.boundOnly = true
		return nil
	}
}

// WithAKRoots trusts AKs whose certificate, carried in the evidence, chains to
// one of roots (through intermediates from the evidence or from
// WithAKIntermediates). Exclusive with WithTrustedAKs.
func WithAKRoots(roots ...*x509.Certificate) Option {
	return func(v *Verifier) error {
		if len(roots) == 0 {
			return verify.Errorf(verify.ErrConfig, "WithAKRoots: no roots given")
		}
		if v.roots == nil {
			v.roots = x509.NewCertPool()
		}
		for i, r := range roots {
			if r == nil {
				return verify.Errorf(verify.ErrConfig, "WithAKRoots: root %d is nil", i)
			}
			v.roots.AddCert(r)
		}
		return nil
	}
}

// WithAKIntermediates adds intermediate CA certificates for AK certificate
// chains. They are not roots.
func WithAKIntermediates(certs ...*x509.Certificate) Option {
	return func(v *Verifier) error {
		for i, c := range certs {
			if c == nil {
				return verify.Errorf(verify.ErrConfig, "WithAKIntermediates: certificate %d is nil", i)
			}
		}
		v.intermediates = append(v.intermediates, certs...)
		return nil
	}
}

// WithHashAlgs sets the PCR banks the verifier accepts, in preference order
// (default SHA-384, SHA-256). SHA-1 is refused unless WithSHA1Unsafe is given.
func WithHashAlgs(algs ...crypto.Hash) Option {
	return func(v *Verifier) error {
		if len(algs) == 0 {
			return verify.Errorf(verify.ErrConfig, "WithHashAlgs: no algorithms given")
		}
		for _, h := range algs {
			if algFromHash(h) == 0 {
				return verify.Errorf(verify.ErrConfig, "WithHashAlgs: %v is not a TPM PCR bank hash", h)
			}
		}
		v.banks = slices.Clone(algs)
		return nil
	}
}

// UnsafeSHA1 is the unsafe switch of WithSHA1Unsafe, reported by the claims
// of a quote over the SHA-1 bank (Claims.UnsafeSwitches).
const UnsafeSHA1 verify.UnsafeSwitch = "tpm.WithSHA1Unsafe"

// WithSHA1Unsafe allows the SHA-1 PCR bank (it must also be listed in
// WithHashAlgs). SHA-1 collisions make its PCRs forgeable; the claims of a
// quote over that bank report UnsafeSHA1.
func WithSHA1Unsafe() Option {
	return func(v *Verifier) error {
		v.sha1Unsafe = true
		return nil
	}
}

// WithRequiredPCRs makes the listed PCRs mandatory in the quote's selection:
// the PCRs a policy will read must be covered by the signature.
func WithRequiredPCRs(pcrs ...int) Option {
	return func(v *Verifier) error {
		for _, p := range pcrs {
			if p < 0 || p >= maxPCRs {
				return verify.Errorf(verify.ErrConfig, "WithRequiredPCRs: PCR %d out of range 0..%d", p, maxPCRs-1)
			}
		}
		v.requiredPCRs = append(v.requiredPCRs, pcrs...)
		return nil
	}
}

// WithRequireEventLog makes an evidence without event log an error.
func WithRequireEventLog() Option {
	return func(v *Verifier) error {
		v.requireLog = true
		return nil
	}
}

// WithEventLogLimits caps the event log's size and event count (defaults
// 1 MiB and 8192 events).
func WithEventLogLimits(l Limits) Option {
	return func(v *Verifier) error {
		v.limits = l.withDefaults()
		return nil
	}
}

// WithCacheSize bounds the caches of verified AK certificate chains, of
// parsed AK forms and of replayed event logs (default 1024 entries each). A
// replayed log of up to 64 KiB keeps a copy of its bytes to compare, so that
// cache holds at most 64 MiB at the default size.
func WithCacheSize(n int) Option {
	return func(v *Verifier) error {
		if n < 1 {
			return verify.Errorf(verify.ErrConfig, "WithCacheSize: %d, expected at least 1", n)
		}
		v.chains = lru.New[[32]byte, chainResult](n)
		v.logs = lru.New[[32]byte, *replayedLog](n)
		v.akForms = lru.New[[32]byte, akForm](n)
		return nil
	}
}

// WithLogger sets a logger for debug messages; the default is silent.
func WithLogger(l *slog.Logger) Option {
	return func(v *Verifier) error {
		if l != nil {
			v.logger = l
		}
		return nil
	}
}

// NewVerifier returns a TPM quote verifier. Exactly one AK trust mechanism
// must be configured: WithTrustedAKs or WithAKRoots.
func NewVerifier(opts ...Option) (*Verifier, error) {
	v := &Verifier{
		banks:      []crypto.Hash{crypto.SHA384, crypto.SHA256},
		sigHashes:  []crypto.Hash{crypto.SHA256, crypto.SHA384, crypto.SHA512},
		limits:     Limits{}.withDefaults(),
		minRSABits: 2048,
		logger:     slog.New(slog.DiscardHandler),
	}
	for _, o := range opts {
		if err := o(v); err != nil {
			return nil, err
		}
	}
	switch {
	case v.boundOnly && (v.trustedAKs != nil || v.roots != nil):
		return nil, verify.Errorf(verify.ErrConfig, "WithBoundAKsOnly excludes WithTrustedAKs and WithAKRoots")
	case v.boundOnly:
	case v.trustedAKs == nil && v.roots == nil:
		return nil, verify.Errorf(verify.ErrConfig, "no AK trust mechanism: use WithTrustedAKs or WithAKRoots")
	case v.trustedAKs != nil && v.roots != nil:
		return nil, verify.Errorf(verify.ErrConfig, "two AK trust mechanisms: use only one of WithTrustedAKs and WithAKRoots")
	}
	if slices.Contains(v.banks, crypto.SHA1) && !v.sha1Unsafe {
		return nil, verify.Errorf(verify.ErrConfig, "WithHashAlgs lists SHA-1: also give WithSHA1Unsafe to accept the SHA-1 bank")
	}
	if v.sha1Unsafe && !slices.Contains(v.banks, crypto.SHA1) {
		// The switch would be recorded as in effect while doing nothing.
		return nil, verify.Errorf(verify.ErrConfig, "WithSHA1Unsafe without SHA-1 in WithHashAlgs (banks %v): give both or neither", v.banks)
	}
	v.logSeed = maphash.MakeSeed()
	if v.chains == nil {
		v.chains = lru.New[[32]byte, chainResult](1024)
		v.logs = lru.New[[32]byte, *replayedLog](1024)
		v.akForms = lru.New[[32]byte, akForm](1024)
	}
	return v, nil
}

// Format returns verify.FormatTPM.
func (v *Verifier) Format() verify.Format { return verify.FormatTPM }

// Detect reports whether evidence is TPM evidence in a supported encoding.
func (v *Verifier) Detect(evidence []byte) bool { return detect(evidence) }

// DetectEncoding reports whether b looks like TPM evidence in a supported
// encoding, without a verifier (which needs AK trust to be built). It is
// cheap and never panics.
func DetectEncoding(b []byte) bool { return detect(b) }

// Verify decodes evidence (go-tpm-tools attest.Attestation protobuf, Trustee
// TPM JSON or Evidence JSON) and verifies it as VerifyEvidence does.
func (v *Verifier) Verify(ctx context.Context, evidence []byte, exp verify.Expectations) (verify.Claims, error) {
	ev, _, err := Decode(evidence)
	if err != nil {
		return nil, err
	}
	c, err := v.VerifyEvidence(ctx, ev, exp)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// VerifyEvidence verifies a quote of ev: the AK is trusted (pinned key or
// certificate chain at exp's time), the quote is signed by it, is a genuine
// TPM quote, carries exp's report data as extraData, covers every PCR value
// supplied (and every required PCR), and its PCR digest matches them; the
// event log, when present, replays to the quoted PCRs. Claims are returned
// only when every check passed.
func (v *Verifier) VerifyEvidence(ctx context.Context, ev *Evidence, exp verify.Expectations) (*Claims, error) {
	return v.verify(ctx, ev, nil, exp)
}

// VerifyBoundAK verifies a quote of ev as VerifyEvidence does, except that
// the AK is ak, which the caller has bound to verified hardware evidence (an
// Azure HCL report's AK, covered by its SEV-SNP report), instead of a pinned
// key or a certificate chain; any AK form the evidence carries must be that
// key. The claims name the trust "bound". ak must not be nil.
func (v *Verifier) VerifyBoundAK(ctx context.Context, ev *Evidence, ak crypto.PublicKey, exp verify.Expectations) (*Claims, error) {
	if ak == nil {
		return nil, verify.Errorf(verify.ErrConfig, "VerifyBoundAK: no AK")
	}
	return v.verify(ctx, ev, ak, exp)
}

func (v *Verifier) verify(ctx context.Context, ev *Evidence, boundAK crypto.PublicKey, exp verify.Expectations) (*Claims, error) {
	if err := verify.Canceled(ctx, "tpm: verification not started"); err != nil {
		return nil, err
	}
	if boundAK == nil && v.boundOnly {
		return nil, verify.Errorf(verify.ErrConfig, "this TPM verifier was made WithBoundAKsOnly: it has no AK trust of its own")
	}
	if ev == nil {
		return nil, verify.Errorf(verify.ErrMalformed, "TPM evidence is nil")
	}
	if len(ev.Quotes) > maxBanks || len(ev.Intermediates) > maxIntermediates {
		return nil, verify.Errorf(verify.ErrLimit, "TPM evidence: %d quotes and %d intermediate certificates, at most %d and %d", len(ev.Quotes), len(ev.Intermediates), maxBanks, maxIntermediates)
	}
	q, err := v.pickQuote(ev.Quotes, len(exp.InitDataDigest))
	if err != nil {
		return nil, err
	}
	ak, err := v.trustAK(ev, boundAK, exp.Time())
	if err != nil {
		return nil, err
	}
	sig, err := ParseSignature(q.Signature)
	if err != nil {
		return nil, err
	}
	if err := verifySignature(ak.key, ak.pub, sig, q.Attest, v.sigHashes); err != nil {
		return nil, err
	}
	att, err := ParseAttest(q.Attest)
	if err != nil {
		return nil, err
	}
	if err := exp.CheckReportData("extra_data", att.ExtraData); err != nil {
		return nil, err
	}
	pcrs, err := v.checkPCRs(q, att, sig.Hash)
	if err != nil {
		return nil, err
	}
	if err := checkInitData(exp, q.Bank, pcrs); err != nil {
		return nil, err
	}
	c := &Claims{
		Bank:             q.Bank,
		PCRs:             pcrs,
		AK:               ak.claims,
		ExtraData:        bytes.Clone(att.ExtraData),
		Clock:            att.Clock,
		FirmwareVersion:  att.FirmwareVersion,
		QualifiedSigner:  bytes.Clone(att.QualifiedSigner),
		SHA1Unsafe:       q.Bank == crypto.SHA1,
		ReportDataUnsafe: len(exp.ReportData) == 0 && exp.AllowMissingReportDataUnsafe,
		InitDataChecked:  exp.InitDataDigest != nil,
	}
	if len(ev.EventLog) == 0 && v.requireLog {
		return nil, verify.Errorf(verify.ErrMalformed, "event log: required, but the evidence carries none")
	}
	if len(ev.EventLog) > 0 {
		if c.Log, err = v.replayLog(ev.EventLog, q.Bank, pcrs); err != nil {
			return nil, err
		}
	}
	if len(ev.AAEventLog) > 0 {
		aael, err := ParseAAEventLog(ev.AAEventLog)
		if err != nil {
			return nil, err
		}
		if err := VerifyAAEventLog(aael, q.Bank, pcrs); err != nil {
			return nil, err
		}
		c.AAEL = aael.Events
		if c.Log != nil {
			// The AA event log explains its PCRs (c.Log is this call's copy).
			c.Log.UnexplainedPCRs = slices.DeleteFunc(c.Log.UnexplainedPCRs, func(i int) bool { return slices.Contains(aael.PCRs(), i) })
		}
	}
	return c, nil
}

// maxKeptLog is the largest event log the log cache keeps a copy of, to
// compare instead of hashing it with SHA-256 (about 15 µs for a typical
// 24 KB log, a third of the RSA check): entries then hold at most this many
// bytes each.
const maxKeptLog = 64 << 10

// logKey keys the log cache. A log up to maxKeptLog bytes is keyed by a
// seeded maphash of bank and bytes, and a copy is returned to be kept in
// the entry: a hit must also be equal byte for byte, so two logs sharing
// the hash only evict each other. A larger log is keyed by SHA-256 (keep is
// nil). The two kinds of key differ in their last byte.
func (v *Verifier) logKey(raw []byte, bank crypto.Hash) (key [32]byte, keep []byte) {
	alg := algFromHash(bank)
	if len(raw) <= maxKeptLog {
		var h maphash.Hash
		h.SetSeed(v.logSeed)
		h.Write([]byte{byte(alg >> 8), byte(alg)})
		h.Write(raw)
		binary.LittleEndian.PutUint64(key[:], h.Sum64())
		binary.LittleEndian.PutUint16(key[8:], alg)
		key[31] = 1
		return key, raw
	}
	h := sha256.New()
	h.Write([]byte{byte(alg >> 8), byte(alg)})
	h.Write(raw)
	h.Sum(key[:0])
	key[31] &^= 1 // keyspace of SHA-256 keys: last bit clear
	return key, nil
}

// replayLog parses the log, replays it against the quoted PCRs and extracts
// its claims. What depends only on the log and the bank (the parse, the PCR
// values the log extends to, the claims) is cached by the hash of the exact
// log bytes and the bank: a machine's log stays the same across the quotes
// of one boot. Only the comparison with the quoted values, which replayed
// checks exactly as Replay does, is repeated. Callers get a deep copy.
func (v *Verifier) replayLog(raw []byte, bank crypto.Hash, quoted map[int][]byte) (*LogClaims, error) {
	key, keep := v.logKey(raw, bank)
	if r, ok := v.logs.Get(key, time.Time{}); ok && (keep == nil || bytes.Equal(r.raw, raw)) {
		if err := r.check(bank, quoted); err != nil {
			return nil, err
		}
		c := r.claims.clone()
		c.UnexplainedPCRs = r.unexplained(quoted)
		return c, nil
	}
	log, err := ParseEventLog(raw, v.limits)
	if err != nil {
		return nil, err
	}
	if err := Replay(log, bank, quoted); err != nil {
		return nil, err
	}
	c, err := Extract(log, bank)
	if err != nil {
		return nil, err
	}
	r := newReplayedLog(log, bank, c.clone())
	r.raw = bytes.Clone(keep) // raw aliases the caller's evidence
	v.logs.Add(key, r, time.Time{})
	c.UnexplainedPCRs = unexplainedPCRs(log, quoted)
	return c, nil
}

// pickQuote returns the quote of the most preferred allowed bank.
func (v *Verifier) pickQuote(quotes []Quote, initDataSize int) (*Quote, error) {
	if len(quotes) == 0 {
		return nil, verify.Errorf(verify.ErrFreshness, "TPM evidence carries no quote: nothing proves the PCRs are current")
	}
	// Init data is expected in PCR 8 of the bank its value's size names:
	// prefer that bank's quote among the allowed ones.
	for _, b := range v.banks {
		if initDataSize == 0 || b.Size() != initDataSize {
			continue
		}
		for i := range quotes {
			if quotes[i].Bank == b {
				return &quotes[i], nil
			}
		}
	}
	for _, b := range v.banks {
		for i := range quotes {
			if quotes[i].Bank == b {
				return &quotes[i], nil
			}
		}
	}
	have := make([]crypto.Hash, 0, len(quotes))
	for _, q := range quotes {
		have = append(have, q.Bank)
	}
	if slices.Contains(have, crypto.SHA1) {
		return nil, verify.Errorf(verify.ErrPolicy, "quote banks %v: none of the allowed banks %v (SHA-1 needs WithHashAlgs and WithSHA1Unsafe)", have, v.banks)
	}
	return nil, verify.Errorf(verify.ErrUnsupported, "quote banks %v: none of the allowed banks %v", have, v.banks)
}

type trustedAK struct {
	key    crypto.PublicKey
	pub    *Public // nil when the evidence has no TPMT_PUBLIC
	claims AKClaims
}

// trustAK resolves the AK from the evidence, checks that every form of it is
// the same key, and establishes trust with the configured mechanism.
func (v *Verifier) trustAK(ev *Evidence, bound crypto.PublicKey, now time.Time) (*trustedAK, error) {
	ak := &trustedAK{}
	// The first form's fingerprint: every other form must have it.
	var first [32]byte
	forms := 0
	add := func(k crypto.PublicKey, fp [32]byte, from string) error {
		if forms > 0 && fp != first {
			return verify.Errorf(verify.ErrBinding, "AK %s: key %x differs from the AK's other form %x", from, fp, first)
		}
		if forms == 0 {
			first, ak.key = fp, k
		}
		forms++
		return nil
	}
	if bound != nil {
		fp, err := keyFingerprint(bound)
		if err != nil {
			return nil, err
		}
		if err := add(bound, fp, "bound key"); err != nil {
			return nil, err
		}
	}
	if len(ev.AKPublicArea) > 0 {
		f, err := v.akFormOf(formPublicArea, ev.AKPublicArea)
		if err != nil {
			return nil, err
		}
		ak.pub = f.pub
		ak.claims.AttributesChecked = true
		ak.claims.Name = bytes.Clone(f.name)
		if err := add(f.key, f.fp, "public area"); err != nil {
			return nil, err
		}
	}
	if len(ev.AKPublicKey) > 0 {
		f, err := v.akFormOf(formPublicKey, ev.AKPublicKey)
		if err != nil {
			return nil, err
		}
		if err := add(f.key, f.fp, "public key"); err != nil {
			return nil, err
		}
	}
	if len(ev.AKCert) > 0 && v.roots != nil {
		// Root mode: the verified chain (and the key it certifies) is cached
		// by the hash of the exact certificate bytes.
		r, err := v.verifyChain(ev, now)
		if err != nil {
			return nil, err
		}
		if err := add(r.key, r.fp, "certificate"); err != nil {
			return nil, err
		}
		ak.claims.CertSubject = r.subject
	} else if len(ev.AKCert) > 0 {
		f, err := v.akFormOf(formCert, ev.AKCert)
		if err != nil {
			return nil, err
		}
		if err := add(f.key, f.fp, "certificate"); err != nil {
			return nil, err
		}
	}
	if ak.key == nil {
		return nil, verify.Errorf(verify.ErrChain, "TPM evidence carries no AK (public area, public key or certificate)")
	}
	if err := checkKeyStrength(ak.key, v.minRSABits); err != nil {
		return nil, err
	}
	ak.claims.Fingerprint = first[:]
	if bound != nil {
		ak.claims.Trust = "bound"
		return ak, nil
	}
	if v.trustedAKs != nil {
		if !v.trustedAKs[first] {
			return nil, verify.Errorf(verify.ErrChain, "AK %x is not one of the %d trusted AKs", first, len(v.trustedAKs))
		}
		ak.claims.Trust = "pinned-key"
		return ak, nil
	}
	if len(ev.AKCert) == 0 {
		return nil, verify.Errorf(verify.ErrChain, "AK trust requires an AK certificate chaining to the configured roots; the evidence has none")
	}
	ak.claims.Trust = "certificate"
	return ak, nil
}

// verifyChain verifies the AK certificate chain at now, caching verified
// chains by the hash of the exact certificate bytes.
func (v *Verifier) verifyChain(ev *Evidence, now time.Time) (chainResult, error) {
	// Every certificate is length-prefixed, so that no split of the same
	// bytes between AKCert and Intermediates shares a key.
	h := sha256.New()
	var n [8]byte
	write := func(c []byte) {
		binary.LittleEndian.PutUint64(n[:], uint64(len(c)))
		h.Write(n[:])
		h.Write(c)
	}
	write(ev.AKCert)
	for _, c := range ev.Intermediates {
		write(c)
	}
	var key [32]byte
	h.Sum(key[:0])
	if r, ok := v.chains.Get(key, now); ok && !now.Before(r.notBefore) {
		return r, nil
	}
	v.logger.Debug("tpm: verifying AK certificate chain", "key", key)
	cert, err := x509.ParseCertificate(ev.AKCert)
	if err != nil {
		return chainResult{}, verify.Errorf(verify.ErrMalformed, "AK certificate: %w", err)
	}
	pool := x509.NewCertPool()
	for _, c := range v.intermediates {
		pool.AddCert(c)
	}
	for i, der := range ev.Intermediates {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return chainResult{}, verify.Errorf(verify.ErrMalformed, "AK intermediate certificate %d: %w", i, err)
		}
		pool.AddCert(c)
	}
	// A SAN extension that Go leaves unhandled (TPM certificates put the TPM
	// manufacturer there, in directoryName form) is critical but harmless.
	c := *cert
	c.UnhandledCriticalExtensions = slices.DeleteFunc(slices.Clone(c.UnhandledCriticalExtensions), func(o asn1.ObjectIdentifier) bool {
		return o.Equal(oidSubjectAltName)
	})
	chains, err := c.Verify(x509.VerifyOptions{
		Roots:         v.roots,
		Intermediates: pool,
		CurrentTime:   now,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	})
	if err != nil {
		var inv x509.CertificateInvalidError
		if errors.As(err, &inv) && inv.Reason == x509.Expired {
			return chainResult{}, verify.Errorf(verify.ErrExpired, "AK certificate chain at %s: %w", now.UTC().Format(time.RFC3339), err)
		}
		return chainResult{}, verify.Errorf(verify.ErrChain, "AK certificate %q does not chain to a configured root: %w", cert.Subject, err)
	}
	fp, err := keyFingerprint(cert.PublicKey)
	if err != nil {
		return chainResult{}, err
	}
	r := chainResult{subject: cert.Subject.String(), key: cert.PublicKey, fp: fp}
	for _, cc := range chains[0] {
		if r.notAfter.IsZero() || cc.NotAfter.Before(r.notAfter) {
			r.notAfter = cc.NotAfter
		}
		if cc.NotBefore.After(r.notBefore) {
			r.notBefore = cc.NotBefore
		}
	}
	v.chains.Add(key, r, r.notAfter)
	return r, nil
}

var oidSubjectAltName = asn1.ObjectIdentifier{2, 5, 29, 17}

// maxIntermediates bounds the untrusted certificates an evidence may carry.
const maxIntermediates = 8

// checkPCRs checks that the quote covers exactly the supplied PCR values, in
// one bank, including every required PCR, and that their digest is the
// quote's pcrDigest.
func (v *Verifier) checkPCRs(q *Quote, att *Attest, sigHash crypto.Hash) (map[int][]byte, error) {
	var sel []int
	switch len(att.Selection) {
	case 0:
	case 1:
		if att.Selection[0].Hash != q.Bank {
			return nil, verify.Errorf(verify.ErrBinding, "quote pcrSelect bank: expected %v (the bank of the supplied PCR values), got %v", q.Bank, att.Selection[0].Hash)
		}
		sel = att.Selection[0].PCRs
	default:
		return nil, verify.Errorf(verify.ErrUnsupported, "quote pcrSelect covers %d banks %v; one bank per quote is supported", len(att.Selection), att.Selection)
	}
	// One pass over the selection hashes the values in its order and
	// copies them for the claims, which own them (into one buffer, not one
	// allocation a PCR). Its errors are reported after those of the
	// selection itself, as the checks come in order.
	size := q.Bank.Size()
	h := sigHash.New()
	buf := make([]byte, 0, len(sel)*size)
	out := make(map[int][]byte, len(sel))
	var valueErr error
	for _, i := range sel {
		val, ok := q.PCRs[i]
		if !ok {
			valueErr = verify.Errorf(verify.ErrMalformed, "PCR %d: selected by the quote but no value supplied", i)
			break
		}
		if len(val) != size {
			valueErr = verify.Errorf(verify.ErrMalformed, "PCR %d: %d bytes, expected %d for %v", i, len(val), size, q.Bank)
			break
		}
		h.Write(val)
		buf = append(buf, val...)
		out[i] = buf[len(buf)-size : len(buf) : len(buf)]
	}
	if valueErr != nil || len(out) != len(q.PCRs) {
		// Not every value was found: one may be outside the selection.
		for i := range q.PCRs {
			if !slices.Contains(sel, i) {
				return nil, verify.Errorf(verify.ErrBinding, "PCR %d: a value is supplied but the quote's selection %v does not cover it", i, sel)
			}
		}
	}
	for _, i := range v.requiredPCRs {
		if !slices.Contains(sel, i) {
			return nil, verify.Errorf(verify.ErrBinding, "PCR %d: required, but the quote's selection %v does not cover it", i, sel)
		}
	}
	if valueErr != nil {
		return nil, valueErr
	}
	if got := h.Sum(nil); subtle.ConstantTimeCompare(got, att.PCRDigest) != 1 {
		return nil, verify.Errorf(verify.ErrBinding, "quote pcrDigest: expected %x (signed), got %x from the supplied PCR values", att.PCRDigest, got)
	}
	return out, nil
}

// checkInitData compares PCR 8 with the expected field value: for Trustee's
// TPM attester, the init-data digest extended once into a zero PCR, as
// binding.InitDataField computes it.
func checkInitData(exp verify.Expectations, bank crypto.Hash, pcrs map[int][]byte) error {
	if exp.InitDataDigest == nil {
		return nil
	}
	// The expectation is the field's value, as for MRCONFIGID and HOST_DATA:
	// binding.InitDataField gives SHA-256(0³² ‖ digest) for PCR 8.
	if len(exp.InitDataDigest) != bank.Size() {
		return verify.Errorf(verify.ErrConfig, "expected PCR 8 (init data) of %d bytes in the %v bank, which holds %d", len(exp.InitDataDigest), bank, bank.Size())
	}
	got, ok := pcrs[8]
	if !ok {
		return verify.Errorf(verify.ErrBinding, "PCR 8 (init data): not covered by the quote")
	}
	if !bytes.Equal(exp.InitDataDigest, got) {
		return verify.Errorf(verify.ErrBinding, "PCR 8 (init data): expected %x, got %x", exp.InitDataDigest, got)
	}
	return nil
}

// akName is the TPM name of the AK: nameAlg ‖ H(TPMT_PUBLIC).
func akName(nameAlg crypto.Hash, public []byte) []byte {
	if algFromHash(nameAlg) == 0 || !nameAlg.Available() {
		return nil
	}
	h := nameAlg.New()
	h.Write(public)
	alg := algFromHash(nameAlg)
	return h.Sum([]byte{byte(alg >> 8), byte(alg)})
}
