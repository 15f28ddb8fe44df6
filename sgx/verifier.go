package sgx

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

	"github.com/trustfactory/attest/internal/pck"
	"github.com/trustfactory/attest/tdx"
	"github.com/trustfactory/attest/verify"
)

// Collateral is Intel's collateral for one SGX platform: SGX TCB info (id
// "SGX"), the SGX QE identity (id "QE"), the PCK CRL of the PCK's CA and
// the Root CA CRL, with their issuer chains. It is package tdx's type: the
// same sources serve both.
type Collateral = tdx.Collateral

// CollateralRequest names the collateral a quote needs; package sgx sets
// TEE to "sgx".
type CollateralRequest = tdx.CollateralRequest

// CollateralSource supplies Intel collateral (tdx.MemorySource with AddSGX,
// tdx.FSSource, tdx.HTTPSource).
type CollateralSource = tdx.CollateralSource

// PCKExtensions are the Intel SGX extensions of a PCK certificate.
type PCKExtensions = tdx.PCKExtensions

// TCBStatus is an Intel TCB status string (tdx.StatusUpToDate, …).
type TCBStatus = tdx.TCBStatus

// IntelSGXRootCA returns the embedded Intel SGX Root CA, the default trust anchor.
func IntelSGXRootCA() *x509.Certificate { return pck.IntelSGXRootCA() }

// MaxEvidenceSize caps the evidence handed to Verify (a raw quote, or JSON
// carrying one in base64).
const MaxEvidenceSize = 2 * MaxQuoteSize

// Option configures a Verifier.
type Option func(*config) error

type config struct {
	source         CollateralSource
	roots          []*x509.Certificate
	logger         *slog.Logger
	cacheSize      int
	skipCollateral bool
	checks         pck.CollateralChecks // Flavor set by NewVerifier
}

// WithCollateral sets the collateral source (required unless
// WithoutCollateralUnsafe).
func WithCollateral(src CollateralSource) Option {
	return func(c *config) error {
		if src == nil {
			return verify.Errorf(verify.ErrConfig, "sgx: WithCollateral: nil source")
		}
		c.source = src
		return nil
	}
}

// WithTrustedRoots replaces the embedded Intel SGX Root CA.
func WithTrustedRoots(roots ...*x509.Certificate) Option {
	return func(c *config) error {
		var err error
		c.roots, err = pck.TrustedRoots("sgx: WithTrustedRoots", roots)
		return err
	}
}

// WithLogger sets a logger for debug information; the default is silent.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return verify.Errorf(verify.ErrConfig, "sgx: WithLogger: nil logger")
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
			return verify.Errorf(verify.ErrConfig, "sgx: WithCacheSize: %d < 1", n)
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
			return verify.Errorf(verify.ErrConfig, "sgx: WithMinTCBEvaluationDataNumber: %d is negative", n)
		}
		c.checks.MinEvalNumber = n
		return nil
	}
}

// The unsafe switches of this package, as the claims report them
// (Claims.UnsafeSwitches).
const (
	UnsafeWithoutCollateral verify.UnsafeSwitch = "sgx.WithoutCollateralUnsafe"
	UnsafeWithoutCRLs       verify.UnsafeSwitch = "sgx.WithoutCRLsUnsafe"
	UnsafeExpiredCollateral verify.UnsafeSwitch = "sgx.WithExpiredCollateralUnsafe" // only when stale collateral was accepted
)

// WithoutCollateralUnsafe verifies only the quote signature, the QE report
// and the PCK chain: no TCB status, no QE identity, no revocation. Recorded
// in the claims.
func WithoutCollateralUnsafe() Option {
	return func(c *config) error { c.skipCollateral = true; return nil }
}

// WithoutCRLsUnsafe appraises TCB info and QE identity but skips both CRLs.
// Recorded in the claims.
func WithoutCRLsUnsafe() Option {
	return func(c *config) error { c.checks.SkipCRLs = true; return nil }
}

// WithExpiredCollateralUnsafe accepts collateral (TCB info, QE identity,
// CRLs) up to grace past the end of its validity. The certificates that sign
// it must still be valid. Recorded in the claims when used.
func WithExpiredCollateralUnsafe(grace time.Duration) Option {
	return func(c *config) error {
		if grace <= 0 {
			return verify.Errorf(verify.ErrConfig, "sgx: WithExpiredCollateralUnsafe: grace %s must be positive", grace)
		}
		c.checks.StaleGrace = grace
		return nil
	}
}

// contradictions refuses option sets that configure a check another option
// turns off.
func (c *config) contradictions() error {
	return pck.Contradictions("sgx", c.source != nil, c.skipCollateral, c.checks)
}

// Verifier verifies SGX quotes. It is immutable and safe for concurrent use.
type Verifier struct {
	cfg  config
	dcap *pck.Verifier
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
		cfg.roots = []*x509.Certificate{pck.IntelSGXRootCA()}
	}
	cfg.checks.Flavor = pck.FlavorSGX
	return &Verifier{cfg: cfg, dcap: pck.NewVerifier(cfg.roots, cfg.cacheSize)}, nil
}

// Format returns verify.FormatSGX.
func (v *Verifier) Format() verify.Format { return verify.FormatSGX }

// Detect recognises a raw SGX quote v3 or Trustee's JSON SGX evidence
// ({"quote": base64}).
func (v *Verifier) Detect(evidence []byte) bool {
	if looksLikeQuote(evidence) {
		return true
	}
	t := bytes.TrimLeft(evidence, " \t\r\n")
	if len(t) == 0 || t[0] != '{' || len(evidence) > MaxEvidenceSize {
		return false
	}
	q, err := decodeEvidence(evidence)
	return err == nil && looksLikeQuote(q)
}

