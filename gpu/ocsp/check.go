package ocsp

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"slices"
	"time"

	"golang.org/x/crypto/ocsp"

	"github.com/trustfactory/attest/internal/coalesce"
	"github.com/trustfactory/attest/internal/lru"
	"github.com/trustfactory/attest/verify"
)

// Scope says what a chain is for; certificateHold may be tolerated only for
// RIM signer chains.
type Scope int

// Scopes.
const (
	ScopeDevice Scope = iota // device identity chain: never tolerate hold
	ScopeRIM                 // RIM signer chain
)

// String names the scope in messages ("device", "RIM").
func (s Scope) String() string {
	if s == ScopeRIM {
		return "RIM"
	}
	return "device"
}

// Status values reported per certificate.
const (
	StatusGood    = "good"
	StatusRevoked = "revoked"
	StatusUnknown = "unknown"
	StatusMissing = "missing" // no Answer; accepted only with WithMissingAnswersUnsafe
)

// CertStatus is the checked status of one certificate.
type CertStatus struct {
	Subject    string
	Serial     string // hex
	Status     string
	Reason     int // revocation reason when revoked
	ThisUpdate time.Time
	NextUpdate time.Time
	// NonceChecked is true when a nonce was sent and echoed.
	NonceChecked bool
	// Cached is true when the Answer came from the verified-Answer cache.
	Cached bool
}

// Result is the outcome for one chain.
type Result struct {
	Certs []CertStatus
	// Warnings lists accepted deviations (missing answers, tolerated hold).
	Warnings []string
}

// Status is the worst status over the chain: good < missing < revoked.
func (r *Result) Status() string {
	worst := StatusGood
	for _, c := range r.Certs {
		switch c.Status {
		case StatusRevoked:
			return StatusRevoked
		case StatusMissing:
			worst = StatusMissing
		}
	}
	return worst
}

// Option configures a Checker.
type Option func(*Checker)

// WithRIMCertificateHoldUnsafe accepts "revoked: certificateHold" for
// RIM signer chains (never for device chains). It shows up as a warning.
func WithRIMCertificateHoldUnsafe() Option { return func(c *Checker) { c.allowHold = true } }

// WithMissingAnswersUnsafe turns a missing Answer (offline, nothing recorded)
// from an ErrCollateral failure into a warning.
func WithMissingAnswersUnsafe() Option { return func(c *Checker) { c.allowMissing = true } }

// defaultSkew is the clock skew tolerated on thisUpdate and nextUpdate.
const defaultSkew = 5 * time.Minute

// WithClockSkew tolerates this much skew on thisUpdate and nextUpdate (default 5 minutes).
func WithClockSkew(d time.Duration) Option { return func(c *Checker) { c.skew = d } }

// WithCacheSize bounds the verified-Answer cache (default 1024 entries).
func WithCacheSize(n int) Option { return func(c *Checker) { c.cacheSize = n } }

// WithLogger logs fetches at debug level.
func WithLogger(l *slog.Logger) Option { return func(c *Checker) { c.log = l } }

// Checker checks chains against OCSP answers from a Source, caching verified
// answers until their nextUpdate. It is safe for concurrent use.
type Checker struct {
	src          Source
	allowHold    bool
	allowMissing bool
	skew         time.Duration
	cacheSize    int
	log          *slog.Logger
	cache        *lru.Cache[[32]byte, Answer]
	// inflight lets the devices of a composite, whose chains share their
	// CAs and which ask about the same certificates at once, share one
	// fetch and verification.
	inflight coalesce.Group[fetched]
}

// fetched is the outcome of one fetchAndVerify: an Answer (a value: each
// caller gets its own copy) or an error, and whether no answer came.
type fetched struct {
	answer  Answer
	missing bool
}

// Answer is a verified OCSP Answer for one certificate.
type Answer struct {
	Status     int // ocsp.Good, ocsp.Revoked or ocsp.Unknown
	Reason     int // revocation reason when revoked
	ThisUpdate time.Time
	NextUpdate time.Time // thisUpdate + 1 h when the response has none
	Nonce      bool      // a nonce was sent and echoed
	// ValidUntil is when the answer stops being usable: nextUpdate, or the
	// delegated responder certificate's expiry if earlier.
	ValidUntil time.Time
}

