package tdx

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"strings"
	"time"

	"github.com/trustfactory/attest/internal/jsonbound"
	"github.com/trustfactory/attest/internal/lru"
	"github.com/trustfactory/attest/internal/pck"
	"github.com/trustfactory/attest/verify"
)

// IntelSGXRootCA returns the embedded Intel SGX Root CA, the default trust anchor.
func IntelSGXRootCA() *x509.Certificate { return pck.IntelSGXRootCA() }

// MaxEvidenceSize caps the evidence handed to Verify (quote plus event log).
const MaxEvidenceSize = 16 << 20

// CollateralRequest names the collateral a quote needs.
type CollateralRequest struct {
	FMSPC [6]byte
	// CA is the PCK issuing CA: "platform" or "processor".
	CA string
	// Now is the verification time, for sources that cache.
	Now time.Time
	// TEE is the quote's TEE: "tdx" (also when empty) or "sgx". TCB info and
	// QE identity differ between them (the CRLs are the same); package sgx
	// asks for "sgx".
	TEE string
}

// teeSGX is CollateralRequest.TEE of SGX quotes.
const teeSGX = "sgx"

// certPath is the PCS path element of the request's TCB info and QE
// identity, "tdx" or "sgx".
func (r CollateralRequest) certPath() (string, error) {
	switch r.TEE {
	case "", "tdx":
		return "tdx", nil
	case teeSGX:
		return teeSGX, nil
	}
	return "", verify.Errorf(verify.ErrConfig, "tdx: collateral request TEE %q (want tdx or sgx)", r.TEE)
}

// CollateralSource supplies Intel collateral. Implementations must be safe
// for concurrent use and return a Collateral that is not modified afterwards.
type CollateralSource interface {
	Collateral(ctx context.Context, req CollateralRequest) (*Collateral, error)
}

// Option configures a Verifier.
type Option func(*config) error

type config struct {
	source         CollateralSource
	roots          []*x509.Certificate
	logger         *slog.Logger
	cacheSize      int
	skipCollateral bool
	unloggedRTMR3  bool
	strictLog      bool
	checks         pck.CollateralChecks // Flavor set by NewVerifier
}

// WithCollateral sets the collateral source (required unless
// WithoutCollateralUnsafe).
func WithCollateral(src CollateralSource) Option {
	return func(c *config) error {
		if src == nil {
			return verify.Errorf(verify.ErrConfig, "WithCollateral: nil source")
		}
		c.source = src
		return nil
	}
}

// WithTrustedRoots replaces the embedded Intel SGX Root CA.
func WithTrustedRoots(roots ...*x509.Certificate) Option {
	return func(c *config) error {
		var err error
		c.roots, err = pck.TrustedRoots("WithTrustedRoots", roots)
		return err
	}
}

// WithLogger sets a logger for debug information; the default is silent.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return verify.Errorf(verify.ErrConfig, "WithLogger: nil logger")
		}
		c.logger = l
		return nil
	}
}

// WithCacheSize bounds each cache of verified objects (platforms and
// collateral) to n entries; the default is 1024.
func WithCacheSize(n int) Option {
	return func(c *config) error {
		if n < 1 {
			return verify.Errorf(verify.ErrConfig, "WithCacheSize: %d < 1", n)
		}
		c.cacheSize = n
		return nil
	}
}

// WithMinTCBEvaluationDataNumber rejects TCB info and QE identity whose
// tcbEvaluationDataNumber is below n (ErrCollateral), against rollback to
// older, validly signed collateral.
func WithMinTCBEvaluationDataNumber(n int) Option {
	return func(c *config) error {
		if n < 0 {
			return verify.Errorf(verify.ErrConfig, "WithMinTCBEvaluationDataNumber: %d is negative", n)
		}
		c.checks.MinEvalNumber = n
		return nil
	}
}

