package gpu_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/ear"
	"github.com/trustfactory/attest/gpu/rim/rimtest"
	"github.com/trustfactory/attest/verify"
)

// A RIM that the RIM service serves tampered (its signature no longer
// verifies) is a collateral failure of the GPU: ErrSignature with
// ErrCollateral, mapped to the operational trust value (−1), never to a
// cryptographic failure of the GPU's own evidence (99).
func TestTamperedRIMIsCollateral(t *testing.T) {
	s := newSystem(t)
	block := bytes.Repeat([]byte{0x11}, 48)
	doc, err := s.rims.Build(rimtest.Manifest{Version: "550.90.07", Measurements: rimtest.Golden(map[int][]byte{7: block}, 64, 7)})
	require.NoError(t, err)
	i := bytes.Index(doc, []byte(`Hash0="`))
	require.GreaterOrEqual(t, i, 0, "the signed RIM carries a measurement")
	tampered := bytes.Clone(doc)
	i += len(`Hash0="`)
	if tampered[i] == '0' {
		tampered[i] = '1'
	} else {
		tampered[i] = '0'
	}
	s.service.Add("NV_GPU_DRIVER_GH100_550.90.07", tampered)

	cl, err := s.verifier(t).Verify(context.Background(), s.evidence, exp())
	assert.Nil(t, cl)
	require.ErrorIs(t, err, verify.ErrSignature)
	require.ErrorIs(t, err, verify.ErrCollateral)
	vec := verify.FailureVector(err)
	assert.Equal(t, ear.VerifierMalfunction, vec[ear.InstanceIdentity])
	assert.True(t, verify.IsOperational(err))
}