// NewChecker returns a Checker reading from src.
func NewChecker(src Source, opts ...Option) (*Checker, error) {
	if src == nil {
		return nil, verify.Errorf(verify.ErrConfig, "ocsp: nil source")
	}
	c := &Checker{src: src, skew: defaultSkew, cacheSize: 1024}
	for _, o := range opts {
		o(c)
	}
	c.cache = lru.New[[32]byte, Answer](c.cacheSize)
	return c, nil
}

// AllowsMissing reports whether missing answers are tolerated.
func (c *Checker) AllowsMissing() bool { return c.allowMissing }

// AllowsRIMHold reports whether certificateHold is tolerated for RIM chains.
func (c *Checker) AllowsRIMHold() bool { return c.allowHold }

// Chain is a certificate chain prepared for checking: the cache key of each
// certificate with its issuer (a digest of both) and its serial number text
// are computed once. A caller that checks the same chain many times, such as
// a cached device or RIM signer chain, keeps one. It is immutable and safe to
// share.
type Chain struct {
	certs   []*x509.Certificate
	keys    [][32]byte // keys[i]: certs[i] issued by certs[i+1]
	serials []string
}

// NewChain prepares certs, leaf first, each issued by the next. It keeps its
// own copy of the slice: a later change to certs does not reach it.
func NewChain(certs []*x509.Certificate) *Chain {
	certs = slices.Clone(certs)
	ch := &Chain{certs: certs, serials: make([]string, len(certs))}
	if len(certs) > 1 {
		ch.keys = make([][32]byte, len(certs)-1)
	}
	for i, c := range certs {
		ch.serials[i] = c.SerialNumber.Text(16)
		if i+1 < len(certs) {
			ch.keys[i] = cacheKey(c, certs[i+1])
		}
	}
	return ch
}

// Certs returns the chain's certificates (the chain's own slice: do not
// modify).
func (ch *Chain) Certs() []*x509.Certificate { return ch.certs }

// CheckChain checks chain[from : len(chain)-1] — every certificate but the
// root — each against its issuer, the next certificate in chain.
func (c *Checker) CheckChain(ctx context.Context, chain []*x509.Certificate, from int, scope Scope, now time.Time) (*Result, error) {
	return c.Check(ctx, NewChain(chain), from, scope, now)
}

// Check is CheckChain for a prepared chain.
func (c *Checker) Check(ctx context.Context, ch *Chain, from int, scope Scope, now time.Time) (*Result, error) {
	if ch == nil {
		return nil, verify.Errorf(verify.ErrConfig, "ocsp: nil chain")
	}
	if n := len(ch.certs); from < 0 || n < 2 || from > n-2 {
		return nil, verify.Errorf(verify.ErrConfig, "ocsp: chain of %d certificates, start %d", n, from)
	}
	res := &Result{Certs: make([]CertStatus, 0, len(ch.certs)-1-from)}
	for i := from; i < len(ch.certs)-1; i++ {
		st, warn, err := c.checkOne(ctx, ch, i, scope, now)
		if err != nil {
			return nil, err
		}
		res.Certs = append(res.Certs, st)
		if warn != "" {
			res.Warnings = append(res.Warnings, warn)
		}
	}
	return res, nil
}

func cacheKey(cert, issuer *x509.Certificate) [32]byte {
	h := sha256.New()
	h.Write(cert.Raw)
	h.Write(issuer.Raw)
	var k [32]byte
	h.Sum(k[:0])
	return k
}

