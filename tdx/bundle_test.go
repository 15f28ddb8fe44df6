package tdx

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/verify"
)

// TestVerifyCollateralReal: dcap-qvl's real collateral verifies on its own
// at its pinned time, and says what it is for and when it ends.
func TestVerifyCollateralReal(t *testing.T) {
	at := time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC)
	c := dcapCollateral(t)
	info, err := VerifyCollateral(c, at)
	require.NoError(t, err)
	assert.Equal(t, "TDX", info.TEE)
	assert.Equal(t, [6]byte{0xb0, 0xc0, 0x6f, 0, 0, 0}, info.FMSPC)
	assert.Equal(t, "platform", info.CA)
	assert.Equal(t, 17, info.TCBEvaluationDataNumber)
	assert.Equal(t, "2025-07-19", info.NotAfter.Format(time.DateOnly))
	assert.NotEmpty(t, info.LimitedBy)

	req, err := CollateralNeed(read(t, "dcapqvl_tdx_quote.dat"))
	require.NoError(t, err)
	assert.Equal(t, info.FMSPC, req.FMSPC)
	assert.Equal(t, info.CA, req.CA)

	_, err = VerifyCollateral(c, info.NotAfter.Add(time.Second))
	require.ErrorIs(t, err, verify.ErrCollateral)
	require.ErrorIs(t, err, verify.ErrExpired)

	bad := dcapCollateral(t)
	bad.QEIdentity = append([]byte(nil), bad.QEIdentity...)
	i := len(bad.QEIdentity) - 10 // inside the hex signature
	if bad.QEIdentity[i] == '0' {
		bad.QEIdentity[i] = '1'
	} else {
		bad.QEIdentity[i] = '0'
	}
	_, err = VerifyCollateral(bad, at)
	require.ErrorIs(t, err, verify.ErrCollateral)
	require.ErrorIs(t, err, verify.ErrSignature)

	_, err = VerifyCollateral(c, time.Time{})
	require.ErrorIs(t, err, verify.ErrConfig)
	_, err = VerifyCollateral(nil, at)
	require.ErrorIs(t, err, verify.ErrCollateral)
	_, err = CollateralNeed([]byte("not a quote"))
	require.Error(t, err)
}

func TestWithTCBEvaluationDataNumber(t *testing.T) {
	_, err := NewHTTPSource("", nil, nil, WithTCBEvaluationDataNumber(17))
	require.NoError(t, err)
	for name, opts := range map[string][]HTTPOption{
		"zero":        {WithTCBEvaluationDataNumber(0)},
		"with update": {WithTCBEvaluationDataNumber(17), WithUpdate("standard")},
		"with pccs":   {WithTCBEvaluationDataNumber(17), WithPCCS()},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := NewHTTPSource("https://pcs.example", nil, nil, opts...)
			require.ErrorIs(t, err, verify.ErrConfig)
		})
	}
}
