package azure

import (
	"context"

	"github.com/trustfactory/attest/snp"
	"github.com/trustfactory/attest/tpm"
	"github.com/trustfactory/attest/verify"
)

// Verifier verifies az-snp-vtpm evidence. It is immutable after NewVerifier
// and safe for concurrent use.
type Verifier struct {
	snp *snp.Verifier
	tpm *tpm.Verifier
	// runtime caches runtime data by its exact bytes: digest, parse and AK.
	runtime *runtimeCache
}

// Option configures a Verifier.
type Option func(*Verifier) error

// WithSNP sets the verifier of the SEV-SNP report: its roots, revocation
// source and caches (the VCEK comes with the evidence). Without it, a
// snp.NewVerifier() with the embedded AMD roots and no CRL source is used,
// which fails every verification for want of a CRL unless the caller's
// verifier says otherwise.
func WithSNP(v *snp.Verifier) Option {
	return func(a *Verifier) error {
		if v == nil {
			return verify.Errorf(verify.ErrConfig, "azure: nil SNP verifier")
		}
		a.snp = v
		return nil
	}
}

// WithTPM sets the verifier of the vTPM quote, for its hash and PCR options
// (WithRequiredPCRs); its AK trust settings do not apply, since the AK comes
// from the HCL report. Without it, tpm.NewVerifier(tpm.WithBoundAKsOnly()).
func WithTPM(v *tpm.Verifier) Option {
	return func(a *Verifier) error {
		if v == nil {
			return verify.Errorf(verify.ErrConfig, "azure: nil TPM verifier")
		}
		a.tpm = v
		return nil
	}
}

// NewVerifier returns a Verifier.
func NewVerifier(opts ...Option) (*Verifier, error) {
	v := &Verifier{}
	for _, o := range opts {
		if err := o(v); err != nil {
			return nil, err
		}
	}
	v.runtime = newRuntimeCache()
	var err error
	if v.snp == nil {
		if v.snp, err = snp.NewVerifier(); err != nil {
			return nil, err
		}
	}
	if v.tpm == nil {
		if v.tpm, err = defaultVTPM(); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// Format implements verify.Verifier.
func (v *Verifier) Format() verify.Format { return verify.FormatAzureSNP }

// Detect implements verify.Verifier: az-snp-vtpm JSON.
func (v *Verifier) Detect(b []byte) bool { return detect(b, "vcek") }

// Verify implements verify.Verifier.
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

// VerifyEvidence verifies decoded evidence (see the package documentation
// for the checks). exp.ReportData is what the quote's extraData must be;
// exp.InitDataDigest, when set, is PCR 8's expected value. On any error the
// claims are nil.
func (v *Verifier) VerifyEvidence(ctx context.Context, ev *Evidence, exp verify.Expectations) (*Claims, error) {
	if ev == nil {
		return nil, verify.Errorf(verify.ErrMalformed, "az-snp-vtpm evidence is nil")
	}
	hcl, err := hclReportOf(ev.Version, ev.HCLReport, "az-snp-vtpm", reportTypeSNP, "SEV-SNP")
	if err != nil {
		return nil, err
	}
	// The runtime data must be what the hardware report's REPORT_DATA
	// covers: its digest, zero-padded (badinputs SNP-31).
	report, err := snp.ParseReport(hcl.HWReport)
	if err != nil {
		return nil, err
	}
	bound, err := bindRuntimeData(v.runtime, hcl, report.ReportData[:], "SEV-SNP report's REPORT_DATA")
	if err != nil {
		return nil, err
	}
	// The report is already parsed; the evidence's certificate is the VCEK.
	sc, err := v.snp.VerifyEvidence(ctx, &snp.Evidence{Report: report, VCEK: ev.VCEK}, verify.Expectations{Now: exp.Now, ReportData: bound.want})
	if err != nil {
		return nil, err
	}
	if sc.Report.VMPL != 0 {
		// Only the paravisor runs at VMPL 0: a report from a higher level is
		// the guest vouching for its own runtime data and AK.
		return nil, verify.Errorf(verify.ErrBinding, "SEV-SNP report: VMPL %d, expected 0 (the paravisor's)", sc.Report.VMPL)
	}
	rd, ak, err := runtimeData(v.runtime, hcl, bound)
	if err != nil {
		return nil, err
	}
	tc, err := verifyVTPM(ctx, v.tpm, ev.Version, rd, ak, ev.Quote, ev.AAEventLog, exp, "SEV-SNP report")
	if err != nil {
		return nil, err
	}
	return &Claims{Version: ev.Version, SessionBound: ev.Version >= 2 && len(exp.ReportData) > 0, SNP: sc, TPM: tc, VM: rd.VMConfiguration, UserData: rd.UserData, RuntimeDataHash: hcl.Hash}, nil
}
