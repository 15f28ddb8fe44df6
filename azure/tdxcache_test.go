package azure_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/azure"
	"github.com/trustfactory/attest/tdx/tdxtest"
	"github.com/trustfactory/attest/verify"
)

// One verifier, warm: what its caches keep (the runtime data's digest,
// parse and AK; the TD quote's platform and TCB appraisal) serves only the
// exact bytes it came from. Another VM's HCL report brings its own AK (the
// real vTPM quote is not its vTPM's), edited runtime data its own digest,
// and the first evidence still verifies to the same claims afterwards.
func TestAzureTDXWarmCachesFollowEvidence(t *testing.T) {
	ctx := context.Background()
	pki := tdxtest.NewPKI()
	v := tdxVerifier(t, pki)
	ev := realTDX(t, pki, realTDXDir+"hcl-report.bin")
	first, err := v.Verify(ctx, ev, realTDXExp())
	require.NoError(t, err)
	warm, err := v.Verify(ctx, ev, realTDXExp())
	require.NoError(t, err)
	require.Equal(t, first.Map(), warm.Map())

	_, err = v.Verify(ctx, realTDX(t, pki, realTDXHCL2), realTDXExp())
	require.ErrorIs(t, err, verify.ErrBinding)
	require.ErrorIs(t, err, verify.ErrSignature)

	// A byte of the runtime data's JSON (after the 0x4d4-byte header and
	// hardware report), same length: its digest is no longer REPORTDATA.
	_, err = v.Verify(ctx, editB64(t, ev, "hcl_report", func(b []byte) []byte { b[0x4d4+40] ^= 1; return b }), realTDXExp())
	require.ErrorIs(t, err, verify.ErrBinding)

	again, err := v.Verify(ctx, ev, realTDXExp())
	require.NoError(t, err)
	require.Equal(t, first.Map(), again.Map())
}

// VerifyEvidence keeps no slice of the caller's TD quote (Verify, which
// decodes the evidence itself, may): editing the evidence after the call
// leaves the claims as they were.
func TestAzureTDXVerifyEvidenceCopiesTDQuote(t *testing.T) {
	ctx := context.Background()
	pki := tdxtest.NewPKI()
	v := tdxVerifier(t, pki)
	ev, err := azure.DecodeTDXEvidence(realTDX(t, pki, realTDXDir+"hcl-report.bin"))
	require.NoError(t, err)
	c, err := v.VerifyEvidence(ctx, ev, realTDXExp())
	require.NoError(t, err)
	want := c.Map()
	signed, chain := bytes.Clone(c.TDX.Quote.Signed), bytes.Clone(c.TDX.Quote.PCKChainPEM)
	for i := range ev.TDQuote {
		ev.TDQuote[i] ^= 0xff
	}
	require.Equal(t, want, c.Map())
	require.Equal(t, signed, c.TDX.Quote.Signed)
	require.Equal(t, chain, c.TDX.Quote.PCKChainPEM)
}
