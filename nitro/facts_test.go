package nitro_test

import (
	"context"
	"crypto"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/binding"
	"github.com/trustfactory/attest/nitro"
	"github.com/trustfactory/attest/nitro/nitrotest"
	"github.com/trustfactory/attest/verify"
)

// A KBS session binds a Nitro document through package binding: the
// runtime-data digest is the start of user_data, the rest zero; another
// session's digest is refused.
func TestSessionBinding(t *testing.T) {
	pki, err := nitrotest.NewPKI(time.Now())
	require.NoError(t, err)
	v := newVerifier(t, nitro.WithRoot(pki.Root.Cert))
	rd := binding.RuntimeData{Nonce: "session-nonce-1", TEEPubKey: []byte(`{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}`)}
	exp, err := binding.ExpectFor(v, rd, crypto.SHA384)
	require.NoError(t, err)
	require.Len(t, exp.ReportData, 48)
	doc, err := pki.Mint(nitrotest.Spec{UserData: append(append([]byte{}, exp.ReportData...), make([]byte, 16)...)})
	require.NoError(t, err)
	exp.Now = pki.At
	_, err = v.Verify(context.Background(), doc, exp)
	require.NoError(t, err)

	other, err := binding.ExpectFor(v, binding.RuntimeData{Nonce: "session-nonce-2", TEEPubKey: rd.TEEPubKey}, crypto.SHA384)
	require.NoError(t, err)
	other.Now = pki.At
	_, err = v.Verify(context.Background(), doc, other)
	require.ErrorIs(t, err, verify.ErrFreshness)
	require.Equal(t, "aws-nitro", v.TEEName())
}
