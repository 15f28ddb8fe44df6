package sgx

import "github.com/trustfactory/attest/verify"

// What the composite appraiser, package binding and package kbs need to
// know about SGX evidence, said by the verifier and its claims.
var (
	_ verify.SubmodClasser    = (*Verifier)(nil)
	_ verify.TEENamer         = (*Verifier)(nil)
	_ verify.ReportDataPlacer = (*Verifier)(nil)
	_ verify.ExpiringClaims   = (*Claims)(nil)
	_ verify.UnsafeReporter   = (*Claims)(nil)
)

// SubmodClass implements verify.SubmodClasser: an enclave is a CPU TEE.
func (v *Verifier) SubmodClass() string { return verify.ClassCPU }

// TEEName implements verify.TEENamer: "sgx" in the KBS protocol.
func (v *Verifier) TEEName() string { return "sgx" }

// ReportDataPlacement implements verify.ReportDataPlacer: the runtime-data
// digest followed by zero bytes fills the 64-byte REPORTDATA.
func (v *Verifier) ReportDataPlacement() verify.ReportDataPlacement {
	return verify.ReportDataPlacement{Mode: verify.PlacePadded, Size: 64}
}
