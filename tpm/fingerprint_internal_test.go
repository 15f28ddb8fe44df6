package tpm

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"math/big"
	"testing"

	"github.com/stretchr/testify/require"
)

// keyFingerprint's RSA encoding is x509.MarshalPKIXPublicKey's, byte for
// byte: generated keys, small and large exponents, a modulus whose top bit
// is clear.
func TestRSAFingerprintMatchesX509(t *testing.T) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	small, _ := new(big.Int).SetString("c0ffee0123456789abcdef", 16)
	for name, pub := range map[string]*rsa.PublicKey{
		"2048-bit":       &k.PublicKey,
		"exponent 3":     {N: k.N, E: 3},
		"large exponent": {N: k.N, E: 1<<31 - 1},
		"top bit clear":  {N: new(big.Int).Rsh(k.N, 1), E: 65537},
		"short modulus":  {N: small, E: 65537},
	} {
		want, err := x509.MarshalPKIXPublicKey(pub)
		require.NoError(t, err, name)
		got, err := rsaSPKI(pub)
		require.NoError(t, err, name)
		require.Equal(t, want, got, name)
		fp, err := keyFingerprint(pub)
		require.NoError(t, err, name)
		require.Equal(t, sha256.Sum256(want), fp, name)
	}
}