// The unsafe switches of this package, as the claims report them
// (Claims.UnsafeSwitches).
const (
	UnsafeWithoutCollateral verify.UnsafeSwitch = "tdx.WithoutCollateralUnsafe"
	UnsafeWithoutCRLs       verify.UnsafeSwitch = "tdx.WithoutCRLsUnsafe"
	UnsafeExpiredCollateral verify.UnsafeSwitch = "tdx.WithExpiredCollateralUnsafe" // only when stale collateral was accepted
	UnsafeUnloggedRTMR3     verify.UnsafeSwitch = "tdx.WithUnloggedRTMR3Unsafe"     // only when RTMR3 had no log entries
)

// WithoutCollateralUnsafe verifies only the quote signature, the QE report
// and the PCK chain: no TCB status, no revocation. Recorded in the claims.
func WithoutCollateralUnsafe() Option {
	return func(c *config) error { c.skipCollateral = true; return nil }
}

// WithoutCRLsUnsafe appraises TCB info and QE identity but skips both CRLs
// (for collateral sets that lack them). Recorded in the claims.
func WithoutCRLsUnsafe() Option {
	return func(c *config) error { c.checks.SkipCRLs = true; return nil }
}

// WithUnloggedRTMR3Unsafe accepts an RTMR3 extended without event-log
// entries: RTMR0–2 must still replay, RTMR3 is reported from the quote
// unverified by the log. Recorded in the claims when used. A log that has
// RTMR3 entries must still replay them.
func WithUnloggedRTMR3Unsafe() Option {
	return func(c *config) error { c.unloggedRTMR3 = true; return nil }
}

// WithStrictEventLog additionally rejects event logs with more than one
// separator on a CC MR index (ErrMalformed), for firmware known to log one
// per RTMR; OVMF logs two on RTMR0 (see EventLog.CheckSeparators).
func WithStrictEventLog() Option {
	return func(c *config) error { c.strictLog = true; return nil }
}

// WithExpiredCollateralUnsafe accepts collateral (TCB info, QE identity,
// CRLs) up to grace past the end of its validity, for offline use when fresh
// collateral cannot be had. The certificates that sign them must still be
// valid. The claims
// then say "collateral_expiration_status": "1" and list
// UnsafeExpiredCollateral. Collateral that is not yet valid is never accepted.
func WithExpiredCollateralUnsafe(grace time.Duration) Option {
	return func(c *config) error {
		if grace <= 0 {
			return verify.Errorf(verify.ErrConfig, "WithExpiredCollateralUnsafe: grace %s must be positive", grace)
		}
		c.checks.StaleGrace = grace
		return nil
	}
}

// contradictions refuses option sets that ask for two incompatible things:
// a switch that turns a check off beside an option that configures it would
// leave the caller believing the check runs.
func (c *config) contradictions() error {
	return pck.Contradictions("tdx", c.source != nil, c.skipCollateral, c.checks)
}

// Verifier verifies TDX quotes. It is immutable and safe for concurrent use.
type Verifier struct {
	cfg  config
	dcap *pck.Verifier
	// tcbs keeps the appraisals of quotes against verified collateral (see
	// appraiseCached).
	tcbs *lru.Cache[tcbKey, *TCB]
}

// NewVerifier returns a verifier configured by opts.
func NewVerifier(opts ...Option) (*Verifier, error) {
	cfg := config{cacheSize: 1024}
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	if err := cfg.contradictions(); err != nil {
		return nil, err
	}
	if cfg.logger == nil {
		cfg.logger = slog.New(slog.DiscardHandler)
	}
	if len(cfg.roots) == 0 {
		cfg.roots = []*x509.Certificate{IntelSGXRootCA()}
	}
	cfg.checks.Flavor = pck.FlavorTDX
	return &Verifier{cfg: cfg, dcap: pck.NewVerifier(cfg.roots, cfg.cacheSize), tcbs: lru.New[tcbKey, *TCB](cfg.cacheSize)}, nil
}

// Format returns verify.FormatTDX.
func (v *Verifier) Format() verify.Format { return verify.FormatTDX }