func (c *Checker) checkOne(ctx context.Context, ch *Chain, i int, scope Scope, now time.Time) (CertStatus, string, error) {
	cert, issuer, key := ch.certs[i], ch.certs[i+1], ch.keys[i]
	st := CertStatus{Subject: cert.Subject.CommonName, Serial: ch.serials[i]}
	a, cached := c.cache.Get(key, now)
	// A cached answer is held to the window VerifyResponse applied when it
	// was fetched (the cache's own expiry is inclusive and ignores skew).
	if cached && (now.Add(c.skew).Before(a.ThisUpdate) || !now.Before(a.NextUpdate.Add(c.skew))) {
		cached = false
	}
	if !cached {
		var (
			missing bool
			err     error
		)
		// Shared only between callers asking about the same certificate
		// and issuer (key digests both) at the same instant; a failure
		// caused by the context of the caller that ran it is not shared.
		flight := string(key[:]) + now.UTC().Format(time.RFC3339Nano)
		var f fetched
		f, err = c.inflight.Do(flight, func() (fetched, error) {
			a, missing, err := c.fetchAndVerify(ctx, cert, issuer, now)
			return fetched{a, missing}, err
		}, func(_ fetched, err error) bool {
			return !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
		})
		a, missing = f.answer, f.missing
		if err != nil {
			if cerr := verify.Canceled(ctx, fmt.Sprintf("OCSP for %s certificate %q", scope, st.Subject)); cerr != nil {
				return st, "", cerr
			}
			// Only an answer that never came may be tolerated: one that came
			// and failed its checks (stale, badly signed, from the wrong
			// responder) is refused whatever the options.
			if missing && c.allowMissing {
				st.Status = StatusMissing
				return st, fmt.Sprintf("no OCSP Answer for %s certificate %q: %v", scope, st.Subject, err), nil
			}
			return st, "", err
		}
		if a.Status == ocsp.Good {
			c.cache.Add(key, a, a.ValidUntil)
		}
	}
	st.ThisUpdate, st.NextUpdate, st.NonceChecked, st.Cached = a.ThisUpdate, a.NextUpdate, a.Nonce, cached
	switch a.Status {
	case ocsp.Good:
		st.Status = StatusGood
		return st, "", nil
	case ocsp.Revoked:
		st.Status, st.Reason = StatusRevoked, a.Reason
		if a.Reason == ocsp.CertificateHold && scope == ScopeRIM && c.allowHold {
			return st, fmt.Sprintf("RIM certificate %q is on hold (accepted by option)", st.Subject), nil
		}
		return st, "", verify.Errorf(verify.ErrRevoked, "OCSP: %s certificate %q (serial %s): revoked, reason %d", scope, st.Subject, st.Serial, a.Reason)
	}
	// "unknown" says the responder does not know the certificate (RFC 6960
	// §2.2), typically because it does not serve its issuer: the chain is not
	// one NVIDIA's responder vouches for (ErrChain), but nothing says the
	// certificate is revoked, so it is a collateral failure, not ErrRevoked.
	return st, "", badAnswer(verify.ErrChain, "OCSP: %s certificate %q (serial %s): the responder answered \"unknown\"", scope, st.Subject, st.Serial)
}

var oidNonce = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 2}

// fetchAndVerify fetches and verifies the answer for cert. missing is true
// when no answer came at all (the source failed or the responder answered
// with an error status), false when one came and failed its checks.
func (c *Checker) fetchAndVerify(ctx context.Context, cert, issuer *x509.Certificate, now time.Time) (a Answer, missing bool, err error) {
	q := Query{Cert: cert, Issuer: issuer}
	// Recorded sources match by certificate; only live ones get a request.
	if ns, ok := c.src.(NonceSource); ok {
		if ns.SendsNonce() {
			q.Nonce = make([]byte, 32)
			if _, err := rand.Read(q.Nonce); err != nil {
				return Answer{}, false, verify.Errorf(verify.ErrConfig, "ocsp nonce: %w", err)
			}
		}
		req, err := BuildRequest(cert, issuer, q.Nonce)
		if err != nil {
			return Answer{}, false, err
		}
		q.Request = req
	}
	if len(cert.OCSPServer) > 0 {
		q.URL = cert.OCSPServer[0]
	}
	if c.log != nil {
		c.log.DebugContext(ctx, "ocsp fetch", "subject", cert.Subject.CommonName, "url", q.URL)
	}
	der, err := c.src.Fetch(ctx, q)
	fetched := err == nil
	if fetched {
		a, err = VerifyResponse(der, cert, issuer, q.Nonce, now, c.skew)
	} else {
		err = verify.Wrap(verify.ErrCollateral, fmt.Errorf("OCSP for %q: %w", cert.Subject.CommonName, err))
	}
	if err == nil {
		return a, false, nil
	}
	// An answer that came and failed its checks may also surface from the
	// source (CachedSource verifies what it keeps): it is not missing.
	var bad *badAnswerError
	var re ocsp.ResponseError
	return Answer{}, !errors.As(err, &bad) && (!fetched || errors.As(err, &re)), err
}

