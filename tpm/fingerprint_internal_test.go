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
// byte: generated keys, small and large exponents (one with its top bit
// set), a modulus whose top bit is clear, lengths in every DER length form
// and a key too large for the stack buffer.
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
		// Lengths in the one-byte long form, and past the stack buffer.
		"1000-bit modulus": {N: new(big.Int).Lsh(small, 912), E: 65537},
		"8192-bit modulus": {N: new(big.Int).Lsh(k.N, 6144), E: 65537},
		"exponent 1<<23":   {N: k.N, E: 1 << 23},
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
	_, err = rsaSPKI(&rsa.PublicKey{N: k.N})
	require.Error(t, err, "exponent 0")
}

// Fingerprinting the AK bound by an Azure HCL report happens on every
// verification: it must not allocate.
func TestRSAFingerprintDoesNotAllocate(t *testing.T) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := keyFingerprint(&k.PublicKey); err != nil {
			t.Fatal(err)
		}
	})
	require.Zero(t, allocs)
}