// Detect recognises a raw TDX quote or Trustee's JSON TDX evidence.
func (v *Verifier) Detect(evidence []byte) bool {
	if looksLikeQuote(evidence) {
		return true
	}
	t := bytes.TrimLeft(evidence, " \t\r\n")
	if len(t) == 0 || t[0] != '{' || len(evidence) > MaxEvidenceSize {
		return false
	}
	e, err := decodeEvidence(evidence)
	return err == nil && looksLikeQuote(e.quote)
}

func looksLikeQuote(b []byte) bool {
	if len(b) < headerSize {
		return false
	}
	ver := uint16(b[0]) | uint16(b[1])<<8
	key := uint16(b[2]) | uint16(b[3])<<8
	tee := uint32(b[4]) | uint32(b[5])<<8 | uint32(b[6])<<16 | uint32(b[7])<<24
	return (ver == 4 || ver == 5) && key == attKeyTypeP256 && tee == teeTypeTDX
}

// Bounds of the JSON evidence wrapper's structure, checked before decoding.
const (
	maxEvidenceDepth  = 4
	maxEvidenceValues = 16
)

// trusteeEvidence is Trustee's TDX evidence. Members Trustee ignores are
// ignored here too (its serde structs accept them), within the bounds
// jsonbound checks before decoding.
type trusteeEvidence struct {
	Quote      string  `json:"quote"`
	CCEventLog *string `json:"cc_eventlog"`
	// AAEventLog is the legacy text AA event log (Trustee 2024-05-29 to
	// 2025-07-23), replayed into RTMR3.
	AAEventLog *string `json:"aa_eventlog"`
}

// decodedEvidence is the evidence split into its parts.
type decodedEvidence struct {
	quote, ccel, aael []byte
}

// decodeEvidence splits evidence into the quote, the optional CC event log
// and the optional legacy AA event log.
func decodeEvidence(evidence []byte) (decodedEvidence, error) {
	var out decodedEvidence
	if len(evidence) > MaxEvidenceSize {
		return out, verify.Errorf(verify.ErrLimit, "evidence: %d bytes exceeds the cap of %d", len(evidence), MaxEvidenceSize)
	}
	t := bytes.TrimLeft(evidence, " \t\r\n")
	if len(t) == 0 || t[0] != '{' {
		if len(evidence) > MaxQuoteSize {
			return out, verify.Errorf(verify.ErrLimit, "quote: %d bytes exceeds the cap of %d", len(evidence), MaxQuoteSize)
		}
		// The claims keep slices of the quote: they must not alias the
		// caller's buffer (the JSON path decodes into a new one).
		out.quote = bytes.Clone(evidence)
		return out, nil
	}
	// The wrapper holds a few strings: refuse, before decoding, the shapes
	// whose decode allocates many times their size (megabytes of repeated
	// or nested members), leaving room for the few members that the decoder
	// refuses with ErrMalformed.
	if err := jsonbound.Check(evidence, "TDX JSON evidence", maxEvidenceDepth, maxEvidenceValues); err != nil {
		return out, err
	}
	var e trusteeEvidence
	dec := json.NewDecoder(bytes.NewReader(evidence))
	if err := dec.Decode(&e); err != nil {
		return out, verify.Errorf(verify.ErrMalformed, "TDX JSON evidence: %w", err)
	}
	// Not dec.More(), which reports false before a stray ']' or '}'.
	if len(bytes.TrimLeft(evidence[dec.InputOffset():], " \t\r\n")) != 0 {
		return out, verify.Errorf(verify.ErrMalformed, "TDX JSON evidence: trailing data")
	}
	var err error
	if out.quote, err = b64(e.Quote, "quote"); err != nil {
		return out, err
	}
	if len(out.quote) == 0 {
		return out, verify.Errorf(verify.ErrMalformed, "TDX JSON evidence: empty quote")
	}
	if e.CCEventLog != nil && *e.CCEventLog != "" {
		if out.ccel, err = b64(*e.CCEventLog, "cc_eventlog"); err != nil {
			return out, err
		}
	}
	if e.AAEventLog != nil && *e.AAEventLog != "" {
		// Trustee carried the legacy log as plain text; clone it so that
		// the claims do not alias the decoder's string.
		out.aael = []byte(*e.AAEventLog)
	}
	return out, nil
}

