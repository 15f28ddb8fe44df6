package nitro

import (
	"time"

	"github.com/trustfactory/attest/verify"
)

var (
	_ verify.SubmodClasser    = (*Verifier)(nil)
	_ verify.TEENamer         = (*Verifier)(nil)
	_ verify.ReportDataPlacer = (*Verifier)(nil)
	_ verify.ExpiringClaims   = (*Claims)(nil)
	_ verify.UnsafeReporter   = (*Claims)(nil)
)

// SubmodClass implements verify.SubmodClasser: an enclave is a CPU TEE.
func (v *Verifier) SubmodClass() string { return verify.ClassCPU }

// TEEName implements verify.TEENamer. kbs-types has no Nitro TEE; a KBS
// request names it by its format, "aws-nitro".
func (v *Verifier) TEEName() string { return string(Format) }

// ReportDataPlacement implements verify.ReportDataPlacer: the runtime-data
// digest itself is the expected start of the bound field (user_data or
// nonce, WithReportDataField), whose rest must be zero.
func (v *Verifier) ReportDataPlacement() verify.ReportDataPlacement {
	return verify.ReportDataPlacement{Mode: verify.PlaceExact, Size: 64}
}

// UnsafeSwitches implements verify.UnsafeReporter.
func (c *Claims) UnsafeSwitches() []verify.UnsafeSwitch {
	if c.ReportDataChecked {
		return nil
	}
	return []verify.UnsafeSwitch{verify.UnsafeMissingReportData}
}

// Expiry implements verify.ExpiringClaims: the end of the signing chain's
// validity.
func (c *Claims) Expiry() (time.Time, bool) { return c.ChainNotAfter, !c.ChainNotAfter.IsZero() }