func looksLikeQuote(b []byte) bool {
	if len(b) < signedSize {
		return false
	}
	ver := uint16(b[0]) | uint16(b[1])<<8
	key := uint16(b[2]) | uint16(b[3])<<8
	tee := uint32(b[4]) | uint32(b[5])<<8 | uint32(b[6])<<16 | uint32(b[7])<<24
	return ver == quoteVersion && key == attKeyTypeP256 && tee == teeTypeSGX
}

// trusteeEvidence is Trustee's SGX evidence (deps/verifier/src/sgx): the
// quote in base64. Trustee ignores other members; so does this reader.
type trusteeEvidence struct {
	Quote string `json:"quote"`
}

// decodeEvidence returns the quote, copied: the claims keep slices of it and
// must not alias the caller's buffer.
func decodeEvidence(evidence []byte) ([]byte, error) {
	if len(evidence) > MaxEvidenceSize {
		return nil, verify.Errorf(verify.ErrLimit, "SGX evidence: %d bytes exceeds the cap of %d", len(evidence), MaxEvidenceSize)
	}
	t := bytes.TrimLeft(evidence, " \t\r\n")
	if len(t) == 0 || t[0] != '{' {
		return bytes.Clone(evidence), nil
	}
	var e trusteeEvidence
	if err := json.Unmarshal(evidence, &e); err != nil {
		return nil, verify.Errorf(verify.ErrMalformed, "SGX JSON evidence: %w", err)
	}
	s := strings.TrimSpace(e.Quote)
	if s == "" {
		return nil, verify.Errorf(verify.ErrMalformed, "SGX JSON evidence: empty quote")
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, verify.Errorf(verify.ErrMalformed, "SGX JSON evidence quote: not base64")
}

func (v *Verifier) platform(q *Quote, now time.Time) (*pck.Platform, error) {
	return v.dcap.Platform(q.AttestationKey[:], q.CertData, now, func() (*pck.QE, error) {
		qe := pck.EnclaveReport(q.QEReport)
		return &pck.QE{
			Report: &qe, ReportSignature: q.QEReportSignature[:], AttestationKey: q.AttestationKey[:],
			AuthData: q.QEAuthData, PCKChainPEM: q.PCKChainPEM,
		}, nil
	})
}

func (v *Verifier) verifiedCollateral(ctx context.Context, p *pck.Platform, now time.Time) (*pck.Verified, bool, error) {
	c, err := v.cfg.source.Collateral(ctx, CollateralRequest{FMSPC: p.Ext.FMSPC, CA: p.CA, Now: now, TEE: "sgx"})
	if err != nil {
		return nil, false, verify.Wrap(verify.ErrCollateral, err)
	}
	if c == nil {
		return nil, false, verify.Errorf(verify.ErrCollateral, "collateral source returned nothing for SGX fmspc %s", pck.UpperHex(p.Ext.FMSPC[:]))
	}
	items := func() *pck.Items {
		return &pck.Items{
			TCBInfo: c.TCBInfo, TCBInfoIssuerChain: c.TCBInfoIssuerChain,
			QEIdentity: c.QEIdentity, QEIdentityIssuerChain: c.QEIdentityIssuerChain,
			PCKCRL: c.PCKCRL, PCKCRLIssuerChain: c.PCKCRLIssuerChain, RootCACRL: c.RootCACRL,
		}
	}
	return v.dcap.Collateral(c.Digest(), items, v.cfg.checks, now)
}

// Verify verifies an SGX quote v3 (raw, or Trustee's JSON {"quote": base64}):
// the quote signature, the QE report and its binding to the attestation
// key, the PCK chain to a pinned root, the collateral and TCB levels, and
// the report data (and init data against CONFIGID) of the expectations.
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
	if err := verify.Canceled(ctx, "sgx: verification not started"); err != nil {
		return nil, err
	}
	now := exp.Time()
	raw, err := decodeEvidence(evidence)
	if err != nil {
		return nil, err
	}
	q, err := ParseQuote(raw)
	if err != nil {
		return nil, err
	}
	if string(q.Header.VendorID[:]) != intelQEVendorID {
		return nil, verify.Errorf(verify.ErrBinding, "SGX quote header qe_vendor_id: expected %x (Intel QE), got %x", []byte(intelQEVendorID), q.Header.VendorID)
	}
	p, err := v.platform(q, now)
	if err != nil {
		return nil, err
	}
	d := sha256.Sum256(q.Signed)
	if !pck.VerifyRawP256(p.AK, d[:], q.Signature[:]) {
		return nil, verify.Errorf(verify.ErrSignature, "SGX quote signature %x does not verify with the attestation key %x", q.Signature, q.AttestationKey)
	}
	cl := &Claims{Quote: q, PCK: PCKExtensions(*p.Ext), PCKCA: p.CA}
	if v.cfg.skipCollateral {
		cl.Unsafe = append(cl.Unsafe, UnsafeWithoutCollateral)
	} else {
		vc, stale, err := v.verifiedCollateral(ctx, p, now)
		if err != nil {
			return nil, err
		}
		if cl.TCB, err = appraise(q, p, vc); err != nil {
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
	if err := exp.CheckInitData("config_id", q.Body.ConfigID[:]); err != nil {
		return nil, err
	}
	cl.InitDataChecked = exp.InitDataDigest != nil
	v.cfg.logger.DebugContext(ctx, "sgx quote verified", "fmspc", pck.UpperHex(p.Ext.FMSPC[:]), "tcb_status", cl.tcbStatus())
	return cl, nil
}
