package gpu_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/gpu"
	"github.com/trustfactory/attest/gpu/ocsp"
	"github.com/trustfactory/attest/gpu/rim"
	"github.com/trustfactory/attest/verify"
)

// Options that contradict each other are refused at construction: a switch
// that turns a check off beside the option that configures it.
func TestContradictoryOptions(t *testing.T) {
	src, err := ocsp.NewMemorySource()
	require.NoError(t, err)
	chk, err := ocsp.NewChecker(src)
	require.NoError(t, err)
	docs, err := rim.NewMemorySource(map[string][]byte{})
	require.NoError(t, err)
	rims, err := gpu.NewRIMProvider(nil, docs, 0)
	require.NoError(t, err)

	for name, tc := range map[string]struct {
		opts []gpu.Option
		ok   bool
	}{
		"WithOCSP + WithoutRevocationUnsafe": {opts: []gpu.Option{gpu.WithOCSP(chk), gpu.WithoutRevocationUnsafe(), gpu.WithRIMs(rims)}},
		"WithRIMs + WithoutRIMsUnsafe":       {opts: []gpu.Option{gpu.WithOCSP(chk), gpu.WithRIMs(rims), gpu.WithoutRIMsUnsafe()}},
		"nil OCSP checker":                   {opts: []gpu.Option{gpu.WithOCSP(nil), gpu.WithRIMs(rims)}},
		"nil RIM provider":                   {opts: []gpu.Option{gpu.WithOCSP(chk), gpu.WithRIMs(nil)}},
		"cache size 0":                       {opts: []gpu.Option{gpu.WithOCSP(chk), gpu.WithRIMs(rims), gpu.WithCacheSize(0)}},
		"neither OCSP nor its switch":        {opts: []gpu.Option{gpu.WithRIMs(rims)}},
		"neither RIMs nor their switch":      {opts: []gpu.Option{gpu.WithOCSP(chk)}},
		"OCSP and RIMs":                      {opts: []gpu.Option{gpu.WithOCSP(chk), gpu.WithRIMs(rims)}, ok: true},
		"both switches":                      {opts: []gpu.Option{gpu.WithoutRevocationUnsafe(), gpu.WithoutRIMsUnsafe()}, ok: true},
	} {
		_, err := gpu.NewVerifier(verify.FormatGPU, tc.opts...)
		if tc.ok {
			require.NoError(t, err, name)
		} else {
			require.ErrorIs(t, err, verify.ErrConfig, name)
		}
	}
}