func b64(s, field string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, verify.Errorf(verify.ErrMalformed, "TDX JSON evidence %s: not base64", field)
}

func (v *Verifier) platform(q *Quote, now time.Time) (*pck.Platform, error) {
	return v.dcap.Platform(q.AttestationKey[:], q.CertData, now, func() (*pck.QE, error) {
		qe, err := pck.ParseEnclaveReport(q.QEReport.Raw[:])
		if err != nil {
			return nil, err
		}
		return &pck.QE{
			Report: &qe, ReportSignature: q.QEReportSignature[:], AttestationKey: q.AttestationKey[:],
			AuthData: q.QEAuthData, PCKChainPEM: q.PCKChainPEM,
		}, nil
	})
}

// verifiedCollateral returns the verified collateral of the platform, its
// digest, and whether it was accepted only by WithExpiredCollateralUnsafe.
func (v *Verifier) verifiedCollateral(ctx context.Context, p *pck.Platform, now time.Time) (*pck.Verified, [32]byte, bool, error) {
	c, err := v.cfg.source.Collateral(ctx, CollateralRequest{FMSPC: p.Ext.FMSPC, CA: p.CA, Now: now})
	if err != nil {
		return nil, [32]byte{}, false, verify.Wrap(verify.ErrCollateral, err)
	}
	if c == nil {
		return nil, [32]byte{}, false, verify.Errorf(verify.ErrCollateral, "collateral source returned nothing for fmspc %s", pck.UpperHex(p.Ext.FMSPC[:]))
	}
	d := c.Digest()
	vc, stale, err := v.dcap.Collateral(d, c.items, v.cfg.checks, now)
	return vc, d, stale, err
}

// VerifyOwnedQuote is VerifyQuote for a raw quote (not JSON evidence) that
// the caller hands over: the claims keep slices of quote instead of a copy
// of it, so the caller must never modify quote afterwards. For callers that
// decoded the quote into a buffer of their own (package azure).
func (v *Verifier) VerifyOwnedQuote(ctx context.Context, quote []byte, exp verify.Expectations) (*Claims, error) {
	if len(quote) > MaxQuoteSize {
		return nil, verify.Errorf(verify.ErrLimit, "quote: %d bytes exceeds the cap of %d", len(quote), MaxQuoteSize)
	}
	return v.verifyDecoded(ctx, decodedEvidence{quote: quote}, exp)
}

