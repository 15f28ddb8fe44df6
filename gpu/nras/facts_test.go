package nras_test

import (
	"context"
	"crypto"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/binding"
	"github.com/trustfactory/attest/gpu/nras"
	"github.com/trustfactory/attest/gpu/nras/nrastest"
	"github.com/trustfactory/attest/verify"
)

// A KBS session binds an NRAS result as it binds local GPU evidence: the
// device runtime data's digest, cut to the 32-byte nonce; another session's
// nonce is refused.
func TestSessionBinding(t *testing.T) {
	a, v := authority(t, nras.FormatGPU)
	rd := binding.RuntimeData{Nonce: "session-nonce-1", TEEPubKey: []byte(`{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}`)}.Device()
	exp, err := binding.ExpectFor(v, rd, crypto.SHA384)
	require.NoError(t, err)
	require.Len(t, exp.ReportData, nras.NonceSize)
	eat := mint(t, a, nrastest.Request{Nonce: exp.ReportData})
	exp.Now = mintTime.Add(time.Minute)
	_, err = v.Verify(context.Background(), eat, exp)
	require.NoError(t, err)

	other, err := binding.ExpectFor(v, binding.RuntimeData{Nonce: "session-nonce-2", TEEPubKey: rd.TEEPubKey}.Device(), crypto.SHA384)
	require.NoError(t, err)
	other.Now = exp.Now
	_, err = v.Verify(context.Background(), eat, other)
	require.ErrorIs(t, err, verify.ErrFreshness)
	require.Equal(t, "nvidia", v.TEEName())
}