// badAnswerError marks the error of an answer that came but cannot be used,
// so that it is never mistaken for a missing one. It adds nothing to the
// message.
type badAnswerError struct{ err error }

func (e *badAnswerError) Error() string { return e.err.Error() }
func (e *badAnswerError) Unwrap() error { return e.err }

// badAnswer is the error of an answer that came but cannot be used: stale,
// badly signed, from a responder that may not answer for the issuer, or not
// about the certificate asked. It is a collateral failure, never a
// revocation: only a verified "revoked" answer says a certificate is
// revoked. detail (ErrSignature, ErrChain, ErrExpired, or nil) says why when
// it helps.
func badAnswer(detail error, format string, args ...any) error {
	if detail != nil {
		format += ": %w"
		args = append(args, detail)
	}
	return &badAnswerError{verify.Errorf(verify.ErrCollateral, format, args...)}
}

// VerifyResponse checks a DER OCSP response for cert (issued by issuer) at
// time now and returns the Answer. nonce, when set, must be echoed.
func VerifyResponse(der []byte, cert, issuer *x509.Certificate, nonce []byte, now time.Time, skew time.Duration) (Answer, error) {
	name := cert.Subject.CommonName
	if len(der) > maxResponseSize {
		return Answer{}, badAnswer(verify.ErrLimit, "OCSP response for %q: %d bytes exceeds %d", name, len(der), maxResponseSize)
	}
	resp, err := ocsp.ParseResponseForCert(der, cert, issuer)
	if err != nil {
		var re ocsp.ResponseError
		if errors.As(err, &re) {
			return Answer{}, verify.Errorf(verify.ErrCollateral, "OCSP response for %q: responder error: %w", name, err)
		}
		return Answer{}, badAnswer(verify.ErrSignature, "OCSP response for %q does not verify against issuer %q: %w",
			name, issuer.Subject.CommonName, err)
	}
	if resp.Certificate != nil && !resp.Certificate.Equal(issuer) {
		r := resp.Certificate
		if !bytes.Equal(r.RawIssuer, issuer.RawSubject) {
			return Answer{}, badAnswer(verify.ErrChain, "OCSP responder %q for %q: issued by %q, expected the issuer %q",
				r.Subject.CommonName, name, r.Issuer.CommonName, issuer.Subject.CommonName)
		}
		if !hasOCSPSigning(r) {
			return Answer{}, badAnswer(verify.ErrChain, "OCSP responder %q for %q: no id-kp-OCSPSigning extended key usage",
				r.Subject.CommonName, name)
		}
		if now.Before(r.NotBefore) || now.After(r.NotAfter) {
			return Answer{}, badAnswer(verify.ErrExpired, "OCSP responder %q: valid %s..%s, verification time %s",
				r.Subject.CommonName, r.NotBefore.Format(time.RFC3339), r.NotAfter.Format(time.RFC3339), now.Format(time.RFC3339))
		}
	}
	signer := issuer
	if resp.Certificate != nil {
		signer = resp.Certificate
	}
	if err := checkResponderID(resp, signer); err != nil {
		return Answer{}, badAnswer(nil, "OCSP response for %q: %w", name, err)
	}
	tbs, single, err := parseTBS(resp.TBSResponseData, cert.SerialNumber)
	if err != nil {
		return Answer{}, badAnswer(nil, "OCSP response for %q: %w", name, err)
	}
	if err := checkCertID(single.CertID, resp.IssuerHash, issuer); err != nil {
		return Answer{}, badAnswer(nil, "OCSP response for %q: %w", name, err)
	}
	next := nextUpdate(resp)
	if now.Add(skew).Before(resp.ThisUpdate) {
		return Answer{}, badAnswer(verify.ErrExpired, "OCSP response for %q: thisUpdate %s is after the verification time %s",
			name, resp.ThisUpdate.Format(time.RFC3339), now.Format(time.RFC3339))
	}
	if !now.Before(next.Add(skew)) {
		return Answer{}, badAnswer(verify.ErrExpired, "OCSP response for %q: stale: nextUpdate %s is not after the verification time %s",
			name, next.Format(time.RFC3339), now.Format(time.RFC3339))
	}
	a := Answer{Status: resp.Status, Reason: resp.RevocationReason, ThisUpdate: resp.ThisUpdate, NextUpdate: next, ValidUntil: next}
	if resp.Certificate != nil && resp.Certificate.NotAfter.Before(a.ValidUntil) {
		a.ValidUntil = resp.Certificate.NotAfter
	}
	if nonce != nil {
		// RFC 8954 puts the nonce in the response extensions; some
		// responders put it in the single response.
		got, ok := findNonce(tbs.Extensions)
		if !ok {
			got, ok = findNonce(single.Extensions)
		}
		if !ok {
			return Answer{}, badAnswer(nil, "OCSP response for %q: nonce: expected %x, got none", name, nonce)
		}
		if !bytes.Equal(got, nonce) {
			return Answer{}, badAnswer(nil, "OCSP response for %q: nonce: expected %x, got %x", name, nonce, got)
		}
		a.Nonce = true
	}
	if resp.Status != ocsp.Good && resp.Status != ocsp.Revoked && resp.Status != ocsp.Unknown {
		return Answer{}, badAnswer(verify.ErrMalformed, "OCSP response for %q: status %d", name, resp.Status)
	}
	return a, nil
}