// Verify verifies a TDX quote (raw, or Trustee's JSON with an optional CC
// event log): the quote signature, the QE report and its binding to the
// attestation key, the PCK chain to a pinned root, the collateral (TCB info,
// QE identity, CRLs) and TCB level, the report data and init data, and the
// replay of the event log against RTMR0–3.
func (v *Verifier) Verify(ctx context.Context, evidence []byte, exp verify.Expectations) (verify.Claims, error) {
	c, err := v.verify(ctx, evidence, exp)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// VerifyQuote is Verify returning the typed claims.
func (v *Verifier) VerifyQuote(ctx context.Context, evidence []byte, exp verify.Expectations) (*Claims, error) {
	return v.verify(ctx, evidence, exp)
}

func (v *Verifier) verify(ctx context.Context, evidence []byte, exp verify.Expectations) (*Claims, error) {
	ev, err := decodeEvidence(evidence)
	if err != nil {
		return nil, err
	}
	return v.verifyDecoded(ctx, ev, exp)
}

// verifyDecoded verifies evidence split into its parts, which it owns.
func (v *Verifier) verifyDecoded(ctx context.Context, ev decodedEvidence, exp verify.Expectations) (*Claims, error) {
	if err := verify.Canceled(ctx, "tdx: verification not started"); err != nil {
		return nil, err
	}
	now := exp.Time()
	var err error
	var aael *AAELog
	if ev.aael != nil {
		// Parsed before any signature work: a malformed log is refused
		// cheaply.
		if aael, err = ParseAAEL(ev.aael); err != nil {
			return nil, err
		}
	}
	q, err := ParseQuote(ev.quote)
	if err != nil {
		return nil, err
	}
	if string(q.Header.VendorID[:]) != intelQEVendorID {
		return nil, verify.Errorf(verify.ErrBinding, "quote header vendor_id: expected %x (Intel QE), got %x", []byte(intelQEVendorID), q.Header.VendorID)
	}
	p, err := v.platform(q, now)
	if err != nil {
		return nil, err
	}
	d := sha256.Sum256(q.Signed)
	if !pck.VerifyRawP256(p.AK, d[:], q.Signature[:]) {
		return nil, verify.Errorf(verify.ErrSignature, "quote signature %x does not verify with the attestation key %x", q.Signature, q.AttestationKey)
	}

	cl := &Claims{Quote: q, PCK: PCKExtensions(*p.Ext), PCKCA: p.CA}
	if v.cfg.skipCollateral {
		cl.Unsafe = append(cl.Unsafe, UnsafeWithoutCollateral)
	} else {
		vc, digest, stale, err := v.verifiedCollateral(ctx, p, now)
		if err != nil {
			return nil, err
		}
		if cl.TCB, err = v.appraiseCached(q, p, vc, digest); err != nil {
			return nil, err
		}
		if stale {
			cl.TCB.Expired = true
			cl.Unsafe = append(cl.Unsafe, UnsafeExpiredCollateral)
		}
		if v.cfg.checks.SkipCRLs {
			cl.Unsafe = append(cl.Unsafe, UnsafeWithoutCRLs)
		}
	}
	if err := exp.CheckReportData("report_data", q.Body.ReportData[:]); err != nil {
		return nil, err
	}
	if len(exp.ReportData) == 0 {
		cl.Unsafe = append(cl.Unsafe, verify.UnsafeMissingReportData)
	}
	if err := exp.CheckInitData("mr_config_id", q.Body.MRConfigID[:]); err != nil {
		return nil, err
	}
	cl.InitDataChecked = exp.InitDataDigest != nil
	if aael != nil {
		// The legacy AA event log vouches for RTMR3 on its own.
		if err := aael.Check(q.Body.RTMR[3]); err != nil {
			return nil, err
		}
		cl.AAEventLog = aael
	}
	if ev.ccel != nil {
		log, err := ParseCCEL(ev.ccel)
		if err != nil {
			return nil, err
		}
		if v.cfg.strictLog {
			if err := log.CheckSeparators(); err != nil {
				return nil, err
			}
		}
		if err := log.CheckAAEL(); err != nil {
			return nil, err
		}
		// With a legacy AA event log, a CC event log without RTMR3 events
		// (the firmware's) replays RTMR0-2 only: RTMR3 was checked above.
		// RTMR3 events the CC event log does carry must still replay.
		if err := log.Replay(q.Body.RTMR, v.cfg.unloggedRTMR3 || aael != nil); err != nil {
			return nil, err
		}
		if log.RTMR3Unlogged && aael != nil {
			log.RTMR3Unlogged = false
		}
		if log.RTMR3Unlogged {
			cl.Unsafe = append(cl.Unsafe, UnsafeUnloggedRTMR3)
		}
		cl.EventLog = log
	}
	if v.cfg.logger.Enabled(ctx, slog.LevelDebug) {
		// Guarded: the arguments cost allocations even for a silent logger.
		v.cfg.logger.DebugContext(ctx, "tdx quote verified", "fmspc", pck.UpperHex(p.Ext.FMSPC[:]), "tcb_status", cl.tcbStatus())
	}
	return cl, nil
}
