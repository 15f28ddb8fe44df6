package tdx_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/tdx"
	"github.com/trustfactory/attest/verify"
)

// Options that contradict each other are refused at construction: a switch
// that turns the collateral appraisal off beside an option that configures it.
func TestContradictoryOptions(t *testing.T) {
	src := tdx.NewMemorySource()
	for name, tc := range map[string]struct {
		opts []tdx.Option
		ok   bool
	}{
		"WithCollateral + WithoutCollateralUnsafe":                 {opts: []tdx.Option{tdx.WithCollateral(src), tdx.WithoutCollateralUnsafe()}},
		"WithoutCollateralUnsafe + WithoutCRLsUnsafe":              {opts: []tdx.Option{tdx.WithoutCollateralUnsafe(), tdx.WithoutCRLsUnsafe()}},
		"WithoutCollateralUnsafe + WithExpiredCollateralUnsafe":    {opts: []tdx.Option{tdx.WithoutCollateralUnsafe(), tdx.WithExpiredCollateralUnsafe(time.Hour)}},
		"WithoutCollateralUnsafe + WithMinTCBEvaluationDataNumber": {opts: []tdx.Option{tdx.WithoutCollateralUnsafe(), tdx.WithMinTCBEvaluationDataNumber(17)}},
		"negative evaluation data number":                          {opts: []tdx.Option{tdx.WithCollateral(src), tdx.WithMinTCBEvaluationDataNumber(-1)}},
		"no collateral and no switch":                              {},
		"collateral, CRLs skipped, grace":                          {opts: []tdx.Option{tdx.WithCollateral(src), tdx.WithoutCRLsUnsafe(), tdx.WithExpiredCollateralUnsafe(time.Hour)}, ok: true},
		"no collateral":                                            {opts: []tdx.Option{tdx.WithoutCollateralUnsafe()}, ok: true},
	} {
		_, err := tdx.NewVerifier(tc.opts...)
		if tc.ok {
			require.NoError(t, err, name)
		} else {
			require.ErrorIs(t, err, verify.ErrConfig, name)
		}
	}
}
