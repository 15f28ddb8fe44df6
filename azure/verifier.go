package azure

import (
	"context"
	"crypto"
	"crypto/subtle"
	"errors"

	"github.com/trustfactory/attest/snp"
	"github.com/trustfactory/attest/tpm"
	"github.com/trustfactory/attest/verify"
)

// Verifier verifies az-snp-vtpm evidence. It is immutable after NewVerifier
// and safe for concurrent use.
type Verifier struct {
	snp *snp.Verifier
	tpm *tpm.Verifier
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
	var err error
	if v.snp == nil {
		if v.snp, err = snp.NewVerifier(); err != nil {
			return nil, err
		}
	}
	if v.tpm == nil {
		// The AK is bound per call by the HCL report.
		if v.tpm, err = tpm.NewVerifier(tpm.WithBoundAKsOnly()); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// Format implements verify.Verifier.
func (v *Verifier) Format() verify.Format { return verify.FormatAzureSNP }

// Detect implements verify.Verifier: az-snp-vtpm JSON.
func (v *Verifier) Detect(b []byte) bool { return detect(b) }

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
	if ev.Version != 1 && ev.Version != 2 {
		return nil, verify.Errorf(verify.ErrUnsupported, "az-snp-vtpm evidence: version %d, expected 1 or 2", ev.Version)
	}
	hcl, err := ParseHCLReport(ev.HCLReport)
	if err != nil {
		return nil, err
	}
	// The runtime data must be what the hardware report's REPORT_DATA
	// covers: its digest, zero-padded (badinputs SNP-31).
	report, err := snp.ParseReport(hcl.HWReport)
	if err != nil {
		return nil, err
	}
	h := hcl.Hash.New()
	h.Write(hcl.RuntimeData)
	want := make([]byte, len(report.ReportData))
	copy(want, h.Sum(nil))
	if subtle.ConstantTimeCompare(want, report.ReportData[:]) != 1 {
		return nil, verify.Errorf(verify.ErrBinding, "HCL runtime data: %v digest %x is not the SEV-SNP report's REPORT_DATA %x",
			hcl.Hash, want, report.ReportData[:])
	}
	// The report is already parsed; the evidence's certificate is the VCEK.
	sc, err := v.snp.VerifyEvidence(ctx, &snp.Evidence{Report: report, VCEK: ev.VCEK}, verify.Expectations{Now: exp.Now, ReportData: want})
	if err != nil {
		return nil, err
	}
	if sc.Report.VMPL != 0 {
		// Only the paravisor runs at VMPL 0: a report from a higher level is
		// the guest vouching for its own runtime data and AK.
		return nil, verify.Errorf(verify.ErrBinding, "SEV-SNP report: VMPL %d, expected 0 (the paravisor's)", sc.Report.VMPL)
	}
	rd, err := ParseRuntimeData(hcl.RuntimeData)
	if err != nil {
		return nil, err
	}
	ak, err := rd.AK()
	if err != nil {
		return nil, err
	}
	if ev.Version >= 2 {
		ud, err := rd.userData()
		if err != nil {
			return nil, err
		}
		if err := exp.CheckReportData("HCL user-data", ud); err != nil {
			return nil, err
		}
	}
	pcrs := make(map[int][]byte, len(ev.Quote.PCRs))
	for i, p := range ev.Quote.PCRs {
		pcrs[i] = p
	}
	tev := &tpm.Evidence{Quotes: []tpm.Quote{{
		Attest:    ev.Quote.Message,
		Signature: rsassaSHA256(ev.Quote.Signature),
		Bank:      crypto.SHA256,
		PCRs:      pcrs,
	}}}
	tc, err := v.tpm.VerifyBoundAK(ctx, tev, ak, exp)
	if err != nil {
		if errors.Is(err, verify.ErrSignature) {
			// A quote the HCL report's AK did not sign comes from another
			// vTPM: it is not bound to this SEV-SNP report (TPM-22).
			return nil, verify.Errorf(verify.ErrBinding, "vTPM quote not signed by the HCL report's AK: %w", err)
		}
		return nil, err
	}
	if len(exp.ReportData) > 0 && len(tc.ExtraData) != len(exp.ReportData) {
		// Trustee compares extraData with the report data exactly.
		return nil, verify.Errorf(verify.ErrFreshness, "quote extraData: expected %x, got %x", exp.ReportData, tc.ExtraData)
	}
	return &Claims{Version: ev.Version, SessionBound: ev.Version >= 2 && len(exp.ReportData) > 0, SNP: sc, TPM: tc, VM: rd.VMConfiguration, UserData: rd.UserData, RuntimeDataHash: hcl.Hash}, nil
}

// rsassaSHA256 wraps a raw RSASSA-PKCS1-v1_5 SHA-256 signature as the
// TPMT_SIGNATURE the TPM returned it in.
func rsassaSHA256(sig []byte) []byte {
	if len(sig) > 0xffff {
		return nil // ParseSignature refuses it
	}
	out := make([]byte, 0, 6+len(sig))
	out = append(out, 0x00, 0x14, 0x00, 0x0b, byte(len(sig)>>8), byte(len(sig))) // TPM_ALG_RSASSA, TPM_ALG_SHA256
	return append(out, sig...)
}
