package gpu_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/collateral"
	"github.com/trustfactory/attest/ear"
	"github.com/trustfactory/attest/gpu"
	"github.com/trustfactory/attest/gpu/gputest"
	"github.com/trustfactory/attest/gpu/ocsp"
	"github.com/trustfactory/attest/policy"
	"github.com/trustfactory/attest/verify"
)

// downSource is an OCSP responder that cannot be reached.
type downSource struct{}

func (downSource) Fetch(context.Context, ocsp.Query) ([]byte, error) {
	return nil, errors.New("dial tcp: connection refused")
}

// POL-14 end to end with the GPU verifier: the device chain's OCSP
// responder is down, stale, or answers through a responder the issuer did
// not certify. The device fails as a collateral failure (instance-identity
// −1, no hardware claim), never as a revoked GPU; with
// ocsp.WithMissingAnswersUnsafe an unreachable responder gives the claim
// "x-nvidia-cert-ocsp-status": "missing", which the default policy rates a
// warning (hardware 32), never contraindicated (96).
func TestPOL14GPUOCSPOutage(t *testing.T) {
	p, r, ev := ocspSetup(t)
	live := func(opts ...ocsp.Option) *gpu.Verifier {
		src, err := ocsp.NewHTTPSource(r.Server.URL, &collateral.HTTPFetcher{MaxRetries: -1, Timeout: 5 * time.Second}, nil)
		require.NoError(t, err)
		chk, err := ocsp.NewChecker(src, opts...)
		require.NoError(t, err)
		return verifierFor(t, p, gpu.WithOCSP(chk))
	}
	down := func(opts ...ocsp.Option) *gpu.Verifier {
		chk, err := ocsp.NewChecker(downSource{}, opts...)
		require.NoError(t, err)
		return verifierFor(t, p, gpu.WithOCSP(chk))
	}
	failures := map[string]struct {
		v   func(...ocsp.Option) *gpu.Verifier
		mod func(*gputest.Responder)
	}{
		"responder down":  {down, nil},
		"stale answer":    {live, func(r *gputest.Responder) { r.Now = testNow.Add(-72 * time.Hour) }},
		"wrong responder": {live, func(r *gputest.Responder) { r.RogueSigner = true }},
	}
	for name, c := range failures {
		t.Run(name, func(t *testing.T) {
			if c.mod != nil {
				c.mod(r)
				defer func() { r.Now, r.RogueSigner = testNow, false }()
			}
			cl, err := c.v().Verify(context.Background(), ev, exp())
			require.ErrorIs(t, err, verify.ErrCollateral)
			assert.NotErrorIs(t, err, verify.ErrRevoked)
			assert.Nil(t, cl)
			vec := verify.FailureVector(err)
			assert.Equal(t, ear.VerifierMalfunction, vec[ear.InstanceIdentity])
			assert.NotEqual(t, ear.ContraindicatedHardware, vec[ear.Hardware])
		})
	}

	cl, err := down(ocsp.WithMissingAnswersUnsafe()).Verify(context.Background(), ev, exp())
	require.NoError(t, err)
	chain, ok := cl.Map()["x-nvidia-gpu-attestation-report-cert-chain"].(map[string]any)
	require.True(t, ok)
	require.Equal(t, ocsp.StatusMissing, chain["x-nvidia-cert-ocsp-status"])
	pol, err := policy.New(nil)
	require.NoError(t, err)
	res, err := pol.Appraise(context.Background(), verify.PolicyInput{Submod: "gpu0", Format: verify.FormatGPU, Claims: cl.Map(), Now: testNow})
	require.NoError(t, err)
	assert.Equal(t, ear.UnsafeHardware, res.TrustVector[ear.Hardware])
	assert.NotEqual(t, ear.StatusAffirming, res.Status())
}
