package azure

import (
	"context"

	"github.com/trustfactory/attest/tdx"
	"github.com/trustfactory/attest/tpm"
	"github.com/trustfactory/attest/verify"
)

// TDXVerifier verifies az-tdx-vtpm evidence. It is immutable after
// NewTDXVerifier and safe for concurrent use.
type TDXVerifier struct {
	tdx *tdx.Verifier
	tpm *tpm.Verifier
	// runtime caches runtime data by its exact bytes: digest, parse and AK.
	runtime *runtimeCache
}

// TDXOption configures a TDXVerifier.
type TDXOption func(*TDXVerifier) error

// WithTDX sets the verifier of the TD quote: its roots, collateral source
// and caches. It is required: a TD quote means nothing without the
// collateral only the caller can configure.
func WithTDX(v *tdx.Verifier) TDXOption {
	return func(a *TDXVerifier) error {
		if v == nil {
			return verify.Errorf(verify.ErrConfig, "azure: nil TDX verifier")
		}
		a.tdx = v
		return nil
	}
}

// WithTDXTPM sets the verifier of the vTPM quote, as WithTPM does for
// az-snp-vtpm. Without it, tpm.NewVerifier(tpm.WithBoundAKsOnly()).
func WithTDXTPM(v *tpm.Verifier) TDXOption {
	return func(a *TDXVerifier) error {
		if v == nil {
			return verify.Errorf(verify.ErrConfig, "azure: nil TPM verifier")
		}
		a.tpm = v
		return nil
	}
}

// NewTDXVerifier returns a TDXVerifier; WithTDX is required.
func NewTDXVerifier(opts ...TDXOption) (*TDXVerifier, error) {
	v := &TDXVerifier{}
	for _, o := range opts {
		if err := o(v); err != nil {
			return nil, err
		}
	}
	v.runtime = newRuntimeCache()
	var err error
	if v.tdx == nil {
		return nil, verify.Errorf(verify.ErrConfig, "azure: no TDX verifier: use WithTDX (the TD quote needs Intel's collateral)")
	}
	if v.tpm == nil {
		if v.tpm, err = defaultVTPM(); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// Format implements verify.Verifier.
func (v *TDXVerifier) Format() verify.Format { return verify.FormatAzureTDX }

// Detect implements verify.Verifier: az-tdx-vtpm JSON.
func (v *TDXVerifier) Detect(b []byte) bool { return detect(b, "td_quote") }

// Verify implements verify.Verifier.
func (v *TDXVerifier) Verify(ctx context.Context, evidence []byte, exp verify.Expectations) (verify.Claims, error) {
	ev, err := DecodeTDXEvidence(evidence)
	if err != nil {
		return nil, err
	}
	// The decoded evidence is this call's own: the TD quote's claims may
	// keep slices of it instead of a copy.
	c, err := v.verifyEvidence(ctx, ev, exp, true)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// VerifyEvidence verifies decoded az-tdx-vtpm evidence: the HCL report
// holds a TDREPORT whose REPORTDATA is the runtime data's digest, zero
// padded; the TD quote verifies (package tdx) with that report data and
// repeats the TDREPORT field by field; the vTPM quote is the runtime data's
// AK's, as for az-snp-vtpm. exp.ReportData is what the vTPM quote's
// extraData must be; exp.InitDataDigest, when set, is PCR 8's expected
// value (not MRCONFIGID, which the paravisor owns). On any error the claims
// are nil.
func (v *TDXVerifier) VerifyEvidence(ctx context.Context, ev *TDXEvidence, exp verify.Expectations) (*TDXClaims, error) {
	return v.verifyEvidence(ctx, ev, exp, false)
}

// verifyEvidence is VerifyEvidence; owned says ev is the caller's own
// decode, whose TD quote the claims may keep without a copy.
func (v *TDXVerifier) verifyEvidence(ctx context.Context, ev *TDXEvidence, exp verify.Expectations, owned bool) (*TDXClaims, error) {
	if ev == nil {
		return nil, verify.Errorf(verify.ErrMalformed, "az-tdx-vtpm evidence is nil")
	}
	hcl, err := hclReportOf(ev.Version, ev.HCLReport, "az-tdx-vtpm", reportTypeTDX, "TDX")
	if err != nil {
		return nil, err
	}
	tdr, err := parseTDReport(hcl.HWReport)
	if err != nil {
		return nil, err
	}
	// The runtime data must be what the TDREPORT's REPORTDATA covers: its
	// digest, zero padded.
	bound, err := bindRuntimeData(v.runtime, hcl, tdr.reportData(), "TDREPORT's REPORTDATA")
	if err != nil {
		return nil, err
	}
	// The TD quote must be the quote of this very TDREPORT. Its
	// verification authenticates the bytes and checks the report data
	// (Trustee's binding); the verified body must then repeat the TDREPORT
	// field by field. When the verification fails, a quote of another
	// report is still reported as such (a binding error, not a stale
	// quote): only that path parses the quote a second time.
	verifyQuote := v.tdx.VerifyQuote
	if owned {
		verifyQuote = v.tdx.VerifyOwnedQuote
	}
	tc, err := verifyQuote(ctx, ev.TDQuote, verify.Expectations{Now: exp.Now, ReportData: bound.want})
	if err != nil {
		if q, perr := tdx.ParseQuote(ev.TDQuote); perr == nil {
			if merr := tdr.matchQuote(&q.Body); merr != nil {
				return nil, merr
			}
		}
		return nil, err
	}
	if err := tdr.matchQuote(&tc.Quote.Body); err != nil {
		return nil, err
	}
	if tc.EventLog != nil {
		// Raw TD quotes carry none; a log would describe the paravisor.
		return nil, verify.Errorf(verify.ErrMalformed, "az-tdx-vtpm evidence: the TD quote came with a CC event log")
	}
	rd, ak, err := runtimeData(v.runtime, hcl, bound)
	if err != nil {
		return nil, err
	}
	pc, err := verifyVTPM(ctx, v.tpm, ev.Version, rd, ak, ev.Quote, ev.AAEventLog, exp, "TD quote")
	if err != nil {
		return nil, err
	}
	return &TDXClaims{Version: ev.Version, SessionBound: ev.Version >= 2 && len(exp.ReportData) > 0, TDX: tc, TPM: pc,
		VM: rd.VMConfiguration, UserData: rd.UserData, RuntimeDataHash: hcl.Hash}, nil
}
