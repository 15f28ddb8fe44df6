package azure

import (
	"time"

	"github.com/trustfactory/attest/verify"
)

// What the composite appraiser, package binding and package kbs need to
// know about Azure SEV-SNP vTPM evidence, said by the verifier and its
// claims.
var (
	_ verify.SubmodClasser    = (*Verifier)(nil)
	_ verify.TEENamer         = (*Verifier)(nil)
	_ verify.ReportDataPlacer = (*Verifier)(nil)
	_ verify.ExpiringClaims   = (*Claims)(nil)
	_ verify.UnsafeReporter   = (*Claims)(nil)
)

// SubmodClass implements verify.SubmodClasser: a confidential VM is a CPU
// TEE.
func (v *Verifier) SubmodClass() string { return verify.ClassCPU }

// TEEName implements verify.TEENamer: "az-snp-vtpm" in the KBS protocol.
func (v *Verifier) TEEName() string { return string(verify.FormatAzureSNP) }

// ReportDataPlacement implements verify.ReportDataPlacer: the vTPM quote's
// extraData (a TPM2B_DATA of up to 64 bytes) is the runtime-data digest
// itself, as Trustee's az-snp-vtpm verifier compares it.
func (v *Verifier) ReportDataPlacement() verify.ReportDataPlacement {
	return verify.ReportDataPlacement{Mode: verify.PlaceExact, Size: 64}
}

// Expiry implements verify.ExpiringClaims: that of the SEV-SNP report's
// verification (its VCEK chain and CRL).
func (c *Claims) Expiry() (time.Time, bool) {
	if c.SNP == nil {
		return time.Time{}, false
	}
	return c.SNP.Expiry()
}
