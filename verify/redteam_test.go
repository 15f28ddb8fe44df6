package verify_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/ear"
	"github.com/trustfactory/attest/policy"
	"github.com/trustfactory/attest/verify"
)

// fakeNRAS is a second path to the same devices: NVIDIA's NRAS results.
type fakeNRAS struct{ fakeGPU }

func (v *fakeNRAS) SubmodClass() string { return verify.ClassGPU }

// Red-team: one GPU counted twice through two formats. Its report verified
// locally (nvidia-gpu) and NRAS's result for the same report
// (nvidia-nras-gpu) each passed their own format's set check, so one
// device made two affirming GPU submodules and met a requirement for two.
func TestRedteamSameDeviceThroughTwoFormats(t *testing.T) {
	cpu := &fakeVerifier{f: verify.FormatTDX}
	local := &fakeGPU{fakeVerifier{f: verify.FormatGPU}}
	remote := &fakeNRAS{fakeGPU{fakeVerifier{f: verify.FormatNRASGPU}}}
	reg, err := verify.NewRegistry(cpu, local, remote)
	require.NoError(t, err)
	rv, err := policy.FromEntries(tdxPins()...)
	require.NoError(t, err)
	p, err := policy.New(rv)
	require.NoError(t, err)
	a, err := verify.NewAppraiser(reg, p, verify.WithRequired(verify.FormatGPU, 1), verify.WithRequired(verify.FormatNRASGPU, 1))
	require.NoError(t, err)
	withUEID := func(id string) map[int]func(*fakeEvidence) {
		return map[int]func(*fakeEvidence){0: func(e *fakeEvidence) { e.Claims["ueid"] = id }}
	}
	appraise := func(localID, remoteID string) *verify.Outcome {
		return run(t, a, []verify.Component{
			{Format: verify.FormatTDX, Evidence: tdxEvidence(nil), Expect: expect(cpuRD)},
			{Format: verify.FormatGPU, Evidence: gpuEvidence(1, withUEID(localID)), Expect: expect(gpuRD)},
			{Format: verify.FormatNRASGPU, Evidence: gpuEvidence(1, withUEID(remoteID)), Expect: expect(gpuRD)},
		})
	}

	two := appraise("111", "222")
	require.Equal(t, ear.StatusAffirming, two.Status(), "two devices")

	one := appraise("111", "111")
	assert.Equal(t, ear.StatusContraindicated, one.Status())
	assert.Equal(t, ear.StatusAffirming, submod(t, one, "cpu0").Appraisal.Status)
	for _, s := range one.Submods {
		if s.Name == "cpu0" {
			continue
		}
		assert.True(t, errors.Is(s.Err, verify.ErrMalformed), "%s: %v", s.Name, s.Err)
		assert.Nil(t, s.Claims, s.Name)
		assert.Contains(t, s.Err.Error(), "111")
	}
}

// The same device inside one multi-device claim set of another format, and
// a device without ueid (no identity to compare: not judged here).
func TestRedteamDevicesOnceAcrossClaimShapes(t *testing.T) {
	cpu := &fakeVerifier{f: verify.FormatTDX}
	local := &fakeVerifier{f: verify.FormatGPU} // no Splitter: one submodule, its claims list devices
	remote := &fakeNRAS{fakeGPU{fakeVerifier{f: verify.FormatNRASGPU}}}
	reg, err := verify.NewRegistry(cpu, local, remote)
	require.NoError(t, err)
	p, err := policy.New(nil)
	require.NoError(t, err)
	a, err := verify.NewAppraiser(reg, p)
	require.NoError(t, err)
	multi := gpuDevice(func(e *fakeEvidence) {
		e.Claims = map[string]any{"devices": []any{map[string]any{"ueid": "7"}, map[string]any{"ueid": "8"}}}
	})
	mb, err := json.Marshal(multi)
	require.NoError(t, err)
	o, err := a.AppraiseOutcome(context.Background(), []verify.Component{
		{Format: verify.FormatTDX, Evidence: tdxEvidence(nil), Expect: expect(cpuRD)},
		{Format: verify.FormatGPU, Evidence: mb, Expect: expect(gpuRD)},
		{Format: verify.FormatNRASGPU, Evidence: gpuEvidence(2, map[int]func(*fakeEvidence){1: func(e *fakeEvidence) { e.Claims["ueid"] = "8" }}), Expect: expect(gpuRD)},
	})
	require.NoError(t, err)
	var failed []string
	for _, s := range o.Submods {
		if errors.Is(s.Err, verify.ErrMalformed) {
			failed = append(failed, s.Name)
		}
	}
	// gpu0 (devices 7, 8) and the NRAS device with ueid 8; the NRAS device
	// without a ueid is not judged by this rule.
	assert.Len(t, failed, 2, "%v", failed)
	assert.Contains(t, failed, "gpu0")
}

