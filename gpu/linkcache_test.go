package gpu

import (
	"context"
	"encoding/pem"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/verify"
)

// TestLinkCacheDoesNotVouchForOtherBytes: once V1's chain verified, its
// links are remembered; a chain whose certificate at any level has a
// broken signature is still refused by the same verifier (the remembered
// links are keyed by the exact certificates), and the good chain still
// verifies afterwards.
func TestLinkCacheDoesNotVouchForOtherBytes(t *testing.T) {
	v, err := NewVerifier(verify.FormatGPU, WithoutRevocationUnsafe(), WithoutRIMsUnsafe())
	require.NoError(t, err)
	ctx := context.Background()
	exp := verify.Expectations{ReportData: v1Nonce, Now: v1Time}
	_, err = v.VerifyDevices(ctx, v1Evidence(t), exp)
	require.NoError(t, err)

	report, chain := readHex(t, "v1", "hopperAttestationReport.txt"), readFile(t, "v1", "hopperCertChain.txt")
	for level := range DeviceChainLength - 1 {
		var out []byte
		rest := chain
		for i := 0; ; i++ {
			var blk *pem.Block
			blk, rest = pem.Decode(rest)
			if blk == nil {
				break
			}
			if i == level {
				der := append([]byte(nil), blk.Bytes...)
				der[len(der)-2] ^= 0x01 // inside the signature's s, DER stays valid
				blk = &pem.Block{Type: blk.Type, Bytes: der}
			}
			out = append(out, pem.EncodeToMemory(blk)...)
		}
		_, err := v.VerifyDevices(ctx, rawEvidence(report, out), exp)
		require.ErrorIs(t, err, verify.ErrChain, "certificate %d with a broken signature", level)
	}
	_, err = v.VerifyDevices(ctx, v1Evidence(t), exp)
	require.NoError(t, err)
}
