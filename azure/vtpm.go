package azure

import (
	"context"
	"crypto"
	"errors"

	"github.com/trustfactory/attest/tpm"
	"github.com/trustfactory/attest/verify"
)

// verifyVTPM checks the vTPM half shared by az-snp-vtpm and az-tdx-vtpm
// evidence, once the hardware report (hw names it in errors) has vouched
// for runtime: the quote is signed by the runtime data's AK, carries
// exp.ReportData exactly as extraData and covers the PCR values given; in
// version 2 evidence the runtime data's user-data starts with the expected
// report data too.
func verifyVTPM(ctx context.Context, tv *tpm.Verifier, version int, runtime []byte, q Quote, exp verify.Expectations, hw string) (*RuntimeData, *tpm.Claims, error) {
	rd, err := ParseRuntimeData(runtime)
	if err != nil {
		return nil, nil, err
	}
	ak, err := rd.AK()
	if err != nil {
		return nil, nil, err
	}
	if version >= 2 {
		ud, err := rd.userData()
		if err != nil {
			return nil, nil, err
		}
		if err := exp.CheckReportData("HCL user-data", ud); err != nil {
			return nil, nil, err
		}
	}
	pcrs := make(map[int][]byte, len(q.PCRs))
	for i, p := range q.PCRs {
		pcrs[i] = p
	}
	tev := &tpm.Evidence{Quotes: []tpm.Quote{{
		Attest:    q.Message,
		Signature: rsassaSHA256(q.Signature),
		Bank:      crypto.SHA256,
		PCRs:      pcrs,
	}}}
	tc, err := tv.VerifyBoundAK(ctx, tev, ak, exp)
	if err != nil {
		if errors.Is(err, verify.ErrSignature) {
			// A quote the HCL report's AK did not sign comes from another
			// vTPM: it is not bound to this hardware report (TPM-22).
			return nil, nil, verify.Errorf(verify.ErrBinding, "vTPM quote not signed by the HCL report's AK (bound to the %s): %w", hw, err)
		}
		return nil, nil, err
	}
	if len(exp.ReportData) > 0 && len(tc.ExtraData) != len(exp.ReportData) {
		// Trustee compares extraData with the report data exactly.
		return nil, nil, verify.Errorf(verify.ErrFreshness, "quote extraData: expected %x, got %x", exp.ReportData, tc.ExtraData)
	}
	return rd, tc, nil
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