// Red-team: a typed nil policy (a nil *policy.Policy in the interface, as
// a constructor's ignored error leaves it) passed NewAppraiser's nil check
// and WithFormatPolicy's; every appraisal then panicked in the policy and
// failed as a verifier malfunction, instead of the configuration failing.
func TestRedteamTypedNilPolicy(t *testing.T) {
	reg, err := verify.NewRegistry(&fakeVerifier{f: verify.FormatTDX})
	require.NoError(t, err)
	var nilPolicy *policy.Policy
	_, err = verify.NewAppraiser(reg, nilPolicy)
	require.ErrorIs(t, err, verify.ErrConfig)
	p, err := policy.New(nil)
	require.NoError(t, err)
	_, err = verify.NewAppraiser(reg, p, verify.WithFormatPolicy(verify.FormatTDX, nilPolicy))
	require.ErrorIs(t, err, verify.ErrConfig)
	a, err := verify.NewAppraiser(reg, p)
	require.NoError(t, err)
	_, err = a.WithPolicy(nilPolicy)
	require.ErrorIs(t, err, verify.ErrConfig)
}

// laxVerifier ignores Expectations.ReportData, as a verifier outside attest
// might: it returns its claims whatever the session.
type laxVerifier struct{ fakeVerifier }

func (v *laxVerifier) Verify(ctx context.Context, evidence []byte, exp verify.Expectations) (verify.Claims, error) {
	exp.ReportData, exp.AllowMissingReportDataUnsafe = nil, true
	return v.fakeVerifier.Verify(ctx, evidence, exp)
}

// Red-team: the default policy claims instance-identity 2 ("the verifier
// checked the expected report data") for every verified component. A
// component appraised with no expected report data, by a verifier that does
// not refuse that as the contract says, was affirmed: bound to nothing.
func TestRedteamUnboundComponentNotAffirmed(t *testing.T) {
	lax := &laxVerifier{fakeVerifier{f: verify.FormatTDX}}
	reg, err := verify.NewRegistry(lax)
	require.NoError(t, err)
	rv, err := policy.FromEntries(tdxPins()...)
	require.NoError(t, err)
	p, err := policy.New(rv)
	require.NoError(t, err)
	a, err := verify.NewAppraiser(reg, p)
	require.NoError(t, err)
	bound := run(t, a, []verify.Component{{Format: verify.FormatTDX, Evidence: tdxEvidence(nil), Expect: expect(cpuRD)}})
	require.Equal(t, ear.StatusAffirming, bound.Status())

	unbound := run(t, a, []verify.Component{{Format: verify.FormatTDX, Evidence: tdxEvidence(nil), Expect: verify.Expectations{Now: tNow}}})
	assert.NotEqual(t, ear.StatusAffirming, unbound.Status())
	cpu := submod(t, unbound, "cpu0")
	assert.ErrorIs(t, cpu.Err, verify.ErrConfig)
	assert.NotEqual(t, ear.TrustworthyInstance, cpu.Appraisal.TrustVector[ear.InstanceIdentity])

	// With the unsafe switch the appraisal runs, and says so.
	unsafe := run(t, a, []verify.Component{{Format: verify.FormatTDX, Evidence: tdxEvidence(nil),
		Expect: verify.Expectations{Now: tNow, AllowMissingReportDataUnsafe: true}}})
	assert.Equal(t, ear.StatusWarning, unsafe.Status())
	assert.NotEqual(t, ear.TrustworthyInstance, submod(t, unsafe, "cpu0").Appraisal.TrustVector[ear.InstanceIdentity])
}
