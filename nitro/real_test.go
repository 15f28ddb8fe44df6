package nitro_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/nitro"
	"github.com/trustfactory/attest/verify"
)

func newVerifier(tb testing.TB, opts ...nitro.Option) *nitro.Verifier {
	tb.Helper()
	v, err := nitro.NewVerifier(opts...)
	require.NoError(tb, err)
	return v
}

// emptyDigest is SHA-256(""), what the Dstack sample's user_data starts with.
var emptyDigest = func() []byte { h := sha256.Sum256(nil); return h[:] }()

// The three real documents verify at their pinned times against the
// embedded AWS root: signature, chain and timestamp.
func TestVerifyReal(t *testing.T) {
	ctx := context.Background()
	v := newVerifier(t)
	for _, s := range samples {
		t.Run(s.file, func(t *testing.T) {
			c, err := v.Verify(ctx, s.read(t), verify.Expectations{Now: s.at, AllowMissingReportDataUnsafe: true})
			require.NoError(t, err)
			m := c.Map()
			assert.Equal(t, nitro.Format, c.Format())
			assert.Equal(t, "SHA384", m["digest"])
			assert.Equal(t, false, m["report_data_checked"])
			assert.Equal(t, []string{string(verify.UnsafeMissingReportData)}, m[verify.ClaimUnsafe])
			assert.Equal(t, s == sampleDebug, m["debug"])
			assert.Contains(t, m["signer"], ".us-east-1.aws")
			for i := 0; i < 16; i++ {
				assert.Len(t, m[fmtPCR(i)], 96, "pcr %d", i)
			}
			assert.NotContains(t, m, "nonce")
			assert.NotContains(t, m, "public_key")
		})
	}
}

func fmtPCR(i int) string { return "pcr" + string(rune('0'+i/10)) + string(rune('0'+i%10)) }

// The Dstack sample's user_data is SHA-256("") ‖ 32 zero bytes: it binds to
// that report data, and the claims say so.
func TestVerifyRealBound(t *testing.T) {
	v := newVerifier(t)
	c, err := v.VerifyDocument(context.Background(), sampleDstck.read(t), verify.Expectations{Now: sampleDstck.at, ReportData: emptyDigest})
	require.NoError(t, err)
	m := c.Map()
	assert.Equal(t, true, m["report_data_checked"])
	assert.Equal(t, "user_data", m["report_data_field"])
	assert.Equal(t, hex.EncodeToString(emptyDigest)+"0000000000000000000000000000000000000000000000000000000000000000", m["report_data"])
	assert.NotContains(t, m, verify.ClaimUnsafe)
	assert.Equal(t, "i-0827e799ec9232d44-enc019b5640fdf630d6", c.ModuleID)
	assert.Equal(t, "2025-12-25T16:04:19.346Z", m["timestamp"])
}

// Detect recognises the real documents and nothing else of ours.
func TestDetect(t *testing.T) {
	v := newVerifier(t)
	for _, s := range samples {
		b := s.read(t)
		assert.True(t, v.Detect(b), s.file)
		assert.True(t, v.Detect(append([]byte{0xd2}, b...)), "tagged %s", s.file)
		assert.False(t, v.Detect(b[:8]), "prefix of %s", s.file)
	}
	assert.False(t, v.Detect(nil))
	assert.False(t, v.Detect([]byte(`{"quote":""}`)))
}