// nextUpdate is the response's nextUpdate, or thisUpdate + 1 h when it has
// none.
func nextUpdate(r *ocsp.Response) time.Time {
	if r.NextUpdate.IsZero() {
		return r.ThisUpdate.Add(time.Hour)
	}
	return r.NextUpdate
}

// checkResponderID checks that the ResponderID names the certificate whose
// key signed the response.
func checkResponderID(resp *ocsp.Response, signer *x509.Certificate) error {
	if resp.ResponderKeyHash != nil {
		key, err := publicKeyBits(signer)
		if err != nil {
			return verify.Errorf(verify.ErrMalformed, "responder public key: %w", err)
		}
		h := sha1.Sum(key)
		if !bytes.Equal(h[:], resp.ResponderKeyHash) {
			return verify.Errorf(verify.ErrChain, "ResponderID key hash %x does not name the signer %q (%x)", resp.ResponderKeyHash, signer.Subject.CommonName, h)
		}
		return nil
	}
	if !bytes.Equal(resp.RawResponderName, signer.RawSubject) {
		return verify.Errorf(verify.ErrChain, "ResponderID name does not name the signer %q", signer.Subject.CommonName)
	}
	return nil
}

func hasOCSPSigning(c *x509.Certificate) bool {
	for _, u := range c.ExtKeyUsage {
		if u == x509.ExtKeyUsageOCSPSigning {
			return true
		}
	}
	return false
}

type certID struct {
	HashAlgorithm  pkix.AlgorithmIdentifier
	IssuerNameHash []byte
	IssuerKeyHash  []byte
	SerialNumber   *big.Int
}

type singleResponse struct {
	CertID     certID
	Status     asn1.RawValue
	ThisUpdate time.Time        `asn1:"generalized"`
	NextUpdate time.Time        `asn1:"generalized,explicit,tag:0,optional"`
	Extensions []pkix.Extension `asn1:"explicit,tag:1,optional"`
}

type tbsResponseData struct {
	Version     int `asn1:"optional,default:0,explicit,tag:0"`
	ResponderID asn1.RawValue
	ProducedAt  time.Time `asn1:"generalized"`
	Responses   []singleResponse
	Extensions  []pkix.Extension `asn1:"explicit,tag:1,optional"`
}

