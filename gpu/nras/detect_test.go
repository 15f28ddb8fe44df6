package nras_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/gpu"
	"github.com/trustfactory/attest/gpu/nras"
	"github.com/trustfactory/attest/gpu/nras/nrastest"
	"github.com/trustfactory/attest/verify"
)

// TestDetectDisjointFromLocalGPU: a registry holding the local and the NRAS
// verifiers detects each kind of evidence as exactly one format, so
// registering the NRAS formats beside the local ones cannot make detection
// ambiguous.
func TestDetectDisjointFromLocalGPU(t *testing.T) {
	a, ng := authority(t, nras.FormatGPU)
	ns, err := nras.NewVerifier(nras.FormatSwitch, nras.WithJWKS(a.JWKS()))
	require.NoError(t, err)
	lg, err := gpu.NewVerifier(verify.FormatGPU, gpu.WithoutRIMsUnsafe(), gpu.WithoutRevocationUnsafe())
	require.NoError(t, err)
	ls, err := gpu.NewVerifier(verify.FormatNVSwitch, gpu.WithoutRIMsUnsafe(), gpu.WithoutRevocationUnsafe())
	require.NoError(t, err)
	reg, err := verify.NewRegistry(lg, ls, ng, ns)
	require.NoError(t, err)

	local, err := os.ReadFile(filepath.Join("..", "..", "testdata", "gpu", "v3", "switch_evidence_ls10.json"))
	require.NoError(t, err)
	localParts, err := ls.Split(local)
	require.NoError(t, err)
	two := mint(t, a, nrastest.Request{Devices: []nrastest.Device{
		{Name: "GPU-0", Claims: nrastest.GPUClaims("3.0", "1")}, {Name: "GPU-1", Claims: nrastest.GPUClaims("3.0", "2")}}})
	nrasParts, err := ng.Split(two)
	require.NoError(t, err)
	for name, c := range map[string]struct {
		in   []byte
		want verify.Format
	}{
		"local switch":      {local, verify.FormatNVSwitch},
		"local switch part": {localParts[0], verify.FormatNVSwitch},
		"nras gpu":          {readTestdata(t, "hopperClaimsv3_detached_eat.json"), nras.FormatGPU},
		"nras switch":       {readTestdata(t, "switch_detached_eat.json"), nras.FormatSwitch},
		"nras gpu part":     {nrasParts[1], nras.FormatGPU},
	} {
		f, err := reg.Detect(c.in)
		require.NoError(t, err, name)
		assert.Equal(t, c.want, f, name)
	}
}
