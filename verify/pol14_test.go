package verify_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/ear"
	"github.com/trustfactory/attest/policy"
	"github.com/trustfactory/attest/verify"
)

// POL-14 through the default policy: the OCSP status claims of the GPU
// verifier ("x-nvidia-cert-ocsp-status") that say revocation was not
// established (a missing answer tolerated by option, no check, "unknown")
// give a warning value, never contraindicated hardware; only "revoked" does.
func TestPOL14OCSPStatusThroughDefaultPolicy(t *testing.T) {
	cases := []struct {
		status string
		want   ear.TrustClaim
	}{
		{"missing", ear.UnsafeHardware},
		{"not-checked", ear.UnsafeHardware},
		{"unknown", ear.UnsafeHardware},
		{"revoked", ear.ContraindicatedHardware},
	}
	for _, c := range cases {
		t.Run(c.status, func(t *testing.T) {
			a, _, _ := newAppraiser(t)
			o := run(t, a, comps(tdxEvidence(nil), gpuEvidence(1, map[int]func(*fakeEvidence){0: func(e *fakeEvidence) {
				e.Claims["x-nvidia-gpu-attestation-report-cert-chain"] = map[string]any{"x-nvidia-cert-ocsp-status": c.status}
			}})))
			g := submod(t, o, "gpu0")
			require.NoError(t, g.Err)
			assert.Equal(t, c.want, g.Appraisal.TrustVector[ear.Hardware])
		})
	}
}

// errGPU is a GPU verifier that fails every device with err.
type errGPU struct{ err error }

func (errGPU) Format() verify.Format { return verify.FormatGPU }
func (errGPU) SubmodClass() string   { return verify.ClassGPU }
func (v errGPU) Verify(context.Context, []byte, verify.Expectations) (verify.Claims, error) {
	return nil, v.err
}

// POL-14 through the appraiser: a GPU whose OCSP check failed for an
// operational reason is contraindicated (it did not verify) with the
// operational value, instance-identity −1, and no hardware claim; a revoked
// one gets hardware 96.
func TestPOL14OCSPFailureThroughAppraiser(t *testing.T) {
	cases := []struct {
		name     string
		err      error
		identity ear.TrustClaim
		hardware ear.TrustClaim
	}{
		{"responder down", verify.Errorf(verify.ErrCollateral, "OCSP for %q: dial tcp: connection refused", "BROM"), ear.VerifierMalfunction, ear.NoClaim},
		{"stale answer", verify.Errorf(verify.ErrCollateral, "OCSP response: stale: %w", verify.ErrExpired), ear.VerifierMalfunction, ear.NoClaim},
		{"bad signature", verify.Errorf(verify.ErrCollateral, "OCSP response does not verify: %w", verify.ErrSignature), ear.VerifierMalfunction, ear.NoClaim},
		{"wrong responder", verify.Errorf(verify.ErrCollateral, "OCSP responder issued by another CA: %w", verify.ErrChain), ear.VerifierMalfunction, ear.NoClaim},
		{"revoked", verify.Errorf(verify.ErrRevoked, "OCSP: revoked, reason 1"), ear.UntrustworthyInstance, ear.ContraindicatedHardware},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			reg, err := verify.NewRegistry(errGPU{fmt.Errorf("device certificate chain: %w", c.err)})
			require.NoError(t, err)
			p, err := policy.New(nil)
			require.NoError(t, err)
			a, err := verify.NewAppraiser(reg, p)
			require.NoError(t, err)
			o, err := a.AppraiseOutcome(context.Background(), []verify.Component{{Format: verify.FormatGPU, Evidence: []byte("x"), Expect: expect(gpuRD)}})
			require.NoError(t, err)
			g := submod(t, o, "gpu0")
			require.ErrorIs(t, g.Err, c.err)
			assert.Equal(t, ear.StatusContraindicated, g.Appraisal.Status)
			assert.Equal(t, c.identity, g.Appraisal.TrustVector[ear.InstanceIdentity])
			assert.Equal(t, c.hardware, g.Appraisal.TrustVector[ear.Hardware])
		})
	}
}