// parseTBS re-reads the signed response data for what x/crypto/ocsp does not
// expose: the CertID hashes and the response extensions (nonce).
func parseTBS(raw []byte, serial *big.Int) (*tbsResponseData, *singleResponse, error) {
	var tbs tbsResponseData
	rest, err := asn1.Unmarshal(raw, &tbs)
	if err != nil || len(rest) != 0 {
		return nil, nil, verify.Errorf(verify.ErrMalformed, "OCSP response data: %v (%d trailing bytes)", err, len(rest))
	}
	var found *singleResponse
	for i := range tbs.Responses {
		if tbs.Responses[i].CertID.SerialNumber != nil && tbs.Responses[i].CertID.SerialNumber.Cmp(serial) == 0 {
			if found != nil {
				return nil, nil, verify.Errorf(verify.ErrMalformed, "OCSP response: two answers for serial %x", serial)
			}
			found = &tbs.Responses[i]
		}
	}
	if found == nil {
		return nil, nil, verify.Errorf(verify.ErrMalformed, "OCSP response: no Answer for serial %x", serial)
	}
	return &tbs, found, nil
}

func checkCertID(id certID, h crypto.Hash, issuer *x509.Certificate) error {
	if !h.Available() {
		return verify.Errorf(verify.ErrUnsupported, "CertID hash %v not available", h)
	}
	nameHash, keyHash, err := issuerHashes(h, issuer)
	if err != nil {
		return err
	}
	if !bytes.Equal(nameHash, id.IssuerNameHash) || !bytes.Equal(keyHash, id.IssuerKeyHash) {
		return verify.Errorf(verify.ErrChain, "CertID: issuer name/key hash %x/%x do not match issuer %q", id.IssuerNameHash, id.IssuerKeyHash, issuer.Subject.CommonName)
	}
	return nil
}

// publicKeyBits returns the subjectPublicKey bits of c, what OCSP hashes to
// name a key.
func publicKeyBits(c *x509.Certificate) ([]byte, error) {
	var spki struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(c.RawSubjectPublicKeyInfo, &spki); err != nil {
		return nil, err
	}
	return spki.PublicKey.RightAlign(), nil
}

// issuerHashes returns the CertID hashes of issuer's name and key under h.
func issuerHashes(h crypto.Hash, issuer *x509.Certificate) (nameHash, keyHash []byte, err error) {
	key, err := publicKeyBits(issuer)
	if err != nil {
		return nil, nil, verify.Errorf(verify.ErrMalformed, "issuer public key: %w", err)
	}
	nh := h.New()
	nh.Write(issuer.RawSubject)
	kh := h.New()
	kh.Write(key)
	return nh.Sum(nil), kh.Sum(nil), nil
}

func findNonce(exts []pkix.Extension) ([]byte, bool) {
	for _, e := range exts {
		if e.Id.Equal(oidNonce) {
			var inner []byte
			if rest, err := asn1.Unmarshal(e.Value, &inner); err == nil && len(rest) == 0 {
				return inner, true
			}
			return e.Value, true
		}
	}
	return nil, false
}

type ocspRequest struct {
	TBSRequest tbsRequest
}

type tbsRequest struct {
	RequestList []request
	Extensions  []pkix.Extension `asn1:"explicit,tag:2,optional"`
}

type request struct {
	Cert certID
}

var oidSHA384 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}

// BuildRequest returns a DER OCSP request for cert with a SHA-384 CertID, as
// NVIDIA's responders expect, and a nonce extension when nonce is set.
func BuildRequest(cert, issuer *x509.Certificate, nonce []byte) ([]byte, error) {
	nameHash, keyHash, err := issuerHashes(crypto.SHA384, issuer)
	if err != nil {
		return nil, err
	}
	r := ocspRequest{TBSRequest: tbsRequest{RequestList: []request{{Cert: certID{
		HashAlgorithm:  pkix.AlgorithmIdentifier{Algorithm: oidSHA384, Parameters: asn1.NullRawValue},
		IssuerNameHash: nameHash, IssuerKeyHash: keyHash, SerialNumber: cert.SerialNumber,
	}}}}}
	if nonce != nil {
		v, err := asn1.Marshal(nonce)
		if err != nil {
			return nil, err
		}
		r.TBSRequest.Extensions = []pkix.Extension{{Id: oidNonce, Value: v}}
	}
	return asn1.Marshal(r)
}
