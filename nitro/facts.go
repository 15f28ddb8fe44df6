package nitro

import (
	"time"

	"github.com/trustfactory/attest/verify"
)

var (
	_ verify.SubmodClasser  = (*Verifier)(nil)
	_ verify.ExpiringClaims = (*Claims)(nil)
	_ verify.UnsafeReporter = (*Claims)(nil)
)

// SubmodClass implements verify.SubmodClasser: an enclave is a CPU TEE.
func (v *Verifier) SubmodClass() string { return verify.ClassCPU }

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
