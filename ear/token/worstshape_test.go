package token_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/ear/token"
	"github.com/trustfactory/attest/internal/allocbudget"
	"github.com/trustfactory/attest/verify"
)

// worstShapeVerifier returns a verifier trusting one fresh ES256 key "k".
func worstShapeVerifier(t *testing.T) *token.Verifier {
	t.Helper()
	_, jwks, err := token.GenerateKey(token.ES256, "k")
	require.NoError(t, err)
	keys, err := token.ParseJWKS(jwks)
	require.NoError(t, err)
	v, err := token.NewVerifier(keys)
	require.NoError(t, err)
	return v
}

// TestWorstShapeVerifyJWT: a token's header is decoded before its signature
// is checked. Whatever the header's shape (within the 8 KiB header cap) and
// however long the rest (within DefaultMaxSize), refusing the token costs a
// bounded multiple of its size.
func TestWorstShapeVerifyJWT(t *testing.T) {
	v := worstShapeVerifier(t)
	enc := base64.RawURLEncoding.EncodeToString
	for _, s := range allocbudget.JSONValues(6 << 10) {
		for name, hdr := range map[string]string{
			"header":      string(s.Value),
			"header crit": `{"alg":"ES256","kid":"k","crit":` + string(s.Value) + `}`,
			"header kid":  `{"alg":"ES256","kid":` + string(s.Value) + `}`,
		} {
			t.Run(name+"/"+s.Name, func(t *testing.T) {
				tok := []byte(enc([]byte(hdr)) + "." + enc([]byte("{}")) + "." + enc(make([]byte, 64)))
				allocbudget.Within(t, len(tok), 8, 16<<10, func() { _, _ = v.Verify(context.Background(), tok, token.Expectations{}) })
			})
		}
	}
	// The longest payload under a good header: its signature fails.
	hdr := enc([]byte(`{"alg":"ES256","kid":"k"}`))
	tok := []byte(hdr + "." + strings.Repeat("A", token.DefaultMaxSize-len(hdr)-90) + "." + enc(make([]byte, 64)))
	t.Run("long payload", func(t *testing.T) {
		allocbudget.Within(t, len(tok), 8, 16<<10, func() { _, _ = v.Verify(context.Background(), tok, token.Expectations{}) })
	})
}

// cborHead returns the head of a CBOR item of major type major and argument n.
func cborHead(major byte, n int) []byte {
	switch {
	case n < 24:
		return []byte{major<<5 | byte(n)}
	case n < 1<<8:
		return []byte{major<<5 | 24, byte(n)}
	case n < 1<<16:
		return []byte{major<<5 | 25, byte(n >> 8), byte(n)}
	default:
		return []byte{major<<5 | 26, byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}
	}
}

// TestWorstShapeVerifyCWT: a COSE_Sign1's headers are decoded before its
// signature is checked. Headers of the most entries, deepest nesting or
// longest arrays that fit DefaultMaxSize cost a bounded multiple of the
// token's size.
func TestWorstShapeVerifyCWT(t *testing.T) {
	v := worstShapeVerifier(t)
	size := allocbudget.Size(token.DefaultMaxSize - 256)
	sig := append(cborHead(2, 64), make([]byte, 64)...)
	sign1 := func(protected, unprotected []byte) []byte {
		tok := append([]byte{0x84}, append(cborHead(2, len(protected)), protected...)...)
		tok = append(tok, unprotected...)
		tok = append(tok, 0x40) // empty payload
		return append(tok, sig...)
	}
	// manyPairs returns a map of n pairs: distinct unsigned keys to 0.
	manyPairs := func(n int) []byte {
		m := cborHead(5, n)
		for i := range n {
			m = append(append(m, cborHead(0, 1000+i)...), 0)
		}
		return m
	}
	alg := []byte{0xa1, 0x01, 0x26} // {1: -7}, ES256
	n := size / 6
	shapes := []allocbudget.Shape{
		{Name: "unprotected pairs", Value: sign1(alg, manyPairs(n))},
		{Name: "protected pairs", Value: sign1(manyPairs(n), []byte{0xa0})},
		{Name: "unprotected long array", Value: sign1(alg, append([]byte{0xa1, 0x19, 0x03, 0xe8}, append(cborHead(4, size-16), bytes.Repeat([]byte{0}, size-16)...)...))},
		{Name: "unprotected nested arrays", Value: sign1(alg, append([]byte{0xa1, 0x19, 0x03, 0xe8}, append(bytes.Repeat([]byte{0x81}, size-16), 0)...))},
		{Name: "unprotected empty chunks", Value: sign1(alg, append([]byte{0xa1, 0x19, 0x03, 0xe8, 0x5f}, append(bytes.Repeat([]byte{0x40}, size-16), 0xff)...))},
		{Name: "unprotected kid chunks", Value: sign1(alg, append([]byte{0xa1, 0x04, 0x5f}, append(bytes.Repeat([]byte{0x41, 'k'}, size/2-16), 0xff)...))},
	}
	for _, s := range shapes {
		t.Run(s.Name, func(t *testing.T) {
			require.LessOrEqual(t, len(s.Value), token.DefaultMaxSize)
			var err error
			allocbudget.Within(t, len(s.Value), 8, 16<<10, func() { _, err = v.Verify(context.Background(), s.Value, token.Expectations{}) })
			require.ErrorIs(t, err, verify.ErrToken)
			if strings.HasSuffix(s.Name, "pairs") || strings.HasSuffix(s.Name, "array") || strings.HasSuffix(s.Name, "arrays") {
				require.ErrorIs(t, err, verify.ErrLimit) // refused by the header caps, before go-cose
			}
		})
	}
}
