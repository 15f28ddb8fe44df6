package nras

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

// SubmodClass implements verify.SubmodClasser: "gpu" or "switch".
func (v *Verifier) SubmodClass() string { return v.kind }

// TEEName implements verify.TEENamer: "nvidia", as for local GPU evidence;
// a registry holding both tells them apart by the evidence.
func (v *Verifier) TEEName() string { return "nvidia" }

// ReportDataPlacement implements verify.ReportDataPlacer: the 32-byte nonce
// NRAS was asked to put in the SPDM request is the digest's first 32 bytes,
// as for local GPU evidence.
func (v *Verifier) ReportDataPlacement() verify.ReportDataPlacement {
	return verify.ReportDataPlacement{Mode: verify.PlaceTruncated, Size: NonceSize}
}

// UnsafeSwitches implements verify.UnsafeReporter.
func (d *DeviceClaims) UnsafeSwitches() []verify.UnsafeSwitch {
	return append([]verify.UnsafeSwitch(nil), d.Unsafe...)
}

// Expiry implements verify.ExpiringClaims: the device token's exp.
func (d *DeviceClaims) Expiry() (time.Time, bool) { return d.ExpiresAt, !d.ExpiresAt.IsZero() }

// UnsafeSwitches implements verify.UnsafeReporter: every device's, once.
func (c *Claims) UnsafeSwitches() []verify.UnsafeSwitch {
	var out []verify.UnsafeSwitch
	for _, d := range c.Devices {
		out = verify.AddUnsafe(out, d.Unsafe...)
	}
	return out
}

// Expiry implements verify.ExpiringClaims: the earliest device token's exp.
func (c *Claims) Expiry() (t time.Time, ok bool) {
	for _, d := range c.Devices {
		if v, has := d.Expiry(); has && (!ok || v.Before(t)) {
			t, ok = v, true
		}
	}
	return t, ok
}
