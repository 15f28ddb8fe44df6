package sgxtest_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/sgx"
	"github.com/trustfactory/attest/sgx/sgxtest"
	"github.com/trustfactory/attest/tdx"
	"github.com/trustfactory/attest/tdx/tdxtest"
	"github.com/trustfactory/attest/verify"
)

// TestDefaultQuoteVerifiesUpToDate: the attester's default quote and
// collateral verify with its root and are rated UpToDate.
func TestDefaultQuoteVerifiesUpToDate(t *testing.T) {
	p := sgxtest.NewPKI()
	rd := make([]byte, 64)
	rd[0] = 0x42
	v, err := sgx.NewVerifier(sgx.WithTrustedRoots(p.Root.Cert), sgx.WithCollateral(p.Source(p.DefaultCollateral())))
	require.NoError(t, err)
	c, err := v.VerifyQuote(context.Background(), p.Quote(p.DefaultQuote(rd)), verify.Expectations{Now: tdxtest.VerifyTime(), ReportData: rd})
	require.NoError(t, err)
	assert.Equal(t, tdx.StatusUpToDate, c.TCB.Status)
	assert.Equal(t, sgxtest.MREnclave(), c.Quote.Body.MREnclave)
	assert.Equal(t, uint16(sgxtest.ISVProdID), c.Quote.Body.ISVProdID)
	assert.False(t, c.Debug())
}
