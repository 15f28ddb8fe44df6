package pck_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"math/big"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/trustfactory/attest/internal/pck"
)

// VerifyRawP256 encodes r‖s as DER itself: it must agree with ecdsa.Verify
// on r and s of every shape (a set top bit, leading zero bytes, zero) and
// refuse a signature of another digest or of the wrong length.
func TestVerifyRawP256AgreesWithECDSA(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	d := sha256.Sum256([]byte("quote"))
	other := sha256.Sum256([]byte("another quote"))
	raw := func(r, s *big.Int) []byte {
		sig := make([]byte, 64)
		r.FillBytes(sig[:32])
		s.FillBytes(sig[32:])
		return sig
	}
	highBit, leadingZero := false, false
	for i := 0; i < 200 && !(highBit && leadingZero); i++ {
		r, s, err := ecdsa.Sign(rand.Reader, key, d[:])
		require.NoError(t, err)
		sig := raw(r, s)
		highBit = highBit || sig[0]&0x80 != 0 || sig[32]&0x80 != 0
		leadingZero = leadingZero || sig[0] == 0 || sig[32] == 0
		require.True(t, pck.VerifyRawP256(&key.PublicKey, d[:], sig), "r %x s %x", r, s)
		require.False(t, pck.VerifyRawP256(&key.PublicKey, other[:], sig))
	}
	require.True(t, highBit, "no signature with a set top bit was tried")
	for _, c := range []struct{ r, s *big.Int }{
		{big.NewInt(0), big.NewInt(1)},
		{big.NewInt(1), big.NewInt(0)},
		{big.NewInt(0x80), big.NewInt(0x7f)},
		{new(big.Int).Lsh(big.NewInt(1), 255), big.NewInt(1)},
	} {
		sig := raw(c.r, c.s)
		require.Equal(t, ecdsa.Verify(&key.PublicKey, d[:], c.r, c.s), pck.VerifyRawP256(&key.PublicKey, d[:], sig), "r %x s %x", c.r, c.s)
	}
	r, s, err := ecdsa.Sign(rand.Reader, key, d[:])
	require.NoError(t, err)
	require.False(t, pck.VerifyRawP256(&key.PublicKey, d[:], raw(r, s)[:63]))
}
