package snp_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/snp"
	"github.com/trustfactory/attest/snp/snptest"
	"github.com/trustfactory/attest/verify"
)

// A cancelled context is ErrCanceled, like in every other package, and
// operational; never a collateral failure or a verdict on the report.
func TestCancelledContextIsErrCanceled(t *testing.T) {
	f := pkis(t)
	ev := mint(t, f.pki[snp.Products()[0]], snptest.Report{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	c, err := f.verifier(t).Verify(ctx, ev, exp())
	assert.Nil(t, c)
	require.ErrorIs(t, err, verify.ErrCanceled)
	require.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, verify.ErrCanceled, verify.KindOf(err))
	assert.True(t, verify.IsOperational(err))
}
