package snp

import (
	"time"

	"github.com/trustfactory/attest/verify"
)

// What the composite appraiser, package binding and package kbs need to
// know about SEV-SNP evidence, said by the verifier and its claims.
var (
	_ verify.SubmodClasser    = (*Verifier)(nil)
	_ verify.TEENamer         = (*Verifier)(nil)
	_ verify.ReportDataPlacer = (*Verifier)(nil)
	_ verify.ExpiringClaims   = (*Claims)(nil)
	_ verify.UnsafeReporter   = (*Claims)(nil)
)

// SubmodClass implements verify.SubmodClasser: a guest is a CPU TEE.
func (v *Verifier) SubmodClass() string { return verify.ClassCPU }

// TEEName implements verify.TEENamer: "snp" in the KBS protocol.
func (v *Verifier) TEEName() string { return "snp" }

// ReportDataPlacement implements verify.ReportDataPlacer: the runtime-data
// digest followed by zero bytes fills the 64-byte REPORT_DATA.
func (v *Verifier) ReportDataPlacement() verify.ReportDataPlacement {
	return verify.ReportDataPlacement{Mode: verify.PlacePadded, Size: 64}
}

// Expiry implements verify.ExpiringClaims: NotAfter, the earliest expiry
// of the certificates and CRL the verification relied on.
func (c *Claims) Expiry() (time.Time, bool) {
	return c.NotAfter, !c.NotAfter.IsZero()
}
