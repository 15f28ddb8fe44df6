package kbs_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/azure"
	"github.com/trustfactory/attest/gpu"
	"github.com/trustfactory/attest/kbs"
	"github.com/trustfactory/attest/sgx"
	"github.com/trustfactory/attest/snp"
	"github.com/trustfactory/attest/tdx"
	"github.com/trustfactory/attest/tpm"
	"github.com/trustfactory/attest/verify"
)

// Format's table of built-in TEE names and the names the verifiers state
// (which a Service routes by) agree.
func TestFormatMatchesVerifierTEENames(t *testing.T) {
	tdxV, err := tdx.NewVerifier(tdx.WithoutCollateralUnsafe())
	require.NoError(t, err)
	snpV, err := snp.NewVerifier()
	require.NoError(t, err)
	tpmV, err := tpm.NewVerifier(tpm.WithBoundAKsOnly())
	require.NoError(t, err)
	azV, err := azure.NewVerifier()
	require.NoError(t, err)
	gpuV, err := gpu.NewVerifier(verify.FormatGPU, gpu.WithoutRevocationUnsafe(), gpu.WithoutRIMsUnsafe())
	require.NoError(t, err)
	sgxV, err := sgx.NewVerifier(sgx.WithoutCollateralUnsafe())
	require.NoError(t, err)
	for _, v := range []verify.Verifier{tdxV, sgxV, snpV, tpmV, azV, gpuV} {
		name := v.(verify.TEENamer).TEEName()
		f, err := kbs.Format(name)
		require.NoError(t, err, name)
		require.Equal(t, v.Format(), f, name)
	}
}

// Trustee's older TEE names are read as the current ones, both by Format
// and by a registry's route (which a Service uses); unknown names stay
// unsupported.
func TestOldTEENames(t *testing.T) {
	azV, err := azure.NewVerifier()
	require.NoError(t, err)
	reg, err := verify.NewRegistry(azV)
	require.NoError(t, err)
	for old, current := range map[string]string{"azsnpvtpm": "az-snp-vtpm", "aztdxvtpm": "az-tdx-vtpm"} {
		require.Equal(t, current, verify.CanonicalTEEName(old))
	}
	f, err := kbs.Format("azsnpvtpm")
	require.NoError(t, err)
	require.Equal(t, verify.FormatAzureSNP, f)
	f, err = reg.ForTEE("azsnpvtpm", nil)
	require.NoError(t, err)
	require.Equal(t, verify.FormatAzureSNP, f)
	_, err = kbs.Format("az_snp_vtpm")
	require.ErrorIs(t, err, verify.ErrUnsupported)
	_, err = reg.ForTEE("aztdxvtpm", nil) // no Azure TDX verifier registered here
	require.ErrorIs(t, err, verify.ErrUnsupported)
	require.Equal(t, "tdx", verify.CanonicalTEEName("tdx"))
}
