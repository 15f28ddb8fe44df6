package gpu

import (
	"time"

	"github.com/trustfactory/attest/verify"
)

// What the composite appraiser, package binding and package kbs need to
// know about NVIDIA evidence, said by the verifier and its claims.
var (
	_ verify.SubmodClasser    = (*Verifier)(nil)
	_ verify.TEENamer         = (*Verifier)(nil)
	_ verify.ReportDataPlacer = (*Verifier)(nil)
	_ verify.ExpiringClaims   = (*Claims)(nil)
	_ verify.ExpiringClaims   = (*DeviceClaims)(nil)
	_ verify.UnsafeReporter   = (*Claims)(nil)
)

// SubmodClass implements verify.SubmodClasser: "gpu" for GPUs, "switch" for
// NVSwitches.
func (v *Verifier) SubmodClass() string {
	if v.format == verify.FormatNVSwitch {
		return verify.ClassSwitch
	}
	return verify.ClassGPU
}

// TEEName implements verify.TEENamer: GPUs and switches are both "nvidia"
// in the KBS protocol; the evidence tells them apart.
func (v *Verifier) TEEName() string { return "nvidia" }

// ReportDataPlacement implements verify.ReportDataPlacer: the SPDM request
// nonce carries the first 32 bytes of the runtime-data digest.
func (v *Verifier) ReportDataPlacement() verify.ReportDataPlacement {
	return verify.ReportDataPlacement{Mode: verify.PlaceTruncated, Size: 32}
}

// Expiry implements verify.ExpiringClaims: the earliest expiry among the
// devices.
func (c *Claims) Expiry() (t time.Time, ok bool) {
	for _, d := range c.Devices {
		if v, has := d.Expiry(); has && (!ok || v.Before(t)) {
			t, ok = v, true
		}
	}
	return t, ok
}

// Expiry implements verify.ExpiringClaims: the earliest expiry of the
// device certificate chain and the RIMs the measurements were compared
// with (their manifests' signer chains).
func (d *DeviceClaims) Expiry() (t time.Time, ok bool) {
	add := func(v time.Time) {
		if !v.IsZero() && (!ok || v.Before(t)) {
			t, ok = v, true
		}
	}
	if d.Chain != nil {
		add(d.Chain.NotAfter)
	}
	for _, r := range []*RIMResult{d.DriverRIM, d.FirmwareRIM} {
		if r != nil && r.Manifest != nil {
			add(r.Manifest.NotAfter)
		}
	}
	return t, ok
}
