package token

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/verify"
)

// A cancelled context is ErrCanceled, not an invalid token: the token was
// never looked at.
func TestCancelledContextIsErrCanceled(t *testing.T) {
	_, v := es256(t)
	cctx, cancel := context.WithCancel(context.Background())
	cancel()
	r, err := v.Verify(cctx, []byte("eyJhbGciOiJFUzI1NiJ9.e30.sig"), at)
	assert.Nil(t, r)
	require.ErrorIs(t, err, verify.ErrCanceled)
	require.ErrorIs(t, err, context.Canceled)
	assert.NotErrorIs(t, err, verify.ErrToken)
}
