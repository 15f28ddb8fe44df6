// Package offlinetest shows how to test a service that relies on attest
// without hardware or network, with the public test bed
// (github.com/trustfactory/attest/testbed): a TDX quote and any number of
// GPU reports bound to a session, with every certificate, collateral item,
// RIM and OCSP answer the verifiers need, all in memory. Its tests appraise
// such worlds end to end; the package itself only pins the bed to the fixed
// time those tests were written for.
//
// Never use a Bed outside tests: every key is generated in memory.
package offlinetest

import (
	"time"

	"github.com/trustfactory/attest/tdx/tdxtest"
	"github.com/trustfactory/attest/testbed"
)

// Now is the time a Bed made by New verifies at: the June 2025 time of the
// TDX test collateral's defaults (tdxtest.VerifyTime()).
func Now() time.Time { return tdxtest.VerifyTime() }

// Firmware versions of the minted GPUs.
const (
	DriverVersion = testbed.DriverVersion
	VBIOSVersion  = testbed.VBIOSVersion
)

// Bed is the test bed; see testbed.Bed.
type Bed = testbed.Bed

// KBSEdits change what an attester puts in a KBS request; see
// testbed.KBSEdits.
type KBSEdits = testbed.KBSEdits

// New returns a bed at Now with n GPUs that share one device root.
func New(n int) (*Bed, error) {
	return testbed.New(testbed.Options{Now: Now(), GPUs: n, SharedGPURoot: true})
}
