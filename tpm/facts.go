package tpm

import "github.com/trustfactory/attest/verify"

// What the composite appraiser, package binding and package kbs need to
// know about TPM evidence, said by the verifier and its claims.
var (
	_ verify.SubmodClasser    = (*Verifier)(nil)
	_ verify.TEENamer         = (*Verifier)(nil)
	_ verify.ReportDataPlacer = (*Verifier)(nil)
	_ verify.UnsafeReporter   = (*Claims)(nil)
)

// SubmodClass implements verify.SubmodClasser: a TPM attests a machine, a
// CPU submodule.
func (v *Verifier) SubmodClass() string { return verify.ClassCPU }

// TEEName implements verify.TEENamer: "tpm" in the KBS protocol.
func (v *Verifier) TEEName() string { return "tpm" }

// ReportDataPlacement implements verify.ReportDataPlacer: the quote's
// extraData carries the first 32 bytes of the runtime-data digest.
func (v *Verifier) ReportDataPlacement() verify.ReportDataPlacement {
	return verify.ReportDataPlacement{Mode: verify.PlaceTruncated, Size: 32}
}
