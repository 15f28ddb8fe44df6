package binding_test

import (
	"bytes"
	"crypto"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/azure"
	"github.com/trustfactory/attest/binding"
	"github.com/trustfactory/attest/gpu"
	"github.com/trustfactory/attest/sgx"
	"github.com/trustfactory/attest/snp"
	"github.com/trustfactory/attest/tdx"
	"github.com/trustfactory/attest/tpm"
	"github.com/trustfactory/attest/verify"
)

// builtinVerifiers returns one verifier of every format that ships with
// attest, configured as cheaply as their options allow.
func builtinVerifiers(t *testing.T) []verify.Verifier {
	t.Helper()
	tdxV, err := tdx.NewVerifier(tdx.WithoutCollateralUnsafe())
	require.NoError(t, err)
	snpV, err := snp.NewVerifier()
	require.NoError(t, err)
	tpmV, err := tpm.NewVerifier(tpm.WithBoundAKsOnly())
	require.NoError(t, err)
	azV, err := azure.NewVerifier()
	require.NoError(t, err)
	sgxV, err := sgx.NewVerifier(sgx.WithoutCollateralUnsafe())
	require.NoError(t, err)
	out := []verify.Verifier{tdxV, sgxV, snpV, tpmV, azV}
	for _, f := range []verify.Format{verify.FormatGPU, verify.FormatNVSwitch} {
		v, err := gpu.NewVerifier(f, gpu.WithoutRevocationUnsafe(), gpu.WithoutRIMsUnsafe())
		require.NoError(t, err)
		out = append(out, v)
	}
	return out
}

// ReportData's table for the built-in formats and the placement each
// verifier states agree, for digests of every accepted length.
func TestReportDataMatchesVerifierPlacement(t *testing.T) {
	for _, v := range builtinVerifiers(t) {
		for _, n := range []int{32, 48, 64} {
			d := bytes.Repeat([]byte{0xd1}, n)
			want, wantErr := binding.ReportData(v.Format(), d)
			got, err := binding.ReportDataFor(v, d)
			require.Equal(t, wantErr == nil, err == nil, "%s, %d bytes: %v / %v", v.Format(), n, wantErr, err)
			require.Equal(t, want, got, "%s, %d bytes", v.Format(), n)
		}
	}
}

func TestPlacements(t *testing.T) {
	d := bytes.Repeat([]byte{7}, 48)
	for _, tc := range []struct {
		p    verify.ReportDataPlacement
		d    []byte
		want []byte
		err  bool
	}{
		{p: verify.ReportDataPlacement{Mode: verify.PlacePadded, Size: 64}, d: d, want: append(bytes.Clone(d), make([]byte, 16)...)},
		{p: verify.ReportDataPlacement{Mode: verify.PlaceTruncated, Size: 32}, d: d, want: d[:32]},
		{p: verify.ReportDataPlacement{Mode: verify.PlaceExact, Size: 64}, d: d, want: d},
		{p: verify.ReportDataPlacement{Mode: verify.PlacePadded, Size: 32}, d: d, err: true},
		{p: verify.ReportDataPlacement{Mode: verify.PlaceExact, Size: 32}, d: d, err: true},
		{p: verify.ReportDataPlacement{Mode: verify.PlaceTruncated, Size: 64}, d: d, err: true},
		{p: verify.ReportDataPlacement{Mode: verify.PlacePadded, Size: 64}, d: nil, err: true},
		{p: verify.ReportDataPlacement{Mode: 0, Size: 64}, d: d, err: true},
		{p: verify.ReportDataPlacement{Mode: verify.PlacePadded, Size: 0}, d: d, err: true},
	} {
		got, err := tc.p.Place(tc.d)
		if tc.err {
			require.ErrorIs(t, err, verify.ErrConfig, "%+v", tc.p)
			continue
		}
		require.NoError(t, err)
		require.Equal(t, tc.want, got)
	}
}

// A verifier that states no placement cannot be bound by ExpectFor.
func TestExpectForUnplacedVerifier(t *testing.T) {
	_, err := binding.ExpectFor(noPlacement{}, binding.RuntimeData{Nonce: "n0nce-n0nce", TEEPubKey: []byte(`{"kty":"EC"}`)}, crypto.SHA384)
	require.ErrorIs(t, err, verify.ErrUnsupported)
	_, err = binding.ReportDataFor(noPlacement{}, make([]byte, 48))
	require.ErrorIs(t, err, verify.ErrUnsupported)
	_, err = binding.ReportData("sample", make([]byte, 48))
	require.ErrorIs(t, err, verify.ErrUnsupported)
}

type noPlacement struct{ verify.Verifier }

func (noPlacement) Format() verify.Format { return "sample" }
