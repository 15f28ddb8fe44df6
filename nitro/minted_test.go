package nitro_test

import (
	"context"
	"encoding/hex"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/nitro"
	"github.com/trustfactory/attest/nitro/nitrotest"
	"github.com/trustfactory/attest/verify"
)

// Documents minted by nitrotest verify under its root, with every optional
// field carried into the claims, tagged or not.
func TestVerifyMinted(t *testing.T) {
	ctx := context.Background()
	pki := newPKI(t)
	pcrs := nitrotest.DefaultPCRs()
	pcrs[8] = make([]byte, 48)
	pcrs[8][0] = 0x88
	pcrs[31] = make([]byte, 48)
	pcrs[31][47] = 0x31
	doc, err := pki.Mint(nitrotest.Spec{
		PCRs:      pcrs,
		PublicKey: []byte("enclave public key"),
		UserData:  []byte("user data"),
		Nonce:     []byte("0123456789abcdef"),
	})
	require.NoError(t, err)
	v := newVerifier(t, nitro.WithRoot(pki.Root.Cert), nitro.WithReportDataField(nitro.FieldNonce))
	for name, b := range map[string][]byte{"untagged": doc, "tag 18": append([]byte{0xd2}, doc...)} {
		c, err := v.VerifyDocument(ctx, b, verify.Expectations{Now: pki.At.Add(10 * time.Minute), ReportData: []byte("0123456789abcdef")})
		require.NoError(t, err, name)
		m := c.Map()
		assert.Equal(t, hex.EncodeToString([]byte("0123456789abcdef")), m["report_data"], name)
		assert.Equal(t, "nonce", m["report_data_field"])
		assert.Equal(t, hex.EncodeToString([]byte("enclave public key")), m["public_key"])
		assert.Equal(t, hex.EncodeToString([]byte("user data")), m["user_data"])
		assert.Equal(t, "88"+hex.EncodeToString(make([]byte, 47)), m["pcr08"])
		assert.Equal(t, hex.EncodeToString(pcrs[31]), m["pcr31"])
		assert.Equal(t, false, m["debug"])
		assert.Equal(t, pki.At.Add(-3*time.Second+3*time.Hour).Format(time.RFC3339), m["chain_not_after"])
		assert.Equal(t, "i-0123456789abcdef0-enc0123456789abcdef.us-test-1.aws", m["signer"])
	}
	// A report-data prefix of the nonce, the rest zero, binds too.
	padded, err := pki.Mint(nitrotest.Spec{Nonce: append([]byte("abc"), make([]byte, 29)...)})
	require.NoError(t, err)
	_, err = v.Verify(ctx, padded, verify.Expectations{Now: pki.At, ReportData: []byte("abc")})
	require.NoError(t, err)

	dbg, err := pki.Mint(nitrotest.Spec{PCRs: nitrotest.DebugPCRs(), UserData: []byte("x")})
	require.NoError(t, err)
	c, err := newVerifier(t, nitro.WithRoot(pki.Root.Cert)).VerifyDocument(ctx, dbg, verify.Expectations{Now: pki.At, ReportData: []byte("x")})
	require.NoError(t, err)
	assert.True(t, c.Debug)
}

// Concurrent verifications of several documents share the chain cache
// safely (run with -race).
func TestVerifyConcurrent(t *testing.T) {
	v := newVerifier(t, nitro.WithCacheSize(2))
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		s := samples[i%len(samples)]
		doc := s.read(t)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 5; j++ {
				if _, err := v.Verify(context.Background(), doc, unbound(s.at)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// The embedded root is AWS's G1, checked against its published digest.
func TestDefaultRoot(t *testing.T) {
	r, err := nitro.DefaultRoot()
	require.NoError(t, err)
	assert.Equal(t, "aws.nitro-enclaves", r.Subject.CommonName)
	assert.Equal(t, 2049, r.NotAfter.Year())
}
